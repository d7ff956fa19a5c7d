"""The fit tasks of stacking: one (member, fold) fit each, run by joblib workers.

Module-level functions, so loky and dask workers can unpickle them.
"""

from __future__ import annotations

import contextlib
import copy
import numbers
import os
import sys
from typing import NamedTuple

import numpy as np
from joblib import Parallel, cpu_count, delayed, effective_n_jobs
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

from ._compat import params_of_rows, safe_indexing
from .exceptions import FoldFusionError

DROP = "drop"


def is_drop(member) -> bool:
    return isinstance(member, str) and member == DROP


def member_error(exc: BaseException, name: str, where: str, X) -> Exception:
    """The member's exception, re-raised with which estimator and where it failed."""
    message = f"Estimator {name!r} failed {where}: {type(exc).__name__}: "
    message += condensed_message(exc)
    if getattr(X, "ndim", 2) > 2:
        message += (
            f" (X has shape {X.shape}; an estimator that takes only 2-D input can "
            "be stacked as make_pipeline(skstack.Flatten(), estimator))"
        )
    # Only for a failed conversion: a member that encodes its text columns
    # itself can fail for other reasons, where the hint would mislead.
    text_columns = non_numeric_columns(X)
    converting = any(word in str(exc).lower() for word in ("convert", "string"))
    if text_columns and converting and isinstance(exc, (ValueError, TypeError)):
        shown = text_columns[:5] + (["..."] if len(text_columns) > 5 else [])
        message += (
            f" (X has non-numeric columns {shown}; a member that needs numbers "
            "can encode them itself, e.g. make_pipeline(make_column_transformer("
            f"(OneHotEncoder(), {text_columns[:5]}), remainder='passthrough'), "
            "estimator))"
        )
    for kind in (ValueError, TypeError):
        if isinstance(exc, kind):
            return kind(message)
    return RuntimeError(message)


def condensed_message(exc: BaseException, limit: int = 500) -> str:
    """The exception's text without the graph traceback TensorFlow puts in it.

    A failing TensorFlow op lists every Python frame that built it ("defined at
    (most recent call last)") before the cause; keep the cause. The whole
    traceback stays on the chained exception.
    """
    text = str(exc)
    if "(most recent call last):" not in text:
        return text
    lines = text.splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
    if not frames:
        return text
    cause = [
        line.strip()
        for line in lines[frames[-1] + 1 :]
        if line.strip() and not line.strip().startswith("[[{{node")
    ]
    condensed = " ".join(cause) or lines[0]
    return condensed if len(condensed) <= limit else condensed[:limit] + " ..."


