"""Cross-fitting as data: a plan of named fit tasks, run in one pool, assembled.

A stack's fits are (member, repeat, fold) fits, each predicting its held-out
rows, plus one fit per member on all rows for prediction (``"refit"``); a
member whose folds train as one Keras graph has one ``"fused"`` task instead.
Members that stop early have their full fit planned once their fold models'
best epochs are known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._pool import cached_call, run_tasks
from ._tasks import (
    FoldResult,
    fit_full,
    fit_predict_fold,
    fit_predict_fused,
    fold_label,
    fusion_blocker,
    has_fused_training,
    refit_without_stopping,
)


@dataclass(frozen=True, eq=False)
class FitTask:
    """One fit of the plan.

    ``kind`` is ``"fold"`` (fit on ``train``, predict ``test``), ``"full"``
    (fit on all rows), ``"fused"`` (every fold, and the full fit unless
    averaging, as one Keras graph) or ``"stopped_full"`` (all rows, for the
    mean best epoch of the fold models).
    """

    member: str
    kind: str
    repeat: int = 0
    fold: int = 0
    train: np.ndarray | None = None
    test: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class MemberPlan:
    """What every fit of one member needs."""

    name: str
    estimator: object  # the seeded, unfitted clone
    method: str  # the stack method giving its meta-features
    fit_params: dict
    scorer: object
    fused: bool
    stopping: str | None  # parameter prefix of its early stopping, or None


@dataclass
class MemberOutcome:
    """A member's results: fold results in fold order, the model for prediction."""

    folds: list[FoldResult]
    full: object = None
    fused: bool = False


