"""``KerasStackingClassifier``: the public stacking class for classification.

The engine is in ``_base.py``; this module adds label handling, the methods that
depend on the meta-learner, and the default meta-learner.
``KerasStackingRegressor`` is in ``_regressor.py``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..utils._compat import StrOptions, _fit_context
from ..utils._docstrings import SHARED_ATTRIBUTES, SHARED_PARAMETERS, SHARED_TAIL
from ..utils._validation import (
    check_min_class_count,
    check_stack_method,
    state_restored_on_error,
    warn_unseen_labels,
)
from ._base import _BaseStacking
from ._columns import MetaColumns, positive_probabilities
from ._meta_learner import make_meta_learner
from ._routing import refuse_unroutable, routed_predict_params


def _final_has(attr: str):
    """True when the fitted (or to-be-fitted) meta-learner has ``attr``.

    Otherwise the meta-learner's own AttributeError propagates, which
    ``available_if`` chains (``__cause__``) to the one it raises, as
    scikit-learn's stacking does.
    """

    def check(self) -> bool:
        if hasattr(self, "final_estimator_"):
            getattr(self.final_estimator_, attr)
        elif self.final_estimator is None:
            if attr not in self._default_final_methods:
                raise AttributeError(
                    f"The default meta-learner has no attribute {attr!r}."
                )
        else:
            getattr(self.final_estimator, attr)
        return True

    return check


class KerasStackingClassifier(ClassifierMixin, _BaseStacking):
    __doc__ = f"""Stacked generalization for classification, Keras members first-class.

    Each base estimator's out-of-fold predictions (``cross_val_predict`` style,
    same folds for all) become the features of a meta-learner; the base
    estimators are then refitted on all the data to predict new samples.

    Parameters
    ----------
{SHARED_PARAMETERS}
    stack_method : {{"auto", "predict_proba", "decision_function", "predict"}} \
or dict, default="auto"
        The method whose output becomes meta-features: ``"auto"`` tries
        ``predict_proba``, then ``decision_function``, then ``predict``. A dict
        maps estimator names to methods (others use ``"auto"``). Binary
        problems keep one column (the positive class); multi-class keep one per
        class, aligned to ``classes_`` even when a class was missing from a
        training fold (its probability is then 0).
    drop_first_proba : bool, default=False
        For multi-class problems, drop the first class's probability column of
        each member (the columns sum to one, so it is redundant).
{SHARED_TAIL}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of ndarray
        The class labels; for a multilabel-indicator target, a list with each
        label's values.
{SHARED_ATTRIBUTES}
    See Also
    --------
    KerasStackingRegressor : The same for regression.
    sklearn.ensemble.StackingClassifier : scikit-learn's, whose ``fit_transform``
        returns in-sample predictions.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skstack import KerasStackingClassifier
    >>> from skstack.keras import KerasClassifier, dense_model
    >>> X, y = load_iris(return_X_y=True)
    >>> stack = KerasStackingClassifier(
    ...     [("mlp", KerasClassifier(dense_model, hidden=(8,), epochs=2)),
    ...      ("lr", LogisticRegression())],
    ...     final_estimator=LogisticRegression(), cv=3, random_state=0,
    ... )
    >>> stack.fit(X, y).oof_predictions_.shape
    (150, 6)
    >>> stack.predict(X[:2]).shape
    (2,)
    """

    _default_final_methods = frozenset(
        {"predict", "predict_proba", "decision_function"}
    )
    _parameter_constraints: dict = {
        **_BaseStacking._parameter_constraints,
        "stack_method": [
            StrOptions({"auto", "predict_proba", "decision_function", "predict"}),
            dict,
        ],
        "drop_first_proba": ["boolean"],
    }

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
        stack_method="auto",
        drop_first_proba=False,
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
        self.stack_method = stack_method
        self.drop_first_proba = drop_first_proba

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        final = self.final_estimator
        tags.classifier_tags.poor_score = (
            final is None or get_tags(final).classifier_tags.poor_score
        )
        return tags

    def _default_final_estimator(self):
        return make_meta_learner("classification")

    def _stack_methods(self, names, members):
        return check_stack_method(
            self, self.stack_method, names, members, is_classifier=True
        )

    def _is_multilabel(self) -> bool:
        return isinstance(self.classes_, list)

    def _meta_columns(self, prefit):
        if self._is_multilabel():
            return MetaColumns(n_labels=len(self.classes_))
        # Members are fitted on label indices, except prefit ones, fitted by the
        # user on the labels themselves.
        classes = self.classes_ if prefit else np.arange(len(self.classes_))
        return MetaColumns(
            classes=classes, labels=self.classes_, drop_first=self.drop_first_proba
        )

    def _check_cv(self, cv, y):
        if self._is_multilabel():
            return  # split by KFold: no class counts to check
        check_min_class_count(self, cv, y, self.classes_)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, groups=None, **fit_params):
        """Fit the base estimators and the meta-learner on their out-of-fold output.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