def non_numeric_columns(X, scan_rows: int = 1000) -> list:
    """Names (DataFrame) or indices (array) of the columns of X that hold text."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):
        return [
            column
            for column, dtype in dtypes.items()
            if getattr(dtype, "kind", "O") not in "biuf"
        ]
    dtype = getattr(X, "dtype", None)
    if dtype is None or dtype.kind not in "OUS" or X.ndim != 2:
        return []
    if dtype.kind in "US":
        return list(range(X.shape[1]))
    head = np.asarray(X[:scan_rows])
    return [
        column
        for column in range(head.shape[1])
        if not all(isinstance(value, numbers.Number) for value in head[:, column])
    ]


def weight_kwargs(member, sample_weight) -> dict | None:
    """``fit`` keyword arguments that pass sample_weight, or None if it cannot."""
    if sample_weight is None:
        return {}
    if has_fit_parameter(member, "sample_weight"):
        return {"sample_weight": sample_weight}
    if isinstance(member, Pipeline):
        step_name, last = member.steps[-1]
        if not is_drop(last) and last not in (None, "passthrough"):
            if has_fit_parameter(last, "sample_weight"):
                return {f"{step_name}__sample_weight": sample_weight}
    return None


def fit_on(member, X, y, fit_params, rows=None):
    """Fit ``member`` on the given rows (all if None) with its fit parameters.

    ``fit_params`` are the member's own (``sample_weight``, routed metadata),
    for all rows: those aligned with the samples are cut to ``rows``.
    """
    if rows is not None:
        fit_params = params_of_rows(X, fit_params, rows)
        X = safe_indexing(X, rows)
        y = safe_indexing(y, rows)
    # The fitted object itself: a ``fit`` that forgets ``return self`` still fits.
    member.fit(X, y, **fit_params)
    return member


def fit_full(member, X, y, fit_params, name):
    """Fit a clone of ``member`` on all rows: the model used for prediction."""
    try:
        return fit_on(clone(member), X, y, fit_params)
    except Exception as exc:
        where = f"on the full training data ({len(y)} samples)"
        raise member_error(exc, name, where, X) from exc


def fit_predict_fold(
    member,
    X,
    y,
    fit_params,
    train,
    test,
    method,
    columns,
    name,
    where,
    keep,
    scorer,
):
    """Fit a clone on ``train``; predict and score ``test``.

    Returns the meta-feature columns of ``test``, the fold's score, the fold
    model (None unless ``keep``) and its best epoch if it stopped early.
    """
    try:
        fold_model = fit_on(clone(member), X, y, fit_params, train)
        arguments = (X, y, test, method, columns, name, scorer, keep)
        return held_out_result(fold_model, *arguments)
    except Exception as exc:
        raise member_error(exc, name, where, X) from exc


def held_out_result(fold_model, X, y, test, method, columns, name, scorer, keep):
    """A fold model's meta-feature columns and score on its held-out rows."""
    X_test = safe_indexing(X, test)
    prediction = getattr(fold_model, method)(X_test)
    return FoldResult(
        columns(prediction, fold_model, method, name),
        float(scorer(fold_model, X_test, safe_indexing(y, test))),
        fold_model if keep else None,
        best_epoch(fold_model),
    )


def fold_label(fold, n_splits, repeat, n_repeats) -> str:
    """Where a fit happened, for error messages: "on fold 2 of 5, repeat 1"."""
    label = f"on fold {fold} of {n_splits}"
    return label + (f", repeat {repeat}" if n_repeats > 1 else "")


def fusion_blocker(member) -> str | None:
    """Why ``member``'s fold models cannot train as one Keras graph, or None.

    The member decides (``fold_fusion_blocker``, on skstack's Keras wrappers);
    any other estimator has no fused training.
    """
    blocker = getattr(member, "fold_fusion_blocker", None)
    if not callable(blocker):
        return "it is not a skstack KerasClassifier/KerasRegressor"
    return blocker()


def is_keras_wrapper(member) -> bool:
    """Whether ``member`` is one of skstack's Keras wrappers (it can be fused)."""
    return callable(getattr(member, "fold_fusion_blocker", None))


def fit_predict_fused(
    member,
    X,
    y,
    fit_params,
    folds,
    refit,
    method,
    columns,
    name,
    keep,
    scorer,
    fold_wheres,
    fall_back,
):
    """Train all fold models of ``member`` (and its refit) as one Keras graph.

    Returns the fold results, in the order of ``folds``, the refit model and
    whether the folds were fused. A network found unfit for fusion once built
    (``FoldFusionError``) is fitted fold by fold instead when ``fall_back``.
    """
    where = f"in fused training of its {len(folds)} fold models"
    try:
        weights = fit_params.get("sample_weight")  # its only fit parameter
        fold_models, full = member.fit_folds(
            X, y, folds, sample_weight=weights, refit=refit
        )
        results = [
            held_out_result(model, X, y, test, method, columns, name, scorer, keep)
            for (_, test), model in zip(folds, fold_models, strict=True)
        ]
        return results, full, True
    except FoldFusionError as exc:
        if not fall_back:
            raise member_error(exc, name, where, X) from exc
    except Exception as exc:
        raise member_error(exc, name, where, X) from exc
    results = [
        fit_predict_fold(
            member,
            X,
            y,
            fit_params,
            train,
            test,
            method,
            columns,
            name,
            fold_where,
            keep,
            scorer,
        )
        for (train, test), fold_where in zip(folds, fold_wheres, strict=True)
    ]
    full = fit_full(member, X, y, fit_params, name) if refit else None
    return results, full, False


class FoldResult(NamedTuple):
    """What one fold fit sends back: small, unless the model is kept."""

    columns: np.ndarray
    score: float
    model: object
    best_epoch: int | None


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


