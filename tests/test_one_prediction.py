"""One prediction per input: the same rows give bit-identical outputs, always.

Every public estimator of skstack is fitted once; its output for the same rows
must not change with the call history (small, one-row and large calls in
between), across ``joblib`` and ``skstack.save`` round trips, nor in a fresh
process. ``predict`` must equal the argmax of ``predict_proba``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import skstack
from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.compose import (
    KerasChainClassifier,
    KerasChainRegressor,
    KerasFusionClassifier,
    KerasFusionRegressor,
)
from skstack.ensemble import EnsembleSelectionClassifier, EnsembleSelectionRegressor
from skstack.features import KerasFeatureExtractor
from skstack.keras import (
    KerasClassifier,
    KerasRegressor,
    LinearMetaClassifier,
    LinearMetaRegressor,
    dense_model,
)


def _block(n_features):
    inputs = keras.Input((n_features,))
    return keras.Model(inputs, keras.layers.Dense(6, activation="relu")(inputs))


def _encoded(model):
    """A member for a table with a text column: scaled numbers, one-hot text."""
    columns = ColumnTransformer(
        [
            ("numbers", StandardScaler(), ["a", "b", "c", "d"]),
            ("text", OneHotEncoder(handle_unknown="ignore"), ["size"]),
        ]
    )
    return make_pipeline(columns, model)


def _mlp(cls, **params):
    return cls(dense_model, hidden=(8,), epochs=2, random_state=0, **params)


ESTIMATORS = {
    "stack_classifier": lambda: KerasStackingClassifier(
        [
            ("mlp", _mlp(KerasClassifier)),
            ("scaled_mlp", make_pipeline(StandardScaler(), _mlp(KerasClassifier))),
            ("lr", LogisticRegression()),
        ],
        cv=3,
        random_state=0,
    ),
    "stack_text_columns": lambda: KerasStackingClassifier(
        [
            ("mlp", _encoded(_mlp(KerasClassifier))),
            ("lr", _encoded(LogisticRegression())),
        ],
        cv=3,
        random_state=0,
    ),
    "stack_regressor": lambda: KerasStackingRegressor(
        [("mlp", _mlp(KerasRegressor)), ("ridge", Ridge())], cv=3, random_state=0
    ),
    "stack_averaged_folds": lambda: KerasStackingClassifier(
        [("mlp", _mlp(KerasClassifier))],
        cv=3,
        fold_models="average",
        random_state=0,
    ),
    "keras_classifier": lambda: _mlp(KerasClassifier),
    "keras_regressor": lambda: _mlp(KerasRegressor),
    "chain_classifier": lambda: KerasChainClassifier(
        [_block(4)], epochs=2, random_state=0
    ),
    "chain_regressor": lambda: KerasChainRegressor(
        [_block(10)], epochs=2, random_state=0
    ),
    "fusion_classifier": lambda: KerasFusionClassifier(
        [("a", _block(4)), ("b", _block(4))],
        merge="weighted",
        epochs=2,
        random_state=0,
    ),
    "fusion_regressor": lambda: KerasFusionRegressor(
        [("a", _block(10)), ("b", _block(10))], epochs=2, random_state=0
    ),
    "feature_extractor": lambda: KerasFeatureExtractor(_mlp(KerasClassifier), layer=-2),
    "linear_meta_classifier": lambda: LinearMetaClassifier(),
    "linear_meta_regressor": lambda: LinearMetaRegressor(),
    "ensemble_selection_classifier": lambda: EnsembleSelectionClassifier(),
    "ensemble_selection_regressor": lambda: EnsembleSelectionRegressor(),
    "flatten": lambda: skstack.Flatten(),
}


def _data(name):
    if "regressor" in name:
        X, y = load_diabetes(return_X_y=True)
        X = StandardScaler().fit_transform(X)[:150]
        return X, (y[:150] - y.mean()) / y.std()
    X, y = load_iris(return_X_y=True)
    if name == "stack_text_columns":
        frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
        frame["size"] = np.where(X[:, 2] > 4, "large", "small")
        return frame, y
    return StandardScaler().fit_transform(X), y


def _outputs(estimator, X) -> dict:
    """Every prediction method's output for X."""
    names = ("predict", "predict_proba", "decision_function", "transform")
    return {
        name: np.asarray(getattr(estimator, name)(X))
        for name in names
        if hasattr(estimator, name)
    }


