"""Greedy ensemble selection: weights, first pick, use as a stack's meta-learner."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.ensemble import EnsembleSelectionClassifier, EnsembleSelectionRegressor


def _proba_with_true_class_at(y, value, n_classes=3):
    proba = np.full((len(y), n_classes), (1 - value) / (n_classes - 1))
    proba[np.arange(len(y)), y] = value
    return proba


def test_dominated_member_is_never_picked_first():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    good = _proba_with_true_class_at(y, 0.7)
    dominated = _proba_with_true_class_at(y, 0.5)  # worse on every sample
    noise = rng.dirichlet(np.ones(3), size=200)
    X = np.hstack([dominated, noise, good])
    selection = EnsembleSelectionClassifier(n_iterations=20).fit(X, y)
    assert selection.selection_order_[0] == 2
    weights = selection.weights_
    assert np.all(weights >= 0) and weights.sum() == pytest.approx(1.0)
    assert weights[2] == weights.max()
    np.testing.assert_allclose(selection.predict_proba(X).sum(axis=1), 1.0)


def test_weights_reproduce_the_prediction():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 100)
    X = rng.random((100, 3))  # binary: one column (P(class 1)) per member
    selection = EnsembleSelectionClassifier(n_iterations=10).fit(X, y)
    expected = X @ selection.weights_
    np.testing.assert_allclose(selection.predict_proba(X)[:, 1], expected)
    assert np.all(selection.weights_ * 10 == np.round(selection.weights_ * 10))


def test_as_the_final_estimator_of_stacks(iris, diabetes):
    X, y = iris
    stack = KerasStackingClassifier(
        [
            ("lr", LogisticRegression()),
            ("nb", GaussianNB()),
            ("tree", DecisionTreeClassifier(max_depth=2, random_state=0)),
        ],
        final_estimator=EnsembleSelectionClassifier(),
        cv=3,
    ).fit(X, y)
    weights = stack.final_estimator_.weights_
    assert weights.shape == (3,) and weights.sum() == pytest.approx(1.0)
    assert stack.score(X, y) > 0.9
    X, y = diabetes
    reg = KerasStackingRegressor(
        [("ridge", Ridge()), ("lin", LinearRegression())],
        final_estimator=EnsembleSelectionRegressor(),
        cv=3,
    ).fit(X, y)
    assert reg.final_estimator_.weights_.sum() == pytest.approx(1.0)
    assert reg.predict(X[:2]).shape == (2,)


def test_columns_that_are_not_member_blocks_are_refused(iris):
    X, y = iris  # 4 columns, 3 classes: not whole blocks of 3
    with pytest.raises(ValueError, match="3 column\\(s\\) per member, but X has 4"):
        EnsembleSelectionClassifier().fit(X, y)


@pytest.mark.parametrize("n_iterations", [0, 2.5, "many"])
def test_n_iterations_is_validated(iris, n_iterations):
    X, y = iris
    selection = EnsembleSelectionClassifier(n_iterations=n_iterations)
    with pytest.raises(ValueError, match="'n_iterations' parameter"):
        selection.fit(np.hstack([np.eye(3)[y]] * 2), y)
