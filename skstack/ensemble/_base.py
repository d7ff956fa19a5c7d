"""The stacking engine: folds, out-of-fold predictions, fitting the members.

Keras-free: Keras members are ordinary scikit-learn estimators here. The public
classes in ``_classifier.py`` and ``_regressor.py`` add what is specific to
classification or regression, including the default meta-learner.
"""

from __future__ import annotations

import numbers
import os
from abc import ABCMeta, abstractmethod

import numpy as np
from scipy import sparse
from sklearn.base import (
    MetaEstimatorMixin,
    TransformerMixin,
    _clone_parametrized,
    clone,
    is_classifier,
)
from sklearn.exceptions import NotFittedError
from sklearn.utils import Bunch, check_random_state, get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._compat import HasMethods, Interval, StrOptions, _BaseComposition
from ..utils._errors import member_error
from ..utils._validation import (
    check_estimators,
    check_sample_weight,
    float32_inputs,
    restore_dropped_parameters,
    text_columns,
)
from ._columns import MetaColumns
from ._crossfit import DROP, is_drop, is_prefit, plan_cross_fit, seed_estimator
from ._fitted import _FittedStack
from ._pool import one_blas_thread
from ._routing import metadata_router, routed_fit_params
from ._strategy import fitted_equivalent
from ._tasks import fit_on