@pytest.fixture(scope="module")
def fitted():
    """Each estimator fitted once, with the data it was fitted on."""
    out = {}
    for name, make in ESTIMATORS.items():
        X, y = _data(name)
        if name.startswith("ensemble_selection") or name.startswith("linear_meta"):
            X = X[:, :3]  # meta-features: a few columns
        out[name] = (make().fit(X, y), X)
    return out


def _rows(X):
    """Row sets: a few, one, and more than the small-batch limit."""
    return {"five": X[:5], "one": X[7:8], "many": X[:100]}


def _assert_same(first: dict, second: dict):
    assert first.keys() == second.keys()
    for method in first:
        np.testing.assert_array_equal(first[method], second[method], err_msg=method)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_same_rows_same_outputs_whatever_the_call_history(fitted, name):
    estimator, X = fitted[name]
    rows = _rows(X)
    first = {key: _outputs(estimator, part) for key, part in rows.items()}
    # A different history: large, then one row, then repeated calls.
    for key in ("many", "one", "five", "five", "one", "many"):
        _assert_same(_outputs(estimator, rows[key]), first[key])


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_predict_is_the_argmax_of_predict_proba(fitted, name):
    estimator, X = fitted[name]
    if not hasattr(estimator, "predict_proba"):
        pytest.skip("not a classifier")
    for part in _rows(X).values():
        proba = estimator.predict_proba(part)
        expected = estimator.classes_[np.argmax(proba, axis=1)]
        np.testing.assert_array_equal(estimator.predict(part), expected)


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("how", ["joblib", "skstack.save"])
def test_round_trips_give_the_same_outputs(fitted, name, how, tmp_path):
    estimator, X = fitted[name]
    rows = _rows(X)
    # The live model predicts first, so its compiled functions exist already.
    live = {key: _outputs(estimator, part) for key, part in rows.items()}
    path = tmp_path / "model"
    if how == "joblib":
        joblib.dump(estimator, path)
        loaded = joblib.load(path)
    else:
        skstack.save(estimator, path)
        loaded = skstack.load(path)
    for key in ("one", "five", "many", "five"):
        _assert_same(_outputs(loaded, rows[key]), live[key])


_FRESH_PROCESS = """
import sys
import joblib
import numpy as np
for path in sys.argv[1:]:
    estimator, X = joblib.load(path)
    for rows in (X[:5], X[7:8], X[:100]):
        for method in ("predict", "predict_proba", "decision_function", "transform"):
            if hasattr(estimator, method):
                out = np.ascontiguousarray(getattr(estimator, method)(rows))
                print(path, method, len(rows), out.dtype, out.tobytes().hex())
"""


@pytest.mark.slow
def test_a_fresh_process_gives_the_same_outputs(fitted, tmp_path):
    paths, expected = [], []
    for name, (estimator, X) in fitted.items():
        path = str(tmp_path / f"{name}.joblib")
        joblib.dump((estimator, X), path)
        paths.append(path)
        for rows in (X[:5], X[7:8], X[:100]):
            for method, out in _outputs(estimator, rows).items():
                out = np.ascontiguousarray(out)
                expected.append(
                    f"{path} {method} {len(rows)} {out.dtype} {out.tobytes().hex()}"
                )
    result = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, *paths],
        capture_output=True,
        text=True,
        check=True,
    )
    got = result.stdout.splitlines()
    assert len(got) == len(expected)
    pairs = zip(got, expected, strict=True)
    mismatched = [line.split()[:3] for line, want in pairs if line != want]
    assert not mismatched


def test_a_stack_on_text_columns_serves_a_few_rows_from_its_graph(fitted):
    from skstack.ensemble._graph import _GRAPHS

    stack, X = fitted["stack_text_columns"]
    proba = stack.predict_proba(X[:3])
    assert _GRAPHS[stack][1] is not None  # named inputs, text included
    expected = stack.final_estimator_.predict_proba(stack.transform(X[:3]))
    np.testing.assert_allclose(proba, expected, rtol=1e-9, atol=1e-12)