class CrossFit:
    """Plans, runs and assembles the fits of one stack's members.

    Parameters
    ----------
    members : list of MemberPlan
    repeats : list of list of (train, test)
        The splits of each repeat.
    columns : MetaColumns
        Turns predictions into meta-feature columns.
    average : bool
        Keep the fold models for prediction (``fold_models="average"``)
        instead of fitting on all rows.
    fall_back : bool
        A network found unfit for fusion once built is fitted fold by fold.
    memory : joblib.Memory or None
        Where fit results are cached (``memory`` of the stacks).
    """

    def __init__(self, members, repeats, columns, average, fall_back, memory=None):
        self.members = {member.name: member for member in members}
        self.repeats = repeats
        self.columns = columns
        self.average = average
        self.fall_back = fall_back
        self.memory = memory

    @property
    def folds(self) -> list[tuple]:
        return [pair for splits in self.repeats for pair in splits]

    def where(self, task: FitTask) -> str:
        """Where a fold fit happened, for error messages."""
        n_splits = len(self.repeats[task.repeat])
        label = fold_label(task.fold, n_splits, task.repeat, len(self.repeats))
        return (
            label + f" (fit on {len(task.train)} samples, predicting {len(task.test)})"
        )

    def plan(self) -> list[FitTask]:
        """Every fit whose inputs are known before any fit ran."""
        tasks = []
        for member in self.members.values():
            if member.fused:
                tasks.append(FitTask(member.name, "fused"))
                continue
            if not self.average and member.stopping is None:
                tasks.append(FitTask(member.name, "full"))
            tasks.extend(self.fold_tasks(member.name))
        return tasks

    def fold_tasks(self, name: str) -> list[FitTask]:
        """A member's (repeat, fold) fits, in fold order."""
        return [
            FitTask(name, "fold", repeat, fold, train, test)
            for repeat, splits in enumerate(self.repeats)
            for fold, (train, test) in enumerate(splits)
        ]

    def call(self, task: FitTask, X, y, epochs=None) -> tuple:
        """The (function, arguments) a worker runs for ``task``, cached if asked."""
        function, arguments = self._fit_call(task, X, y, epochs)
        if self.memory is None:
            return function, arguments
        return cached_call, (self.memory, function, arguments)

    def _fit_call(self, task: FitTask, X, y, epochs) -> tuple:
        member = self.members[task.member]
        estimator, params, name = member.estimator, member.fit_params, member.name
        if task.kind == "full":
            return fit_full, (estimator, X, y, params, name)
        if task.kind == "stopped_full":
            arguments = (estimator, member.stopping, epochs, X, y, params, name)
            return refit_without_stopping, arguments
        predicting = (member.method, self.columns, name)
        if task.kind == "fold":
            arguments = (estimator, X, y, params, task.train, task.test, *predicting)
            where = self.where(task)
            return fit_predict_fold, (*arguments, where, self.average, member.scorer)
        wheres = [self.where(fold_task) for fold_task in self.fold_tasks(name)]
        arguments = (estimator, X, y, params, self.folds, not self.average)
        arguments += (*predicting, self.average, member.scorer, wheres, self.fall_back)
        return fit_predict_fused, arguments

    def run(self, X, y, n_jobs, verbose) -> dict[str, MemberOutcome]:
        """Run the plan, then the full fits of members that stop early."""
        tasks = self.plan()
        calls = [self.call(task, X, y) for task in tasks]
        results = run_tasks(calls, n_jobs, verbose, "stacking fits")
        outcomes = self.assemble(tasks, results)

        stopped = [
            FitTask(member.name, "stopped_full")
            for member in self.members.values()
            if member.stopping is not None and not self.average
        ]
        epochs = self.refit_epochs(outcomes)
        calls = [self.call(task, X, y, epochs[task.member]) for task in stopped]
        for task, model in zip(
            stopped, run_tasks(calls, n_jobs, verbose, "refits"), strict=True
        ):
            outcomes[task.member].full = model
        return outcomes

    def assemble(self, tasks, results) -> dict[str, MemberOutcome]:
        """Each member's fold results (in fold order) and full model."""
        outcomes = {name: MemberOutcome(folds=[]) for name in self.members}
        for task, result in zip(tasks, results, strict=True):
            outcome = outcomes[task.member]
            if task.kind == "full":
                outcome.full = result
            elif task.kind == "fused":
                outcome.folds, outcome.full, outcome.fused = result
            else:
                outcome.folds.append(result)
        return outcomes

    def refit_epochs(self, outcomes) -> dict[str, int]:
        """For members that stop early: the mean of their fold models' best epochs."""
        return {
            name: max(1, int(round(np.mean([r.best_epoch for r in outcome.folds]))))
            for name, outcome in outcomes.items()
            if self.members[name].stopping is not None and not self.average
        }

    def meta_features(self, outcome: MemberOutcome, n_rows: int) -> np.ndarray:
        """A member's out-of-fold columns, averaged over the repeats predicting
        each row; NaN for rows no test part holds."""
        coverage = np.zeros(n_rows)
        for _, test in self.folds:
            coverage[test] += 1
        block = np.zeros((n_rows, outcome.folds[0].columns.shape[1]))
        for (_, test), result in zip(self.folds, outcome.folds, strict=True):
            block[test] += result.columns / coverage[test, None]
        block[coverage == 0] = np.nan
        return block

    def fold_scores(self, outcome: MemberOutcome) -> np.ndarray:
        scores = np.array([result.score for result in outcome.folds])
        return scores.reshape(len(self.repeats), -1)


def members_to_fuse(stack, kept, members, member_params, n_copies) -> list[bool]:
    """Which members train their folds as one graph, per ``fuse_folds``.

    ``"auto"`` fuses every member that can be; ``True`` also refuses a Keras
    wrapper that cannot, naming why; other estimators are never fused. With
    one fit per member (``n_copies``: one holdout split, its model kept)
    there is nothing to train together: no member is fused.
    """
    if (stack.fuse_folds != "auto" and not stack.fuse_folds) or n_copies < 2:
        return [False] * len(members)
    strict = stack.fuse_folds != "auto"
    fused = []
    for (name, _), member in zip(kept, members, strict=True):
        reason = fusion_blocker(member, member_params[name])
        if reason is not None and strict and has_fused_training(member):
            raise ValueError(
                f"{type(stack).__name__}: fuse_folds=True, but estimator "
                f"{name!r} cannot be trained fused: {reason}. Use "
                "fuse_folds='auto' to fit it fold by fold."
            )
        fused.append(reason is None)
    return fused
