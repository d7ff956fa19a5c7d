"""Fused copies train as their separate fits: stopping, validation, weights.

Full-batch Adam on the CPU is deterministic, so a fused copy and the same
wrapper fitted alone on the copy's rows follow the same path: the same
stopping epoch and, up to float32 summation order, the same weights.
"""

import re

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier, dense_model
from skstack.keras._copy_fits import (
    copy_rows,
    fit_arguments,
    fit_arguments_blocker,
    refit_epochs,
)

# Float32 sums in another order (one stacked matmul against k small ones).
WEIGHT_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:600] / 16).astype("float32"), y[:600]


@pytest.fixture(scope="module")
def splits(digits):
    X, y = digits
    return list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))


def _net(**params):
    params = {
        "hidden": (16,),
        "epochs": 30,
        "batch_size": -1,  # full batch: deterministic, so comparable bit by bit
        "optimizer": "adam",
        "optimizer__learning_rate": 0.02,
        "random_state": 0,
        "model": dense_model,
        **params,
    }
    return KerasClassifier(**params)


def _residual_model(meta, compile_kwargs, hidden):
    """Not a plain chain of Dense layers: its copies train side by side."""
    inputs = keras.Input((meta["n_features_in_"],))
    features = keras.layers.Dense(hidden[0], activation="relu")(inputs)
    merged = keras.layers.Concatenate()([inputs, features])
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(merged)
    model = keras.Model(inputs, outputs)
    model.compile(compile_kwargs["optimizer"], "sparse_categorical_crossentropy")
    return model


def _residual(**params):
    return _net(model=_residual_model, **params)


def _stopping(**params):
    """A member as Keras users write it: the callback and validation_split."""
    stop = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    return {"callbacks": [stop], "validation_split": 0.2, **params}


def _max_difference(first, second):
    pairs = zip(first.model_.get_weights(), second.model_.get_weights(), strict=True)
    return max(float(np.abs(a - b).max()) for a, b in pairs)


def _epochs(model):
    """Epochs a fit ran: its history's length, whatever the loss is called."""
    return len(next(iter(model.history_.values())))


def _assert_each_copy_is_its_separate_fit(build, params, digits, splits):
    X, y = digits
    folds, full = build(**params).fit_folds(X, y, splits)
    epochs = []
    for index, (train, _) in enumerate(splits):
        alone = build(**params).fit(X[train], y[train])
        assert _epochs(folds[index]) == _epochs(alone), f"fold {index}"
        assert _max_difference(folds[index], alone) < WEIGHT_TOLERANCE
        epochs.append(_epochs(alone))
    alone = build(**params).fit(X, y)
    assert _epochs(full) == _epochs(alone)
    assert _max_difference(full, alone) < WEIGHT_TOLERANCE
    return epochs


@pytest.mark.parametrize(
    "params",
    [
        pytest.param(_stopping(), id="restore_best_weights"),
        pytest.param(
            _stopping(callbacks=[keras.callbacks.EarlyStopping(patience=2)]),
            id="last_weights",
        ),
        pytest.param(
            _stopping(
                callbacks=[
                    keras.callbacks.EarlyStopping(
                        monitor="val_accuracy",
                        mode="max",
                        min_delta=0.005,
                        patience=1,
                        start_from_epoch=3,
                        restore_best_weights=True,
                    )
                ],
                metrics=["accuracy"],
            ),
            id="a_compiled_metric",
        ),
        pytest.param({"class_weight": "balanced"}, id="class_weight"),
        pytest.param(
            {"epochs": "auto", "validation_split": 0.2, "n_iter_no_change": 2},
            id="auto_epochs_on_validation_split",
        ),
        pytest.param(
            _stopping(epochs="auto"), id="auto_epochs_with_the_users_callback"
        ),
    ],
)
def test_each_copy_stops_and_ends_as_its_separate_fit(params, digits, splits):
    epochs = _assert_each_copy_is_its_separate_fit(_net, params, digits, splits)
    if "callbacks" in params:
        # Copies stopping at different epochs: the first to stop is not moved
        # by the optimizer steps of those that go on.
        assert min(epochs) < max(epochs) or min(epochs) < 30


def test_copies_trained_side_by_side_stop_as_their_separate_fits(digits, splits):
    _assert_each_copy_is_its_separate_fit(_residual, _stopping(), digits, splits)


def test_a_copy_that_stops_first_is_left_as_it_stopped(digits, splits):
    X, y = digits
    params = _stopping(epochs=60)
    folds, _ = _net(**params).fit_folds(X, y, splits, refit=False)
    epochs = [_epochs(model) for model in folds]
    first = int(np.argmin(epochs))
    assert epochs[first] < max(epochs), "the copies should stop apart"
    train = splits[first][0]
    alone = _net(**params).fit(X[train], y[train])
    assert _max_difference(folds[first], alone) < WEIGHT_TOLERANCE


