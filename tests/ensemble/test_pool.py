"""The worker pool of the fit tasks: thread sizing, order, a lost worker."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skstack import KerasStackingClassifier
from skstack.ensemble._crossfit import one_task_beside_scikit_learn
from skstack.ensemble._pool import is_scikit_learn, one_blas_thread, run_tasks
from skstack.keras import KerasClassifier, dense_model

_PROBE = """
import tensorflow as tf
from skstack.ensemble._pool import limit_backend_threads

limit_backend_threads(parent_pid=-1, threads={threads})
tf.constant(1.0) + 1.0  # starts the runtime with those pools
limit_backend_threads(parent_pid=-1, threads=5)  # too late: does nothing
print(tf.config.threading.get_intra_op_parallelism_threads(),
      tf.config.threading.get_inter_op_parallelism_threads())
"""


@pytest.mark.parametrize("threads", [1, 2])
def test_a_worker_sizes_tensorflow_pools_before_the_runtime_starts(threads):
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(threads=threads)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [str(threads), str(threads)]


def test_the_parent_process_keeps_its_own_pools():
    import tensorflow as tf

    from skstack.ensemble._pool import limit_backend_threads

    before = tf.config.threading.get_intra_op_parallelism_threads()
    limit_backend_threads(parent_pid=os.getpid(), threads=before + 3)
    assert tf.config.threading.get_intra_op_parallelism_threads() == before


def test_results_come_back_in_task_order_in_parallel_and_with_a_bar(capsys):
    tasks = [(pow, (i, 2)) for i in range(7)]
    assert run_tasks(tasks, n_jobs=2, verbose=0, label="x") == [i**2 for i in range(7)]
    assert run_tasks(tasks, n_jobs=2, verbose=1, label="squares") == [
        i**2 for i in range(7)
    ]
    assert "squares: 100%" in capsys.readouterr().err


class _EndsItsProcess(ClassifierMixin, BaseEstimator):
    """A fit that kills the worker process it runs in (as an OOM kill would)."""

    def fit(self, X, y):
        os._exit(1)

    def predict(self, X):  # never reached
        raise AssertionError


def test_a_worker_dying_under_a_fit_is_named_and_nothing_is_fitted(iris):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    X, y = iris
    members = [("lr", LogisticRegression()), ("dies", _EndsItsProcess())]
    stack = KerasStackingClassifier(
        members, final_estimator=LogisticRegression(), cv=3, n_jobs=2
    )
    message = "A worker process died while running the stacking fits, twice"
    with pytest.raises(RuntimeError, match=message):
        stack.fit(X, y)
    assert not hasattr(stack, "estimators_")
    assert not hasattr(stack, "final_estimator_")


def test_a_lone_task_runs_in_the_calling_process():
    # A stack whose only task is one fused member gains nothing from a worker
    # process, which would first start TensorFlow.
    assert run_tasks([(os.getpid, ())], n_jobs=2, verbose=0, label="x") == [os.getpid()]
    pids = run_tasks([(os.getpid, ())] * 4, n_jobs=2, verbose=0, label="x")
    assert os.getpid() not in pids  # several tasks still go to the workers


def test_threads_when_asked_and_no_backend_chosen():
    import joblib

    pids = run_tasks([(os.getpid, ())] * 4, 2, 0, "x", prefer="threads")
    assert pids == [os.getpid()] * 4
    # A backend the user chose wins over the hint.
    with joblib.parallel_config(backend="loky"):
        pids = run_tasks([(os.getpid, ())] * 4, 2, 0, "x", prefer="threads")
    assert os.getpid() not in pids


@pytest.mark.parametrize(
    "estimator, expected",
    [
        (LogisticRegression(), True),
        (make_pipeline(StandardScaler(), LogisticRegression()), True),
        (KerasClassifier(dense_model), False),
        (make_pipeline(StandardScaler(), KerasClassifier(dense_model)), False),
        (_EndsItsProcess(), False),  # another library's (here: a test's)
    ],
)
def test_which_estimators_are_scikit_learn_alone(estimator, expected):
    assert is_scikit_learn(estimator) is expected


def test_a_fused_network_beside_scikit_learn_members_runs_in_threads(iris):
    X, y = iris
    members = [
        ("mlp", KerasClassifier(dense_model, hidden=(8,), epochs=2)),
        ("lr", LogisticRegression()),
        ("scaled", make_pipeline(StandardScaler(), LogisticRegression())),
    ]
    mlp, lr, scaled = (member for _, member in members)
    # The fused network's one task, each warm-started member's one task.
    assert one_task_beside_scikit_learn([mlp, lr, scaled])
    assert not one_task_beside_scikit_learn([mlp])  # alone
    assert not one_task_beside_scikit_learn([mlp, mlp, lr, scaled])
    # Threads or one process: the same numbers.
    stack = KerasStackingClassifier(members, random_state=0)
    alone = clone(stack).fit(X, y)
    threaded = clone(stack).set_params(n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(threaded.oof_predictions_, alone.oof_predictions_)
    np.testing.assert_array_equal(threaded.predict_proba(X), alone.predict_proba(X))


def _flat():
    return FunctionTransformer(lambda images: images.reshape(len(images), -1))


def test_n_jobs_does_not_change_the_fit_on_float32_data(capfd):
    # Float32 images, as Keras users prepare them: a LogisticRegression fitted
    # under one and under two BLAS threads differs by ~1e-2 there.
    X, y = load_digits(return_X_y=True)
    X = (X[:600] / 16).astype(np.float32).reshape(-1, 8, 8)
    y = y[:600]
    members = [
        ("lr", make_pipeline(_flat(), LogisticRegression(max_iter=300))),
        ("weak", make_pipeline(_flat(), LogisticRegression(C=0.1, max_iter=300))),
        ("mlp", make_pipeline(_flat(), KerasClassifier(dense_model, epochs=2))),
    ]
    stack = KerasStackingClassifier(members, cv=3, random_state=0)
    fits = {}
    for n_jobs in (None, 2, -1):
        capfd.readouterr()
        fitted = clone(stack).set_params(n_jobs=n_jobs).fit(X, y)
        fits[n_jobs] = (fitted.oof_predictions_, fitted.predict_proba(X))
        printed = capfd.readouterr()
        assert "Skipping variable loading" not in printed.out + printed.err
    for n_jobs in (2, -1):
        np.testing.assert_array_equal(fits[n_jobs][0], fits[None][0])
        np.testing.assert_array_equal(fits[n_jobs][1], fits[None][1])


def test_four_fits_at_once_in_threads_equal_the_fit_alone(iris):
    # As a Dask worker with several threads, or joblib's threading backend,
    # runs them: Keras's and the BLAS pools' state is per process.
    X, y = iris
    members = [
        ("mlp", KerasClassifier(dense_model, hidden=(8,), epochs=3)),
        ("lr", LogisticRegression()),
    ]
    stack = KerasStackingClassifier(members, cv=3, random_state=0)

    def fit(fuse):
        fitted = clone(stack).set_params(fuse_folds=fuse).fit(X, y)
        return fitted.oof_predictions_, fitted.predict_proba(X)

    for fuse in ("auto", False):
        alone = fit(fuse)
        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(fit, [fuse] * 4))
        for oof, proba in together:
            np.testing.assert_array_equal(oof, alone[0])
            np.testing.assert_array_equal(proba, alone[1])


def test_fits_run_with_one_blas_thread_and_leave_the_limits_as_they_were():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return {info["num_threads"] for info in threadpool_info()}

    before = blas_threads()
    seen = run_tasks([(blas_threads, ())] * 3, n_jobs=None, verbose=0, label="x")
    assert seen == [{1}] * 3
    with one_blas_thread:
        with one_blas_thread:  # nested: a stack fitted inside a stack's task
            pass
        assert blas_threads() == {1}
    assert blas_threads() == before
