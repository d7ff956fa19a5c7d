"""``KerasStackingRegressor``: the public stacking class for regression.

The engine is in ``_base.py``; the default meta-learner in ``_meta_learner.py``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, is_classifier
from sklearn.utils import get_tags

from ..utils._compat import _fit_context
from ..utils._docstrings import SHARED_ATTRIBUTES, SHARED_PARAMETERS, SHARED_TAIL
from ..utils._validation import (
    check_stack_method,
    numeric_target,
    state_restored_on_error,
)
from ._base import _BaseStacking
from ._columns import MetaColumns
from ._meta_learner import make_meta_learner
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
        # A classifier as final_estimator has no regressor tags (fit refuses it).
        final_tags = None if final is None else get_tags(final).regressor_tags
        tags.regressor_tags.poor_score = final_tags is None or final_tags.poor_score
        tags.target_tags.multi_output = True
        return tags

    def _default_final_estimator(self):
        return make_meta_learner("regression")

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
        if self.final_estimator is not None and is_classifier(self.final_estimator):
            raise ValueError(
                f"{type(self).__name__}: final_estimator is a classifier "
                f"({type(self.final_estimator).__name__}); a regression stack "
                "needs a regressor, e.g. make_meta_learner('regression', "
                "kind='dense') (make_meta_learner's task is 'classification' "
                "unless given)."
            )
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
        prediction = None if predict_params else self._predict_by_graph(X)
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
