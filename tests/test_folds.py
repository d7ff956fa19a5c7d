"""The fit tasks' runner: TensorFlow thread pools sized per worker process."""

import os
import subprocess
import sys

import pytest

from skstack._folds import run_tasks

_PROBE = """
import tensorflow as tf
from skstack._folds import limit_tensorflow_threads

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

    from skstack._folds import limit_tensorflow_threads

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
