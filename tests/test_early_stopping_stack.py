"""Early stopping of Keras members inside a stack: no held-out row is ever seen.

A recording layer notes the row ids (column 0 of X) that pass through the
network while Keras trains and while it validates, per fit; a callback marks
the validation phase and the epochs. Fits run sequentially (``n_jobs=None``),
so the record lists them in the order the stack runs them: the fold fits, then
the refit on all rows.
"""

import keras
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier, dense_model

_RECORD = {"validating": False, "fits": []}


class _RowRecorder(keras.layers.Layer):
    """Drops the id column; notes the ids of the rows it sees, while fitting."""

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] - 1)

    def call(self, inputs, training=None):
        fit = _RECORD["fits"][-1]
        ids = np.asarray(inputs[:, 0]).astype(int).tolist()
        if _RECORD["validating"]:
            fit["validation"].update(ids)
        elif training:
            fit["training"].update(ids)
        return inputs[:, 1:]


class _FitRecorder(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        _RECORD["fits"].append({"training": set(), "validation": set(), "val": []})

    def on_test_begin(self, logs=None):
        _RECORD["validating"] = True

    def on_test_end(self, logs=None):
        _RECORD["validating"] = False

    def on_epoch_end(self, epoch, logs=None):
        _RECORD["fits"][-1]["val"].append(logs.get("val_loss"))


def _recording_network(meta):
    inputs = keras.Input((meta["n_features_in_"],))
    hidden = keras.layers.Dense(8, activation="relu")(_RowRecorder()(inputs))
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    # Eager, so the recorder sees concrete row ids.
    optimizer = keras.optimizers.Adam(0.05)
    model.compile(optimizer, "sparse_categorical_crossentropy", run_eagerly=True)
    return model


@pytest.fixture
def with_row_ids(iris):
    X, y = iris
    _RECORD["fits"].clear()
    return np.column_stack([np.arange(len(y)), X]), y


@pytest.mark.parametrize(
    "stopping",
    [{"epochs": 60, "early_stopping": True}, {}],
    ids=["early_stopping", "auto_epochs_by_default"],
)
def test_fold_models_stop_on_their_own_training_rows_only(with_row_ids, stopping):
    X, y = with_row_ids
    network = KerasClassifier(
        _recording_network,
        **stopping,
        n_iter_no_change=2,
        validation_fraction=0.2,
        callbacks=[_FitRecorder()],
        batch_size=50,
    )
    stack = KerasStackingClassifier(
        [("net", network)], final_estimator=LogisticRegression(), cv=3, random_state=0
    ).fit(X, y)

    folds, refit = _RECORD["fits"][:3], _RECORD["fits"][3]
    assert len(_RECORD["fits"]) == 4
    for (train, test), fit in zip(stack.splits_[0], folds, strict=True):
        assert fit["validation"], "the fold model validated on no rows"
        assert not fit["validation"] & set(test)
        assert not fit["training"] & set(test)
        assert not fit["training"] & fit["validation"]
        assert fit["training"] | fit["validation"] == set(train)
        assert len(fit["validation"]) == 20  # validation_fraction of 100 rows
        assert len(fit["val"]) < stopping.get("epochs", 200)  # it stopped

    # The refit trains on every row, validates on none, for the mean best epoch.
    best = [int(np.argmin(fit["val"])) + 1 for fit in folds]
    assert stack.refit_epochs_ == {"net": max(1, round(np.mean(best)))}
    assert refit["training"] == set(range(len(y)))
    assert not refit["validation"]
    assert len(refit["val"]) == stack.refit_epochs_["net"]
    final = stack.named_estimators_["net"]
    assert not final.early_stopping
    assert "val_loss" not in final.history_


def _stopping_network():
    return KerasClassifier(
        dense_model,
        hidden=(8,),
        epochs=100,
        early_stopping=True,
        n_iter_no_change=2,
        optimizer__learning_rate=0.05,
    )


def test_averaged_fold_models_keep_their_early_stopped_weights(iris):
    X, y = iris
    network = _stopping_network()
    stack = KerasStackingClassifier(
        [("net", network)],
        final_estimator=LogisticRegression(),
        cv=3,
        fold_models="average",
        random_state=0,
    ).fit(X, y)
    assert stack.refit_epochs_ == {}
    for model in stack.named_estimators_["net"]:
        assert 1 <= model.best_epoch_ < len(model.history_["val_loss"])


def test_a_pipeline_ending_in_a_stopping_network_is_refit_the_same_way(iris):
    X, y = iris
    network = _stopping_network()
    members = [
        ("net", make_pipeline(StandardScaler(), network)),
        # scikit-learn's own early stopping happens inside its fit: left alone.
        ("mlp", MLPClassifier((8,), early_stopping=True, max_iter=50)),
    ]
    stack = KerasStackingClassifier(
        members, final_estimator=LogisticRegression(), cv=3, random_state=0
    ).fit(X, y)
    epochs = stack.refit_epochs_["net"]
    assert set(stack.refit_epochs_) == {"net"}
    refit = stack.named_estimators_["net"][-1]
    assert refit.epochs == epochs
    # Fused, the refit's history is the fused loss ("fused_loss"), one per epoch.
    assert [len(values) for values in refit.history_.values()] == [epochs]


def test_verbose_draws_a_progress_bar_over_the_fits(iris, capsys):
    X, y = iris
    members = [("lr", LogisticRegression()), ("lr2", LogisticRegression(C=0.1))]
    stack = KerasStackingClassifier(
        members, final_estimator=LogisticRegression(), cv=3, verbose=1
    )
    stack.set_params(warm_start_folds=False).fit(X, y)
    err = capsys.readouterr().err
    # 2 members x (3 folds + 1 refit)
    assert "stacking fits" in err
    assert "8/8" in err
    # Warm-started folds: a member's fits are one task, one step of the bar.
    stack.set_params(warm_start_folds=True).fit(X, y)
    assert "2/2" in capsys.readouterr().err
