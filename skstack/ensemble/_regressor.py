"""``KerasStackingRegressor`` and its default meta-learner, ``LinearMetaRegressor``."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.utils import get_tags
from sklearn.utils.validation import validate_data

from ..utils._compat import Interval, _fit_context
from ..utils._docstrings import SHARED_ATTRIBUTES, SHARED_PARAMETERS, SHARED_TAIL
from ..utils._validation import (
    check_stack_method,
    numeric_target,
    row_weights,
    state_restored_on_error,
)
from ._base import _BaseStacking
from ._columns import MetaColumns
from ._linear_meta import LinearMetaBase
from ._routing import refuse_unroutable, routed_predict_params


class KerasStackingRegressor(RegressorMixin, _BaseStacking):
    __doc__ = f"""Stacked generalization for regression, Keras members first-class.

    Each base estimator's out-of-fold predictions (same folds for all) become
    the features of a meta-learner; the base estimators are then refitted on all
    the data to predict new samples. Multi-output targets are supported when
    the estimators support them.

    Parameters
    ----------
{SHARED_PARAMETERS}
{SHARED_TAIL}
    Attributes
    ----------
{SHARED_ATTRIBUTES}
    See Also
    --------
    KerasStackingClassifier : The same for classification.
    sklearn.ensemble.StackingRegressor : scikit-learn's, whose ``fit_transform``
        returns in-sample predictions.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from skstack import KerasStackingRegressor
    >>> from skstack.keras import KerasRegressor, dense_model
    >>> X, y = load_diabetes(return_X_y=True)
    >>> stack = KerasStackingRegressor(
    ...     [("mlp", KerasRegressor(dense_model, hidden=(8,), epochs=2)),
    ...      ("ridge", Ridge())],
    ...     final_estimator=Ridge(), cv=3, random_state=0,
    ... )
    >>> stack.fit(X, y).predict(X[:2]).shape
    (2,)
    >>> list(stack.get_feature_names_out())
    ['mlp_predict', 'ridge_predict']
    """

    _default_final_methods = frozenset({"predict"})

    def __init__(
        self,
        estimators,
        final_estimator=None,
        *,
        cv=5,
        fold_models="refit",
        n_repeats=1,
        scoring=None,
        fuse_folds="auto",
        warm_start_folds=True,
        passthrough=False,
        memory=None,
        n_jobs=None,
        verbose=0,
        random_state=None,
    ):
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.cv = cv
        self.fold_models = fold_models
        self.n_repeats = n_repeats
        self.scoring = scoring
        self.fuse_folds = fuse_folds
        self.warm_start_folds = warm_start_folds
        self.passthrough = passthrough
        self.memory = memory
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        final = self.final_estimator
        tags.regressor_tags.poor_score = (
            final is None or get_tags(final).regressor_tags.poor_score
        )
        tags.target_tags.multi_output = True
        return tags

    def _default_final_estimator(self):
        return LinearMetaRegressor()

    def _stack_methods(self, names, members):
        return check_stack_method(self, "predict", names, members, is_classifier=False)

    def _meta_columns(self, prefit):
        return MetaColumns(n_outputs=self._n_outputs)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, groups=None, **fit_params):
        """Fit the base estimators and the meta-learner on their out-of-fold output.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
(n_samples, ...)
            Training samples; N-D arrays (images, sequences) when every
            estimator accepts them.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to every fold, full and meta-learner fit that accepts it
            (to a pipeline's last step); the others warn
            :class:`~skstack.exceptions.SampleWeightIgnoredWarning`.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter (``cv=GroupKFold(5)``): a group is
            never in both the training and the test part of a fold.
        **fit_params : dict
            Other metadata, only with
            ``sklearn.set_config(enable_metadata_routing=True)``: every member,
            the meta-learner and the splitter get what they requested
            (``set_fit_request``), ``sample_weight`` and ``groups`` included.

        Returns
        -------
        self : object
            The fitted stack.
        """
        refuse_unroutable(self, fit_params)
        with state_restored_on_error(self):
            X_checked, X_members, y = self._validate_input(
                X, y, multi_output=True, y_numeric=True
            )
            y = numeric_target(self, y)
            self._n_outputs = 1 if y.ndim == 1 else y.shape[1]
            self._target_ndim = y.ndim
            return self._fit_stack(
                X_checked, X_members, y, sample_weight, groups, fit_params
            )

    def predict(self, X, **predict_params):
        """Predict targets with the meta-learner.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
(n_samples, ...)
            Input samples.
        **predict_params : dict
            Passed to the meta-learner's ``predict``, e.g. ``return_std=True``
            for a ``BayesianRidge`` or ``GaussianProcessRegressor``
            meta-learner (with metadata routing on, what it requested).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted targets; a tuple of such arrays when the meta-learner
            returns one (``(mean, std)`` with ``return_std=True``).
        """
        prediction = None if predict_params else self._predict_small_batch(X)
        if prediction is None:
            predict_params = routed_predict_params(self, predict_params)
            X_meta = self._transform(X)
            prediction = self.final_estimator_.predict(X_meta, **predict_params)
        if isinstance(prediction, tuple):
            return tuple(self._target_shaped(np.asarray(part)) for part in prediction)
        return self._target_shaped(np.asarray(prediction))

    def _target_shaped(self, prediction):
        # Predictions take the target's shape: (n,) for y of shape (n,), and
        # (n, 1) for a column y, whatever shape the meta-learner returns.
        if self._target_ndim == 1 and prediction.ndim == 2:
            prediction = prediction.ravel()
        elif self._target_ndim == 2 and prediction.ndim == 1:
            prediction = prediction.reshape(-1, 1)
        return prediction


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
