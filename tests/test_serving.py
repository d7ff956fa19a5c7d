"""skstack.to_keras and skstack.export: every format, checked in its own runtime."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)

import skstack
from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack._cli import main
from skstack.compose import (
    KerasChainClassifier,
    KerasChainRegressor,
    KerasFusionClassifier,
    KerasFusionRegressor,
)
from skstack.features import KerasFeatureExtractor
from skstack.keras import KerasClassifier, KerasRegressor, dense_model

FORMATS = {"keras": "model.keras", "tf_saved_model": "savedmodel", "onnx": "model.onnx"}
N_CHECK = 1200


def _dense_stage(input_shape):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(8, activation="relu")(inputs))


def _table(n_rows, seed, unknown=False):
    rng = np.random.RandomState(seed)
    colours = ["red", "green", "blue", "black", "white", "ultraviolet"]
    table = pd.DataFrame(
        {
            "size": rng.normal(5, 2, n_rows),
            "age": rng.uniform(0, 80, n_rows),
            "weight": rng.lognormal(3, 1, n_rows),
            "score": rng.standard_t(2, n_rows),
            "colour": rng.choice(colours, n_rows, p=[0.3, 0.3, 0.2, 0.1, 0.08, 0.02]),
            "doors": rng.choice([2, 4, 5], n_rows),
            "grade": rng.choice(["a", "b", "c", "d"], n_rows),
            "note": rng.normal(size=n_rows),  # dropped: no input of the graph
        }
    )
    table.loc[rng.rand(n_rows) < 0.1, "size"] = np.nan
    if unknown:  # categories never seen in fit
        table.loc[rng.rand(n_rows) < 0.05, "colour"] = "magenta"
        table.loc[rng.rand(n_rows) < 0.05, "doors"] = 3
        table.loc[rng.rand(n_rows) < 0.05, "grade"] = "z"
    return table


def _target(table):
    signal = (table["age"] > 40) ^ table["colour"].isin(["red", "blue"])
    return (signal ^ (table["grade"] == "a")).astype(int).to_numpy()


def _preprocessing():
    """Every supported transformer, on the columns of ``_table``."""
    return ColumnTransformer(
        [
            (
                "size",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                ["size"],
            ),
            ("age", MinMaxScaler(), ["age"]),
            ("weight", MaxAbsScaler(), ["weight"]),
            ("score", RobustScaler(), ["score"]),
            (
                "colour",
                OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20),
                ["colour"],
            ),
            ("doors", OneHotEncoder(handle_unknown="ignore"), ["doors"]),
            (
                "grade",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                ["grade"],
            ),
            ("age_again", FunctionTransformer(), ["age"]),
        ]
    )


def _fusion_member(input_shape):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(6, activation="tanh")(inputs))


def _mixed_classifier():
    """A DataFrame pipeline: text and numbers into a stack of every member kind."""
    network = {"epochs": 5, "random_state": 0}
    members = [
        ("mlp", KerasClassifier(dense_model, hidden=(16,), **network)),
        ("chain", KerasChainClassifier([_dense_stage], **network)),
        (
            "fusion",
            KerasFusionClassifier(
                [("a", _fusion_member), ("b", _fusion_member)], **network
            ),
        ),
        ("logreg", LogisticRegression(max_iter=500)),
    ]
    stack = KerasStackingClassifier(members, cv=3, random_state=0)
    X = _table(400, 0)
    model = make_pipeline(_preprocessing(), stack).fit(X, _target(X))
    return model, _table(N_CHECK, 1, unknown=True)


def _array_regressor():
    """Arrays in, a stack with a Keras meta-learner, passthrough columns."""
    rng = np.random.RandomState(2)
    X = rng.normal(size=(300, 5))
    y = 100 * (X @ [1.0, -2.0, 0.5, 0.0, 0.3]) + 20
    members = [
        ("mlp", KerasRegressor(dense_model, hidden=(16,), epochs=5, random_state=0)),
        ("ridge", Ridge()),
        ("chain", KerasChainRegressor([_dense_stage], epochs=3, random_state=0)),
    ]
    meta = KerasRegressor(dense_model, hidden=(4,), epochs=5, random_state=0)
    stack = KerasStackingRegressor(members, final_estimator=meta, cv=3, random_state=0)
    scale = ColumnTransformer(
        [("scaled", StandardScaler(), [0, 1, 2])], remainder="passthrough"
    )
    model = make_pipeline(scale, stack).fit(X, y)
    return model, rng.normal(size=(N_CHECK, 5))


def _two_stage_classifier():
    """A network's features (two-stage training) into a linear model, 3 classes."""
    rng = np.random.RandomState(3)
    X = rng.normal(size=(300, 6))
    y = np.digitize(X[:, 0] + X[:, 1] * X[:, 2], [-0.5, 0.5])
    network = KerasClassifier(dense_model, hidden=(12,), epochs=5, random_state=0)
    model = make_pipeline(
        StandardScaler(), KerasFeatureExtractor(network), LogisticRegression()
    ).fit(X, y)
    return model, rng.normal(size=(N_CHECK, 6))


