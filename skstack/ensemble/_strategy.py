"""How a member is fitted: one fitting strategy per member, chosen in the plan.

A stack fits each member on every fold (predicting the fold's held-out rows)
and, unless the fold models are kept, once on all rows. *How* those fits are
made is the member's :class:`FitStrategy`: separately (the default), the folds
started from the full fit (``_warm_start.py``), or in ways only a Keras
network has (``skstack/keras/_strategies.py``). A strategy makes its member's
tasks and assembles their results into the member's :class:`MemberOutcome`;
the engine runs every member's tasks in one pool and knows no strategy by name.

A member brings its strategy as scikit-learn reads ``__sklearn_tags__``:

1. a method ``__skstack_fit_strategy__(context)`` on the estimator (skstack's
   own wrappers have it);
2. else an adapter registered for its type with :func:`register_fit_strategy`
   (types skstack does not own: scikit-learn's convex linear models,
   ``Pipeline``, which asks its last step);
3. else :class:`SeparateFits`.

A method or adapter returning None passes the question on to the next.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from ._extension import keras_function
from ._tasks import FoldResult, fit_full, fit_predict_fold


@dataclass(frozen=True)
class Fold:
    """One (repeat, fold) split; ``where`` names it in error messages."""

    repeat: int
    index: int
    train: np.ndarray
    test: np.ndarray
    where: str


@dataclass(frozen=True, eq=False)
class MemberPlan:
    """What every fit of one member needs.

    ``columns`` turns its predictions into meta-feature columns;
    ``keep_fold_models`` keeps each fold model (``fold_models="average"``),
    which then also replace the fit on all rows.
    """

    name: str
    estimator: object  # the seeded, unfitted clone
    method: str  # the stack method giving its meta-features
    fit_params: dict
    scorer: object
    columns: object
    keep_fold_models: bool = False


@dataclass(frozen=True)
class FitContext:
    """What the stack tells a member's strategy, besides the member itself.

    ``n_fits`` counts the member's fits: one per fold, plus the one on all
    rows unless fold models are kept. ``fuse_folds`` and ``warm_start_folds``
    are the stack's parameters; ``time_ordered`` says every split trains on
    rows before the ones it tests. ``step`` is set when the estimator asked is
    the last step of the member (a ``Pipeline``): that step's name.
    """

    fit_params: dict
    n_fits: int
    keep_fold_models: bool
    fuse_folds: bool | str = "auto"
    warm_start_folds: bool = True
    time_ordered: bool = False
    step: str | None = None


@dataclass
class MemberOutcome:
    """A member's results: fold results in fold order, the model for prediction.

    ``fused`` says the fold models were trained together (``fused_members_``),
    ``unfused_reason`` why they were not (``unfused_members_``);
    ``refit_epochs`` is the length of the fit on all rows when the strategy
    chose it from the folds (``refit_epochs_``).
    """

    folds: list[FoldResult]
    full: object = None
    fused: bool = False
    refit_epochs: int | None = None
    unfused_reason: str | None = None


@dataclass(frozen=True)
class Task:
    """One call a worker makes: ``function(plan, X, y, *arguments)``."""

    function: Callable
    arguments: tuple = ()


class FitStrategy:
    """How one member's fits are made; by default, every fit separately.

    A strategy is a small immutable object: it may run in worker processes
    with its tasks. ``tasks`` makes the work known before any fit ran;
    ``more_tasks`` the work that needs those results (run after every
    member's first tasks); ``outcome`` assembles both lists of results, in
    the order of the tasks.
    """

    def prepare(self, estimator):
        """The estimator to fit, from the stack's seeded clone (may be set)."""
        return estimator

    def tasks(self, plan: MemberPlan, folds: list[Fold]) -> list[Task]:
        """The fit on all rows (unless fold models are kept), then each fold."""
        full = [] if plan.keep_fold_models else [Task(fit_full)]
        return full + [Task(fit_predict_fold, (fold,)) for fold in folds]

    def more_tasks(self, plan: MemberPlan, folds, results) -> list[Task]:
        """Tasks that need the results of :meth:`tasks`; none by default."""
        return []

    def outcome(self, plan: MemberPlan, folds, results, more) -> MemberOutcome:
        """The member's outcome from the results of its tasks."""
        if plan.keep_fold_models:
            return MemberOutcome(folds=list(results))
        return MemberOutcome(folds=list(results[1:]), full=results[0])


@dataclass(frozen=True)
class SeparateFits(FitStrategy):
    """Every fold, and the fit on all rows, fitted on its own: the default.

    ``reason`` says why a member that could train its folds together does
    not (``unfused_members_``).
    """

    reason: str | None = None

    def outcome(self, plan, folds, results, more):
        outcome = super().outcome(plan, folds, results, more)
        outcome.unfused_reason = self.reason
        return outcome


_ADAPTERS: dict[type, Callable] = {}


def register_fit_strategy(cls: type, adapter: Callable) -> None:
    """Give estimators of type ``cls`` (and its subclasses) a fitting strategy.

    ``adapter(estimator, context)`` returns a :class:`FitStrategy`, or None to
    leave the estimator to the default (separate fits).
    """
    _ADAPTERS[cls] = adapter


def fit_strategy(estimator, context: FitContext) -> FitStrategy:
    """The strategy fitting ``estimator`` (a member, or a pipeline's last step)."""
    hook = getattr(estimator, "__skstack_fit_strategy__", None)
    if callable(hook) and not isinstance(estimator, type):
        strategy = hook(context)
        if strategy is not None:
            return strategy
    for cls in type(estimator).__mro__:
        adapter = _ADAPTERS.get(cls)
        if adapter is not None:
            strategy = adapter(estimator, context)
            if strategy is not None:
                return strategy
    return SeparateFits()


def _pipeline_strategy(pipeline: Pipeline, context: FitContext):
    """A pipeline is fitted as its last step's strategy says, for the pipeline."""
    if context.step is not None or not pipeline.steps:
        return None  # a pipeline nested in a pipeline: fitted separately
    step, last = pipeline.steps[-1]
    if not hasattr(last, "fit"):  # "passthrough" or None
        return None
    return fit_strategy(last, dataclasses.replace(context, step=step))


register_fit_strategy(Pipeline, _pipeline_strategy)


def fitted_equivalent(estimator):
    """``estimator``, or what the stack fits in its place.

    Keras's own scikit-learn wrappers cannot be fitted as given (their
    ``clone`` drops the fit arguments): skstack's estimator of the same
    network and arguments is fitted instead (provided by ``skstack.keras``),
    also as a pipeline's step. The user's estimator is never changed.
    """
    if isinstance(estimator, Pipeline) and estimator.steps:
        steps = estimator.steps
        converted = [fitted_equivalent(step) for _, step in steps]
        if all(new is old for new, (_, old) in zip(converted, steps, strict=True)):
            return estimator
        pipeline = clone(estimator)
        pipeline.steps = [
            (name, step if new is old else new)
            for (name, step), new, (_, old) in zip(
                pipeline.steps, converted, steps, strict=True
            )
        ]
        return pipeline
    return keras_function("member_equivalent")(estimator)


def final_step(member):
    """The estimator that ends ``member``: itself, or its Pipeline's last step."""
    if isinstance(member, Pipeline):
        return member.steps[-1][1] if member.steps else None
    return member