class _NamedMembers(_BaseComposition):
    """``get_params``/``set_params`` over the ``estimators`` list, by name."""

    @property
    def named_estimators(self) -> Bunch:
        """The ``estimators`` parameter as a Bunch, by name."""
        return Bunch(**dict(self.estimators))

    def get_params(self, deep=True):
        """Get parameters, with each member's as ``name__param`` when ``deep``.

        Parameters
        ----------
        deep : bool, default=True
            Include the members and their parameters.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        """Set parameters; ``name=estimator`` or ``name="drop"`` replaces a member.

        Parameters
        ----------
        **params : dict
            Stack parameters, members by name, and ``name__param`` of members.

        Returns
        -------
        self : object
            This estimator.
        """
        self._set_params("estimators", **params)
        return self


class _BaseStacking(
    _FittedStack,
    TransformerMixin,
    MetaEstimatorMixin,
    _NamedMembers,
    metaclass=ABCMeta,
):
    """Stacked generalization over out-of-fold predictions; see the public classes."""

    _required_parameters = ["estimators"]
    _parameter_constraints: dict = {
        "estimators": [list],
        "final_estimator": [None, HasMethods("fit")],
        "cv": ["cv_object", StrOptions({"prefit"})],
        "fold_models": [StrOptions({"refit", "average"})],
        "n_repeats": [Interval(numbers.Integral, 1, None, closed="left")],
        "scoring": [None, str, callable],
        "fuse_folds": ["boolean", StrOptions({"auto"})],
        "warm_start_folds": ["boolean"],
        "passthrough": ["boolean"],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "n_jobs": [None, numbers.Integral],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __sklearn_clone__(self):
        # A member whose own ``__sklearn_clone__`` drops parameters (Keras's
        # wrappers drop ``fit_kwargs``) gets them back, so a stack cloned by
        # GridSearchCV or cross_val_score trains its members as given.
        cloned = _clone_parametrized(self)
        restore_dropped_parameters(self, cloned)
        return cloned

    # Hooks of the public classes.
    @abstractmethod
    def _default_final_estimator(self):
        """The meta-learner used when ``final_estimator`` is None."""

    @abstractmethod
    def _stack_methods(self, names, members) -> dict[str, str]:
        """Which method of each kept member gives its meta-features."""

    @abstractmethod
    def _meta_columns(self, prefit: bool) -> MetaColumns:
        """How members' predictions become columns, for this fit's target."""

    def _check_cv(self, cv, y) -> None:
        """Refuse a splitter that cannot work on this target (classifiers)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        try:
            members = [m for _, m in self.estimators if not is_drop(m)]
            tags.input_tags.sparse = all(get_tags(m).input_tags.sparse for m in members)
            tags.input_tags.three_d_array = all(
                get_tags(m).input_tags.three_d_array for m in members
            )
        except Exception:  # noqa: BLE001
            pass  # malformed ``estimators``: fit reports it clearly
        return tags

    # Fitting.
    def _validate_input(self, X, y=None, reset=True, **y_checks):
        """Check X (and y) at the stack's boundary; return arrays for the members.

        Members get a DataFrame as given (for column-selecting pipelines) and
        any other input as the checked array.
        """
        if not reset:
            if "final_estimator_" not in vars(self):
                # check_is_fitted's own test builds the stack's tags (its
                # members' too, a fraction of a millisecond): for its error.
                check_is_fitted(self, "final_estimator_")
        elif y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        checks = {
            "accept_sparse": ["csr", "csc"],
            "allow_nd": True,
            "dtype": None,
            # Missing values are the members' to handle (an imputer in a
            # pipeline member), as in scikit-learn's stacking.
            "ensure_all_finite": "allow-nan",
            "reset": reset,
        }
        if y is None:
            X_checked = validate_data(self, X, **checks)
        else:
            X_checked, y = validate_data(self, X, y, **checks, **y_checks)
        if reset:
            self._sample_shape = X_checked.shape[1:]
            # Named text columns: the graph's inputs (``to_keras``).
            named = hasattr(self, "feature_names_in_")
            self._text_columns_in = text_columns(X) if named else []
            # The graph's inputs that take float32 (``to_keras``, ``export``).
            self._float32_inputs_in = float32_inputs(X, X_checked)
        elif X_checked.shape[1:] != self._sample_shape:
            raise ValueError(
                f"X has samples of shape {X_checked.shape[1:]}, but "
                f"{type(self).__name__} was fitted on samples of shape "
                f"{self._sample_shape}."
            )
        X_members = X if hasattr(X, "iloc") else X_checked
        return X_checked, X_members, y

    def _fit_stack(self, X_checked, X, y, sample_weight, groups, fit_params):
        """Fit members, build out-of-fold meta-features, fit the meta-learner.

        With one BLAS thread throughout, as the member fits run wherever the
        pool puts them: the fit does not depend on ``n_jobs`` or the machine
        it runs on.
        """
        with one_blas_thread:
            return self._fit_stack_members_and_meta(
                X_checked, X, y, sample_weight, groups, fit_params
            )

    def _fit_stack_members_and_meta(
        self, X_checked, X, y, sample_weight, groups, fit_params
    ):
        names, members = check_estimators(self, self.estimators)
        prefit = is_prefit(self.cv)
        if not prefit:  # fitted members are used as given
            members = [m if is_drop(m) else fitted_equivalent(m) for m in members]
        methods = self._stack_methods(names, members)
        kept = [(n, m) for n, m in zip(names, members, strict=True) if not is_drop(m)]
        if self.final_estimator is None:
            final = self._default_final_estimator()
        elif not hasattr(self.final_estimator, "fit"):
            raise TypeError(
                f"{type(self).__name__}: final_estimator must be a scikit-learn "
                f"estimator, got {self.final_estimator!r}."
            )
        else:
            final = clone(fitted_equivalent(self.final_estimator))
        weights = check_sample_weight(sample_weight, X_checked.shape[0])
        params = routed_fit_params(self, kept, final, weights, groups, fit_params)
        groups = params.split.get("groups")

        self._check_fold_options(prefit, methods, groups, len(y))
        if prefit:
            if self.random_state is not None:  # the only model fitted here
                seed_estimator(final, check_random_state(self.random_state))
            fitted, blocks, columns, predicted = self._predict_prefit(kept, methods, X)
        else:
            fitted, blocks, columns, predicted = self._cross_fit(
                kept, methods, final, X, y, params
            )

        X_meta = self._stack_features(blocks, X_checked)
        # Rows no test part predicted (a time-ordered split, a holdout) are
        # not the meta-learner's to learn from.
        rows = None if predicted.all() else np.flatnonzero(predicted)
        try:
            fit_on(final, X_meta, y, params.final, rows)
        except Exception as exc:
            raise member_error(
                exc, "final_estimator", "on the meta-features", X_meta
            ) from exc

        self.estimators_ = fitted
        self.named_estimators_ = Bunch()
        fitted_by_name = dict(zip([n for n, _ in kept], fitted, strict=True))
        for name in names:
            self.named_estimators_[name] = fitted_by_name.get(name, DROP)
        # A list aligned with estimators_, as scikit-learn's.
        self.stack_method_ = [methods[name] for name, _ in kept]
        self.final_estimator_ = final
        self.oof_predictions_ = X_meta
        self.oof_mask_ = predicted
        self._member_widths = [block.shape[1] for block in blocks]
        self._columns = columns
        return self

    def get_metadata_routing(self):
        """How ``fit`` and ``predict`` route metadata (``enable_metadata_routing``).

        ``fit`` routes to each member's ``fit`` and the splitter's ``split``
        (``groups`` for a group splitter) what each requested, and to the
        meta-learner's ``fit`` what it requested when it set a fit request
        (none otherwise); ``predict`` routes to the meta-learner's
        ``predict``. The default meta-learner requests ``sample_weight``.

        Returns
        -------
        routing : MetadataRouter
            The routing of this stack's metadata.
        """
        return metadata_router(self)

    def _predict_prefit(self, kept, methods, X):
        """``cv="prefit"``: members are used as given, meta-features predicted."""
        columns = self._meta_columns(prefit=True)
        blocks = []
        for name, member in kept:
            try:
                check_is_fitted(member)
            except NotFittedError as exc:
                raise NotFittedError(
                    f"{type(self).__name__}: with cv='prefit' every estimator must "
                    f"be fitted; {name!r} is not."
                ) from exc
            try:
                prediction = getattr(member, methods[name])(X)
                blocks.append(columns(prediction, member, methods[name], name))
            except Exception as exc:
                raise member_error(exc, name, "predicting X (cv='prefit')", X) from exc
        self.splits_ = []
        self.fold_scores_ = {}
        self.refit_epochs_ = {}
        self.fused_members_ = []
        self.unfused_members_ = {name: "cv='prefit'" for name, _ in kept}
        predicted = np.ones(len(blocks[0]), dtype=bool)
        return [member for _, member in kept], blocks, columns, predicted

    def _check_fold_options(self, prefit, methods, groups, n_samples) -> None:
        # The parameters' types and ranges are checked by _fit_context.
        name = type(self).__name__
        if prefit and (self.fold_models == "average" or self.n_repeats > 1):
            raise ValueError(
                f"{name}: cv='prefit' makes no folds, so fold_models='average' "
                "and n_repeats > 1 do not apply."
            )
        if self.fold_models == "average" and is_classifier(self):
            labels = sorted(n for n, m in methods.items() if m == "predict")
            if labels:
                raise ValueError(
                    f"{name}: fold_models='average' averages the fold models' "
                    f"outputs, which has no meaning for predicted labels; "
                    f"{labels} use stack_method 'predict'."
                )
        if groups is not None and len(groups) != n_samples:
            raise ValueError(
                f"{name}: groups has {len(groups)} entries but X has {n_samples} "
                "samples."
            )

    def _cross_fit(self, kept, methods, final, X, y, params):
        """Out-of-fold predictions and the models for prediction, in one task pool.

        Each member's fitting strategy makes its fits (``_strategy.py``);
        with ``fold_models="average"`` the fold models are kept and predict
        together instead of a fit on all rows.
        """
        crossfit, columns, predicted = plan_cross_fit(
            self, kept, methods, final, X, y, params
        )
        outcomes = crossfit.run(X, y, self.n_jobs, self.verbose)
        self.fused_members_ = [name for name, o in outcomes.items() if o.fused]
        self.unfused_members_ = {
            name: o.unfused_reason or "it has no fused training"
            for name, o in outcomes.items()
            if not o.fused
        }
        self.refit_epochs_ = {
            name: o.refit_epochs
            for name, o in outcomes.items()
            if o.refit_epochs is not None
        }
        self.fold_scores_ = {
            name: crossfit.fold_scores(o) for name, o in outcomes.items()
        }
        self.splits_ = crossfit.repeats
        average = self.fold_models == "average"
        fitted = [
            [r.model for r in o.folds] if average else o.full for o in outcomes.values()
        ]
        blocks = [crossfit.meta_features(o, len(y)) for o in outcomes.values()]
        return fitted, blocks, columns, predicted

    def _stack_features(self, blocks, X_checked):
        """Members' columns side by side, then the original features if asked."""
        meta = np.hstack(blocks)
        if not self.passthrough:
            return meta
        n_rows = X_checked.shape[0]
        if sparse.issparse(X_checked):
            # In the input's own format and type (csc_matrix in, csc_matrix out),
            # as scikit-learn's stacking returns them.
            block = type(X_checked)(meta)
            return sparse.hstack([block, X_checked], format=X_checked.format)
        original = np.asarray(X_checked).reshape(n_rows, -1)
        if original.dtype.kind not in "biuf":
            raise TypeError(
                f"{type(self).__name__}: passthrough needs numeric features, got "
                f"X of dtype {original.dtype}."
            )
        return np.hstack([meta, original.astype(np.float64)])
