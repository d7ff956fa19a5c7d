"""Fusion: each merge mode's arithmetic, learned weights, inputs, composition."""

import joblib
import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

import skstack
from skstack import KerasStackingClassifier
from skstack.compose import KerasFusionClassifier, KerasFusionRegressor
from skstack.compose._fusion import build_fusion
from skstack.ensemble._meta_learner import LOGIT_EPSILON

X3 = np.array([[1.0, 2.0, -1.0], [0.5, -3.0, 2.0], [4.0, 0.0, 1.0]], dtype="float32")
A = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, -1.0]], dtype="float32")
B = np.array([[-1.0, 3.0], [0.5, 0.0], [2.0, 1.0]], dtype="float32")


def linear_member(kernel):
    """A hand-set member: x @ kernel, no bias, no activation."""
    inputs = keras.Input((kernel.shape[0],))
    layer = keras.layers.Dense(kernel.shape[1], use_bias=False)
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights([kernel])
    return model


def _merged(merge, members=None, **params):
    members = members or [("a", linear_member(A)), ("b", linear_member(B))]
    params = {
        "members": members,
        "merge": merge,
        "layer": -1,
        "projection": None,
        "member_columns": None,
        "freeze": False,
        "head_hidden": (),
        **params,
    }
    meta = {"X_shape_": (3, X3.shape[1]), "n_outputs_": 1}
    model = build_fusion(meta, {"optimizer": "sgd", "loss": None}, params)
    merge_layer = model.get_layer("fusion_merge")
    return keras.Model(model.inputs, merge_layer.output), merge_layer


@pytest.mark.parametrize(
    ("merge", "expected"),
    [
        ("concat", lambda a, b: np.hstack([a, b])),
        ("add", lambda a, b: a + b),
        ("average", lambda a, b: (a + b) / 2),
        ("multiply", lambda a, b: a * b),
        ("maximum", np.maximum),
        # Learned weights start equal: the average.
        ("weighted", lambda a, b: (a + b) / 2),
    ],
)
def test_merge_modes_compute_the_expected_combination(merge, expected):
    model, _ = _merged(merge)
    got = keras.ops.convert_to_numpy(model(X3))
    np.testing.assert_allclose(got, expected(X3 @ A, X3 @ B), rtol=1e-6)


def test_weighted_merge_uses_the_softmax_of_its_logits():
    model, layer = _merged("weighted")
    layer.logits.assign(np.array([np.log(3.0), 0.0], dtype="float32"))  # 0.75 / 0.25
    got = keras.ops.convert_to_numpy(model(X3))
    np.testing.assert_allclose(got, 0.75 * (X3 @ A) + 0.25 * (X3 @ B), rtol=1e-6)


def test_attention_merge_weights_each_sample_by_its_scores():
    model, layer = _merged("attention")
    kernel, bias, score = (keras.ops.convert_to_numpy(w) for w in layer.weights)
    outputs = np.stack([X3 @ A, X3 @ B], axis=1)  # (batch, members, width)
    scores = (np.tanh(outputs @ kernel + bias) @ score)[..., 0]
    weights = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    expected = (outputs * weights[..., None]).sum(axis=1)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(X3)), expected, rtol=1e-5
    )


def test_learned_fusion_weights_sum_to_one_and_move(iris):
    X, y = iris

    def member(input_shape):
        inputs = keras.Input(input_shape)
        return keras.Model(inputs, keras.layers.Dense(4, activation="relu")(inputs))

    fusion = KerasFusionClassifier(
        [("a", member), ("b", member), ("c", member)],
        merge="weighted",
        epochs=5,
        optimizer=keras.optimizers.Adam(0.05),
        random_state=0,
    ).fit(X, y)
    weights = fusion.fusion_weights_
    assert weights.shape == (3,)
    np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-6)
    assert not np.allclose(weights, 1 / 3)
    with pytest.raises(AttributeError, match="only with merge='weighted'"):
        _ = clone(fusion).set_params(merge="concat").fit(X, y).fusion_weights_


