"""skstack on the Keras backend it runs on, and archives moved between backends.

The suite's core runs on TensorFlow (``make test``) and on JAX (``make
test-jax``); these tests check what differs between backends.
"""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import skstack
from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier, dense_model

BACKEND = keras.backend.backend()
OTHER = "jax" if BACKEND == "tensorflow" else "tensorflow"

# Fits the stack below, or loads one, in a process of the backend it is given.
_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    import skstack
    from skstack import KerasStackingClassifier
    from skstack.keras import KerasClassifier, dense_model

    action, path, output = sys.argv[1:]
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    if action == "fit":
        members = [
            ("mlp", KerasClassifier(dense_model, hidden=(8,), epochs=5)),
            ("lr", LogisticRegression()),
        ]
        stack = KerasStackingClassifier(members, cv=3, random_state=0).fit(X, y)
        skstack.save(stack, path)
    else:
        stack = skstack.load(path)
    np.save(output, stack.predict_proba(X))
    print(keras.backend.backend())
    """
)


def _in_backend(backend, *args):
    if backend == "jax":
        pytest.importorskip("jax")
    environment = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, *map(str, args)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == backend


def _stack(iris):
    X, y = iris
    members = [
        ("mlp", KerasClassifier(dense_model, hidden=(8,), epochs=5)),
        ("lr", LogisticRegression()),
    ]
    return KerasStackingClassifier(members, cv=3, random_state=0).fit(X, y)


@pytest.mark.slow
def test_an_archive_saved_here_loads_on_the_other_backend(iris, tmp_path):
    X, _ = iris
    stack = _stack(iris)
    assert stack.fused_members_ == ["mlp"]
    skstack.save(stack, tmp_path / "stack.skstack")
    _in_backend(OTHER, "load", tmp_path / "stack.skstack", tmp_path / "there.npy")
    # Each backend's float32 kernels round in their own way.
    np.testing.assert_allclose(
        np.load(tmp_path / "there.npy"), stack.predict_proba(X), rtol=1e-5, atol=1e-6
    )


@pytest.mark.slow
def test_an_archive_saved_on_the_other_backend_loads_here(iris, tmp_path):
    X, _ = iris
    _in_backend(OTHER, "fit", tmp_path / "stack.skstack", tmp_path / "there.npy")
    loaded = skstack.load(tmp_path / "stack.skstack")
    np.testing.assert_allclose(
        loaded.predict_proba(X), np.load(tmp_path / "there.npy"), rtol=1e-5, atol=1e-6
    )


@pytest.mark.slow
@pytest.mark.skipif(
    BACKEND == "tensorflow", reason="tests/test_serving.py exports from TensorFlow"
)
@pytest.mark.parametrize("format", ["keras", "tf_saved_model", "onnx"])
def test_every_format_exports_from_this_backend(iris, tmp_path, format):
    if format == "onnx":
        pytest.importorskip("onnxruntime")
    X, _ = iris
    suffix = {"keras": ".keras", "tf_saved_model": "", "onnx": ".onnx"}[format]
    path = tmp_path / f"stack{suffix}"
    result = skstack.export(_stack(iris), path, format=format, X_check=X)
    assert path.exists() and result.n_checked == len(X)
    assert result.max_abs_difference <= 1e-5


def test_the_same_random_state_gives_the_same_bits(iris):
    X, _ = iris
    first, second = _stack(iris), _stack(iris)
    assert np.array_equal(first.predict_proba(X), second.predict_proba(X))
    assert np.array_equal(first.predict_proba(X[:5]), second.predict_proba(X[:5]))


@pytest.mark.skipif(BACKEND != "torch", reason="torch's generator alone is seeded")
def test_a_seeded_fit_leaves_torchs_generator_as_it_was(iris):
    import torch

    X, y = iris
    before = torch.random.get_rng_state()
    KerasClassifier(dense_model, epochs=1, random_state=0).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.skipif(BACKEND != "torch", reason="torch's pool, in a worker")
def test_a_worker_process_sizes_torchs_threads_to_its_share(iris):
    code = (
        "import torch\n"
        "from skstack.ensemble._pool import limit_backend_threads\n"
        "limit_backend_threads(parent_pid=-1, threads=1)\n"
        "print(torch.get_num_threads())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.split()[-1] == "1"
    # n_jobs=2 runs the members' fits in workers: the same bits as one process.
    X, y = iris
    members = [
        ("mlp", KerasClassifier(dense_model, hidden=(8,), epochs=2)),
        ("lr", LogisticRegression()),
    ]
    stack = KerasStackingClassifier(members, cv=3, random_state=0, fuse_folds=False)
    alone = stack.fit(X, y).predict_proba(X)
    workers = stack.set_params(n_jobs=2).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(workers, alone)
