"""``KerasStackingClassifier`` and ``KerasStackingRegressor``: the public classes.

The engine is in ``_base.py``; this module adds label handling, the methods that
depend on the meta-learner, and the default Keras meta-learner.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import _BaseStacking
from ._columns import MetaColumns, positive_probabilities
from ._compat import StrOptions, fit_context
from ._validation import (
    check_min_class_count,
    check_stack_method,
    numeric_target,
    state_restored_on_error,
    warn_unseen_labels,
)

_SHARED_PARAMETERS = """\
    estimators : list of (str, estimator)
        The base estimators: any scikit-learn estimator, including
        :class:`~skstack.keras.KerasClassifier` / ``KerasRegressor`` and pipelines.
        ``"drop"`` in place of an estimator (or ``set_params(name="drop")``)
        removes it; ``set_params(name__param=value)`` reaches its parameters.
    final_estimator : estimator, default=None
        The meta-learner, fitted on the members' out-of-fold predictions. None
        uses :func:`skstack.keras.make_meta_learner`: a regularized linear Keras
        layer on the standardized meta-features (logits of probabilities),
        fitted on all rows at once by L-BFGS
        (:class:`~skstack.keras.LinearMetaClassifier` /
        :class:`~skstack.keras.LinearMetaRegressor`); pass one explicitly to
        tune it with ``final_estimator__...``.
    cv : int, cross-validation generator, iterable of splits or "prefit", default=5
        How out-of-fold predictions are made. An int gives
        ``StratifiedKFold`` for classifiers and ``KFold`` for regressors; the
        splits are drawn once, so every member sees the same folds; their test
        parts must hold each sample exactly once. ``"prefit"`` uses the
        estimators as already fitted (not cloned, not refitted) and their
        predictions of X as meta-features: fit the stack on data the members
        have not seen.
    fold_models : {"refit", "average"}, default="refit"
        ``"refit"`` fits each member once more on all the data for prediction.
        ``"average"`` keeps every fold model instead (no full-data fit) and
        predicts with the mean of their outputs, so the meta-learner sees at
        predict time the kind of model it was trained on.
    n_repeats : int, default=1
        Repeat the k-fold split this many times with new shuffles; each
        sample's out-of-fold prediction is the mean over repeats. The splits
        used are ``splits_``.
    scoring : str or callable, default=None
        How each fold model is scored on its held-out part (``fold_scores_``,
        ``report()``): a scikit-learn scoring name or scorer. None uses the
        members' own ``score`` (accuracy, R²).
    fuse_folds : "auto" or bool, default="auto"
        Train the fold models of each Keras member (and its refit on all rows)
        as one Keras graph: parallel copies of the network, each one's loss
        weighted by a mask of its own training rows, so a copy never learns
        from its held-out rows. Small networks then train all folds in about
        the time of one fit. ``"auto"`` fuses every member that can be and
        fits the others fold by fold: estimators that are not a plain
        :class:`~skstack.keras.KerasClassifier`/``KerasRegressor`` (pipelines
        included), and wrappers with ``early_stopping``, ``class_weight``,
        ``callbacks``, ``warm_start``, ``validation_split`` or ``fit__``
        parameters, or a ``BatchNormalization`` layer, and classifiers when a
        fold's training rows lack a class. ``True`` raises a
        ``ValueError`` naming a Keras wrapper that cannot be fused and why;
        ``False`` fits every member fold by fold. ``fused_members_`` lists
        the members that were fused. The graph holds k + 1 copies of the
        network at once.
""".rstrip()

_SHARED_TAIL = """\
    passthrough : bool, default=False
        Append the original features (flattened, for N-D input) to the
        meta-features.
    n_jobs : int, default=None
        Jobs running the (estimator, fold) fits and the full refits, all in one
        joblib pool; None means 1 unless in a ``joblib.parallel_backend``
        context, -1 all processors.
    verbose : int, default=0
        Above 0, a progress bar (tqdm, on stderr) counts the (estimator, fold)
        fits and refits as they finish.
    random_state : int, RandomState instance or None, default=None
        Seeds every member's and the meta-learner's ``random_state`` left at
        None (nested ones too), and a shuffling splitter's seed, so an int
        gives the same predictions on every fit. None leaves them as they are.