def test_element_wise_merge_of_different_widths_needs_a_projection():
    members = [("a", linear_member(A)), ("wide", linear_member(np.ones((3, 5))))]
    with pytest.raises(ValueError, match="widths differ: \\{'a': 2, 'wide': 5\\}"):
        _merged("add", members)
    model, _ = _merged("add", members, projection=4)
    assert tuple(model.output.shape) == (None, 4)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"merge": "sum"}, "'merge' parameter .*'concat'.*Got 'sum'"),
        ({"projection": 0}, "'projection' parameter"),
        ({"freeze": "yes"}, "'freeze' parameter"),
        ({"layer": 1.5}, "'layer' parameter"),
        ({"members": "a"}, "'members' parameter"),
        ({"member_columns": 3}, "'member_columns' parameter"),
        ({"head_hidden": 8}, "'head_hidden' parameter"),
        ({"epochs": -1}, "'epochs' parameter"),
    ],
)
def test_bad_parameters_are_refused_before_building(params, message):
    members = [("a", linear_member(A)), ("b", linear_member(B))]
    fusion = KerasFusionRegressor(**{"members": members, **params})
    with pytest.raises(ValueError, match=message):
        fusion.fit(X3, np.zeros(3))
    assert not hasattr(fusion, "model_")


def test_member_columns_give_each_member_its_columns():
    members = [("first", linear_member(A[:2])), ("last", linear_member(B[2:]))]
    model, _ = _merged("concat", members, member_columns=[[0, 1], [2]])
    got = keras.ops.convert_to_numpy(model(X3))
    np.testing.assert_allclose(
        got, np.hstack([X3[:, :2] @ A[:2], X3[:, 2:] @ B[2:]]), rtol=1e-6
    )
    with pytest.raises(ValueError, match="3 column groups but there are 2 members"):
        _merged("concat", members, member_columns=[[0], [1], [2]])


def test_penultimate_layer_and_unknown_layer_names():
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(2, use_bias=False, name="features")
    out = keras.layers.Dense(1, name="out")(hidden(inputs))
    member = keras.Model(inputs, out)
    hidden.set_weights([A])
    # layer=-2 is each member's penultimate layer: the hidden features of the
    # first, the input layer of the one-layer second.
    model, _ = _merged("concat", [("m", member), ("a", linear_member(A))], layer=-2)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(X3)), np.hstack([X3 @ A, X3]), rtol=1e-6
    )
    with pytest.raises(
        ValueError, match="no layer 'nope'; its layers are .*'features'"
    ):
        _merged("concat", [("m", member)], layer="nope")


def test_frozen_members_keep_their_weights(iris, tmp_path):
    X, y = iris
    keras.utils.set_random_seed(1)
    pretrained = linear_member(np.random.default_rng(0).normal(size=(4, 3)))
    path = tmp_path / "member.keras"
    pretrained.save(path)
    fusion = KerasFusionClassifier(
        [("saved", str(path)), ("given", pretrained)], freeze=True, epochs=3
    ).fit(X, y)
    for name in ("member_saved", "member_given"):
        got = fusion.model_.get_layer(name).get_weights()
        np.testing.assert_array_equal(got[0], pretrained.get_weights()[0])
    trained = clone(fusion).set_params(freeze=False).fit(X, y)
    assert not np.array_equal(
        trained.model_.get_layer("member_given").get_weights()[0],
        pretrained.get_weights()[0],
    )


