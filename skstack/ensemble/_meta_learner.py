"""The default meta-learners: scikit-learn's linear models on a good scale.

A stack's meta-features are few, strongly correlated columns (every member's
view of the same target), so what combines them best is a regularized linear
model, not a network trained by mini-batch steps: probabilities are taken as
logits (a linear combination of logits pools the members' log-odds), every
column is standardized, then scikit-learn's ``LogisticRegression`` or
``Ridge`` is fitted on all rows. Their Keras form (``model_``, and what
``stack.to_keras()`` exports) is the logit layer and one ``Dense`` layer with
the standardization folded into its weights. :func:`make_meta_learner`
builds the one each stack fits by default, or a small dense network
(``kind="dense"``, which :mod:`skstack.keras` provides).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from scipy.special import expit, softmax
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ..utils._compat import NEWTON_WARM_START_WORKS, Interval, StrOptions, _fit_context
from ..utils._validation import row_weights, state_restored_on_error
from ._extension import keras_function

# The values ``C="auto"`` chooses from, strongest penalty first.
C_GRID = np.logspace(-3, 2, 6)
# ``C="auto"`` ranks the grid on at most this many rows (a stratified sample):
# enough to rank six values, and the search costs the same at any size.
C_SEARCH_ROWS = 20_000
# Newton's method fits all rows up to this many coefficients a model (``_solver``).
NEWTON_MAX_COEFFICIENTS = 60
# Probabilities are clipped this far from 0 and 1 before their logit.
LOGIT_EPSILON = 1e-6


class LinearMetaBase(BaseEstimator):
    """Scaling, prediction and Keras form shared by the two meta-learners."""

    def _scaled_features(self, X, weights=None, logit=False) -> np.ndarray:
        """Logits of the probability columns, then standardized columns.

        With ``weights`` (in ``fit``), the probability columns and the
        standardization are learnt from the rows, weighted.
        """
        # A copy, since columns are replaced below; sparse input (a stack's
        # passthrough of sparse X) is made dense, as standardizing would.
        Z = X.toarray() if sparse.issparse(X) else np.array(X, dtype=np.float64)
        if weights is not None:
            counted = Z[weights > 0]
            within = np.all((counted >= 0.0) & (counted <= 1.0), axis=0)
            self.proba_columns_ = within & bool(logit)
        columns = self.proba_columns_
        if columns.any():
            clipped = np.clip(Z[:, columns], LOGIT_EPSILON, 1.0 - LOGIT_EPSILON)
            # As the exported graph's logit layer computes it.
            Z[:, columns] = np.log(clipped) - np.log(1.0 - clipped)
        if weights is not None:
            self.mean_ = np.average(Z, axis=0, weights=weights)
            scale = np.sqrt(np.average((Z - self.mean_) ** 2, axis=0, weights=weights))
            self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        return (Z - self.mean_) / self.scale_

    def _decision(self, X) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64, accept_sparse=True)
        # einsum, not BLAS: a BLAS product rounds a row by the batch's shape
        # and its threads; this gives a row the same bits in any batch. In
        # C order: NumPy < 2 sums F-ordered rows (a csc matrix made dense)
        # in another order.
        Z = np.ascontiguousarray(self._scaled_features(X))
        return np.einsum("ij,kj->ik", Z, self.coef_) + self.intercept_

    @property
    def model_(self):
        """The fitted model as Keras (float32), built at each access.

        The logits of ``proba_columns_``, then one ``Dense`` layer with the
        standardization folded into its weights; it gives ``predict_proba``'s
        probabilities (the positive class's only, for two classes) or the
        predictions.
        """
        check_is_fitted(self, "coef_")
        return keras_function("linear_meta_model")(self, "float32")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class LinearMetaClassifier(ClassifierMixin, LinearMetaBase):
    """Logistic regression on logits and standardized columns: the stacking default.

    The meta-learner :class:`~skstack.KerasStackingClassifier` uses when
    ``final_estimator`` is None. Columns whose training values all lie in
    [0, 1] (members' probabilities) are replaced by their logits; every column
    is then standardized; scikit-learn's ``LogisticRegression(C=C)`` (softmax
    for more than two classes, one sigmoid per label for a multilabel target;
    Newton's method, ``newton-cholesky``, for up to 60 coefficients per model,
    L-BFGS for more) is fitted on the result. ``model_`` is the same model as Keras.

    Parameters
    ----------
    C : float or "auto", default="auto"
        Inverse strength of the L2 penalty, as in ``LogisticRegression``.
        ``"auto"`` chooses it from 1e-3, 1e-2, ..., 100 by the held-out log
        loss of a shuffled, stratified 3-fold split (of a stratified sample
        of 20,000 rows when there are more; each fold fits the values from
        the strongest penalty up, warm-started), then fits all rows with it
        (above 20,000 rows starting from its solution on the sample).
    logit_probabilities : bool, default=True
        Replace columns whose training values lie in [0, 1] by their logits
        (clipped at 1e-6 from 0 and 1). False leaves every column as it is.
    max_iter : int, default=1000
        Most solver iterations of the fit on all rows.
    tol : float, default=1e-6
        Tolerance of the fit on all rows: L-BFGS stops when every component
        of the projected gradient is below it, Newton's method when the
        gradient's largest component is.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (``0 .. n_labels - 1`` for a multilabel target).
    C_ : float
        The ``C`` used: the one given, or the one ``"auto"`` chose.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights of the standardized columns (one row for two classes, one per
        label for a multilabel target).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts.
    proba_columns_ : ndarray of bool of shape (n_features,)
        Columns taken as probabilities (logit applied).
    mean_, scale_ : ndarray of shape (n_features,)
        Standardization of the columns, after the logits (weighted by
        ``sample_weight``).
    n_iter_ : int
        Solver iterations of the fit on all rows (the most of any label).
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
        """Fit the logistic regression on all rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Meta-features.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator (one logistic regression
            per label; the split of ``C="auto"`` is then not stratified).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the loss.

        Returns
        -------
        self : object
            The fitted meta-learner.
        """
        with state_restored_on_error(self):
            X, y = validate_data(
                self, X, y, dtype=np.float64, accept_sparse=True, multi_output=True
            )
            check_classification_targets(y)
            target_type = type_of_target(y)
            self._multilabel = target_type == "multilabel-indicator"
            if self._multilabel:
                # Label j is "class" j, as in scikit-learn's MLPClassifier.
                self.classes_ = np.arange(y.shape[1])
            elif target_type in ("binary", "multiclass"):
                y = column_or_1d(y, warn=True)
                self.classes_ = np.unique(y)
            else:
                raise ValueError(
                    f"{type(self).__name__} supports binary, multi-class and "
                    f"multilabel-indicator targets, got {target_type!r}."
                )
            weights = row_weights(sample_weight, X)
            Z = self._scaled_features(X, weights, logit=self.logit_probabilities)
            if not self._multilabel and len(self.classes_) == 1:
                # One class: certain of it (predict_proba is a column of
                # ones); no penalty to choose, nothing to fit.
                self.C_ = 1.0 if isinstance(self.C, str) else float(self.C)
                self.coef_ = np.zeros((1, Z.shape[1]))
                self.intercept_ = np.array([-_LOGIT_LIMIT])
                self.n_iter_ = 0
                return self
            sample = self._sample(Z, y, weights)
            self.C_ = self._chosen_C(*sample)
            solver = self._solver(Z)
            models = self._new_models(Z, solver)
            warm = solver == "lbfgs" or NEWTON_WARM_START_WORKS
            if len(Z) > C_SEARCH_ROWS and warm:
                # From the solution on the search's sample, Newton's method
                # takes a few iterations on all rows instead of ~7.
                self._fit_models(*sample, self.C_, 1e-4, models)
            models = self._fit_models(Z, y, weights, self.C_, self.tol, models)
            self.coef_ = np.vstack([model.coef_ for model in models])
            self.intercept_ = np.concatenate([model.intercept_ for model in models])
            self.n_iter_ = int(max(np.max(model.n_iter_) for model in models))
            return self

    def _solver(self, Z) -> str:
        """The final fit's solver: Newton's method for few coefficients.

        Each Newton iteration builds the Hessian (``n_rows * coefficients**2``);
        for a stack's few meta-features it converges in a few iterations,
        several times faster than L-BFGS (100,000 rows, 18 coefficients: 7
        iterations, 0.33 s, against 42 and 1.0 s).
        """
        n_classes = len(self.classes_)
        per_model = 1 if self._multilabel or n_classes == 2 else n_classes
        coefficients = (Z.shape[1] + 1) * per_model
        return "newton-cholesky" if coefficients <= NEWTON_MAX_COEFFICIENTS else "lbfgs"

    def _new_models(self, Z, solver) -> list:
        """Unfitted, warm-startable models: one, or one per label."""
        n_models = len(self.classes_) if self._multilabel else 1
        return [
            LogisticRegression(solver=solver, max_iter=self.max_iter, warm_start=True)
            for _ in range(n_models)
        ]

    def _fit_models(self, Z, y, weights, C, tol, warm=None) -> list:
        """One ``LogisticRegression`` (one per label for a multilabel target).

        ``warm``: the models of the previous ``C`` to start from (or
        unfitted ones to use).
        """
        targets = y.T if self._multilabel else [y]
        models = warm or self._new_models(Z, "lbfgs")
        for model, target in zip(models, targets, strict=True):
            model.set_params(C=C, tol=tol)
            if len(np.unique(target)) < 2:
                # A multilabel column never (or always) 1 in these rows: its
                # prior, 0 or 1.
                model.coef_ = np.zeros((1, Z.shape[1]))
                sign = 1.0 if target[0] == 1 else -1.0
                model.intercept_ = np.array([sign * _LOGIT_LIMIT])
                model.n_iter_ = np.array([0])
                model.classes_ = np.array([0, 1])
                continue
            with warnings.catch_warnings():
                # The search fits to a loose tolerance; max_iter bounds the final fit.
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(Z, target, sample_weight=weights)
        return models

    def _chosen_C(self, Z, y, weights) -> float:
        """``C``, or with ``C="auto"`` the grid's best on ``_sample``'s rows."""
        if not (isinstance(self.C, str) and self.C == "auto"):
            return float(self.C)
        strata = None if self._multilabel else y
        if strata is None:  # multilabel: no classes to stratify by
            n_splits, splitter = min(3, len(Z)), KFold
        else:
            counts = np.unique(strata, return_counts=True)[1]
            n_splits, splitter = min(3, int(counts.min())), StratifiedKFold
        if n_splits < 2:
            return 1.0  # a class of one row: nothing to hold out
        splits = splitter(n_splits, shuffle=True, random_state=0).split(Z, strata)
        held_out_loss = np.zeros(len(C_GRID))
        # 18 small fits of arrays checked once in fit: no checks per call.
        with config_context(skip_parameter_validation=True, assume_finite=True):
            for train, test in splits:
                models = None
                for index, C in enumerate(C_GRID):
                    models = self._fit_models(
                        Z[train], y[train], weights[train], C, 1e-4, models
                    )
                    held_out_loss[index] += self._log_loss(
                        models, Z[test], y[test], weights[test]
                    )
        return float(C_GRID[np.argmin(held_out_loss)])

    def _sample(self, Z, y, weights) -> tuple:
        """The rows ``C="auto"`` ranks on: all, or a stratified sample of them."""
        if len(Z) <= C_SEARCH_ROWS:
            return Z, y, weights
        strata = None if self._multilabel else y
        Z, _, y, _, weights, _ = train_test_split(
            Z, y, weights, train_size=C_SEARCH_ROWS, stratify=strata, random_state=0
        )
        return Z, y, weights

    def _log_loss(self, models, Z, y, weights) -> float:
        """The rows' weighted log loss (summed over labels)."""
        targets = y.T if self._multilabel else [y]
        rows = np.arange(len(Z))
        total = 0.0
        for model, target in zip(models, targets, strict=True):
            true_class = np.searchsorted(model.classes_, target)
            log_proba = model.predict_log_proba(Z)[rows, true_class]
            total -= np.average(log_proba, weights=weights)
        return total

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
        if len(self.classes_) == 1:  # fitted on one class: certain of it
            return np.ones((len(scores), 1))
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


# The log-odds a label seen with one value only is given: its probability is
# then 1 - 2e-9 or 2e-9.
_LOGIT_LIMIT = 20.0


class LinearMetaRegressor(RegressorMixin, LinearMetaBase):
    """Ridge regression on standardized columns: the stacking regressor's default.

    Every column of the meta-features is standardized; scikit-learn's
    ``Ridge(alpha=alpha)`` is fitted on the result (a closed-form solve).
    ``model_`` is the same model as Keras.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the L2 penalty, as in ``Ridge``: the loss is the rows'
        weighted sum of squared errors plus ``alpha * ||coef||^2``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs, n_features)
        Weights of the standardized columns.
    intercept_ : ndarray of shape (n_outputs,)
        Intercepts.
    mean_, scale_ : ndarray of shape (n_features,)
        Standardization of the columns (weighted by ``sample_weight``).
    proba_columns_ : ndarray of bool of shape (n_features,)
        All False: no column is taken as a probability in regression.
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
    }

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the ridge regression on all rows.

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
            Z = self._scaled_features(X, weights)
            ridge = Ridge(alpha=self.alpha).fit(Z, y, sample_weight=weights)
            self.coef_ = np.atleast_2d(ridge.coef_)
            self.intercept_ = np.atleast_1d(ridge.intercept_)
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


def make_meta_learner(task: str = "classification", kind: str = "linear", **params):
    """Build a meta-learner for stacking; ``kind="linear"`` is the stacks' default.

    ``KerasStackingClassifier(final_estimator=None)`` fits
    ``make_meta_learner("classification")`` and ``KerasStackingRegressor`` fits
    ``make_meta_learner("regression")``: scikit-learn's ``LogisticRegression``
    or ``Ridge`` on standardized meta-features (logits of the members'
    probabilities), whose Keras form is one ``Dense`` layer
    (:class:`LinearMetaClassifier`, :class:`LinearMetaRegressor`).
    ``kind="dense"`` gives a small dense network trained by mini-batch steps
    instead. Pass one explicitly to tune it (``final_estimator__C``) or
    change it.

    Parameters
    ----------
    task : {"classification", "regression"}, default="classification"
        Which target the stack predicts.
    kind : {"linear", "dense"}, default="linear"
        ``"linear"``: :class:`LinearMetaClassifier` / :class:`LinearMetaRegressor`.
        ``"dense"``: a :class:`KerasClassifier` / :class:`KerasRegressor` around
        :func:`dense_model` with ``hidden=(16,)``, ``epochs=50``,
        ``batch_size=64``, ``optimizer="adam"``, ``optimizer__learning_rate=0.01``.
    **params : dict
        Parameters overriding those defaults (``C=0.1`` or ``alpha=10`` for the
        linear kind; ``epochs=100`` or ``hidden=(32,)`` for the dense one).

    Returns
    -------
    meta_learner : estimator
        Unfitted.

    Examples
    --------
    >>> from skstack.keras import make_meta_learner
    >>> make_meta_learner("regression", alpha=10.0).alpha
    10.0
    >>> make_meta_learner("classification", kind="dense", epochs=10).epochs
    10
    """
    linear = {"classification": LinearMetaClassifier, "regression": LinearMetaRegressor}
    if task not in linear:
        raise ValueError(
            f"task must be 'classification' or 'regression', got {task!r}."
        )
    if kind == "linear":
        return linear[task](**params)
    if kind == "dense":
        return keras_function("dense_meta_learner")(task, params)
    raise ValueError(f"kind must be 'linear' or 'dense', got {kind!r}.")
