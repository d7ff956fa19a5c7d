"""Early stopping of the wrappers on rows held out from their own training data."""

import numpy as np
import pytest

from skstack.keras import KerasClassifier, KerasRegressor, dense_model


def _stopping_classifier(**params):
    params = {
        "hidden": (16,),
        "epochs": 200,
        "early_stopping": True,
        "n_iter_no_change": 2,
        "optimizer": "adam",
        "optimizer__learning_rate": 0.05,
        "random_state": 0,
        **params,
    }
    return KerasClassifier(dense_model, **params)


def test_stops_before_the_epoch_limit_and_keeps_the_best_weights(iris):
    X, y = iris
    clf = _stopping_classifier().fit(X, y)
    losses = clf.history_["val_loss"]
    assert len(losses) < 200
    assert clf.best_epoch_ == int(np.argmin(losses)) + 1
    # Training went on n_iter_no_change epochs past the best one, then stopped.
    assert len(losses) == clf.best_epoch_ + 2
    held_out = clf.validation_rows_
    assert len(held_out) == 15
    # The kept weights are the best epoch's: their validation loss is the minimum.
    proba = np.clip(clf.predict_proba(X[held_out]), 1e-7, 1)
    loss = -np.mean(np.log(proba[np.arange(15), y[held_out]]))
    assert loss == pytest.approx(min(losses), rel=1e-3)


def test_validation_rows_are_stratified_and_seeded(iris):
    X, y = iris
    first = _stopping_classifier(validation_fraction=0.2).fit(X, y)
    again = _stopping_classifier(validation_fraction=0.2).fit(X, y)
    np.testing.assert_array_equal(first.validation_rows_, again.validation_rows_)
    assert np.bincount(y[first.validation_rows_]).tolist() == [10, 10, 10]
    other = _stopping_classifier(validation_fraction=0.2, random_state=1).fit(X, y)
    assert set(other.validation_rows_) != set(first.validation_rows_)


def test_regressor_stops_early_with_sample_weight(diabetes):
    X, y = diabetes
    reg = KerasRegressor(
        dense_model,
        epochs=300,
        early_stopping=True,
        n_iter_no_change=3,
        optimizer="adam",
        optimizer__learning_rate=0.05,
        random_state=0,
    )
    reg.fit(X, y, sample_weight=np.linspace(0.5, 1.5, len(y)))
    assert 1 <= reg.best_epoch_ < len(reg.history_["val_loss"]) < 300
    assert len(reg.validation_rows_) == 20


def test_refit_without_early_stopping_forgets_the_last_one(iris):
    X, y = iris
    clf = _stopping_classifier().fit(X, y)
    clf.set_params(early_stopping=False, epochs=2).fit(X, y)
    assert not hasattr(clf, "best_epoch_")
    assert not hasattr(clf, "validation_rows_")
    assert "val_loss" not in clf.history_


@pytest.mark.parametrize(
    "params, message",
    [
        ({"validation_split": 0.2}, "set validation_split=0.0"),
        ({"validation_fraction": 1.5}, "'validation_fraction' parameter"),
        ({"n_iter_no_change": 0}, "'n_iter_no_change' parameter"),
    ],
)
def test_bad_early_stopping_settings_are_refused(iris, params, message):
    X, y = iris
    clf = _stopping_classifier(**params)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")


def _auto_classifier(**params):
    """A member given only its builder and the settings that make iris quick."""
    params = {
        "hidden": (16,),
        "n_iter_no_change": 2,
        "optimizer__learning_rate": 0.05,
        "random_state": 0,
        **params,
    }
    return KerasClassifier(dense_model, **params)


def test_the_defaults_train_until_held_out_rows_stop_improving(iris):
    X, y = iris
    defaults = KerasClassifier(dense_model).get_params()
    assert (defaults["epochs"], defaults["optimizer"]) == ("auto", "adam")
    assert KerasRegressor(dense_model).get_params()["epochs"] == "auto"
    clf = _auto_classifier().fit(X, y)
    losses = clf.history_["val_loss"]
    assert len(losses) == clf.best_epoch_ + 2 < 200
    assert clf.best_epoch_ == int(np.argmin(losses)) + 1
    assert np.bincount(y[clf.validation_rows_]).tolist() == [5, 5, 5]
    # The same as early_stopping=True with the cap spelled out.
    spelled = _auto_classifier(epochs=200, early_stopping=True).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), spelled.predict_proba(X))


def test_auto_epochs_stop_on_the_users_validation_split(iris):
    X, y = iris
    clf = _auto_classifier(validation_split=0.2).fit(X, y)
    losses = clf.history_["val_loss"]
    assert len(losses) == int(np.argmin(losses)) + 1 + 2 < 200
    assert not hasattr(clf, "validation_rows_")  # Keras held out the last rows


def test_auto_epochs_leave_stopping_to_the_users_callback(iris):
    import keras

    X, y = iris
    stop = keras.callbacks.EarlyStopping(patience=4)
    clf = _auto_classifier(validation_split=0.2, callbacks=[stop]).fit(X, y)
    losses = clf.history_["val_loss"]
    assert len(losses) == int(np.argmin(losses)) + 1 + 4 < 200


def test_an_integer_epochs_trains_exactly_that_many(iris):
    X, y = iris
    clf = _auto_classifier(epochs=3).fit(X, y)
    assert len(clf.history_["loss"]) == 3
    assert "val_loss" not in clf.history_
    assert not hasattr(clf, "best_epoch_")


def test_auto_epochs_on_too_few_rows_say_what_to_do():
    X, y = np.zeros((1, 3)), np.array([1.0])
    reg = KerasRegressor(dense_model, hidden=(4,))
    with pytest.raises(ValueError, match="epochs='auto'.*give epochs a number"):
        reg.fit(X, y)
    assert not hasattr(reg, "model_")
    stopping = KerasRegressor(dense_model, hidden=(4,), epochs=5, early_stopping=True)
    with pytest.raises(
        ValueError, match="early_stopping=True.*set early_stopping=False"
    ):
        stopping.fit(X, y)
    assert KerasRegressor(dense_model, hidden=(4,), epochs=1).fit(X, y).predict(
        X
    ).shape == (1,)
