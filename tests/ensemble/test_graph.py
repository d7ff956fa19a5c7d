"""The stack's compiled graph for predictions of a few rows."""

import pickle

import keras
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier

from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.ensemble._graph import _GRAPHS
from skstack.keras import KerasClassifier, KerasRegressor, dense_model


def _mlp(**params):
    return KerasClassifier(dense_model, **{"hidden": (8,), "epochs": 3, **params})


def _keras_stack(**params):
    members = [("mlp", _mlp()), ("lr", LogisticRegression())]
    return KerasStackingClassifier(members, **{"cv": 3, "random_state": 0, **params})


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_small_batches_take_one_graph_with_the_member_by_member_values(
    task, iris, diabetes
):
    if task == "classification":
        X, y = iris
        stack = _keras_stack().fit(X, y)
        predict = stack.predict_proba
        expected = stack.final_estimator_.predict_proba(stack.transform(X[:5]))
    else:
        X, y = diabetes
        members = [
            ("mlp", KerasRegressor(dense_model, hidden=(8,), epochs=3)),
            ("ridge", Ridge()),
        ]
        stack = KerasStackingRegressor(members, cv=3, random_state=0).fit(X, y)
        predict = stack.predict
        expected = stack.final_estimator_.predict(stack.transform(X[:5]))
    # A few rows take the graph, built at the first such call, every time.
    got = predict(X[:5])
    assert isinstance(_GRAPHS[stack][1], keras.Model)
    np.testing.assert_array_equal(predict(X[:5]), got)
    assert got.shape == expected.shape
    # float64 around the members' float32 networks, as the member-by-member
    # path computes: equal to rounding, not float32's 1e-6.
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    # Every batch takes the graph, in calls of two fixed shapes: a row gets
    # the same bits alone, in a few rows and in all of them.
    np.testing.assert_array_equal(predict(X)[:1], predict(X[:1]))
    np.testing.assert_array_equal(predict(X[:1]), got[:1])
    if task == "classification":
        np.testing.assert_array_equal(
            stack.predict(X[:5]), stack.classes_[np.argmax(got, axis=1)]
        )


def test_stack_without_a_keras_form_predicts_member_by_member(iris):
    X, y = iris
    members = [("mlp", _mlp()), ("tree", DecisionTreeClassifier(max_depth=2))]
    stack = KerasStackingClassifier(members, cv=3, random_state=0).fit(X, y)
    proba = stack.predict_proba(X[:3])
    assert _GRAPHS[stack][1] is None
    expected = stack.final_estimator_.predict_proba(stack.transform(X[:3]))
    np.testing.assert_array_equal(proba, expected)


def test_compiled_graph_is_neither_an_attribute_nor_kept_by_a_refit(iris):
    X, y = iris
    stack = _keras_stack().fit(X, y)
    before = dict(vars(stack))
    proba = stack.predict_proba(X[:2])
    assert vars(stack) == before
    graph = _GRAPHS[stack][1]
    assert isinstance(graph, keras.Model)
    loaded = pickle.loads(pickle.dumps(stack))
    assert loaded not in _GRAPHS
    np.testing.assert_array_equal(loaded.predict_proba(X[:2]), proba)
    stack.fit(X[:100], y[:100])
    stack.predict_proba(X[:2])
    assert _GRAPHS[stack][1] is not graph  # the refit's stack has its own


def test_a_stack_of_scikit_learn_members_takes_no_graph(iris):
    X, y = iris
    stack = KerasStackingClassifier([("lr", LogisticRegression())], cv=3)
    proba = stack.fit(X, y).predict_proba(X[:2])
    assert _GRAPHS[stack][1] is None
    np.testing.assert_array_equal(
        proba, stack.final_estimator_.predict_proba(stack.transform(X[:2]))
    )


@pytest.mark.parametrize("rows", [65, 200, 1100])
def test_more_rows_take_the_graph_in_calls_of_fixed_shapes(iris, rows):
    X, y = iris
    stack = _keras_stack().fit(X, y)
    X_many = np.tile(X, (8, 1))[:rows]
    proba = stack.predict_proba(X_many)
    assert isinstance(_GRAPHS[stack][1], keras.Model)
    expected = stack.final_estimator_.predict_proba(stack.transform(X_many))
    np.testing.assert_allclose(proba, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(proba[:150], stack.predict_proba(X)[:rows])


def test_predicting_in_fixed_shapes_warns_of_no_retracing(iris, caplog):
    # Each fold model's compiled predict function traces its call shape once:
    # TensorFlow, which counts traces across all Keras models, would warn of
    # "retracing" at every stack's fit.
    X, y = iris
    with caplog.at_level("WARNING", logger="tensorflow"):
        stack = _keras_stack().fit(X, y)
        for rows in (1, 5, 70, 150):
            stack.predict_proba(X[:rows])
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
