"""The worker pool that runs the fit tasks: joblib, thread sizing, one retry.

Module-level functions, so loky and dask workers can unpickle them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

from joblib import Parallel, cpu_count, delayed, effective_n_jobs

from ..exceptions import CacheEntryWarning


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
