"""The fits a stack's workers run (the pool that runs them: ``_pool.py``).

Each task function takes the member's :class:`MemberPlan` and one
:class:`FitTask`, then X and y: module-level functions of picklable
arguments, so loky and dask workers can run them and ``joblib.Memory`` can key
their results (the ``memory`` of the stacks) by the member with its
parameters and seed, the fold's rows, X, y and the fit parameters.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import TargetEncoder

from ..exceptions import CacheEntryWarning, FoldFusionError
from ..utils._compat import _check_method_params, _safe_indexing
from ..utils._errors import member_error
from ._warm_start import final_step, finish, start_from


@dataclass(frozen=True, eq=False)
class MemberPlan:
    """What every fit of one member needs.

    ``columns`` turns its predictions into meta-feature columns;
    ``keep_fold_models`` keeps each fold model (``fold_models="average"``),
    which then also replace the fit on all rows; ``fall_back`` fits fold by
    fold a network found unfit for fused training once built.
    """

    name: str
    estimator: object  # the seeded, unfitted clone
    method: str  # the stack method giving its meta-features
    fit_params: dict
    scorer: object
    columns: object
    fused: bool = False
    warm: bool = False  # folds start from the full fit (_warm_start.py)
    stopping: str | None = None  # parameter prefix of its early stopping
    keep_fold_models: bool = False
    fall_back: bool = True


@dataclass(frozen=True, eq=False)
class FitTask:
    """One fit of the plan.

    ``kind`` is ``"fold"`` (fit on ``train``, predict ``test``), ``"full"``
    (fit on all rows), ``"fused"`` (every fold of ``folds``, and the full fit
    unless fold models are kept, as one Keras graph), ``"warm"`` (the full
    fit, then every fold of ``folds`` started from it) or ``"stopped_full"``
    (all rows for ``epochs``, the mean best epoch of the fold models).
    ``where`` says which fit it is in error messages.
    """

    member: str
    kind: str
    repeat: int = 0
    fold: int = 0
    train: np.ndarray | None = None
    test: np.ndarray | None = None
    where: str = ""
    folds: tuple = field(default=())
    epochs: int | None = None


class FoldResult(NamedTuple):
    """What one fold fit sends back: small, unless the model is kept."""

    columns: np.ndarray
    score: float
    model: object
    best_epoch: int | None


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


def fit_full(plan: MemberPlan, task: FitTask, X, y):
    """Fit a clone of the member on all rows: the model used for prediction."""
    member = clone(plan.estimator)
    if task.kind == "stopped_full":
        # Early stopping off, for the fold models' mean best epoch.
        prefix = plan.stopping
        member.set_params(
            **{f"{prefix}epochs": task.epochs, f"{prefix}early_stopping": False}
        )
    try:
        return fit_on(member, X, y, plan.fit_params)
    except Exception as exc:
        where = f"on the full training data ({len(y)} samples)"
        raise member_error(exc, plan.name, where, X) from exc


def fit_predict_fold(plan: MemberPlan, task: FitTask, X, y) -> FoldResult:
    """Fit a clone on the fold's training rows; predict and score its test rows.

    Returns the meta-feature columns of the test rows, the fold's score, the
    fold model (None unless kept) and its best epoch if it stopped early.
    """
    try:
        fold_model = fit_on(clone(plan.estimator), X, y, plan.fit_params, task.train)
        return held_out_result(plan, fold_model, X, y, task.test)
    except Exception as exc:
        raise member_error(exc, plan.name, task.where, X) from exc


def held_out_result(plan: MemberPlan, fold_model, X, y, test) -> FoldResult:
    """A fold model's meta-feature columns and score on its held-out rows."""
    X_test = _safe_indexing(X, test)
    prediction = getattr(fold_model, plan.method)(X_test)
    return FoldResult(
        plan.columns(prediction, fold_model, plan.method, plan.name),
        float(plan.scorer(fold_model, X_test, _safe_indexing(y, test))),
        fold_model if plan.keep_fold_models else None,
        best_epoch(fold_model),
    )


def best_epoch(model) -> int | None:
    """A fitted member's best epoch when its Keras model stopped early."""
    return getattr(final_step(model), "best_epoch_", None)


def fit_predict_fused(plan: MemberPlan, task: FitTask, X, y) -> tuple:
    """Train all fold models of the member (and its refit) as one Keras graph.

    Returns the fold results, in the order of ``task.folds``, the refit model
    (None when fold models are kept) and whether the folds were fused. A
    network found unfit for fusion once built (``FoldFusionError``) is fitted
    fold by fold instead when the plan falls back.
    """
    splits = [(fold.train, fold.test) for fold in task.folds]
    refit = not plan.keep_fold_models
    member, fit_params = plan.estimator, plan.fit_params
    where = f"in fused training of its {len(splits)} fold models"
    try:
        if is_fusable_pipeline(member):
            fold_models, full = fit_pipeline_folds(
                member, X, y, splits, fit_params, refit
            )
        else:
            weights = fit_params.get("sample_weight")  # its only fit parameter
            fold_models, full = member.fit_folds(
                X, y, splits, sample_weight=weights, refit=refit
            )
        results = [
            held_out_result(plan, model, X, y, test)
            for (_, test), model in zip(splits, fold_models, strict=True)
        ]
        return results, full, True
    except FoldFusionError as exc:
        if not plan.fall_back:
            raise member_error(exc, plan.name, where, X) from exc
    except Exception as exc:
        raise member_error(exc, plan.name, where, X) from exc
    results = [fit_predict_fold(plan, fold, X, y) for fold in task.folds]
    full = fit_full(plan, FitTask(plan.name, "full"), X, y) if refit else None
    return results, full, False


