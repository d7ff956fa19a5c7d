"""``stack.to_keras()``: one Keras model computing the whole fitted stack."""

import keras
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier

from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.keras import KerasClassifier, KerasRegressor, dense_model


def _net(hidden, **params):
    return KerasClassifier(
        dense_model, hidden=hidden, epochs=3, random_state=0, **params
    )


def _stack(final_estimator=None, **params):
    members = [("wide", _net((16,))), ("narrow", _net((4,)))]
    params = {"cv": 3, "random_state": 0, **params}
    return KerasStackingClassifier(members, final_estimator=final_estimator, **params)


def _as_float32(X):
    return np.asarray(X, dtype="float32")


@pytest.mark.parametrize(
    "final, params",
    [
        (None, {}),
        (None, {"fold_models": "average", "passthrough": True}),
        (LogisticRegression(), {"drop_first_proba": True}),
    ],
    ids=["keras-meta", "average-passthrough", "logistic-meta"],
)
def test_exported_model_gives_the_stack_probabilities(iris, final, params):
    X, y = iris
    stack = _stack(final, **params).fit(X, y)
    model = stack.to_keras()
    np.testing.assert_allclose(
        model(_as_float32(X)), stack.predict_proba(X), rtol=1e-5, atol=1e-6
    )


def test_binary_stack_exports_both_class_columns(binary):
    X, y = binary
    stack = _stack(LogisticRegression()).fit(X, y)
    exported = keras.ops.convert_to_numpy(stack.to_keras()(_as_float32(X)))
    assert exported.shape == (len(y), 2)
    np.testing.assert_allclose(exported, stack.predict_proba(X), atol=1e-6)


def test_regression_stack_exports_and_reloads(diabetes, tmp_path):
    X, y = diabetes
    members = [
        ("a", KerasRegressor(dense_model, hidden=(8,), epochs=3, random_state=0)),
        ("b", KerasRegressor(dense_model, hidden=(4,), epochs=3, random_state=1)),
    ]
    stack = KerasStackingRegressor(members, final_estimator=Ridge(), cv=3).fit(X, y)
    model = stack.to_keras()
    path = tmp_path / "stack.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    prediction = keras.ops.convert_to_numpy(reloaded(_as_float32(X)))
    np.testing.assert_allclose(
        prediction.ravel(), stack.predict(X), rtol=1e-4, atol=1e-6
    )


def test_exported_model_does_not_share_weights_with_the_stack(iris):
    X, y = iris
    stack = _stack(LogisticRegression()).fit(X, y)
    before = stack.predict_proba(X)
    model = stack.to_keras()
    model.get_layer("member_wide").set_weights(
        [np.zeros_like(w) for w in model.get_layer("member_wide").get_weights()]
    )
    np.testing.assert_array_equal(stack.predict_proba(X), before)


def test_linear_members_become_dense_layers(iris):
    X, y = iris
    members = [("wide", _net((8,))), ("logreg", LogisticRegression(C=0.5))]
    stack = KerasStackingClassifier(members, cv=3, random_state=0).fit(X, y)
    model = stack.to_keras()
    assert model.get_layer("member_logreg").units == 3
    np.testing.assert_allclose(
        model(_as_float32(X)), stack.predict_proba(X), rtol=1e-5, atol=1e-6
    )


def test_members_without_a_keras_form_are_named(iris):
    X, y = iris
    members = [("wide", _net((8,))), ("knn", KNeighborsClassifier())]
    stack = KerasStackingClassifier(members, final_estimator=LogisticRegression(), cv=3)
    with pytest.raises(TypeError, match="estimator 'knn' is a KNeighborsClassifier"):
        stack.fit(X, y).to_keras()


@pytest.mark.parametrize(
    "final, error, message",
    [
        (KNeighborsClassifier(), TypeError, "neither a Keras wrapper nor a linear"),
        (
            SGDClassifier(loss="modified_huber", random_state=0),
            ValueError,
            "is not a plain linear model",
        ),
    ],
)
def test_meta_learners_that_cannot_be_a_dense_layer_are_refused(
    iris, final, error, message
):
    X, y = iris
    stack = _stack(final).fit(X, y)
    with pytest.raises(error, match=message):
        stack.to_keras()
