"""Cross-fitting as data: a plan of named fit tasks, and its results assembled.

A stack's fits are (member, repeat, fold) fits, each predicting its held-out
rows, plus one fit per member on all rows for prediction (``"full"``); a member
whose folds train as one Keras graph has one ``"fused"`` task instead, one
whose folds start from its full fit one ``"warm"`` task. Members
that stop early have their full fit planned once their fold models' best epochs
are known. The stack runs the plan (``_base.py``); the tasks are in
``_tasks.py``.
"""

from __future__ import annotations

import copy
import inspect
import numbers
import os
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_memory

from ..utils._validation import check_folds, check_predicted_rows
from ._pool import is_scikit_learn
from ._tasks import (
    TASK_FUNCTIONS,
    FitTask,
    FoldResult,
    MemberPlan,
    cached_call,
    is_fusable_pipeline,
    pipeline_fusion_blocker,
)
from ._warm_start import has_one_optimum

DROP = "drop"


def is_prefit(cv) -> bool:
    """Whether ``cv`` says the members are used as already fitted."""
    return isinstance(cv, str) and cv == "prefit"


def is_drop(member) -> bool:
    return isinstance(member, str) and member == DROP


@dataclass
class MemberOutcome:
    """A member's results: fold results in fold order, the model for prediction."""

    folds: list[FoldResult]
    full: object = None
    fused: bool = False


class CrossFit:
    """The fits of one stack's members: planned, then assembled.

    Parameters
    ----------
    members : list of MemberPlan
    repeats : list of list of (train, test)
        The splits of each repeat.
    average : bool
        Keep the fold models for prediction (``fold_models="average"``)
        instead of fitting on all rows.
    memory : joblib.Memory or None
        Where fit results are cached (``memory`` of the stacks).
    """

    def __init__(self, members, repeats, average, memory=None):
        self.members = {member.name: member for member in members}
        self.repeats = repeats
        self.average = average
        self.memory = memory

    @property
    def folds(self) -> list[tuple]:
        return [pair for splits in self.repeats for pair in splits]

    def plan(self) -> list[FitTask]:
        """Every fit whose inputs are known before any fit ran."""
        tasks = []
        for member in self.members.values():
            folds = self.fold_tasks(member.name)
            if member.fused or member.warm:
                kind = "fused" if member.fused else "warm"
                tasks.append(FitTask(member.name, kind, folds=tuple(folds)))
                continue
            if not self.average and member.stopping is None:
                tasks.append(FitTask(member.name, "full"))
            tasks.extend(folds)
        return tasks

    def fold_tasks(self, name: str) -> list[FitTask]:
        """A member's (repeat, fold) fits, in fold order."""
        tasks = []
        for repeat, splits in enumerate(self.repeats):
            for fold, (train, test) in enumerate(splits):
                label = fold_label(fold, len(splits), repeat, len(self.repeats))
                where = f"{label} (fit on {len(train)} samples, predicting {len(test)})"
                tasks.append(FitTask(name, "fold", repeat, fold, train, test, where))
        return tasks

    def one_task_beside_scikit_learn(self, tasks) -> bool:
        """Whether one task (a fused network) runs beside scikit-learn's alone.

        Then the pool runs them in threads of this process: the network's
        TensorFlow already runs here, where a worker process would first
        import it (seconds) and receive a copy of X; scikit-learn's solvers
        and TensorFlow release the GIL in their arithmetic. With two tasks of
        other libraries (two networks seeding Keras), worker processes.
        """
        others = [
            task
            for task in tasks
            if not is_scikit_learn(self.members[task.member].estimator)
        ]
        return len(others) == 1 and len(tasks) > 1

    def stopped_tasks(self, outcomes) -> list[FitTask]:
        """The full fits of members that stop early, for their folds' best epoch."""
        epochs = self.refit_epochs(outcomes)
        return [FitTask(name, "stopped_full", epochs=epochs[name]) for name in epochs]

    def call(self, task: FitTask, X, y) -> tuple:
        """The (function, arguments) a worker runs for ``task``, cached if asked."""
        function = TASK_FUNCTIONS[task.kind]
        arguments = (self.members[task.member], task, X, y)
        if self.memory is None:
            return function, arguments
        return cached_call, (self.memory, function, arguments)

    def assemble(self, tasks, results, outcomes=None) -> dict[str, MemberOutcome]:
        """Each member's fold results (in fold order) and full model."""
        if outcomes is None:
            outcomes = {name: MemberOutcome(folds=[]) for name in self.members}
        for task, result in zip(tasks, results, strict=True):
            outcome = outcomes[task.member]
            if task.kind in ("full", "stopped_full"):
                outcome.full = result
            elif task.kind == "fused":
                outcome.folds, outcome.full, outcome.fused = result
            elif task.kind == "warm":
                outcome.folds, outcome.full = result
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


