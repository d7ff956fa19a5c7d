"""Cross-fitting as data: each member's strategy, its tasks, their results.

A stack's fits are (member, repeat, fold) fits, each predicting its held-out
rows, plus one fit per member on all rows for prediction, unless the fold
models are kept. Each member's :class:`~._strategy.FitStrategy` makes its
tasks and assembles their results; :class:`CrossFit` runs every member's
tasks in one pool (a second round for tasks that need the first's results).
The stack makes the plan and uses the outcome (``_base.py``).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import numbers
import os

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_memory

from ..utils._validation import check_folds, check_predicted_rows
from . import _warm_start  # noqa: F401 - registers the convex models' strategy
from ._pool import is_scikit_learn, run_tasks
from ._strategy import FitContext, Fold, MemberOutcome, MemberPlan, fit_strategy
from ._tasks import cached_call

DROP = "drop"


def is_prefit(cv) -> bool:
    """Whether ``cv`` says the members are used as already fitted."""
    return isinstance(cv, str) and cv == "prefit"


def is_drop(member) -> bool:
    return isinstance(member, str) and member == DROP


class CrossFit:
    """The fits of one stack's members: planned, run, assembled.

    Parameters
    ----------
    members : list of (MemberPlan, FitStrategy)
    repeats : list of list of (train, test)
        The splits of each repeat.
    memory : joblib.Memory or None
        Where fit results are cached (``memory`` of the stacks).
    """

    def __init__(self, members, repeats, memory=None):
        self.members = {plan.name: (plan, strategy) for plan, strategy in members}
        self.repeats = repeats
        self.memory = memory
        self.folds = [
            Fold(repeat, index, train, test, _where(index, splits, repeat, repeats))
            for repeat, splits in enumerate(repeats)
            for index, (train, test) in enumerate(splits)
        ]

    def run(self, X, y, n_jobs, verbose) -> dict[str, MemberOutcome]:
        """Every member's tasks in one pool, then their follow-ups; the outcomes."""
        first = {
            name: strategy.tasks(plan, self.folds)
            for name, (plan, strategy) in self.members.items()
        }
        owners = [
            self.members[name][0].estimator
            for name, tasks in first.items()
            for _ in tasks
        ]
        prefer = "threads" if one_task_beside_scikit_learn(owners) else None
        results = self._run(first, X, y, n_jobs, verbose, "stacking fits", prefer)
        second = {
            name: strategy.more_tasks(plan, self.folds, results[name])
            for name, (plan, strategy) in self.members.items()
        }
        more = self._run(second, X, y, n_jobs, verbose, "refits", None)
        return {
            name: strategy.outcome(plan, self.folds, results[name], more[name])
            for name, (plan, strategy) in self.members.items()
        }

    def _run(self, tasks, X, y, n_jobs, verbose, label, prefer) -> dict:
        """Run each member's tasks in one pool; each member's results, in order."""
        calls = [
            self._call(self.members[name][0], task, X, y)
            for name, member_tasks in tasks.items()
            for task in member_tasks
        ]
        flat = iter(run_tasks(calls, n_jobs, verbose, label, prefer))
        return {
            name: [next(flat) for _ in member_tasks]
            for name, member_tasks in tasks.items()
        }

    def _call(self, plan, task, X, y) -> tuple:
        """The (function, arguments) a worker runs for ``task``, cached if asked."""
        arguments = (plan, X, y, *task.arguments)
        if self.memory is None:
            return task.function, arguments
        return cached_call, (self.memory, task.function, arguments)

    def meta_features(self, outcome: MemberOutcome, n_rows: int) -> np.ndarray:
        """A member's out-of-fold columns, averaged over the repeats predicting
        each row; NaN for rows no test part holds."""
        coverage = np.zeros(n_rows)
        for fold in self.folds:
            coverage[fold.test] += 1
        block = np.zeros((n_rows, outcome.folds[0].columns.shape[1]))
        for fold, result in zip(self.folds, outcome.folds, strict=True):
            block[fold.test] += result.columns / coverage[fold.test, None]
        block[coverage == 0] = np.nan
        return block

    def fold_scores(self, outcome: MemberOutcome) -> np.ndarray:
        scores = np.array([result.score for result in outcome.folds])
        return scores.reshape(len(self.repeats), -1)


def one_task_beside_scikit_learn(owners) -> bool:
    """Whether one task (a fused network) runs beside scikit-learn's alone.

    ``owners`` are the estimators of the tasks, one per task. Then the pool
    runs them in threads of this process: the network's TensorFlow already
    runs here, where a worker process would first import it (seconds) and
    receive a copy of X; scikit-learn's solvers and TensorFlow release the
    GIL in their arithmetic. With two tasks of other libraries (two networks
    seeding Keras), worker processes.
    """
    others = [owner for owner in owners if not is_scikit_learn(owner)]
    return len(others) == 1 and len(owners) > 1


