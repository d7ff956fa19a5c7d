"""Feature extraction, augmentation, caching in pipelines, bounded memory."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from joblib import Memory
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skstack.features import KerasFeatureExtractor
from skstack.keras import KerasClassifier


def small_cnn(meta, compile_kwargs):
    inputs = keras.Input(shape=meta["X_shape_"][1:])
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.Flatten(name="flat")(x)
    x = keras.layers.Dense(16, activation="relu", name="features")(x)
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    return model


class FitLog(keras.callbacks.Callback):
    """Appends a line to a file at each training start, across clones and copies."""

    def __init__(self, path):
        super().__init__()
        self.path = str(path)

    def on_train_begin(self, logs=None):
        with open(self.path, "a") as handle:
            handle.write("fit\n")


@pytest.fixture(scope="module")
def digit_images():
    X, y = load_digits(return_X_y=True)
    return (X[:600] / 16.0).reshape(-1, 8, 8, 1).astype("float32"), y[:600]


def test_augmentation_changes_training_batches_but_not_extraction(digit_images):
    X, y = digit_images
    augmentation = [
        keras.layers.RandomTranslation(0.2, 0.2),
        keras.layers.RandomZoom(0.2),
    ]
    cnn = KerasClassifier(
        small_cnn, epochs=2, augmentation=augmentation, random_state=0, shuffle=False
    )
    extractor = KerasFeatureExtractor(cnn, layer="features").fit(X, y)
    model = extractor.estimator_.model_
    augment = model.get_layer("augmentation")
    # Training mode transforms the images; inference mode passes them through.
    trained_view = keras.ops.convert_to_numpy(augment(X[:32], training=True))
    assert not np.allclose(trained_view, X[:32])
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(augment(X[:32], training=False)), X[:32]
    )
    first = extractor.transform(X)
    np.testing.assert_array_equal(extractor.transform(X), first)
    assert first.shape == (600, 16) and first.dtype == np.float64
    # Extraction is the network's 'features' layer on the unaugmented input.
    network = model.layers[-1]
    direct = keras.Model(network.inputs, network.get_layer("features").output)
    np.testing.assert_allclose(first, keras.ops.convert_to_numpy(direct(X)), rtol=1e-5)


def test_saved_model_as_extractor_and_pooling(tmp_path, digit_images):
    X, _ = digit_images
    inputs = keras.Input((8, 8, 1))
    maps = keras.layers.Conv2D(4, 3, name="maps")(inputs)
    network = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(maps)))
    path = tmp_path / "net.keras"
    network.save(path)
    expected = keras.ops.convert_to_numpy(keras.Model(inputs, maps)(X[:10]))
    flat = KerasFeatureExtractor(str(path), layer="maps").fit(X[:10])
    np.testing.assert_allclose(
        flat.transform(X[:10]), expected.reshape(10, -1), rtol=1e-5
    )
    avg = KerasFeatureExtractor(str(path), layer="maps", pooling="avg").fit(X[:10])
    np.testing.assert_allclose(
        avg.transform(X[:10]), expected.mean(axis=(1, 2)), rtol=1e-5
    )
    mx = KerasFeatureExtractor(network, layer="maps", pooling="max").fit(X[:10])
    np.testing.assert_allclose(
        mx.transform(X[:10]), expected.max(axis=(1, 2)), rtol=1e-5
    )
    assert list(avg.get_feature_names_out()) == ["maps_0", "maps_1", "maps_2", "maps_3"]


def test_unknown_layer_lists_the_available_ones(digit_images):
    X, _ = digit_images
    inputs = keras.Input((8, 8, 1))
    network = keras.Model(inputs, keras.layers.Flatten(name="flat")(inputs))
    with pytest.raises(ValueError, match="no layer 'nope'; its layers are .*'flat'"):
        KerasFeatureExtractor(network, layer="nope").fit(X)


def test_two_stage_pipeline_with_a_cached_network(tmp_path, digit_images):
    X, y = digit_images
    log = tmp_path / "fits.log"

    cnn = KerasClassifier(small_cnn, epochs=2, random_state=0, callbacks=[FitLog(log)])
    pipe = Pipeline(
        [
            ("cnn", KerasFeatureExtractor(cnn, layer="features")),
            ("lr", LogisticRegression(max_iter=300)),
        ],
        memory=Memory(tmp_path / "cache", verbose=0),
    )
    search = GridSearchCV(pipe, {"lr__C": [0.1, 1.0, 10.0]}, cv=2).fit(X, y)
    # One network fit per distinct training set (2 folds + the refit), not one
    # per (fold, C) pair (7 without the cache).
    assert log.read_text().count("fit") == 3
    assert search.best_score_ > 0.5


def test_extraction_memory_stays_bounded_on_20k_images():
    # A fresh process, so its peak resident memory is this extraction's alone.
    # Unbatched, the conv maps of 20k images would take 20000*30*30*32*4 bytes
    # = 2.3 GB; batched by 256 they take 29 MB at a time.
    code = textwrap.dedent(
        """
        import resource, keras, numpy as np
        from skstack.features import KerasFeatureExtractor
        inputs = keras.Input((32, 32, 1))
        maps = keras.layers.Conv2D(32, 3, name="maps")(inputs)
        network = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(maps))
        X = np.random.default_rng(0).random((20000, 32, 32, 1), dtype=np.float32)
        extractor = KerasFeatureExtractor(network, layer="maps", pooling="avg")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        features = extractor.fit(X[:1]).transform(X)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(features.shape, round(before), round(after))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    shape, before, after = result.stdout.strip().rsplit(" ", 2)
    print(f"peak RSS before {before} MB, after extracting 20k images {after} MB")
    assert shape == "(20000, 32)"
    assert float(after) - float(before) < 600


@pytest.mark.parametrize(
    "params, name",
    [({"pooling": "median"}, "pooling"), ({"batch_size": 0}, "batch_size")],
)
def test_extractor_parameters_are_validated(params, name):
    X = np.zeros((4, 3))
    extractor = KerasFeatureExtractor("no-such-network.keras", **params)
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        extractor.fit(X)
