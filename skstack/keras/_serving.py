"""Writing a fitted estimator's Keras form to a serving format, and checking it.

Each format is loaded back in its own runtime (Keras, TensorFlow,
onnxruntime) and run on check rows before the file is put in place.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np

from ._export import to_keras
from ._named_columns import column_categories

FORMATS = ("keras", "tf_saved_model", "onnx")
# tf2onnx 1.17 writes opsets up to 18; 17 loads in onnxruntime >= 1.13.
DEFAULT_OPSET = 17
# Probabilities and predictions may differ by float32 rounding, no more;
# by float16 rounding for networks computing in half precision (Keras's
# ``mixed_float16`` / ``mixed_bfloat16`` policies), whose kernels round
# differently in each runtime (6e-4 measured on digits).
TOLERANCE = 1e-5
HALF_TOLERANCE = 5e-3
_PROBE_ROWS = 256


def export(estimator, path, format, X_check, opset):
    """Write, load back, check; return the facts ``skstack.export`` reports."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}.")
    path = Path(path)
    if format == "keras" and path.suffix != ".keras":
        raise ValueError(f"A Keras file's path must end in '.keras', got {path}.")
    if format == "onnx":
        _require_onnx()
    model = to_keras(estimator)
    named = isinstance(model.input, dict)
    rows = _probe_rows(estimator, model) if X_check is None else X_check
    # The check runs on rows of the dtypes the graph takes, in both.
    rows = in_graph_dtypes(model, rows)
    feed = graph_feed(model, rows)
    expected, method = _expected(estimator, rows)

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".skstack-") as work:
        written = Path(work) / path.name
        opset = DEFAULT_OPSET if opset is None else opset
        _write(model, written, format, opset, method)
        run = _loaded(written, format)
        got = np.asarray(run(feed), dtype=np.float64)
        difference = check_agreement(
            got, expected, f"the {format} file", method, _tolerance(model)
        )
        _replace(written, path)
    inputs = (
        {name: str(tensor.dtype) for name, tensor in model.input.items()}
        if named
        else {"X": str(model.input.dtype)}
    )
    return {
        "path": path,
        "format": format,
        "inputs": inputs,
        "output": method,
        "n_checked": len(expected),
        "max_abs_difference": difference,
    }


def _tolerance(model) -> float:
    """TOLERANCE, or HALF_TOLERANCE if a layer computes in half precision."""
    pending = list(model.layers)
    while pending:
        layer = pending.pop()
        if str(layer.compute_dtype) in ("float16", "bfloat16"):
            return HALF_TOLERANCE
        pending.extend(getattr(layer, "layers", []))
    return TOLERANCE


def check_agreement(
    got, expected, what: str, method: str, tolerance: float = TOLERANCE
) -> float:
    """The largest difference of ``got`` from ``expected``; raises beyond rounding."""
    got = np.asarray(got, dtype=np.float64)
    if got.shape != expected.shape:
        got = got.reshape(expected.shape) if got.size == expected.size else got
    if got.shape != expected.shape:
        raise ValueError(
            f"skstack.export: {what} outputs shape {got.shape}, the estimator's "
            f"{method} {expected.shape}; nothing was written."
        )
    difference = float(np.max(np.abs(got - expected))) if got.size else 0.0
    # Rounding is relative to the values the graph computes with: an output
    # of a regressor's target in the hundreds that crosses zero is off by
    # hundreds times float32's epsilon near zero too.
    scale = np.max(np.abs(expected), axis=0, initial=1.0) if got.size else 1.0
    if not np.allclose(got, expected, rtol=tolerance, atol=tolerance * scale):
        precision = "float32" if tolerance == TOLERANCE else "half-precision"
        raise ValueError(
            f"skstack.export: {what}'s outputs differ from the estimator's "
            f"{method} on the check rows by up to {difference:.3g} (more than "
            f"{precision} rounding, {tolerance} of the largest output); nothing "
            "was written."
        )
    return difference


def in_graph_dtypes(model, X):
    """``X`` with its numbers in the dtypes the graph's inputs take: an array
    as float32 for a float32 input, a DataFrame's float32 columns."""
    if not isinstance(model.input, dict):
        if model.input.dtype == "float32":
            return np.asarray(X, dtype=np.float32)
        return X
    single = [n for n, tensor in model.input.items() if tensor.dtype == "float32"]
    if single and hasattr(X, "astype") and hasattr(X, "columns"):
        return X.astype({c: np.float32 for c in X.columns if str(c) in single})
    return X


def graph_feed(model, X):
    """Rows as the exported graph takes them: one array, or named columns.

    Numbers in the dtype of their input (float64, or float32 for an
    estimator fitted on float32). Named columns are ``(n, 1)`` arrays (text as
    ``str`` objects) from a DataFrame or a dict of columns.
    """
    if not isinstance(model.input, dict):
        return np.asarray(X, dtype=model.input.dtype)
    feed = {}
    for name, tensor in model.input.items():
        try:
            column = X[name]
        except (KeyError, IndexError, TypeError) as exc:
            raise ValueError(
                f"The exported model takes named columns {list(model.input)}; "
                f"the rows have no column {name!r}."
            ) from exc
        column = np.asarray(column).reshape(-1, 1)
        if tensor.dtype == "string":
            feed[name] = column.astype(str).astype(object)
        else:
            feed[name] = column.astype(tensor.dtype)
    return feed


def _expected(estimator, X):
    """The estimator's probabilities, predictions or features of ``X``."""
    for method in ("predict_proba", "predict", "transform"):
        if method == "predict_proba" and not hasattr(estimator, "classes_"):
            continue
        if hasattr(estimator, method):
            output = np.asarray(getattr(estimator, method)(X), dtype=np.float64)
            return output.reshape(len(output), -1), method
    raise TypeError(f"{type(estimator).__name__} neither predicts nor transforms.")


