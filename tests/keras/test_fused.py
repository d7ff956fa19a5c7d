"""Fold fusion: a wrapper's fold models trained side by side in one graph."""

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold

from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.exceptions import FoldFusionError
from skstack.keras import KerasClassifier, KerasRegressor, dense_model


def _net(**params):
    params = {"hidden": (8,), "epochs": 3, "random_state": 0, **params}
    return KerasClassifier(dense_model, **params)


def _residual_model(meta):
    """Not a plain chain of Dense layers: trained as parallel networks."""
    inputs = keras.Input((meta["n_features_in_"],))
    hidden = keras.layers.Dense(meta["n_features_in_"], activation="relu")(inputs)
    merged = keras.layers.Add()([inputs, hidden])
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(merged)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _residual(**params):
    return KerasClassifier(_residual_model, epochs=3, random_state=0, **params)


def _normalized(meta):
    """Batch statistics mix the rows of every fold: cannot be fused."""
    inputs = keras.Input((meta["n_features_in_"],))
    hidden = keras.layers.BatchNormalization()(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


# dense_model's networks train as one vectorized network (stacked weights); any
# other network trains as parallel copies in one graph.
NETWORKS = [pytest.param(_net, id="vectorized"), pytest.param(_residual, id="parallel")]


def _weights(model):
    return [w.copy() for w in model.model_.get_weights()]


def _same(first, second):
    return all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("network", NETWORKS)
def test_a_copy_never_learns_from_its_held_out_rows(iris, network):
    X, y = iris
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    test0 = splits[0][1]
    folds, full = network().fit_folds(X, y, splits)
    # Other labels and features on fold 0's held-out rows: copy 0 must come out
    # bit-identical; the copies that train on those rows must not.
    y_changed, X_changed = y.copy(), X.copy()
    y_changed[test0] = (y[test0] + 1) % 3
    X_changed[test0] = X[test0] * 5 + 3
    folds2, full2 = network().fit_folds(X_changed, y_changed, splits)
    assert _same(_weights(folds[0]), _weights(folds2[0]))
    assert not _same(_weights(folds[1]), _weights(folds2[1]))
    assert not _same(_weights(full), _weights(full2))


@pytest.mark.parametrize(
    "network, history_key",
    [(_net, "fused_loss"), (_residual, "loss")],
    ids=["vectorized", "parallel"],
)
def test_copies_are_fitted_estimators_with_a_history(iris, network, history_key):
    X, y = iris
    splits = list(StratifiedKFold(3).split(X, y))
    folds, full = network().fit_folds(X, y, splits, refit=False)
    assert full is None
    assert len(folds) == 3
    for model in folds:
        assert model.predict_proba(X[:5]).shape == (5, 3)
        assert len(model.history_[history_key]) == 3
        np.testing.assert_array_equal(model.classes_, [0, 1, 2])


@pytest.mark.parametrize("task", ["iris", "binary", "diabetes"])
def test_vectorized_training_matches_separate_fits_in_full_batch(request, task):
    # With one batch of all rows and no shuffling, a copy's steps are exactly a
    # separate fit's on its rows (masked rows add nothing): same weights.
    X, y = request.getfixturevalue(task)
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    params = {"batch_size": -1, "shuffle": False, "epochs": 5, "optimizer": "sgd"}
    if task == "diabetes":
        make = lambda: KerasRegressor(  # noqa: E731
            dense_model, hidden=(8,), random_state=0, **params
        )
        output = "predict"
    else:
        make = lambda: _net(**params)  # noqa: E731
        output = "predict_proba"
    folds, _ = make().fit_folds(X, y, splits, refit=False)
    assert "fused_loss" in folds[0].history_  # the vectorized path
    for (train, _), fused in zip(splits, folds, strict=True):
        alone = make().fit(X[train], y[train])
        np.testing.assert_allclose(
            getattr(fused, output)(X),
            getattr(alone, output)(X),
            rtol=1e-4,
            atol=1e-5,
        )


def test_stack_with_fused_folds_trains_and_reproduces(iris):
    X, y = iris
    members = [("net", _net(epochs=20)), ("lr", LogisticRegression())]
    stack = KerasStackingClassifier(
        members,
        final_estimator=LogisticRegression(),
        cv=3,
        fuse_folds=True,
        random_state=0,
    )
    first = stack.fit(X, y).predict_proba(X)
    assert stack.fused_members_ == ["net"]
    assert stack.fold_scores_["net"].shape == (1, 3)
    assert stack.score(X, y) > 0.8
    np.testing.assert_array_equal(stack.fit(X, y).predict_proba(X), first)


def test_fused_average_fold_models_and_repeats_regression(diabetes):
    X, y = diabetes
    net = KerasRegressor(dense_model, hidden=(8,), epochs=3, random_state=0)
    stack = KerasStackingRegressor(
        [("net", net)],
        final_estimator=None,
        cv=3,
        n_repeats=2,
        fold_models="average",
        fuse_folds=True,
        random_state=0,
    ).fit(X, y)
    assert stack.fused_members_ == ["net"]
    assert len(stack.named_estimators_["net"]) == 6
    assert stack.oof_predictions_.shape == (len(y), 1)


def test_members_that_cannot_be_fused_are_fitted_fold_by_fold(iris):
    X, y = iris
    members = [
        ("plateau", _net(callbacks=[keras.callbacks.ReduceLROnPlateau()])),
        ("logged", _net(callbacks=[keras.callbacks.LambdaCallback()])),
        ("lr", LogisticRegression()),
    ]
    stack = KerasStackingClassifier(
        members, final_estimator=LogisticRegression(), cv=3
    ).fit(X, y)
    assert stack.fuse_folds == "auto"
    assert stack.fused_members_ == []
    assert stack.unfused_members_ == {
        "plateau": "ReduceLROnPlateau changes the learning rate, which fused "
        "copies share",
        "logged": "its callback LambdaCallback acts on one model per fit",
        "lr": "it has no fused training",
    }
    strict = clone(stack).set_params(fuse_folds=True, estimators=members[:1])
    with pytest.raises(ValueError, match="'plateau' cannot be trained fused: Red"):
        strict.fit(X, y)
    assert not hasattr(strict, "estimators_")
    with pytest.raises(ValueError, match="LambdaCallback acts on one model"):
        members[1][1].fit_folds(X, y, list(StratifiedKFold(3).split(X, y)))


def test_batch_normalization_is_refused(iris):
    X, y = iris

    with pytest.raises(ValueError, match="BatchNormalization"):
        KerasClassifier(_normalized).fit_folds(
            X, y, list(StratifiedKFold(3).split(X, y))
        )


def test_a_fold_lacking_a_class_is_not_fused(iris):
    X, y = iris
    # iris is sorted by class: each unshuffled fold's training rows lack one.
    with pytest.raises(FoldFusionError, match=r"fold 0 lack classes \[0\]"):
        _net().fit_folds(X, y, list(KFold(3).split(X)))


def test_batch_normalization_falls_back_to_fold_by_fold_with_auto(iris):
    X, y = iris

    members = [("bn", KerasClassifier(_normalized, epochs=2)), ("net", _net())]
    stack = KerasStackingClassifier(
        members, final_estimator=LogisticRegression(), cv=3, random_state=0
    ).fit(X, y)
    assert stack.fused_members_ == ["net"]
    assert stack.fold_scores_["bn"].shape == (1, 3)
    assert stack.named_estimators_["bn"].model_.layers[1].name.startswith("batch")
    strict = clone(stack).set_params(fuse_folds=True)
    with pytest.raises(ValueError, match="'bn' failed in fused training.*Batch"):
        strict.fit(X, y)
    assert not hasattr(strict, "estimators_")


def test_fused_network_with_dropout_is_reproducible(iris):
    # The vectorized network's Dropout layers are built under the seed too.
    X, y = iris
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))

    def weights():
        folds, full = _net(dropout=0.3, epochs=4).fit_folds(X, y, splits)
        return [w for model in [*folds, full] for w in _weights(model)]

    assert _same(weights(), weights())


def test_a_network_compiled_for_one_hot_labels_is_fused(binary):
    X, y = binary

    def one_hot_network(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(inputs)
        model = keras.Model(inputs, outputs)
        model.compile("adam", "categorical_crossentropy")
        return model

    member = KerasClassifier(one_hot_network, epochs=3)
    stack = KerasStackingClassifier(
        [("net", member)], final_estimator=LogisticRegression(), cv=3, random_state=0
    ).fit(X, y)
    assert stack.fused_members_ == ["net"]
    assert stack.named_estimators_["net"].predict_proba(X).shape == (len(y), 2)
    assert stack.oof_predictions_.shape == (len(y), 1)  # binary: one column kept
