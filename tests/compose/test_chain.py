"""Chains: frozen and fine-tuned stages, adapters, saved members, composition."""

import joblib
import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skstack import KerasStackingClassifier
from skstack.compose import KerasChainClassifier, KerasChainRegressor


def dense_stage(units):
    def build(input_shape):
        inputs = keras.Input(input_shape)
        return keras.Model(inputs, keras.layers.Dense(units, activation="relu")(inputs))

    return build


@pytest.fixture
def pretrained():
    """A 'pre-trained' extractor: a fixed random model for 4 features."""
    keras.utils.set_random_seed(3)
    return dense_stage(6)((4,))


def _stage_weights(chain, i=0):
    return chain.model_.get_layer(f"stage{i}").get_weights()


def test_frozen_stage_is_bit_identical_after_fit(iris, pretrained):
    X, y = iris
    before = pretrained.get_weights()
    chain = KerasChainClassifier(
        [pretrained, dense_stage(5)], freeze=[0], epochs=3, random_state=0
    ).fit(X, y)
    for got, want in zip(_stage_weights(chain, 0), before, strict=True):
        np.testing.assert_array_equal(got, want)
    # The user's model object itself was never trained.
    for got, want in zip(pretrained.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)


def test_fine_tuning_changes_the_frozen_stage(iris, pretrained):
    X, y = iris
    before = pretrained.get_weights()
    chain = KerasChainClassifier(
        [pretrained], freeze="all", fine_tune_epochs=2, epochs=2, random_state=0
    ).fit(X, y)
    changed = [
        not np.array_equal(got, want)
        for got, want in zip(_stage_weights(chain), before, strict=True)
    ]
    assert all(changed)
    assert chain.model_.get_layer("stage0").trainable


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_saved_pretrained_member_is_loaded_and_used(iris, pretrained, tmp_path, suffix):
    X, y = iris
    path = tmp_path / f"extractor{suffix}"
    pretrained.save(path)
    chain = KerasChainClassifier([str(path)], freeze="all", epochs=2, random_state=0)
    chain.fit(X, y)
    for got, want in zip(_stage_weights(chain), pretrained.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    stage = chain.model_.get_layer("stage0")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(stage(X[:5].astype("float32"))),
        keras.ops.convert_to_numpy(pretrained(X[:5].astype("float32"))),
        rtol=1e-6,
    )


def test_missing_saved_model_is_a_clear_error(iris, tmp_path):
    X, y = iris
    with pytest.raises(FileNotFoundError, match="no saved model at"):
        KerasChainClassifier([str(tmp_path / "nope.keras")]).fit(X, y)


def _image_stage(input_shape):
    inputs = keras.Input((2, 3))
    return keras.Model(inputs, keras.layers.Dense(4)(inputs))


def test_shape_mismatch_without_adapter_names_both_stages(iris):
    X, y = iris
    chain = KerasChainClassifier([dense_stage(6), _image_stage])
    with pytest.raises(
        ValueError,
        match=r"stages\[1\] expects inputs of shape \(2, 3\) but stages\[0\] "
        r"outputs \(6,\)",
    ):
        chain.fit(X, y)


@pytest.mark.parametrize("adapter", ["reshape", "dense"])
def test_adapters_join_mismatched_stages(iris, adapter):
    X, y = iris
    chain = KerasChainClassifier(
        [dense_stage(6), _image_stage], adapter=adapter, epochs=1, random_state=0
    ).fit(X, y)
    assert chain.predict_proba(X[:2]).shape == (2, 3)


def test_flatten_adapter_and_its_limits(iris):
    X, y = iris

    def grid_stage(input_shape):
        inputs = keras.Input(input_shape)
        grid = keras.layers.Reshape((2, 4))(keras.layers.Dense(8)(inputs))
        return keras.Model(inputs, grid)

    def flat_stage(width):
        def build(input_shape):
            inputs = keras.Input((width,))
            return keras.Model(inputs, keras.layers.Dense(3)(inputs))

        return build

    chain = KerasChainClassifier([grid_stage, flat_stage(8)], adapter="flatten")
    assert chain.fit(X, y).predict(X[:2]).shape == (2,)
    with pytest.raises(ValueError, match="keeps the 8 values but 5 are needed"):
        chain.set_params(stages=[grid_stage, flat_stage(5)]).fit(X, y)