""".rstrip()

_SHARED_ATTRIBUTES = """\
    estimators_ : list of estimators
        The kept members, each refitted on all the training data (the given
        objects themselves with ``cv="prefit"``; with ``fold_models="average"``
        a list of fold models per member).
    named_estimators_ : Bunch
        The fitted members by name; dropped ones are ``"drop"``.
    final_estimator_ : estimator
        The fitted meta-learner.
    stack_method_ : dict of str
        The method giving each kept member's meta-features.
    oof_predictions_ : ndarray of shape (n_samples, n_meta_features)
        The out-of-fold meta-features the meta-learner was trained on
        (including the original features with ``passthrough``).
    splits_ : list of list of (ndarray, ndarray)
        The (train, test) indices of each fold, per repeat (empty with
        ``cv="prefit"``).
    fold_scores_ : dict of ndarray of shape (n_repeats, n_splits)
        Each member's ``scoring`` on each held-out fold (empty with
        ``cv="prefit"``).
    fused_members_ : list of str
        The members trained with ``fuse_folds``.
    refit_epochs_ : dict of int
        For members that stop early (a Keras wrapper, or a pipeline ending in
        one, with ``early_stopping=True``) and ``fold_models="refit"``: the
        epochs of the refit on all rows, the mean of the fold models' best
        epochs. Each fold model stops on rows of its own training fold.
    n_features_in_ : int
        Number of features (size of the second axis of X) seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen in ``fit``, when X had string column names.
""".rstrip()


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
    __doc__ = f"""Stacked generalization for classification; Keras meta-learner default.

    Each base estimator's out-of-fold predictions (``cross_val_predict`` style,
    same folds for all) become the features of a meta-learner; the base
    estimators are then refitted on all the data to predict new samples.

    Parameters
    ----------
{_SHARED_PARAMETERS}
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
{_SHARED_TAIL}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of ndarray
        The class labels; for a multilabel-indicator target, a list with each
        label's values.
{_SHARED_ATTRIBUTES}
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
        stack_method="auto",
        drop_first_proba=False,
        passthrough=False,
        n_jobs=None,
        verbose=0,
        random_state=None,
    ):
        super().__init__(
            estimators,
            final_estimator,
            cv=cv,
            fold_models=fold_models,
            n_repeats=n_repeats,
            scoring=scoring,
            fuse_folds=fuse_folds,
            passthrough=passthrough,
            n_jobs=n_jobs,
            verbose=verbose,
            random_state=random_state,
        )
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
        from .keras import make_meta_learner

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

    @fit_context(prefer_skip_nested_validation=False)
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
        self._refuse_unroutable(fit_params)
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
        proba = None if predict_params else self._predict_small_batch(X)
        if proba is not None:
            return self.classes_[np.argmax(proba, axis=1)]
        predict_params = self._predict_params(predict_params)
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
        proba = self._predict_small_batch(X)
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


class KerasStackingRegressor(RegressorMixin, _BaseStacking):
    __doc__ = f"""Stacked generalization for regression (Keras meta-learner default).

    Each base estimator's out-of-fold predictions (same folds for all) become
    the features of a meta-learner; the base estimators are then refitted on all
    the data to predict new samples. Multi-output targets are supported when
    the estimators support them.

    Parameters
    ----------
{_SHARED_PARAMETERS}
{_SHARED_TAIL}
    Attributes
    ----------
{_SHARED_ATTRIBUTES}
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
        passthrough=False,
        n_jobs=None,
        verbose=0,
        random_state=None,
    ):
        super().__init__(
            estimators,
            final_estimator,
            cv=cv,
            fold_models=fold_models,
            n_repeats=n_repeats,
            scoring=scoring,
            fuse_folds=fuse_folds,
            passthrough=passthrough,
            n_jobs=n_jobs,
            verbose=verbose,
            random_state=random_state,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        final = self.final_estimator
        tags.regressor_tags.poor_score = (
            final is None or get_tags(final).regressor_tags.poor_score
        )
        tags.target_tags.multi_output = True
        return tags

    def _default_final_estimator(self):
        from .keras import make_meta_learner

        return make_meta_learner("regression")

    def _stack_methods(self, names, members):
        return check_stack_method(self, "predict", names, members, is_classifier=False)

    def _meta_columns(self, prefit):
        return MetaColumns(n_outputs=self._n_outputs)

    @fit_context(prefer_skip_nested_validation=False)
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
        self._refuse_unroutable(fit_params)
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
            predict_params = self._predict_params(predict_params)
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
