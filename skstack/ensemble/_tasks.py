"""The fits a stack's workers run (the pool that runs them: ``_pool.py``).

Each task function takes the member's plan (``_strategy.MemberPlan``), X, y
and what its strategy adds (the fold): module-level functions of picklable
arguments, so loky and dask workers can run them and ``joblib.Memory`` can key
their results (the ``memory`` of the stacks) by the member with its
parameters and seed, the fold's rows, X, y and the fit parameters. Strategies
with fits of their own build them from these.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from sklearn.base import clone

from ..exceptions import CacheEntryWarning
from ..utils._compat import _check_method_params, _safe_indexing
from ..utils._errors import member_error


class FoldResult(NamedTuple):
    """What one fold fit sends back: small, unless the model is kept."""

    columns: np.ndarray
    score: float
    model: object


def fit_on(member, X, y, fit_params, rows=None):
    """Fit ``member`` on the given rows (all if None) with its fit parameters.

    ``fit_params`` are the member's own (``sample_weight``, routed metadata),
    for all rows: those aligned with the samples are cut to ``rows``.
    """
    if rows is not None:
        fit_params = _check_method_params(X, fit_params, rows)
        X = _safe_indexing(X, rows)
        y = _safe_indexing(y, rows)
    # The fitted object itself: a ``fit`` that forgets ``return self`` still fits.
    member.fit(X, y, **fit_params)
    return member


def fit_full(plan, X, y, settings=None):
    """Fit a clone of the member on all rows: the model used for prediction.

    ``settings`` are parameters set on the clone first (a strategy's own).
    """
    member = clone(plan.estimator)
    if settings:
        member.set_params(**settings)
    try:
        return fit_on(member, X, y, plan.fit_params)
    except Exception as exc:
        where = f"on the full training data ({len(y)} samples)"
        raise member_error(exc, plan.name, where, X) from exc


def fit_predict_fold(plan, X, y, fold, settings=None) -> FoldResult:
    """Fit a clone on the fold's training rows; predict and score its test rows.

    Returns the meta-feature columns of the test rows, the fold's score and
    the fold model (None unless kept). ``settings`` are parameters set on the
    clone first.
    """
    return fit_fold(plan, X, y, fold, settings)[1]


def fit_fold(plan, X, y, fold, settings=None) -> tuple:
    """The fitted fold model and its :class:`FoldResult` (``fit_predict_fold``)."""
    try:
        member = clone(plan.estimator)
        if settings:
            member.set_params(**settings)
        fold_model = fit_on(member, X, y, plan.fit_params, fold.train)
        return fold_model, held_out_result(plan, fold_model, X, y, fold.test)
    except Exception as exc:
        raise member_error(exc, plan.name, fold.where, X) from exc


def held_out_result(plan, fold_model, X, y, test) -> FoldResult:
    """A fold model's meta-feature columns and score on its held-out rows."""
    X_test = _safe_indexing(X, test)
    prediction = getattr(fold_model, plan.method)(X_test)
    return FoldResult(
        plan.columns(prediction, fold_model, plan.method, plan.name),
        float(plan.scorer(fold_model, X_test, _safe_indexing(y, test))),
        fold_model if plan.keep_fold_models else None,
    )


def cached_call(memory, function, arguments: tuple):
    """``function(*arguments)``, from ``memory``'s cache when it holds it.

    A result that is cached but cannot be read (a truncated or foreign file)
    is computed again, replacing it, with a :class:`CacheEntryWarning`.
    """
    cached = memory.cache(function)
    if not cached.check_call_in_cache(*arguments):
        return cached.call(*arguments)[0]  # computed, and stored
    try:
        return cached.call_and_shelve(*arguments).get()
    except Exception as exc:  # noqa: BLE001 - any unreadable entry is refitted
        warnings.warn(
            f"skstack: a cached result of {function.__name__} in "
            f"{memory.location!r} could not be read ({type(exc).__name__}: "
            f"{str(exc)[:200]}); it is fitted again and the entry replaced.",
            CacheEntryWarning,
            stacklevel=2,
        )
        return cached.call(*arguments)[0]
