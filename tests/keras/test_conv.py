"""The conv_model builder: images of one or more channels, any task."""

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

from skstack.features import KerasFeatureExtractor
from skstack.keras import KerasClassifier, KerasRegressor, conv_model


@pytest.fixture(scope="module")
def digits_images():
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16).reshape(-1, 8, 8).astype(np.float32), y[:300]


def test_grayscale_images_train_and_give_named_features(digits_images):
    images, y = digits_images
    network = KerasClassifier(
        conv_model, filters=(8, 16), hidden=(12,), epochs=2, random_state=0
    )
    proba = network.fit(images, y).predict_proba(images[:5])
    assert proba.shape == (5, 10)
    layers = {type(layer).__name__ for layer in network.model_.layers}
    assert {"Reshape", "Conv2D", "MaxPooling2D", "Flatten"} <= layers
    # Stage one of two-stage training: the "features" layer.
    extractor = KerasFeatureExtractor(network, layer="features").fit(images, y)
    assert extractor.transform(images[:5]).shape == (5, 12)


def test_larger_colour_images_are_pooled_over_positions():
    rng = np.random.RandomState(0)
    images = rng.rand(40, 32, 32, 3).astype(np.float32)
    y = rng.rand(40)
    network = KerasRegressor(conv_model, filters=(4,), epochs=1, random_state=0)
    predictions = network.fit(images, y).predict(images[:3])
    assert predictions.shape == (3,)
    pooling = [
        layer for layer in network.model_.layers if "Pooling" in type(layer).__name__
    ]
    assert isinstance(pooling[-1], keras.layers.GlobalAveragePooling2D)
    assert network.model_.layers[-1].activation is keras.activations.linear


def test_tables_and_bad_dropout_are_refused_by_name(digits_images):
    images, y = digits_images
    flat = images.reshape(len(images), -1)
    with pytest.raises(ValueError, match=r"conv_model takes images.*\(300, 64\)"):
        KerasClassifier(conv_model, epochs=1).fit(flat, y)
    with pytest.raises(ValueError, match="dropout must be in"):
        KerasClassifier(conv_model, dropout=1.0, epochs=1).fit(images, y)
