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
    # One row in the padded graph, and in a batch above the limit (member by
    # member, batches of another shape): the members' float32 kernels may
    # round a row differently with the batch's shape on CPUs without
    # AVX-512, so the two agree to float32's precision, not to the bit.
    np.testing.assert_allclose(predict(X)[:1], predict(X[:1]), rtol=1e-6, atol=1e-9)
    # Within the graph, a row is computed alike wherever it sits in a batch.
    np.testing.assert_allclose(predict(X[:1]), got[:1], rtol=1e-6, atol=1e-9)
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


@pytest.mark.parametrize("rows", [65, 200])
def test_more_rows_than_a_small_batch_go_member_by_member(iris, rows):
    X, y = iris
    stack = _keras_stack().fit(X, y)
    X_many = np.tile(X, (2, 1))[:rows]
    stack.predict_proba(X_many)
    assert stack not in _GRAPHS  # no graph was built for them