def _table_regressor():
    """The other encoder options, into a regression stack's default meta-learner."""
    preprocessing = ColumnTransformer(
        [
            ("age", MinMaxScaler(feature_range=(-1, 1), clip=True), ["age"]),
            (
                "doors",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                ["doors"],
            ),
            (
                "grade",
                OneHotEncoder(drop="first", handle_unknown="ignore"),
                ["grade"],
            ),
        ],
        remainder=make_pipeline(SimpleImputer(), StandardScaler()),
    )
    members = [
        ("mlp", KerasRegressor(dense_model, hidden=(16,), epochs=5, random_state=0)),
        ("ridge", Ridge()),
        (
            "fusion",
            KerasFusionRegressor(
                [("a", _fusion_member), ("b", _fusion_member)],
                merge="weighted",
                epochs=3,
                random_state=0,
            ),
        ),
    ]
    X = _table(400, 4).drop(columns=["colour"])
    y = X["age"] / 10 - (X["grade"] == "b") + X["doors"] / 2
    model = make_pipeline(
        preprocessing, KerasStackingRegressor(members, cv=3, random_state=0)
    ).fit(X, y)
    return model, _table(N_CHECK, 5, unknown=True).drop(columns=["colour"])


def _binary_network():
    """A wrapper alone (one sigmoid unit) on a float32 DataFrame: named inputs."""
    columns = ["size", "age", "weight"]
    X = _table(400, 6)[columns].fillna(0.0).astype(np.float32)
    y = (X["age"] > 40).astype(int).to_numpy()
    network = KerasClassifier(dense_model, hidden=(8,), epochs=10, random_state=0)
    model = make_pipeline(StandardScaler(), network).fit(X, y)
    return model, _table(N_CHECK, 7)[columns].fillna(0.0).astype(np.float32)


def _float32_digits():
    """Images prepared as Keras users do (float32 in [0, 1]), scaled, stacked."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    members = [
        ("mlp", KerasClassifier(dense_model, hidden=(16,), epochs=5, random_state=0)),
        ("logreg", LogisticRegression(max_iter=300)),
    ]
    stack = KerasStackingClassifier(members, cv=3, random_state=0)
    model = make_pipeline(StandardScaler(), stack).fit(X[:597], y[:597])
    return model, X[597:]


MODELS = {
    "mixed_classifier": _mixed_classifier,
    "array_regressor": _array_regressor,
    "two_stage_classifier": _two_stage_classifier,
    "table_regressor": _table_regressor,
    "binary_network": _binary_network,
    "float32_digits": _float32_digits,
}


@pytest.fixture(scope="module")
def fitted():
    return {name: make() for name, make in MODELS.items()}


def _expected(model, X):
    if hasattr(model, "classes_"):
        return model.predict_proba(X)
    return np.asarray(model.predict(X)).reshape(len(X), -1)


# Loads each file with its runtime alone (onnxruntime without TensorFlow,
# TensorFlow without skstack) in a fresh process, and saves its outputs.
_RUN_EXPORTS = textwrap.dedent(
    """
    import json, sys
    import numpy as np

    format, jobs = sys.argv[1], json.loads(sys.argv[2])
    for artifact, feed_file, output_file in jobs:
        stored = np.load(feed_file, allow_pickle=False)
        feed = {k: v.astype(object) if v.dtype.kind == "U" else v
                for k, v in stored.items()}
        if format == "onnx":
            import onnxruntime
            session = onnxruntime.InferenceSession(
                artifact, providers=["CPUExecutionProvider"]
            )
            names = [node.name for node in session.get_inputs()]
            assert sorted(names) == sorted(feed)  # the columns' own names
            output = session.run(None, feed)[0]
            assert "tensorflow" not in sys.modules
        elif format == "tf_saved_model":
            import tensorflow as tf
            loaded = tf.saved_model.load(artifact)
            given = feed["X"] if list(feed) == ["X"] else feed
            output = loaded.serve(given).numpy()
            signature = loaded.signatures["serving_default"]
            by_name = {k: tf.constant(v) for k, v in feed.items()}
            (named,) = signature(**by_name).values()
            assert np.array_equal(named.numpy(), output)
            assert "skstack" not in sys.modules
        else:
            import keras
            import skstack.keras  # registers skstack's layers
            loaded = keras.saving.load_model(artifact)
            given = feed["X"] if list(feed) == ["X"] else feed
            output = loaded.predict_on_batch(given)
        np.save(output_file, np.asarray(output))
    """
)


def _feed_file(result, X, path):
    """The check rows as the graph's inputs, in an .npz file (text as unicode)."""
    if list(result.inputs) == ["X"]:
        np.savez(path, X=np.asarray(X, dtype=result.inputs["X"]))
        return
    columns = {}
    for name, dtype in result.inputs.items():
        values = X[name].to_numpy().reshape(-1, 1)
        columns[name] = values.astype(str if dtype == "string" else dtype)
    np.savez(path, **columns)


