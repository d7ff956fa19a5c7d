"""Fold fits started from the full fit, for members with one optimum.

A logistic regression with an L2 penalty (an elastic net with an L2 part, a
Poisson, Gamma or Tweedie regressor with ``alpha > 0``) minimizes a strictly
convex objective: its solver reaches the same coefficients from any start.
A fold's optimum is near the optimum on all rows, so starting there takes
fewer iterations for the same out-of-fold predictions, within the solver's
tolerance (``tol``). The stacks' ``warm_start_folds=False`` starts every fold
from scratch.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import (
    ElasticNet,
    GammaRegressor,
    LogisticRegression,
    PoissonRegressor,
    TweedieRegressor,
)

from ..utils._compat import NEWTON_WARM_START_WORKS, _safe_indexing
from ..utils._errors import member_error
from ._strategy import (
    FitStrategy,
    MemberOutcome,
    Task,
    final_step,
    register_fit_strategy,
)
from ._tasks import fit_full, fit_on, fit_predict_fold, held_out_result

_GENERALIZED_LINEAR = (PoissonRegressor, GammaRegressor, TweedieRegressor)
# What a solver takes as its start when ``warm_start=True``.
_START = ("coef_", "intercept_")


def has_one_optimum(member) -> bool:
    """Whether ``member``'s folds can start from its full fit, same optimum."""
    estimator = final_step(member)
    if not hasattr(estimator, "get_params"):
        return False
    params = estimator.get_params(deep=False)
    if params.get("warm_start") is not False:  # none, or the user's own chain
        return False
    if isinstance(estimator, LogisticRegression):
        penalty = params.get("penalty", "l2")
        l1_ratio = params.get("l1_ratio") or 0.0
        strictly_convex = penalty == "l2" or (
            penalty in ("elasticnet", "deprecated") and l1_ratio < 1
        )
        solver = params["solver"]
        return bool(
            strictly_convex
            and solver != "liblinear"
            and (solver != "newton-cholesky" or NEWTON_WARM_START_WORKS)
            and np.isfinite(params["C"])
        )
    if isinstance(estimator, ElasticNet):  # Lasso: l1_ratio=1, not strictly
        return bool(params["alpha"] > 0 and params.get("l1_ratio", 1.0) < 1)
    if isinstance(estimator, _GENERALIZED_LINEAR):
        return bool(params["alpha"] > 0)
    return False


def start_from(fold_member, full_member, y_fold) -> bool:
    """Set ``fold_member`` (unfitted) to start from ``full_member``'s solution.

    False, leaving it as it was, when the fold cannot start there: its
    training rows lack a class of the full fit (other coefficient shapes).
    """
    estimator, full = final_step(fold_member), final_step(full_member)
    classes = getattr(full, "classes_", None)
    if classes is not None and len(np.unique(y_fold)) != len(classes):
        return False
    for name in _START:
        if hasattr(full, name):
            setattr(estimator, name, np.copy(getattr(full, name)))
    estimator.set_params(warm_start=True)
    return True


def finish(fold_member) -> None:
    """Set ``warm_start`` back to the member's own value after the fit."""
    final_step(fold_member).set_params(warm_start=False)


class WarmStartedFits(FitStrategy):
    """The fit on all rows first, then every fold started from its solution."""

    def tasks(self, plan, folds):
        return [Task(fit_predict_warm, (tuple(folds),))]

    def outcome(self, plan, folds, results, more):
        fold_results, full = results[0]
        return MemberOutcome(folds=fold_results, full=full)


def fit_predict_warm(plan, X, y, folds) -> tuple:
    """Fit the member on all rows, then each fold starting from that fit.

    Returns the fold results, in the order of ``folds``, and the full model.
    A fold that cannot start there, or whose warm fit fails, is fitted from
    scratch (which raises a real error again).
    """
    full = fit_full(plan, X, y)
    results = []
    for fold in folds:
        member = clone(plan.estimator)
        if not start_from(member, full, _safe_indexing(y, fold.train)):
            results.append(fit_predict_fold(plan, X, y, fold))
            continue
        try:
            fit_on(member, X, y, plan.fit_params, fold.train)
        except Exception:  # noqa: BLE001 - e.g. another shape after preprocessing
            results.append(fit_predict_fold(plan, X, y, fold))
            continue
        finish(member)
        try:
            results.append(held_out_result(plan, member, X, y, fold.test))
        except Exception as exc:
            raise member_error(exc, plan.name, fold.where, X) from exc
    return results, full


def _warm_started(estimator, context):
    """The adapter of the convex models: warm-started folds when they can be."""
    if (
        context.warm_start_folds
        and not context.keep_fold_models
        and has_one_optimum(estimator)
    ):
        return WarmStartedFits()
    return None


for _model in (LogisticRegression, ElasticNet, *_GENERALIZED_LINEAR):
    register_fit_strategy(_model, _warm_started)