(n_samples, ...)
            Training samples; N-D arrays (images, sequences) when every
            estimator accepts them.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (numbers or strings), or a multilabel indicator of 0s
            and 1s: members then give one column per label (the probability
            of 1, from a ``predict_proba`` list or array, a score or a
            prediction) and the meta-learner predicts every label.
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
            X_checked, X_members, y = self._validate_input(X, y, multi_output=True)
            check_classification_targets(y)
            target_type = type_of_target(y, input_name="y")
            if target_type == "multilabel-indicator":
                # Members fit the indicator as given; each label's values are
                # its classes, as in scikit-learn's stacking.
                self.classes_ = [np.unique(label) for label in y.T]
                return self._fit_stack(
                    X_checked, X_members, y, sample_weight, groups, fit_params
                )
            if target_type not in ("binary", "multiclass"):
                raise ValueError(
                    f"{type(self).__name__} supports binary, multi-class and "
                    f"multilabel-indicator targets, got {target_type!r}."
                )
            y = column_or_1d(y, warn=True)
            self.classes_, y_encoded = np.unique(y, return_inverse=True)
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes in y; it has "
                    f"one class: {self.classes_.tolist()[0]!r}."
                )
            return self._fit_stack(
                X_checked, X_members, y_encoded, sample_weight, groups, fit_params
            )

    def predict(self, X, **predict_params):
        """Predict class labels with the meta-learner.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
(n_samples, ...)
            Input samples.
        **predict_params : dict
            Passed to the meta-learner's ``predict`` (with metadata routing
            on, what it requested).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels (an indicator for a multilabel target).
        """
        proba = None if predict_params else self._predict_by_graph(X)
        if proba is not None:
            return self.classes_[np.argmax(proba, axis=1)]
        predict_params = routed_predict_params(self, predict_params)
        X_meta = self._transform(X)
        encoded = self.final_estimator_.predict(X_meta, **predict_params)
        if self._is_multilabel():
            return np.asarray(encoded).reshape(len(X_meta), len(self.classes_))
        return self.classes_[np.asarray(encoded, dtype=np.intp)]

    @available_if(_final_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the meta-learner.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
(n_samples, ...)
            Input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or (n_samples, n_labels)
            Columns in the order of ``classes_``; for a multilabel target,
            each label's probability of being 1.
        """
        proba = self._predict_by_graph(X)
        if proba is not None:
            return proba
        X_meta = self._transform(X)
        proba = self.final_estimator_.predict_proba(X_meta)
        if self._is_multilabel() and isinstance(proba, list):
            # One array per label: the probability of each label being 1.
            classes = getattr(self.final_estimator_, "classes_", None)
            return positive_probabilities(proba, classes)
        return proba

    @available_if(_final_has("decision_function"))
    def decision_function(self, X):
        """Decision scores from the meta-learner.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
(n_samples, ...)
            Input samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The meta-learner's ``decision_function``.
        """
        X_meta = self._transform(X)
        return self.final_estimator_.decision_function(X_meta)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on the given test data and labels.

        Labels the stack never saw in ``fit`` can never be predicted; they are
        counted as errors, with an :class:`~skstack.exceptions.UnseenLabelWarning`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
(n_samples, ...)
            Test samples.
        y : array-like of shape (n_samples,)
            True labels of X.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` with respect to y.
        """
        check_is_fitted(self, "classes_")
        if not self._is_multilabel():
            warn_unseen_labels(self, y)
        return super().score(X, y, sample_weight=sample_weight)