def test_fusion_round_trips_tunes_and_stacks(iris, tmp_path):
    X, y = iris
    rng = np.random.default_rng(0)
    members = [
        ("a", linear_member(rng.normal(size=(4, 3)).astype("float32"))),
        ("b", linear_member(rng.normal(size=(4, 3)).astype("float32"))),
    ]
    fusion = KerasFusionClassifier(members, merge="attention", epochs=2, random_state=0)
    fusion.fit(X, y)
    joblib.dump(fusion, tmp_path / "fusion.joblib")
    loaded = joblib.load(tmp_path / "fusion.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), fusion.predict_proba(X))
    np.testing.assert_array_equal(
        clone(fusion).fit(X, y).predict_proba(X), fusion.predict_proba(X)
    )
    search = GridSearchCV(fusion, {"merge": ["concat", "average"]}, cv=2).fit(X, y)
    assert search.best_params_["merge"] in ("concat", "average")
    stack = KerasStackingClassifier(
        [("fusion", fusion), ("lr", LogisticRegression())],
        final_estimator=LogisticRegression(),
        cv=2,
    ).fit(X, y)
    assert stack.predict(X[:3]).shape == (3,)


def test_fusion_regressor_multi_output(diabetes):
    X, y = diabetes

    def member(input_shape):
        inputs = keras.Input(input_shape)
        return keras.Model(inputs, keras.layers.Dense(4)(inputs))

    fusion = KerasFusionRegressor([("a", member), ("b", member)], merge="add", epochs=2)
    Y = np.column_stack([y, -y])
    assert fusion.fit(X, Y).predict(X[:5]).shape == (5, 2)


def test_fusion_of_a_cnn_and_a_dense_network_on_digits():
    """Two different views of the digits fused by learned weights; score reported."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype("float32")

    def cnn(input_shape):
        inputs = keras.Input(input_shape)
        x = keras.layers.Reshape((8, 8, 1))(inputs)
        x = keras.layers.Conv2D(8, 3, activation="relu")(x)
        return keras.Model(inputs, keras.layers.Dense(32)(keras.layers.Flatten()(x)))

    def mlp(input_shape):
        inputs = keras.Input(input_shape)
        return keras.Model(inputs, keras.layers.Dense(32, activation="relu")(inputs))

    fusion = KerasFusionClassifier(
        [("cnn", cnn), ("mlp", mlp)],
        merge="weighted",
        epochs=10,
        batch_size=64,
        random_state=0,
    ).fit(X[:1200], y[:1200])
    score = fusion.score(X[1200:], y[1200:])
    print(
        f"fusion (cnn + mlp, weighted) held-out accuracy: {score:.4f}, "
        f"weights {np.round(fusion.fusion_weights_, 3)}"
    )
    assert score > 0.85


def softmax_member(kernel):
    """A hand-set member ending in probabilities: softmax(x @ kernel)."""
    inputs = keras.Input((kernel.shape[0],))
    layer = keras.layers.Dense(kernel.shape[1], use_bias=False, activation="softmax")
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights([kernel])
    return model


def _log_softmax(logits):
    """log(softmax), the probabilities clipped 1e-6 from 0 and 1 first."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    return np.log(np.clip(probabilities, LOGIT_EPSILON, 1 - LOGIT_EPSILON))


def binary_member(input_shape):
    inputs = keras.Input(input_shape)
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))


@pytest.mark.parametrize(
    ("merge", "combine"),
    [
        # Probabilities are merged as log-probabilities; their product as
        # the sum of the logarithms.
        ("average", lambda a, b: (a + b) / 2),
        ("add", lambda a, b: a + b),
        ("multiply", lambda a, b: a + b),
        ("maximum", np.maximum),
    ],
)
def test_probability_outputs_merge_as_log_probabilities(merge, combine):
    members = [("a", softmax_member(A)), ("b", softmax_member(B))]
    merged, _ = _merged(merge, members)
    expected = combine(_log_softmax(X3 @ A), _log_softmax(X3 @ B))
    np.testing.assert_allclose(merged.predict_on_batch(X3), expected, rtol=1e-5)


def test_concatenated_probabilities_stay_probabilities():
    members = [("a", softmax_member(A)), ("b", softmax_member(B))]
    merged, _ = _merged("concat", members)
    assert not [layer for layer in merged.layers if "log_probabilities" in layer.name]


def test_a_sigmoid_members_fusion_merges_logits_and_exports(tmp_path):
    X, y = load_digits(n_class=2, return_X_y=True)
    X = X / 16
    members = [("a", binary_member), ("b", binary_member)]
    fusion = KerasFusionClassifier(
        members, merge="weighted", epochs=10, random_state=0
    ).fit(X, y)
    logits = fusion.model_.get_layer("log_probabilities_a")
    assert logits.link == "sigmoid"
    assert fusion.score(X, y) > 0.9
    loaded = joblib.load(joblib.dump(fusion, tmp_path / "fusion.joblib")[0])
    np.testing.assert_array_equal(loaded.predict_proba(X), fusion.predict_proba(X))
    result = skstack.export(fusion, tmp_path / "fusion.onnx", format="onnx")
    assert result.max_abs_difference <= 1e-5