@pytest.mark.parametrize("format", list(FORMATS))
def test_exports_equal_the_estimators_in_their_own_runtimes(fitted, format, tmp_path):
    jobs, checks = [], []
    for name, (model, X) in fitted.items():
        artifact = tmp_path / f"{name}-{FORMATS[format]}"
        result = skstack.export(model, artifact, format=format, X_check=X)
        assert result.n_checked == N_CHECK
        if result.output == "predict_proba":
            assert result.max_abs_difference <= 1e-5
        _feed_file(result, X, tmp_path / f"{name}.npz")
        jobs.append(
            [
                str(artifact),
                str(tmp_path / f"{name}.npz"),
                str(tmp_path / f"{name}.npy"),
            ]
        )
        checks.append((name, model, X))
    done = subprocess.run(
        [sys.executable, "-c", _RUN_EXPORTS, format, json.dumps(jobs)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for (name, model, X), (_, _, output_file) in zip(checks, jobs, strict=True):
        got = np.load(output_file).astype(np.float64)
        expected = _expected(model, X)
        assert got.shape == expected.shape, name
        if hasattr(model, "classes_"):
            # Probabilities: the bound, absolute.
            assert np.max(np.abs(got - expected)) <= 1e-5, name
            np.testing.assert_array_equal(
                model.classes_[got.argmax(axis=1)], model.predict(X), err_msg=name
            )
        else:  # predictions in the hundreds: float32 rounding of the largest
            largest = float(np.max(np.abs(expected)))
            np.testing.assert_allclose(
                got, expected, rtol=1e-5, atol=1e-5 * largest, err_msg=name
            )


def test_a_served_model_takes_numbers_in_the_dtype_it_was_fitted_on(fitted):
    float32 = {"binary_network", "float32_digits"}
    for name, (model, X) in fitted.items():
        graph = skstack.to_keras(model)
        inputs = graph.input if isinstance(graph.input, dict) else {"X": graph.input}
        numbers = {str(t.dtype) for t in inputs.values() if t.dtype != "string"}
        assert numbers == {"float32" if name in float32 else "float64"}, name
        # The float32 input is read as float64 inside: exact, so the graph's
        # outputs equal those of the float64 rows' float32 rounding.
        if name == "float32_digits":
            rows = np.asarray(X[:50], dtype=np.float32)
            np.testing.assert_array_equal(
                graph.predict_on_batch(rows),
                graph.predict_on_batch(rows.astype(np.float64)),
            )


def test_a_dataframe_pipeline_takes_the_columns_it_reads_by_name(fitted):
    model, X = fitted["mixed_classifier"]
    graph = skstack.to_keras(model)
    assert list(graph.input) == [
        "size",
        "age",
        "weight",
        "score",
        "colour",
        "doors",
        "grade",
    ]
    assert "note" not in graph.input  # dropped by the ColumnTransformer
    assert graph.input["colour"].dtype == "string"
    assert graph.input["doors"].dtype == "float64"
    record = {
        name: np.asarray(
            [[X[name].iloc[0]]],
            dtype=object if name in ("colour", "grade") else np.float64,
        )
        for name in graph.input
    }
    np.testing.assert_allclose(
        graph.predict_on_batch(record), model.predict_proba(X[:1]), atol=1e-6
    )


def test_drawn_check_rows_cover_text_and_array_inputs(fitted, tmp_path):
    for name in ("mixed_classifier", "two_stage_classifier"):
        model, _ = fitted[name]
        result = skstack.export(model, tmp_path / f"{name}.keras")
        assert result.n_checked == 256
        assert result.max_abs_difference <= 1e-5


def test_an_extractor_pipeline_exports_its_features(fitted):
    model, X = fitted["two_stage_classifier"]
    features = model[:-1]
    graph = skstack.to_keras(features)
    np.testing.assert_allclose(
        graph.predict_on_batch(X[:50]), features.transform(X[:50]), rtol=1e-5, atol=1e-6
    )


def test_a_member_without_a_keras_form_is_named():
    X = _table(200, 0)
    model = make_pipeline(
        _preprocessing(),
        KerasStackingClassifier(
            [
                ("boost", HistGradientBoostingClassifier(max_iter=5)),
                ("lr", LogisticRegression()),
            ],
            cv=3,
        ),
    ).fit(X, _target(X))
    with pytest.raises(
        TypeError,
        match=r"estimator 'boost' is a HistGradientBoostingClassifier, which has "
        r"no Keras form. What has one: .*OrdinalEncoder",
    ):
        skstack.to_keras(model)


def test_export_refuses_what_it_cannot_write(fitted, tmp_path):
    model, X = fitted["two_stage_classifier"]
    with pytest.raises(NotFittedError):
        skstack.to_keras(make_pipeline(StandardScaler(), LogisticRegression()))
    with pytest.raises(ValueError, match="format must be one of"):
        skstack.export(model, tmp_path / "m.pb", format="pb")
    with pytest.raises(ValueError, match=r"must end in '\.keras'"):
        skstack.export(model, tmp_path / "m.h5")
    assert list(tmp_path.iterdir()) == []


def test_check_rows_the_estimator_refuses_raise_before_anything_is_written(
    fitted, tmp_path
):
    model, X = fitted["two_stage_classifier"]
    rows = X[:20].copy()
    rows[0, 0] = np.inf  # the pipeline's StandardScaler refuses it
    with pytest.raises(ValueError, match="infinity"):
        skstack.export(model, tmp_path / "m.keras", X_check=rows)
    assert list(tmp_path.iterdir()) == []


def test_outputs_beyond_float32_rounding_are_refused():
    from skstack.keras._serving import check_agreement

    expected = np.random.RandomState(0).dirichlet(np.ones(3), size=50)
    assert (
        check_agreement(expected + 1e-7, expected, "the file", "predict_proba") < 2e-7
    )
    with pytest.raises(ValueError, match=r"differ .* by up to 0\.001 \(more than"):
        check_agreement(expected + 1e-3, expected, "the file", "predict_proba")
    with pytest.raises(ValueError, match=r"shape \(50, 2\)"):
        check_agreement(expected[:, :2], expected, "the file", "predict_proba")


def test_the_command_line_exports_a_saved_estimator(fitted, tmp_path, capsys):
    model, X = fitted["mixed_classifier"]
    skstack.save(model, tmp_path / "model.skstack")
    X[:1000].to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "model.onnx"
    code = main(
        [
            "export",
            str(tmp_path / "model.skstack"),
            str(out),
            "--format",
            "onnx",
            "--check-data",
            str(tmp_path / "rows.csv"),
            # The networks' builders, functions of this module, are code.
            "--trust",
            f"{__name__}._dense_stage",
            "--trust",
            f"{__name__}._fusion_member",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0 and out.exists()
    assert f"wrote {out} (onnx)" in printed
    assert "colour: string" in printed
    assert "checked on 1000 rows" in printed


def test_confident_members_do_not_amplify_another_runtimes_rounding(iris, tmp_path):
    # Members sure to 1e-6 give logits that float32 probabilities would round
    # by ~1e-2; onnxruntime's float32 kernels round differently from
    # TensorFlow's, so the stack's output must not hinge on that rounding.
    X, y = iris
    network = {"epochs": 60, "optimizer": "adam", "optimizer__learning_rate": 0.05}
    members = [
        ("wide", KerasClassifier(dense_model, hidden=(32,), random_state=0, **network)),
        (
            "deep",
            KerasClassifier(dense_model, hidden=(16, 16), random_state=1, **network),
        ),
    ]
    stack = KerasStackingClassifier(members, cv=3, random_state=0).fit(X, y)
    rest = 1.0 - stack.named_estimators_["wide"].predict_proba(X).max(axis=1)
    assert rest.min() < 1e-5
    result = skstack.export(stack, tmp_path / "stack.onnx", format="onnx", X_check=X)
    assert result.max_abs_difference < 1e-6


def test_two_fused_pipeline_members_get_networks_of_their_own_names(iris):
    # Each member's fused copies are named copy_0, copy_1...: the graph names
    # the networks by member and step, so two such members do not collide.
    X, y = iris
    members = [
        (name, make_pipeline(StandardScaler(), KerasClassifier(dense_model, epochs=1)))
        for name in ("first", "second")
    ]
    stack = KerasStackingClassifier(members, cv=2, random_state=0).fit(X, y)
    assert stack.fused_members_ == ["first", "second"]
    graph = skstack.to_keras(stack)
    names = {layer.name for layer in graph.layers}
    assert {"member_first_kerasclassifier", "member_second_kerasclassifier"} <= names
    np.testing.assert_allclose(
        graph.predict_on_batch(X), stack.predict_proba(X), rtol=0, atol=1e-6
    )
