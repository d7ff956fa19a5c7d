"""The pool that runs a stack's fit tasks: joblib's, sized to the cores.

Every task is ``(function, args)`` (``_tasks.py``); results come back in the
order of the tasks. Every fit computes with one BLAS thread, wherever it runs
(:func:`one_blas_thread`); worker processes size TensorFlow's and torch's pools to
their share of the cores.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

from joblib import Parallel, cpu_count, delayed, effective_n_jobs
from threadpoolctl import threadpool_limits


def is_scikit_learn(estimator) -> bool:
    """Whether ``estimator`` and every estimator in it are scikit-learn's own."""
    nested = [estimator]
    if hasattr(estimator, "get_params"):
        nested += [
            value
            for value in estimator.get_params(deep=True).values()
            if hasattr(value, "fit") or hasattr(value, "transform")
        ]
    return all(type(part).__module__.split(".")[0] == "sklearn" for part in nested)


def limit_backend_threads(parent_pid: int, threads: int) -> None:
    """Size TensorFlow's and torch's thread pools in a worker process.

    Each TensorFlow or torch process otherwise starts as many compute threads
    as the machine has cores, so n workers run n times too many. joblib
    limits BLAS and OpenMP threads in its workers but not these pools.
    TensorFlow's can only be sized before its runtime starts (in a worker that
    already started it, this does nothing); torch's at any time. Nothing
    happens in the parent process (``n_jobs=1`` or the threading backend), or
    before a task imports the library. (JAX sizes its pool when it starts and
    takes no later change.) The pools' sizes do not change what a fit
    computes: the same seeded network gives the same bits with one or two
    threads on both.
    """
    if os.getpid() == parent_pid:
        return
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        with contextlib.suppress(RuntimeError):  # raised once the runtime started
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


class _OneBlasThread:
    """BLAS and OpenMP pools at one thread while any fit runs in the process.

    The number of threads a BLAS call splits its work over changes its
    rounding (a float32 LogisticRegression fitted under one and under two
    threads differs by ~1e-2 in its probabilities), and joblib gives each
    task a share that depends on ``n_jobs``: one thread, whatever runs beside
    it, makes a fit the same in this process, in threads, in loky workers and
    on Dask workers. The limits are process-wide, so the first fit to enter
    sets them and the last to leave restores them: fits in other threads
    (Dask's, the threading backend's) never see them change mid-fit.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._depth = 0
        self._limits = None

    def __enter__(self):
        with self._lock:
            if self._depth == 0:
                self._limits = threadpool_limits(1)
            self._depth += 1

    def __exit__(self, *exc_info):
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                self._limits.restore_original_limits()
                self._limits = None


one_blas_thread = _OneBlasThread()


def _run_in_worker(limits, index, function, *args):
    limit_backend_threads(*limits)
    with one_blas_thread:
        return index, function(*args)


def run_tasks(tasks, n_jobs, verbose, label, prefer=None) -> list:
    """Run ``(function, args)`` tasks in one joblib pool, in order of the list.

    ``prefer`` is joblib's hint (``"threads"``), which a backend the user
    chose (``parallel_config``) overrides. Worker processes share the cores:
    each sizes TensorFlow's and torch's thread pools to its share. With ``verbose``, a
    progress bar counts fits as they finish.
    A worker process dying under a task (killed, out of memory) makes the pool
    run once more, since the seeds are fixed in the tasks the results are the
    same; a second death raises an error saying so.
    """
    if not tasks:
        return []
    try:
        return _run_pool(tasks, n_jobs, verbose, label, prefer)
    except Exception as exc:
        if type(exc).__name__ not in _LOST_WORKER_ERRORS:
            raise
    try:
        return _run_pool(tasks, n_jobs, verbose, label, prefer)
    except Exception as exc:
        if type(exc).__name__ in _LOST_WORKER_ERRORS:
            raise RuntimeError(
                f"A worker process died while running the {label}, twice "
                f"({type(exc).__name__}: {exc}); nothing was fitted. A fit that "
                "kills its process (out of memory, a crash in native code) does "
                "so again on each try."
            ) from exc
        raise


def _run_pool(tasks, n_jobs, verbose, label, prefer) -> list:
    workers = max(1, min(effective_n_jobs(n_jobs), len(tasks)))
    if workers == 1:
        # One task (a lone fused member) or one worker: run in this process,
        # whose TensorFlow already runs; a worker would first start its own.
        n_jobs = 1
    share = max(1, cpu_count() // workers)
    limits = (os.getpid(), share)
    jobs = (
        delayed(_run_in_worker)(limits, i, function, *args)
        for i, (function, args) in enumerate(tasks)
    )
    if not verbose:
        parallel = Parallel(n_jobs=n_jobs, prefer=prefer)
        return [result for _, result in parallel(jobs)]
    from tqdm import tqdm

    results = [None] * len(tasks)
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered", prefer=prefer)
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