@pytest.mark.parametrize(
    "stopping",
    [
        {"early_stopping": True, "epochs": 40},
        {"epochs": "auto"},
        {"epochs": "auto", "class_weight": "balanced"},
    ],
    ids=["early_stopping", "auto_epochs", "auto_epochs_with_class_weight"],
)
def test_skstacks_early_stopping_holds_out_each_copys_own_rows(
    stopping, digits, splits
):
    X, y = digits
    params = {"n_iter_no_change": 2, **stopping}
    folds, full = _net(**params).fit_folds(X, y, splits)
    bests = []
    for index, (train, _) in enumerate(splits):
        alone = _net(**params).fit(X[train], y[train])
        assert folds[index].best_epoch_ == alone.best_epoch_
        assert np.array_equal(folds[index].validation_rows_, alone.validation_rows_)
        assert _max_difference(folds[index], alone) < WEIGHT_TOLERANCE
        bests.append(alone.best_epoch_)
    # The refit trains on every row for the folds' epochs, as unfused.
    assert full.epochs == refit_epochs(bests)
    assert full.early_stopping is False
    assert not hasattr(full, "validation_rows_")
    alone = _net(**{**params, "early_stopping": False, "epochs": full.epochs})
    assert _max_difference(full, alone.fit(X, y)) < WEIGHT_TOLERANCE


def test_validation_data_given_to_fit_is_shared_by_every_copy(digits, splits):
    X, y = digits
    data = (X[-100:], y[-100:])
    params = _stopping(validation_split=0.0, fit__validation_data=data)
    _assert_each_copy_is_its_separate_fit(_net, params, digits, splits)


def test_fit_settings_mean_for_each_copy_what_they_mean_alone(digits, splits):
    params = {"fit__epochs": 4, "fit__batch_size": 700, "fit__verbose": 0}
    arguments = fit_arguments(_net(**params))
    assert (arguments.epochs, arguments.batch_size) == (4, 700)
    epochs = _assert_each_copy_is_its_separate_fit(_net, params, digits, splits)
    assert epochs == [4, 4, 4]


def test_class_weights_come_from_each_copys_own_rows(digits, splits):
    X, y = digits
    wrapper = _net(class_weight="balanced")
    weights = np.linspace(0.5, 1.5, len(y))
    arguments = fit_arguments(wrapper)
    train = splits[0][0]
    plan = copy_rows(wrapper, y, y, train, weights, arguments, validates=True)
    counts = np.bincount(y[train])
    expected = len(train) / (len(counts) * counts[y[train]]) * weights[train]
    np.testing.assert_allclose(plan.fit_weights, expected, rtol=1e-6)


def test_rows_weighted_zero_are_dropped_before_validation_split(digits):
    X, y = digits
    weights = np.ones(len(y))
    weights[:10] = 0
    wrapper = _net(validation_split=0.25)
    rows = np.arange(100)
    plan = copy_rows(
        wrapper, y, y, rows, weights, fit_arguments(wrapper), validates=True
    )
    # scikeras drops them; Keras then holds out the last 25% of the 90 left.
    assert np.array_equal(plan.fit, np.arange(10, 77))
    assert np.array_equal(plan.validation, np.arange(77, 100))


@pytest.mark.parametrize(
    "params, reason",
    [
        (
            {"callbacks": [keras.callbacks.ReduceLROnPlateau()]},
            "ReduceLROnPlateau changes the learning rate",
        ),
        (
            {"callbacks": [keras.callbacks.CSVLogger("log.csv")]},
            "its callback CSVLogger acts on one model per fit",
        ),
        ({"fit__initial_epoch": 2}, r"fit parameters \['fit__initial_epoch'\]"),
    ],
)
def test_what_a_copy_cannot_do_is_named(params, reason):
    assert re.search(reason, fit_arguments_blocker(_net(**params)))


def test_common_callbacks_keep_a_member_fused(digits):
    X, y = digits
    callbacks = [
        keras.callbacks.EarlyStopping(patience=2),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.History(),
    ]
    members = [
        ("watched", _net(callbacks=callbacks, validation_split=0.2, epochs=5)),
        ("clipped", _net(optimizer__clipnorm=1.0, epochs=2)),
        ("lr", LogisticRegression(max_iter=200)),
    ]
    stack = KerasStackingClassifier(members, cv=3, random_state=0).fit(X, y)
    assert stack.fused_members_ == ["watched"]
    assert set(stack.unfused_members_) == {"clipped", "lr"}
    assert "clipnorm" in stack.unfused_members_["clipped"]
    assert stack.unfused_members_["lr"] == "it has no fused training"
