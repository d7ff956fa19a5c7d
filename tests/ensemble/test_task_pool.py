"""The worker pool of the fit tasks: thread sizing, order, a lost worker."""

import os
import subprocess
import sys

import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from skstack import KerasStackingClassifier
from skstack.ensemble._tasks import run_tasks

_PROBE = """
import tensorflow as tf
from skstack.ensemble._tasks import limit_tensorflow_threads

limit_tensorflow_threads(parent_pid=-1, threads={threads})
tf.constant(1.0) + 1.0  # starts the runtime with those pools
limit_tensorflow_threads(parent_pid=-1, threads=5)  # too late: does nothing
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

    from skstack.ensemble._tasks import limit_tensorflow_threads

    before = tf.config.threading.get_intra_op_parallelism_threads()
    limit_tensorflow_threads(parent_pid=os.getpid(), threads=before + 3)
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