def test_a_few_sparse_rows_take_the_graph_and_the_compiled_path():
    # One-hot columns of a ColumnTransformer reach the stack as sparse rows.
    from scipy import sparse

    from skstack.ensemble._graph import _GRAPHS

    X, y = load_iris(return_X_y=True)
    X = sparse.csr_matrix(np.where(X > 3.0, X, 0.0))
    members = [
        ("mlp", _mlp(KerasClassifier)),
        ("lr", LogisticRegression(max_iter=500)),
    ]
    stack = KerasStackingClassifier(members, cv=3, random_state=0).fit(X, y)
    proba = stack.predict_proba(X[:3])
    assert _GRAPHS[stack][1] is not None
    expected = stack.final_estimator_.predict_proba(stack.transform(X[:3]))
    np.testing.assert_allclose(proba, expected, rtol=1e-9, atol=1e-12)
    # A member: a few sparse rows run as their dense form does.
    mlp = stack.named_estimators_["mlp"]
    np.testing.assert_array_equal(
        mlp.predict_proba(X[:3]), mlp.predict_proba(X[:3].toarray())
    )


def _take(X, index):
    return X.iloc[index].reset_index(drop=True) if hasattr(X, "iloc") else X[index]


def _main_output(estimator, X):
    for name in ("predict_proba", "predict", "transform"):
        if hasattr(estimator, name):
            return np.asarray(getattr(estimator, name)(X))
    raise AssertionError(f"{type(estimator).__name__} neither predicts nor transforms")


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_a_row_gets_the_same_bits_in_any_batch(fitted, name):
    """One row alone, at every position of 100 copies of it, and inside
    batches of 63 to 4,100 rows (past every call shape)."""
    estimator, X = fitted[name]
    n = len(X)
    alone = np.concatenate([_main_output(estimator, _take(X, [i])) for i in range(5)])
    copies = _main_output(estimator, _take(X, np.zeros(100, dtype=int)))
    np.testing.assert_array_equal(copies, np.repeat(alone[:1], 100, axis=0))
    for size in (63, 64, 65, 1000, 1100, 4100):
        # The five rows at the start, in the middle and at the end.
        index = np.arange(size) % n
        where = [0, size // 2, size - 5]
        for start in where:
            index[start : start + 5] = np.arange(5)
        output = _main_output(estimator, _take(X, index))
        for start in where:
            np.testing.assert_array_equal(
                output[start : start + 5], alone, err_msg=f"{size} rows, at {start}"
            )


@pytest.mark.slow
@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="oneDNN's ISA")
def test_a_row_gets_the_same_bits_in_any_batch_on_avx2_kernels():
    # oneDNN picks its kernels by the CPU at run time, and the batch's shape
    # changed a row's bits with AVX2 kernels (CPUs without AVX-512): the same
    # test, in a process whose oneDNN is held to AVX2, on any CPU.
    names = ("stack_classifier", "stack_text_columns", "keras_classifier")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += [
        f"{__file__}::test_a_row_gets_the_same_bits_in_any_batch[{n}]" for n in names
    ]
    environment = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "3 passed" in done.stdout


@pytest.fixture
def mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
def test_a_member_fitted_under_mixed_float16_keeps_one_prediction(
    mixed_float16, tmp_path
):
    # Keras's mixed precision: the networks compute in float16; the promises
    # hold as in float32, and the export is checked to half precision.
    X, y = load_iris(return_X_y=True)
    stack = ESTIMATORS["stack_classifier"]().fit(X, y)
    network = stack.named_estimators_["mlp"].model_
    assert network.layers[-1].compute_dtype == "float16"
    full = stack.predict_proba(X)
    for rows in (1, 5, 70):
        np.testing.assert_array_equal(stack.predict_proba(X[:rows]), full[:rows])
    skstack.save(stack, tmp_path / "stack.skstack")
    keras.mixed_precision.set_global_policy("float32")  # another process's policy
    np.testing.assert_array_equal(
        skstack.load(tmp_path / "stack.skstack").predict_proba(X), full
    )
    result = skstack.export(stack, tmp_path / "stack.onnx", format="onnx")
    assert result.max_abs_difference <= 5e-3
