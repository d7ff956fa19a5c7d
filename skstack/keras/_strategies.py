"""How a stack fits skstack's Keras wrappers: fused copies, early-stopped fits.

The stacking engine asks each member for its fitting strategy
(``skstack/ensemble/_strategy.py``); skstack's wrappers answer with
``__skstack_fit_strategy__`` (:class:`FitStrategyMixin`), alone or as a
``Pipeline``'s last step:

- :class:`FusedFits`: every fold model (and the refit) trained as one Keras
  graph (``_fused.py``), when nothing makes the copies' training differ from
  separate fits; fold by fold again if the network proves unfit once built.
- :class:`EarlyStoppedFits`: fold models that stop on their own validation
  rows, then the fit on all rows for the mean of their best epochs (all rows
  have no held-out rows left to stop on).
- anything else: the engine's separate fits.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline
from sklearn.utils import check_array

from skstack.ensemble._strategy import (
    FitStrategy,
    MemberOutcome,
    SeparateFits,
    Task,
    final_step,
    fit_strategy,
    register_fit_strategy,
)
from skstack.ensemble._tasks import (
    fit_fold,
    fit_full,
    fit_predict_fold,
    held_out_result,
)
from skstack.exceptions import FoldFusionError
from skstack.utils._compat import _safe_indexing
from skstack.utils._errors import member_error

from ._copy_fits import refit_epochs
from ._training import KerasWrapperHooks, stopping_of

# fit_transform is compared with transform on at most this many training rows.
_FIT_TRANSFORM_CHECK_ROWS = 256


class FitStrategyMixin(KerasWrapperHooks):
    """The wrappers' answer to the stack: how to fit their folds."""

    def __skstack_fit_strategy__(self, context):
        """The stack's strategy for fitting this wrapper (or its pipeline)."""
        return wrapper_fit_strategy(self, context)


def wrapper_fit_strategy(wrapper, context) -> FitStrategy:
    """Fused copies when they can be, else early-stopped or separate fits.

    ``fuse_folds=True`` refuses a wrapper that cannot be fused, naming why.
    With one fit per member (one holdout split, its model kept) there is
    nothing to train together.
    """
    stopping = None
    if stopping_of(wrapper).holds_out:
        last_rows = context.time_ordered and wrapper.validation_rows == "random"
        stopping = EarlyStoppedFits(_prefix(context), last_rows)
    if context.fuse_folds is False:
        reason = "fuse_folds=False"
    elif context.n_fits < 2:
        reason = "it is fitted once"
    else:
        reason = fusion_blocker(wrapper, context)
        if reason is None:
            fall_back = context.fuse_folds == "auto"
            return FusedFits(context.step, fall_back, stopping)
        if context.fuse_folds is True:
            raise ValueError(
                f"cannot be trained fused: {reason}. Use fuse_folds='auto' to fit "
                "it fold by fold."
            )
    if stopping is not None:
        return dataclasses.replace(stopping, reason=reason)
    return SeparateFits(reason)


def _prefix(context) -> str:
    """The wrapper's parameter prefix in the member: ``""`` or ``"<step>__"``."""
    return "" if context.step is None else f"{context.step}__"


def fusion_blocker(wrapper, context) -> str | None:
    """Why the wrapper's fold models cannot train as one graph, or None.

    The wrapper decides what depends on it (``fold_fusion_blocker``; once
    built, ``fit_folds`` raises ``FoldFusionError``); fused training takes
    no fit parameter but the sample weights.
    """
    weight_key = f"{_prefix(context)}sample_weight"
    metadata = sorted(set(context.fit_params or {}) - {weight_key})
    reason = wrapper.fold_fusion_blocker()
    if context.step is None:
        return f"it is given fit metadata {metadata}" if metadata else reason
    if metadata:
        return f"it is given fit parameters {metadata}"
    return None if reason is None else f"its step {context.step!r}: {reason}"


@dataclass(frozen=True)
class FusedFits(FitStrategy):
    """All fold models and the refit of a wrapper trained as one Keras graph.

    ``step`` is the wrapper's step in a Pipeline member (None: the member is
    the wrapper); ``fall_back`` fits fold by fold a network found unfit for
    fused training once built (``fuse_folds="auto"``); ``stopping``, for a
    wrapper that stops early, is how it is then fitted.
    """

    step: str | None = None
    fall_back: bool = True
    stopping: EarlyStoppedFits | None = None

    def prepare(self, estimator):
        return estimator if self.stopping is None else self.stopping.prepare(estimator)

    def tasks(self, plan, folds):
        return [Task(fit_predict_fused, (tuple(folds), self))]

    def outcome(self, plan, folds, results, more):
        return results[0]

    def fit_copies(self, member, X, y, splits, fit_params, refit, targets=None):
        """``member``'s fold models and refit (or None), trained as one graph;
        ``targets``: each copy's own ``y`` (see ``fit_folds``)."""
        if self.step is None:
            weights = (fit_params or {}).get("sample_weight")  # its only one
            return member.fit_folds(
                X, y, splits, sample_weight=weights, refit=refit, targets=targets
            )
        return fit_pipeline_folds(member, X, y, splits, fit_params, refit, targets)


