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
from sklearn.linear_model import (
    ElasticNet,
    GammaRegressor,
    LogisticRegression,
    PoissonRegressor,
    TweedieRegressor,
)
from sklearn.pipeline import Pipeline

from ..utils._compat import NEWTON_WARM_START_WORKS

_GENERALIZED_LINEAR = (PoissonRegressor, GammaRegressor, TweedieRegressor)
# What a solver takes as its start when ``warm_start=True``.
_START = ("coef_", "intercept_")


def final_step(member):
    """The estimator that ends ``member``: itself, or its Pipeline's last step."""
    if isinstance(member, Pipeline):
        return member.steps[-1][1] if member.steps else None
    return member


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
