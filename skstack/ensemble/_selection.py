"""Greedy ensemble selection (Caruana et al., 2004) as a stacking meta-learner."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._compat import Interval, _fit_context


class _BaseEnsembleSelection(BaseEstimator):
    """Forward selection with replacement over members' prediction blocks."""

    _parameter_constraints: dict = {
        "n_iterations": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, n_iterations=50):
        self.n_iterations = n_iterations

    def _blocks(self, X, width: int) -> np.ndarray:
        """X as (n_members, n_samples, width): one block of columns per member."""
        if X.shape[1] % width:
            raise ValueError(
                f"{type(self).__name__} expects each member's predictions side by "
                f"side, {width} column(s) per member, but X has {X.shape[1]} "
                "columns. Use it as a stack's final_estimator with predict_proba "
                "(or predict) meta-features, without passthrough or drop_first_proba."
            )
        n_members = X.shape[1] // width
        return X.reshape(X.shape[0], n_members, width).transpose(1, 0, 2)

    def _select(self, blocks: np.ndarray, loss) -> None:
        counts = np.zeros(len(blocks), dtype=np.int64)
        total = np.zeros_like(blocks[0])
        order = []
        for step in range(1, self.n_iterations + 1):
            # Each candidate joins the current ensemble (a mean with replacement).
            losses = [loss((total + block) / step) for block in blocks]
            best = int(np.argmin(losses))
            counts[best] += 1
            total += blocks[best]
            order.append(best)
        self.weights_ = counts / counts.sum()
        self.selection_order_ = np.asarray(order)
        self.n_members_ = len(blocks)

    def _combine(self, X) -> np.ndarray:
        check_is_fitted(self, "weights_")
        X = validate_data(self, X, reset=False)
        blocks = self._blocks(X, self._width)
        # Summed block by block, not by BLAS, whose result can depend on its
        # thread count: the same rows give the same output in every process.
        combined = np.zeros_like(blocks[0], dtype=np.float64)
        for weight, block in zip(self.weights_, blocks, strict=True):
            combined += weight * block
        return combined


class EnsembleSelectionClassifier(ClassifierMixin, _BaseEnsembleSelection):
    """Weighted average of members' probabilities, weights chosen greedily.

    Caruana et al. (2004): starting from an empty ensemble, add (with
    replacement) the member whose addition gives the lowest log loss, for
    ``n_iterations`` steps; a member's weight is how often it was added. Fitted
    on a stack's out-of-fold probabilities, as its ``final_estimator``.

    Parameters
    ----------
    n_iterations : int, default=50
        Number of greedy additions; weights are multiples of 1/n_iterations.

    Attributes
    ----------
    weights_ : ndarray of shape (n_members,)
        Non-negative member weights summing to one.
    selection_order_ : ndarray of shape (n_iterations,)
        The member added at each step.
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.naive_bayes import GaussianNB
    >>> from skstack import KerasStackingClassifier
    >>> from skstack.ensemble import EnsembleSelectionClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> stack = KerasStackingClassifier(
    ...     [("lr", LogisticRegression(max_iter=500)), ("nb", GaussianNB())],
    ...     final_estimator=EnsembleSelectionClassifier(), cv=3,
    ... ).fit(X, y)
    >>> float(stack.final_estimator_.weights_.sum())
    1.0
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Select members greedily by the log loss of their averaged probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_members * n_columns)
            Members' probabilities side by side: one column per member for a
            binary target (the positive class), one per class otherwise.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            The fitted selection.
        """
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "EnsembleSelectionClassifier needs at least 2 classes; y has one class."
            )
        self._width = 1 if len(self.classes_) == 2 else len(self.classes_)
        blocks = self._blocks(X, self._width)
        rows = np.arange(len(encoded))

        def log_loss(columns):
            proba = _full_proba(columns)
            return -np.mean(np.log(np.clip(proba[rows, encoded], 1e-15, None)))

        self._select(blocks, log_loss)
        return self

    def predict_proba(self, X):
        """Weighted average of the members' probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_members * n_columns)
            Members' probabilities, as in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities.
        """
        return _full_proba(self._combine(X))

    def predict(self, X):
        """The class of highest averaged probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_members * n_columns)
            Members' probabilities, as in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


def _full_proba(columns: np.ndarray) -> np.ndarray:
    """Binary blocks hold P(positive) only; give both columns."""
    if columns.shape[1] == 1:
        return np.hstack([1.0 - columns, columns])
    return columns


class EnsembleSelectionRegressor(RegressorMixin, _BaseEnsembleSelection):
    """Weighted average of members' predictions, weights chosen greedily.

    Caruana et al. (2004) with the mean squared error: add (with replacement)
    the member whose addition lowers the error most, ``n_iterations`` times.

    Parameters
    ----------
    n_iterations : int, default=50
        Number of greedy additions.

    Attributes
    ----------
    weights_ : ndarray of shape (n_members,)
        Non-negative member weights summing to one.
    selection_order_ : ndarray of shape (n_iterations,)
        The member added at each step.

    Examples
    --------
    >>> import numpy as np
    >>> from skstack.ensemble import EnsembleSelectionRegressor
    >>> y = np.arange(10.0)
    >>> X = np.column_stack([y + 1, y - 1, y * 0])
    >>> EnsembleSelectionRegressor(n_iterations=10).fit(X, y).weights_
    array([0.5, 0.5, 0. ])
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Select members greedily by the squared error of their average.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_members * n_outputs)
            Members' predictions side by side.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        self : object
            The fitted selection.
        """
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True)
        self._y_ndim = y.ndim
        target = y.reshape(len(y), -1)
        self._width = target.shape[1]
        blocks = self._blocks(X, self._width)
        self._select(blocks, lambda columns: np.mean((columns - target) ** 2))
        return self

    def predict(self, X):
        """Weighted average of the members' predictions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_members * n_outputs)
            Members' predictions, as in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions.
        """
        combined = self._combine(X)
        return combined.ravel() if self._y_ndim == 1 else combined

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