@dataclass(frozen=True)
class TargetTransformedFits(FusedFits):
    """A ``TransformedTargetRegressor`` whose regressor trains fused.

    Each copy's ``transformer_`` is fitted on its training rows, as in the
    regressor's separate fits, and its network trains on the targets that
    transformer gives (``fit_folds``'s ``targets``).
    """

    def fit_copies(self, member, X, y, splits, fit_params, refit, targets=None):
        # As TransformedTargetRegressor.fit prepares y.
        y = check_array(y, ensure_2d=False, dtype="numeric", allow_nd=True)
        y_2d = y.reshape(-1, 1) if y.ndim == 1 else y
        rows = [train for train, _ in splits] + ([slice(None)] if refit else [])
        shells, targets = [], []
        for train in rows:
            shell = clone(member)
            shell._training_dim = y.ndim
            shell._fit_transformer(y_2d[train])
            transformed = shell.transformer_.transform(y_2d)
            if transformed.ndim == 2 and transformed.shape[1] == 1 and y.ndim == 1:
                transformed = transformed.squeeze(axis=1)
            shells.append(shell)
            targets.append(transformed)
        fold_models, full = super().fit_copies(
            member.regressor, X, y, splits, fit_params, refit, targets
        )
        for shell, regressor in zip(shells, [*fold_models, full], strict=False):
            shell.regressor_ = regressor
            if hasattr(regressor, "feature_names_in_"):
                shell.feature_names_in_ = regressor.feature_names_in_
        return shells[: len(splits)], (shells[-1] if refit else None)


def _target_transformed_strategy(member, context):
    """Fused fits for a ``TransformedTargetRegressor`` around a wrapper (or a
    pipeline ending in one) that would be fused alone; else None."""
    regressor = member.regressor
    params = set(context.fit_params or {})
    if context.step is not None or regressor is None or params - {"sample_weight"}:
        return None
    if params and isinstance(regressor, Pipeline):
        return None  # its sample_weight fails in Pipeline.fit, as separately
    inner = fit_strategy(regressor, context)
    if type(inner) is not FusedFits or inner.stopping is not None:
        return None
    return TargetTransformedFits(inner.step, inner.fall_back)


register_fit_strategy(TransformedTargetRegressor, _target_transformed_strategy)


def fit_predict_fused(plan, X, y, folds, strategy) -> MemberOutcome:
    """Train all fold models of the member (and its refit) as one Keras graph.

    A network found unfit for fusion once built (``FoldFusionError``) is
    fitted fold by fold instead when the strategy falls back, and the
    outcome says why.
    """
    splits = [(fold.train, fold.test) for fold in folds]
    refit = not plan.keep_fold_models
    member, fit_params = plan.estimator, plan.fit_params
    where = f"in fused training of its {len(splits)} fold models"
    try:
        fold_models, full = strategy.fit_copies(member, X, y, splits, fit_params, refit)
        results = [
            held_out_result(plan, model, X, y, test)
            for (_, test), model in zip(splits, fold_models, strict=True)
        ]
        refit_epochs = None
        if refit and strategy.stopping is not None:
            refit_epochs = final_step(full).epochs
        return MemberOutcome(results, full, fused=True, refit_epochs=refit_epochs)
    except FoldFusionError as exc:
        if not strategy.fall_back:
            raise member_error(exc, plan.name, where, X) from exc
        reason = str(exc)
    except Exception as exc:
        raise member_error(exc, plan.name, where, X) from exc
    if strategy.stopping is not None:
        stopped = [fit_predict_stopping_fold(plan, X, y, fold) for fold in folds]
        outcome = strategy.stopping.finish(plan, X, y, stopped)
    else:
        results = [fit_predict_fold(plan, X, y, fold) for fold in folds]
        outcome = MemberOutcome(results, fit_full(plan, X, y) if refit else None)
    outcome.unfused_reason = reason
    return outcome


# Fold fusion of pipelines that end in a Keras wrapper: each copy's
# preprocessing is fitted on that copy's training rows alone (cheap
# scikit-learn fits), each copy of the network receives its own transformed
# rows, and the refit copy uses all rows, so copy k never sees fold k's
# held-out rows, as when the pipeline is fitted fold by fold.


