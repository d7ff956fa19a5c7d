"""The default meta-learner: one Keras ``Dense`` layer fit full-batch by L-BFGS.

A stack's meta-features are few, strongly correlated columns (every member's
view of the same target), so what combines them best is a regularized linear
model on a good scale, not a network trained by mini-batch steps: probabilities
are taken as logits (a linear combination of logits pools the members'
log-odds), every column is standardized, and the penalized loss is minimized
over all rows at once with L-BFGS, whose gradient is exact and cheap in NumPy.
The fitted weights are those of a Keras model, ``model_``, which is what
``stack.to_keras()`` exports and ``skstack.save`` writes.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d, validate_data

from skstack.utils._compat import Interval, StrOptions, _fit_context
from skstack.utils._validation import state_restored_on_error

from ._linear_fit import LinearMetaBase, cross_entropy, row_weights, squared_error

# The values ``C="auto"`` chooses from, strongest penalty first.
_C_GRID = np.logspace(-3, 2, 6)


class LinearMetaClassifier(ClassifierMixin, LinearMetaBase):
    """Softmax (or sigmoid) regression as a Keras model: the stacking default.

    The meta-learner :class:`~skstack.KerasStackingClassifier` uses when
    ``final_estimator`` is None. Columns whose training values all lie in
    [0, 1] (members' probabilities) are replaced by their logits; every column
    is then standardized; one ``Dense`` layer (sigmoid for two classes, softmax
    for more) is fitted on all rows at once by L-BFGS, minimizing the weighted
    mean cross-entropy plus an L2 penalty on the weights. The result is the
    optimum of that convex problem, the same as scikit-learn's
    ``LogisticRegression(C=C)`` on the transformed columns, found in a few
    milliseconds (``C="auto"`` tries six values in an inner 3-fold split
    first); ``model_`` is the fitted Keras model.

    Parameters
    ----------
    C : float or "auto", default="auto"
        Inverse strength of the L2 penalty, as in scikit-learn's
        ``LogisticRegression``: the loss is the sum of the rows' weighted
        cross-entropy plus ``||coef||^2 / (2 * C)``. ``"auto"`` chooses it
        from 1e-3, 1e-2, ..., 100 by the held-out cross-entropy of a shuffled,
        stratified 3-fold split of the rows (as ``LogisticRegressionCV``
        would), then fits all rows with it.
    logit_probabilities : bool, default=True
        Replace columns whose training values lie in [0, 1] by their logits
        (clipped at 1e-6 from 0 and 1). False leaves every column as it is.
    max_iter : int, default=1000
        Most L-BFGS iterations.
    tol : float, default=1e-6
        L-BFGS stops when every component of the projected gradient is below it.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (``0 .. n_labels - 1`` for a multilabel target).
    C_ : float
        The ``C`` used: the one given, or the one ``"auto"`` chose.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights of the standardized columns (one row for two classes).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts.
    proba_columns_ : ndarray of bool of shape (n_features,)
        Columns taken as probabilities (logit applied).
    mean_, scale_ : ndarray of shape (n_features,)
        Standardization of the columns, after the logits (weighted by
        ``sample_weight``).
    model_ : keras.Model
        The fitted model: logits of ``proba_columns_``, then one ``Dense``
        layer with the standardization folded into its weights; it gives
        ``predict_proba``'s probabilities (the positive class's only, for two
        classes) in float32.
    n_iter_ : int
        L-BFGS iterations run.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    LinearMetaRegressor : The regression counterpart.
    make_meta_learner : Builds this or the dense-network meta-learner.

    Examples
    --------
    >>> import numpy as np
    >>> from skstack.keras import LinearMetaClassifier
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(0, 2, size=200)
    >>> probas = np.clip(y[:, None] * 0.6 + rng.uniform(0, 0.4, (200, 2)), 0, 1)
    >>> meta = LinearMetaClassifier().fit(probas, y)
    >>> meta.predict_proba(probas[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "logit_probabilities": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, C="auto", *, logit_probabilities=True, max_iter=1000, tol=1e-6):
        self.C = C
        self.logit_probabilities = logit_probabilities
        self.max_iter = max_iter
        self.tol = tol

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the weights on all rows by L-BFGS.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Meta-features.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator (one sigmoid unit per
            label; the split of ``C="auto"`` is then not stratified).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the loss.

        Returns
        -------
        self : object
            The fitted meta-learner.
        """
        with state_restored_on_error(self):
            return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        X, y = validate_data(
            self, X, y, dtype=np.float64, accept_sparse=True, multi_output=True
        )
        check_classification_targets(y)
        target_type = type_of_target(y)
        self._multilabel = target_type == "multilabel-indicator"
        if self._multilabel:
            # One sigmoid unit per label; label j is "class" j, as in
            # scikit-learn's MLPClassifier.
            targets = np.asarray(y, dtype=np.float64)
            classes, n_units = np.arange(y.shape[1]), y.shape[1]
        elif target_type in ("binary", "multiclass"):
            y = column_or_1d(y, warn=True)
            classes, encoded = np.unique(y, return_inverse=True)
            n_units = 1 if len(classes) <= 2 else len(classes)
            targets = encoded if n_units > 1 else (encoded == 1)[:, None] * 1.0
        else:
            raise ValueError(
                f"{type(self).__name__} supports binary, multi-class and "
                f"multilabel-indicator targets, got {target_type!r}."
            )
        weights = row_weights(sample_weight, X)
        Z = self._scaled_features(X, weights, logit=self.logit_probabilities)
        strata = encoded if not self._multilabel else None
        self.C_ = self._chosen_C(Z, targets, strata, weights, n_units)
        loss = cross_entropy(Z, targets, weights, n_units)
        self.coef_, self.intercept_, self.n_iter_ = self._minimize(
            loss, Z.shape[1], n_units, penalty=1.0 / (self.C_ * weights.sum())
        )
        self.classes_ = classes
        softmax_output = n_units > 1 and not self._multilabel
        self.model_ = self._keras_model(
            Z.shape[1], "softmax" if softmax_output else "sigmoid"
        )
        return self

    def _chosen_C(self, Z, targets, strata, weights, n_units) -> float:
        """``C``, or with ``C="auto"`` the grid's value of least held-out loss.

        The weighted cross-entropy of held-out rows, summed over the folds of a
        shuffled split (3 folds, stratified by ``strata`` when given, fewer
        when a class is smaller), each fold fitting the grid from the
        strongest penalty up, warm-started and to a tolerance of 1e-4: enough
        to rank the values.
        """
        if not (isinstance(self.C, str) and self.C == "auto"):
            return float(self.C)
        if strata is None:  # multilabel: no classes to stratify by
            n_splits, splitter = min(3, len(Z)), KFold
        else:
            n_splits, splitter = min(3, int(np.bincount(strata).min())), StratifiedKFold
        if n_splits < 2:
            return 1.0  # a class of one row: nothing to hold out
        splits = splitter(n_splits, shuffle=True, random_state=0).split(Z, strata)
        held_out_loss = np.zeros(len(_C_GRID))
        for train, test in splits:
            fit_loss = cross_entropy(Z[train], targets[train], weights[train], n_units)
            test_loss = cross_entropy(Z[test], targets[test], weights[test], n_units)
            total, start = weights[train].sum(), None
            for index, C in enumerate(_C_GRID):
                coef, intercept, _ = self._minimize(
                    fit_loss, Z.shape[1], n_units, 1.0 / (C * total), start, tol=1e-4
                )
                start = (coef, intercept)
                held_out_loss[index] += test_loss(coef, intercept)[0]
        return float(_C_GRID[np.argmin(held_out_loss)])

    def decision_function(self, X):
        """Scores before the sigmoid or softmax.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Meta-features.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            One column (the positive class's log-odds) for two classes.
        """
        scores = self._decision(X)
        return (
            scores.ravel() if scores.shape[1] == 1 and not self._multilabel else scores
        )

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Meta-features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; for a multilabel target,
            each label's probability of being 1.
        """
        scores = self._decision(X)
        if self._multilabel:
            return expit(scores)
        if scores.shape[1] == 1:
            positive = expit(scores)
            return np.hstack([1.0 - positive, positive])
        return softmax(scores, axis=1)

    def predict(self, X):
        """Class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Meta-features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The most probable class of each row.
        """
        proba = self.predict_proba(X)
        if self._multilabel:
            return (proba > 0.5).astype(np.int64)
        return self.classes_[np.argmax(proba, axis=1)]


class LinearMetaRegressor(RegressorMixin, LinearMetaBase):
    """Ridge regression as a Keras model: the stacking regressor's default.

    Every column of the meta-features is standardized and the target is
    standardized inside ``fit`` (and un-standardized in ``predict``); one
    linear ``Dense`` layer is fitted on all rows at once by L-BFGS. The result
    is the optimum of scikit-learn's ``Ridge(alpha=alpha)`` on the
    standardized columns; ``model_`` is the fitted Keras model.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the L2 penalty, as in scikit-learn's ``Ridge``: the loss
        is the rows' weighted sum of squared errors plus ``alpha * ||coef||^2``.
    max_iter : int, default=1000
        Most L-BFGS iterations.
    tol : float, default=1e-6
        L-BFGS stops when every component of the projected gradient is below it.

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs, n_features)
        Weights of the standardized columns, for the original target scale.
    intercept_ : ndarray of shape (n_outputs,)
        Intercepts, on the original target scale.
    mean_, scale_ : ndarray of shape (n_features,)
        Standardization of the columns (weighted by ``sample_weight``).
    proba_columns_ : ndarray of bool of shape (n_features,)
        All False: no column is taken as a probability in regression.
    model_ : keras.Model
        The fitted model: one ``Dense`` layer with the scalings folded in.
    n_iter_ : int
        L-BFGS iterations run.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    LinearMetaClassifier : The classification counterpart.
    make_meta_learner : Builds this or the dense-network meta-learner.

    Examples
    --------
    >>> import numpy as np
    >>> from skstack.keras import LinearMetaRegressor
    >>> rng = np.random.RandomState(0)
    >>> y = rng.normal(size=100)
    >>> predictions = y[:, None] + rng.normal(scale=0.5, size=(100, 3))
    >>> LinearMetaRegressor().fit(predictions, y).predict(predictions[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, alpha=1.0, *, max_iter=1000, tol=1e-6):
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the weights on all rows by L-BFGS.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Meta-features.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the loss.

        Returns
        -------
        self : object
            The fitted meta-learner.
        """
        with state_restored_on_error(self):
            return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        X, y = validate_data(
            self,
            X,
            y,
            dtype=np.float64,
            accept_sparse=True,
            multi_output=True,
            y_numeric=True,
        )
        weights = row_weights(sample_weight, X)
        self._target_ndim = y.ndim
        target = y.reshape(len(y), -1).astype(np.float64)
        y_mean = np.average(target, axis=0, weights=weights)
        y_scale = np.sqrt(np.average((target - y_mean) ** 2, axis=0, weights=weights))
        y_scale = np.where(y_scale > 1e-12, y_scale, 1.0)
        standardized = (target - y_mean) / y_scale
        Z = self._scaled_features(X, weights)
        # Ridge's optimum is the same for the standardized target, scaled back.
        coef, intercept, self.n_iter_ = self._minimize(
            squared_error(Z, standardized, weights),
            Z.shape[1],
            target.shape[1],
            penalty=2.0 * self.alpha / weights.sum(),
        )
        self.coef_ = coef * y_scale[:, None]
        self.intercept_ = intercept * y_scale + y_mean
        self.model_ = self._keras_model(Z.shape[1], None)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Meta-features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The target's shape: one column per output for a 2-D ``y``.
        """
        prediction = self._decision(X)
        return prediction.ravel() if self._target_ndim == 1 else prediction