def plan_cross_fit(stack, kept, methods, final, X, y, params) -> CrossFit:
    """The stack's cross-fitting plan: seeded members, splits, fused or not.

    Seeds every unset ``random_state`` of the members and of ``final`` from
    the stack's ``random_state``, draws the splits once for all members and
    checks them.
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
    if time_ordered(repeats):
        for member in members:
            validate_on_last_rows(member)
    average = stack.fold_models == "average"
    n_copies = sum(len(splits) for splits in repeats) + (not average)
    fused = members_to_fuse(stack, kept, members, params.members, n_copies)
    columns = stack._meta_columns(prefit=False)
    plans = [
        MemberPlan(
            name=name,
            estimator=member,
            method=methods[name],
            fit_params=params.members[name],
            scorer=check_scoring(member, stack.scoring),
            columns=columns,
            fused=fused[i],
            warm=(
                stack.warm_start_folds
                and not fused[i]
                and not average
                and has_one_optimum(member)
            ),
            stopping=early_stopping_prefix(member),
            keep_fold_models=average,
            # "auto" fits fold by fold a network found unfit for fusion once built.
            fall_back=stack.fuse_folds == "auto",
        )
        for i, ((name, _), member) in enumerate(zip(kept, members, strict=True))
    ]
    memory = stack.memory
    if memory is not None:  # a path (str or Path) or a joblib.Memory
        is_path = isinstance(memory, os.PathLike)
        memory = check_memory(os.fspath(memory) if is_path else memory)
    return CrossFit(plans, repeats, average, memory), predicted


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


def fold_label(fold, n_splits, repeat, n_repeats) -> str:
    """Where a fit happened, for error messages: "on fold 2 of 5, repeat 1"."""
    label = f"on fold {fold} of {n_splits}"
    return label + (f", repeat {repeat}" if n_repeats > 1 else "")


def fusion_blocker(member, fit_params=None) -> str | None:
    """Why ``member``'s fold models cannot train as one Keras graph, or None.

    The one place the stack asks. The member decides what depends on it
    (``fold_fusion_blocker`` of skstack's Keras wrappers: their parameters,
    and, once built, ``FoldFusionError`` from ``fit_folds``); fused training
    takes no fit parameter but ``sample_weight``; any other estimator has no
    fused training.
    """
    if is_fusable_pipeline(member):
        return pipeline_fusion_blocker(member, fit_params)
    blocker = getattr(member, "fold_fusion_blocker", None)
    if not callable(blocker):
        return (
            "it is neither a skstack KerasClassifier/KerasRegressor nor a "
            "Pipeline ending in one"
        )
    metadata = sorted(set(fit_params or {}) - {"sample_weight"})
    if metadata:
        return f"it is given fit metadata {metadata}"
    return blocker()


def is_keras_wrapper(member) -> bool:
    """Whether ``member`` is one of skstack's Keras wrappers (it can be fused)."""
    return callable(getattr(member, "fold_fusion_blocker", None))


def has_fused_training(member) -> bool:
    """Whether ``member`` is a Keras wrapper or a Pipeline ending in one."""
    return is_keras_wrapper(member) or is_fusable_pipeline(member)


def early_stopping_prefix(member) -> str | None:
    """The parameter prefix of the Keras model in ``member`` that stops early.

    ``""`` for the member itself, ``"<step>__"`` for a pipeline's last step,
    None when nothing stops early (scikit-learn estimators with an
    ``early_stopping`` parameter stop within their own fit and have no
    ``epochs``).
    """
    candidates = [("", member)]
    if isinstance(member, Pipeline):
        step, last = member.steps[-1]
        candidates.append((f"{step}__", last))
    for prefix, estimator in candidates:
        params = getattr(estimator, "get_params", dict)(deep=False)
        if params.get("early_stopping") is True and "epochs" in params:
            return prefix
    return None


def time_ordered(repeats) -> bool:
    """Whether every split trains on rows before the ones it tests (in order)."""
    return all(
        np.max(train) < np.min(test) for splits in repeats for train, test in splits
    )


def validate_on_last_rows(member) -> None:
    """Make a member that stops early hold out the last rows of its training
    window, not a random sample: on time-ordered folds, a random sample would
    validate on rows interleaved with the ones it trains on."""
    prefix = early_stopping_prefix(member)
    if prefix is None:
        return
    key = f"{prefix}validation_rows"
    if member.get_params(deep=bool(prefix)).get(key) == "random":
        member.set_params(**{key: "last"})


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