def fit_pipeline_folds(
    pipeline: Pipeline, X, y, splits, fit_params, refit, targets=None
):
    """Fit one copy of ``pipeline`` per split (and one on all rows), fused.

    Returns the fitted fold pipelines, in the order of ``splits``, and the
    pipeline fitted on all rows (None unless ``refit``); ``targets``, each
    copy's own ``y`` (see ``fit_folds``). Raises
    ``FoldFusionError`` when a copy's preprocessing gives its network other
    features in a pipeline's ``fit`` than in ``transform`` (see
    :func:`_check_fit_transform`): the fused network trains on the latter.
    """
    step, wrapper = pipeline.steps[-1]
    rows = [train for train, _ in splits] + ([None] if refit else [])
    if targets is None:
        targets = [y] * len(rows)
    heads = []
    for train, y_copy in zip(rows, targets, strict=True):
        head = clone(pipeline)[:-1]
        if head.steps:
            X_rows = X if train is None else _safe_indexing(X, train)
            y_rows = y_copy if train is None else _safe_indexing(y_copy, train)
            if not heads:
                _check_fit_transform(head, X_rows, y_rows)
            head.fit(X_rows, y_rows)
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
        targets=targets,
    )
    networks = [*fold_models, full] if refit else list(fold_models)
    pipelines = [
        _fitted_pipeline(pipeline, head, step, network)
        for head, network in zip(heads, networks, strict=True)
    ]
    return (pipelines[:-1], pipelines[-1]) if refit else (pipelines, None)


def _check_fit_transform(head: Pipeline, X, y) -> None:
    """Refuse a head whose ``fit_transform`` differs from ``fit().transform()``.

    A Pipeline's ``fit`` trains its last step on ``fit_transform``'s output;
    fused copies train on ``transform``'s. Most transformers give the same
    features both ways; one that cross-fits or resamples in
    ``fit_transform`` (``TargetEncoder``) does not. Compared on a sample of
    the first copy's training rows, on a clone of the head.
    """
    rows = min(len(y), _FIT_TRANSFORM_CHECK_ROWS)
    X_sample, y_sample = (
        _safe_indexing(X, np.arange(rows)),
        _safe_indexing(y, np.arange(rows)),
    )
    probe = clone(head)
    try:
        fitted = _dense(probe.fit_transform(X_sample, y_sample))
        again = _dense(probe.transform(X_sample))
    except Exception:  # noqa: BLE001 - a head failing here fails in its own fit
        return
    if fitted.shape != again.shape or not np.allclose(
        fitted, again, rtol=1e-6, atol=1e-9, equal_nan=True
    ):
        raise FoldFusionError(
            "its preprocessing gives other features in fit (fit_transform) than "
            "in transform, on which fused copies train"
        )


def _dense(features) -> np.ndarray:
    toarray = getattr(features, "toarray", None)
    return np.asarray(toarray() if callable(toarray) else features, dtype=float)


def _fitted_pipeline(pipeline, head, step, network) -> Pipeline:
    """A clone of ``pipeline`` holding the fitted steps of one copy."""
    fitted = clone(pipeline)
    fitted.steps = [*head.steps, (step, network)]
    return fitted


@dataclass(frozen=True)
class EarlyStoppedFits(FitStrategy):
    """Fold models that stop early, then the refit for their mean best epoch.

    ``prefix`` is the wrapper's parameter prefix in the member (``""``, or
    ``"<step>__"`` in a Pipeline); ``last_rows`` validates on the last rows
    of each training window (time-ordered folds: a random sample would
    validate on rows interleaved with the ones it trains on); ``reason``
    says why its folds are not fused.
    """

    prefix: str = ""
    last_rows: bool = False
    reason: str | None = None

    def prepare(self, estimator):
        if self.last_rows:
            estimator.set_params(**{f"{self.prefix}validation_rows": "last"})
        return estimator

    def tasks(self, plan, folds):
        return [Task(fit_predict_stopping_fold, (fold,)) for fold in folds]

    def more_tasks(self, plan, folds, results):
        if plan.keep_fold_models:
            return []
        return [Task(fit_full, (self.refit_settings(results),))]

    def outcome(self, plan, folds, results, more):
        fold_results = [result for result, _ in results]
        if plan.keep_fold_models:
            return MemberOutcome(folds=fold_results, unfused_reason=self.reason)
        return MemberOutcome(
            folds=fold_results,
            full=more[0],
            refit_epochs=refit_epochs([epoch for _, epoch in results]),
            unfused_reason=self.reason,
        )

    def refit_settings(self, results) -> dict:
        """The refit's parameters: the folds' mean best epoch, no stopping."""
        return {
            f"{self.prefix}epochs": refit_epochs([epoch for _, epoch in results]),
            f"{self.prefix}early_stopping": False,
        }

    def finish(self, plan, X, y, results) -> MemberOutcome:
        """The outcome from fold results fitted in one task, refit included."""
        if plan.keep_fold_models:
            return self.outcome(plan, None, results, [])
        full = fit_full(plan, X, y, self.refit_settings(results))
        return self.outcome(plan, None, results, [full])


def fit_predict_stopping_fold(plan, X, y, fold) -> tuple:
    """A fold's result and the epoch its early-stopped network was best at."""
    model, result = fit_fold(plan, X, y, fold)
    return result, final_step(model).best_epoch_