def _probe_rows(estimator, model):
    """Check rows when none are given: drawn numbers, known and unknown categories."""
    random = np.random.RandomState(0)
    if not isinstance(model.input, dict):
        shape = (_PROBE_ROWS, *model.input.shape[1:])
        return random.normal(size=shape)
    import pandas as pd

    categories = column_categories(estimator)
    columns = {}
    for name in estimator.feature_names_in_:
        tensor = model.input.get(str(name))
        known = categories.get(str(name))
        if tensor is not None and tensor.dtype == "string":
            choices = [str(c) for c in (known if known is not None else [])]
            choices.append("(a category never seen)")
            columns[name] = random.choice(choices, size=_PROBE_ROWS).astype(object)
        elif known is not None and len(known):
            values = np.append(known.astype(np.float64), known.max() + 1.0)
            columns[name] = random.choice(values, size=_PROBE_ROWS)
        else:
            columns[name] = random.normal(size=_PROBE_ROWS)
    return pd.DataFrame(columns)


def _write(model, path: Path, format: str, opset: int, output_name: str) -> None:
    if format == "keras":
        model.save(path)
        return
    if keras.backend.backend() != "tensorflow":
        _write_on_tensorflow(model, path, format, opset, output_name)
        return
    if format == "tf_saved_model":
        model.export(str(path), format="tf_saved_model", verbose=False)
        return
    # Via a SavedModel: tf2onnx converts its lookup tables (text columns) to
    # ONNX's CategoryMapper, which it cannot do from a traced function.
    # TensorFlow rewrites input names (lower case, "_" for other characters),
    # so the SavedModel's inputs are numbered, then renamed in the ONNX file.
    named = isinstance(model.input, dict)
    names = list(model.input) if named else ["X"]
    numbered = [f"input_{i}" for i in range(len(names))]
    inner = [model.input[n] for n in names] if named else [model.input]
    inputs = {
        name: keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=number)
        for name, number, tensor in zip(names, numbered, inner, strict=True)
    }
    given = inputs if named else inputs["X"]
    with warnings.catch_warnings():
        # The dict's keys are the columns, its tensors numbered: on purpose.
        warnings.filterwarnings("ignore", "When providing `inputs` as a dict")
        renamed = keras.Model(given, model(given))
    saved = path.with_name(path.name + ".savedmodel")
    renamed.export(str(saved), format="tf_saved_model", verbose=False)
    command = [
        sys.executable,
        "-m",
        "tf2onnx.convert",
        "--saved-model",
        str(saved),
        "--signature_def",
        "serve",
        "--opset",
        str(opset),
        "--output",
        str(path),
    ]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    if done.returncode != 0 or not path.exists():
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"skstack.export: tf2onnx failed to convert:\n{tail}")
    _rename_onnx(path, dict(zip(numbered, names, strict=True)), output_name)


# A process of the TensorFlow backend writes a SavedModel or ONNX file from a
# model saved on another backend (a .keras file is the same on every backend).
_WRITE_ON_TENSORFLOW = """
import sys
from pathlib import Path
import keras
import skstack.keras  # registers skstack's layers
from skstack.keras._serving import _write
saved, path, format, opset, output_name = sys.argv[1:]
model = keras.saving.load_model(saved)
_write(model, Path(path), format, int(opset), output_name)
"""


def _write_on_tensorflow(model, path, format, opset, output_name) -> None:
    """``_write`` in a process of TensorFlow's backend, the one tf2onnx and
    SavedModels take, from the model saved as a ``.keras`` file."""
    saved = path.with_name(path.name + ".keras")
    model.save(saved)
    command = [sys.executable, "-c", _WRITE_ON_TENSORFLOW, str(saved), str(path)]
    command += [format, str(opset), output_name]
    environment = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    environment["TF_CPP_MIN_LOG_LEVEL"] = "2"
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    if done.returncode != 0 or not path.exists():
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise RuntimeError(
            f"skstack.export: writing {format} with TensorFlow's backend failed:\n"
            f"{tail}"
        )


def _rename_onnx(path: Path, inputs: dict, output_name: str) -> None:
    """Name the ONNX graph's inputs as the columns, its output as the method."""
    import onnx

    graph_model = onnx.load(str(path))
    graph = graph_model.graph
    renames = dict(inputs)
    if len(graph.output) == 1:
        renames[graph.output[0].name] = output_name
    for value in list(graph.input) + list(graph.output):
        value.name = renames.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        node.output[:] = [renames.get(name, name) for name in node.output]
    onnx.checker.check_model(graph_model)
    onnx.save(graph_model, str(path))


def _loaded(path: Path, format: str):
    """The written file loaded in its own runtime, as a function of a feed."""
    if format == "keras":
        loaded = keras.saving.load_model(path)
        return lambda feed: keras.ops.convert_to_numpy(loaded.predict_on_batch(feed))
    if format == "tf_saved_model":
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        return lambda feed: loaded.serve(feed).numpy()
    import onnxruntime

    session = onnxruntime.InferenceSession(
        str(path), providers=["CPUExecutionProvider"]
    )
    return lambda feed: session.run(
        None, feed if isinstance(feed, dict) else {"X": feed}
    )[0]


def _replace(written: Path, path: Path) -> None:
    """Put the checked file or folder at ``path``, replacing what was there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    os.replace(written, path)


def _require_onnx() -> None:
    missing = [
        name
        for name in ("tf2onnx", "onnx", "onnxruntime")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise ImportError(
            f"format='onnx' needs {', '.join(missing)}: pip install 'skstack[export]'."
        )