def best_epoch(model) -> int | None:
    """A fitted member's best epoch when its Keras model stopped early."""
    last = model.steps[-1][1] if isinstance(model, Pipeline) else model
    return getattr(last, "best_epoch_", None)


def refit_without_stopping(member, prefix, epochs, X, y, fit_params, name):
    """Fit ``member`` on all rows for ``epochs``, early stopping switched off."""
    member = clone(member).set_params(
        **{f"{prefix}epochs": epochs, f"{prefix}early_stopping": False}
    )
    return fit_full(member, X, y, fit_params, name)


def limit_tensorflow_threads(parent_pid: int, threads: int) -> None:
    """Size TensorFlow's thread pools in a worker process, once, before first use.

    Each TensorFlow process otherwise starts as many compute threads as the
    machine has cores, so n workers run n times too many. joblib limits BLAS
    and OpenMP threads in its workers but not TensorFlow's, whose pools can only
    be sized before its runtime starts; in a worker that already started it,
    this does nothing. Nothing happens in the parent process (``n_jobs=1`` or
    the threading backend), or before TensorFlow is imported by a task.
    """
    tf = sys.modules.get("tensorflow")
    if tf is None or os.getpid() == parent_pid:
        return
    with contextlib.suppress(RuntimeError):  # raised once the runtime started
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def _run_in_worker(limits, index, function, *args):
    limit_tensorflow_threads(*limits)
    return index, function(*args)


def run_tasks(tasks, n_jobs, verbose, label) -> list:
    """Run ``(function, args)`` tasks in one joblib pool, in order of the list.

    Worker processes share the cores: each sizes TensorFlow's thread pools to
    its share. With ``verbose``, a progress bar counts fits as they finish.
    A worker process dying under a task (killed, out of memory) makes the pool
    run once more, since the seeds are fixed in the tasks the results are the
    same; a second death raises an error saying so.
    """
    if not tasks:
        return []
    try:
        return _run_pool(tasks, n_jobs, verbose, label)
    except Exception as exc:
        if type(exc).__name__ not in _LOST_WORKER_ERRORS:
            raise
    try:
        return _run_pool(tasks, n_jobs, verbose, label)
    except Exception as exc:
        if type(exc).__name__ in _LOST_WORKER_ERRORS:
            raise RuntimeError(
                f"A worker process died while running the {label}, twice "
                f"({type(exc).__name__}: {exc}); nothing was fitted. A fit that "
                "kills its process (out of memory, a crash in native code) does "
                "so again on each try."
            ) from exc
        raise


def _run_pool(tasks, n_jobs, verbose, label) -> list:
    workers = max(1, min(effective_n_jobs(n_jobs), len(tasks)))
    limits = (os.getpid(), max(1, cpu_count() // workers))
    jobs = (
        delayed(_run_in_worker)(limits, i, function, *args)
        for i, (function, args) in enumerate(tasks)
    )
    if not verbose:
        return [result for _, result in Parallel(n_jobs=n_jobs)(jobs)]
    from tqdm import tqdm

    results = [None] * len(tasks)
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    with tqdm(total=len(tasks), desc=label, unit="fit") as bar:
        for index, result in parallel(jobs):
            results[index] = result
            bar.update()
    return results


# What joblib's loky backend and dask's scheduler (and joblib's dask backend,
# which may cancel the futures of a lost worker's batch) raise when a worker
# process died under a task, named rather than imported so the core needs
# neither.
_LOST_WORKER_ERRORS = {"TerminatedWorkerError", "KilledWorker", "FutureCancelledError"}


def repeated_splits(owner, cv, X, y, groups, n_repeats: int, rng) -> list[list]:
    """The (train, test) pairs of each repeat, drawn once for every member.

    One repeat uses ``cv`` as given (seeded from ``rng`` if it shuffles without
    a seed); more repeats reshuffle a copy of it with a new seed each.
    """
    if n_repeats > 1 and not hasattr(cv, "shuffle"):
        raise ValueError(
            f"{type(owner).__name__}: n_repeats={n_repeats} needs a splitter that "
            f"shuffles (KFold, StratifiedKFold, GroupKFold), got {cv!r}."
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