def test_last_stage_as_the_head(iris):
    X, y = iris

    def softmax_stage(input_shape):
        inputs = keras.Input(input_shape)
        return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))

    chain = KerasChainClassifier([dense_stage(6), softmax_stage], head=None, epochs=2)
    chain.fit(X, y)
    assert chain.model_.layers[-1].name == "stage1"
    np.testing.assert_allclose(chain.predict_proba(X[:3]).sum(axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="must output shape \\(3,\\)"):
        chain.set_params(stages=[dense_stage(6)]).fit(X, y)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"adapter": "squeeze"}, "'adapter' parameter .*'dense'.*Got 'squeeze'"),
        ({"freeze": "some"}, "'freeze' parameter"),
        ({"fine_tune_epochs": -1}, "'fine_tune_epochs' parameter"),
        ({"fine_tune_learning_rate": 0}, "'fine_tune_learning_rate' parameter"),
        ({"head": "linear"}, "'head' parameter"),
        ({"head_hidden": 4}, "'head_hidden' parameter"),
        ({"stages": "model.keras"}, "'stages' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
    ],
)
def test_bad_parameters_are_refused_before_building(iris, params, message):
    X, y = iris
    chain = KerasChainClassifier(**{"stages": [dense_stage(4)], **params})
    with pytest.raises(ValueError, match=message):
        chain.fit(X, y)
    assert not hasattr(chain, "model_")


def test_bad_freeze_index_is_a_clear_error(iris):
    X, y = iris
    with pytest.raises(ValueError, match="freeze names stage 3, but there are 1"):
        KerasChainClassifier([dense_stage(4)], freeze=[3]).fit(X, y)


def test_clone_and_joblib_round_trip_with_a_pretrained_stage(
    iris, pretrained, tmp_path
):
    X, y = iris
    chain = KerasChainClassifier([pretrained], freeze="all", epochs=2, random_state=0)
    chain.fit(X, y)
    joblib.dump(chain, tmp_path / "chain.joblib")
    loaded = joblib.load(tmp_path / "chain.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), chain.predict_proba(X))
    refit = clone(chain).fit(X, y)
    np.testing.assert_array_equal(refit.predict_proba(X), chain.predict_proba(X))


def test_chain_in_a_pipeline_a_grid_search_and_a_stack(iris):
    X, y = iris
    chain = KerasChainClassifier([dense_stage(8)], epochs=2, random_state=0)
    search = GridSearchCV(
        chain, {"head_hidden": [(), (4,)], "freeze": [None, "all"]}, cv=2
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    pipe = make_pipeline(StandardScaler(), chain).fit(X * 5, y)
    assert pipe.predict(X[:2] * 5).shape == (2,)
    stack = KerasStackingClassifier(
        [("chain", chain), ("lr", LogisticRegression())],
        final_estimator=LogisticRegression(),
        cv=2,
        random_state=0,
    ).fit(X, y)
    assert stack.oof_predictions_.shape == (150, 6)


def test_chain_regressor(diabetes, pretrained):
    X, y = diabetes

    def ten_to_four(input_shape):
        inputs = keras.Input(input_shape)
        return keras.Model(inputs, keras.layers.Dense(4)(inputs))

    chain = KerasChainRegressor([ten_to_four, pretrained], epochs=3, random_state=0)
    assert chain.fit(X, y).predict(X[:4]).shape == (4,)


def test_cnn_extractor_chain_on_digit_images():
    """A conv extractor then a dense head, trained on scikit-learn's digits."""
    X, y = load_digits(return_X_y=True)
    images = (X / 16.0).reshape(-1, 8, 8, 1).astype("float32")

    def conv_extractor(input_shape):
        inputs = keras.Input(input_shape)
        x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
        return keras.Model(inputs, keras.layers.Flatten()(x))

    chain = KerasChainClassifier(
        [conv_extractor], head_hidden=(32,), epochs=12, batch_size=64, random_state=0
    )
    chain.fit(images[:1200], y[:1200])
    score = chain.score(images[1200:], y[1200:])
    print(f"chain (conv extractor + dense head) held-out accuracy: {score:.4f}")
    assert score > 0.85