def plan_cross_fit(stack, kept, methods, final, X, y, params):
    """The stack's cross-fitting plan: seeded members, splits, strategies.

    Seeds every unset ``random_state`` of the members and of ``final`` from
    the stack's ``random_state``, draws the splits once for all members,
    checks them and asks each member for its fitting strategy. Returns the
    :class:`CrossFit`, the meta-features' columns and which rows a test part
    predicts.
    """
    members = [clone(member) for _, member in kept]
    rng = None
    if stack.random_state is not None:
        rng = check_random_state(stack.random_state)
        for member in members:
            seed_estimator(member, rng)
        seed_estimator(final, rng)
    cv = check_cv(stack.cv, y, classifier=is_classifier(stack))
    stack._check_cv(cv, y)
    groups = params.split.get("groups")
    repeats = repeated_splits(stack, cv, X, y, groups, rng)
    predicted = np.zeros(len(y), dtype=bool)
    for splits in repeats:
        predicted |= check_folds(stack, splits, len(y))
    classes = getattr(stack, "classes_", None)
    multilabel = isinstance(classes, list)
    check_predicted_rows(stack, predicted, y, None if multilabel else classes)
    average = stack.fold_models == "average"
    columns = stack._meta_columns(prefit=False)
    stack_context = FitContext(
        fit_params={},
        n_fits=sum(len(splits) for splits in repeats) + (not average),
        keep_fold_models=average,
        fuse_folds=stack.fuse_folds,
        warm_start_folds=stack.warm_start_folds,
        time_ordered=time_ordered(repeats),
    )
    plans = []
    for (name, _), member in zip(kept, members, strict=True):
        context = dataclasses.replace(stack_context, fit_params=params.members[name])
        try:
            strategy = fit_strategy(member, context)
        except ValueError as exc:  # a strategy the stack's options rule out
            raise ValueError(
                f"{type(stack).__name__}: estimator {name!r} {exc}"
            ) from exc
        plan = MemberPlan(
            name=name,
            estimator=strategy.prepare(member),
            method=methods[name],
            fit_params=params.members[name],
            scorer=check_scoring(member, stack.scoring),
            columns=columns,
            keep_fold_models=average,
        )
        plans.append((plan, strategy))
    memory = stack.memory
    if memory is not None:  # a path (str or Path) or a joblib.Memory
        is_path = isinstance(memory, os.PathLike)
        memory = check_memory(os.fspath(memory) if is_path else memory)
    return CrossFit(plans, repeats, memory), columns, predicted


def _where(index, splits, repeat, repeats) -> str:
    """Where a fit happened, for error messages: "on fold 2 of 5, repeat 1 (...)"."""
    train, test = splits[index]
    label = f"on fold {index} of {len(splits)}"
    label += f", repeat {repeat}" if len(repeats) > 1 else ""
    return f"{label} (fit on {len(train)} samples, predicting {len(test)})"


def time_ordered(repeats) -> bool:
    """Whether every split trains on rows before the ones it tests (in order)."""
    return all(
        np.max(train) < np.min(test) for splits in repeats for train, test in splits
    )


def repeated_splits(owner, cv, X, y, groups, rng) -> list[list]:
    """The (train, test) pairs of each repeat, drawn once for every member.

    One repeat uses ``cv`` as given (seeded from ``rng`` if it shuffles without
    a seed); more repeats reshuffle a copy of it with a new seed each.
    """
    # A splitter without a ``shuffle`` parameter (TimeSeriesSplit, a holdout,
    # a list of splits) would give every repeat the same splits.
    n_repeats = owner.n_repeats
    reshuffles = "shuffle" in inspect.signature(type(cv).__init__).parameters
    if n_repeats > 1 and not reshuffles:
        raise ValueError(
            f"{type(owner).__name__}: n_repeats={n_repeats} needs a splitter that "
            f"shuffles (KFold, StratifiedKFold, GroupKFold), got {cv!r}, whose "
            "splits cannot be redrawn."
        )
    repeats = []
    for repeat in range(n_repeats):
        splitter = cv
        unseeded = getattr(cv, "shuffle", False) and cv.random_state is None
        if n_repeats > 1 or (unseeded and rng is not None):
            splitter = copy.deepcopy(cv)
            splitter.shuffle = True
            if rng is not None:
                splitter.random_state = int(rng.randint(np.iinfo(np.int32).max))
            elif isinstance(cv.random_state, numbers.Integral):
                splitter.random_state = int(cv.random_state) + repeat
            elif isinstance(cv.random_state, np.random.RandomState):
                # Drawn from the user's generator: a copy of it would give
                # every repeat the same shuffle.
                seed = cv.random_state.randint(np.iinfo(np.int32).max)
                splitter.random_state = int(seed)
        try:
            repeats.append(list(splitter.split(X, y, groups)))
        except ValueError as exc:
            raise ValueError(
                f"{type(owner).__name__}: cv={cv!r} cannot split the {len(y)} "
                f"training samples: {exc}"
            ) from exc
    return repeats


def seed_estimator(estimator, rng) -> None:
    """Give every unset ``random_state`` in ``estimator`` (nested too) a seed."""
    params = estimator.get_params(deep=True)
    seeds = {
        key: int(rng.randint(np.iinfo(np.int32).max))
        for key in sorted(params)
        if (key == "random_state" or key.endswith("__random_state"))
        and params[key] is None
    }
    if seeds:
        estimator.set_params(**seeds)