def fit_predict_warm(plan: MemberPlan, task: FitTask, X, y) -> tuple:
    """Fit the member on all rows, then each fold starting from that fit.

    Returns the fold results, in the order of ``task.folds``, and the full
    model. A fold that cannot start there, or whose warm fit fails, is
    fitted from scratch (which raises a real error again).
    """
    full = fit_full(plan, FitTask(plan.name, "full"), X, y)
    results = []
    for fold in task.folds:
        member = clone(plan.estimator)
        if not start_from(member, full, _safe_indexing(y, fold.train)):
            results.append(fit_predict_fold(plan, fold, X, y))
            continue
        try:
            fit_on(member, X, y, plan.fit_params, fold.train)
        except Exception:  # noqa: BLE001 - e.g. another shape after preprocessing
            results.append(fit_predict_fold(plan, fold, X, y))
            continue
        finish(member)
        try:
            results.append(held_out_result(plan, member, X, y, fold.test))
        except Exception as exc:
            raise member_error(exc, plan.name, fold.where, X) from exc
    return results, full


# The function that runs each kind of task.
TASK_FUNCTIONS = {
    "fold": fit_predict_fold,
    "full": fit_full,
    "stopped_full": fit_full,
    "fused": fit_predict_fused,
    "warm": fit_predict_warm,
}


# Fold fusion of pipelines that end in a Keras wrapper: each copy's
# preprocessing is fitted on that copy's training rows alone (cheap
# scikit-learn fits), each copy of the network receives its own transformed
# rows, and the refit copy uses all rows, so copy k never sees fold k's
# held-out rows, as when the pipeline is fitted fold by fold.


def is_fusable_pipeline(member) -> bool:
    """Whether ``member`` is a Pipeline whose last step can train fused."""
    if not isinstance(member, Pipeline) or not member.steps:
        return False
    return callable(getattr(member.steps[-1][1], "fold_fusion_blocker", None))


def pipeline_fusion_blocker(pipeline: Pipeline, fit_params) -> str | None:
    """Why ``pipeline``'s fold models cannot train as one graph, or None."""
    step, wrapper = pipeline.steps[-1]
    weight_key = f"{step}__sample_weight"
    metadata = sorted(set(fit_params or {}) - {weight_key})
    if metadata:
        return f"it is given fit parameters {metadata}"
    head = pipeline[:-1].get_params(deep=True).items()
    for name, value in head:
        if isinstance(value, TargetEncoder):
            # Fused copies train on transform's features; a TargetEncoder's
            # fit_transform (what a Pipeline's fit uses) cross-fits instead.
            return (
                f"its step {name!r} is a TargetEncoder, whose fit_transform cross-fits"
            )
    reason = wrapper.fold_fusion_blocker()
    return None if reason is None else f"its step {step!r}: {reason}"


def fit_pipeline_folds(pipeline: Pipeline, X, y, splits, fit_params, refit):
    """Fit one copy of ``pipeline`` per split (and one on all rows), fused.

    Returns the fitted fold pipelines, in the order of ``splits``, and the
    pipeline fitted on all rows (None unless ``refit``).
    """
    step, wrapper = pipeline.steps[-1]
    rows = [train for train, _ in splits] + ([None] if refit else [])
    heads = []
    for train in rows:
        head = clone(pipeline)[:-1]
        if head.steps:
            if train is None:
                head.fit(X, y)
            else:
                head.fit(_safe_indexing(X, train), _safe_indexing(y, train))
        heads.append(head)
    # The wrapper makes each copy's features from its head (or preprocesses
    # in its training graph); a head fitted on a copy's training rows only.
    fold_models, full = wrapper.fit_folds(
        X,
        y,
        splits,
        sample_weight=(fit_params or {}).get(f"{step}__sample_weight"),
        refit=refit,
        heads=[head if head.steps else None for head in heads],
    )
    networks = [*fold_models, full] if refit else list(fold_models)
    pipelines = [
        _fitted_pipeline(pipeline, head, step, network)
        for head, network in zip(heads, networks, strict=True)
    ]
    return (pipelines[:-1], pipelines[-1]) if refit else (pipelines, None)


def _fitted_pipeline(pipeline, head, step, network) -> Pipeline:
    """A clone of ``pipeline`` holding the fitted steps of one copy."""
    fitted = clone(pipeline)
    fitted.steps = [*head.steps, (step, network)]
    return fitted


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
