import json
import os
import sys
import warnings
import zipfile

import joblib
import keras
import numpy as np
import pytest
import skops.io
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import skstack
from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.compose import KerasChainClassifier, KerasFusionClassifier
from skstack.exceptions import (
    ArchiveError,
    UntrustedTypesError,
    VersionMismatchWarning,
)
from skstack.features import KerasFeatureExtractor
from skstack.keras import KerasClassifier, KerasRegressor, dense_model


@pytest.fixture(scope="module")
def keras_stack(iris):
    X, y = iris
    net = KerasClassifier(dense_model, hidden=(8,), epochs=3, verbose=0)
    stack = KerasStackingClassifier(
        [("net", net), ("lr", LogisticRegression())], cv=3, random_state=0
    )
    return stack.fit(X, y)


@pytest.fixture(scope="module")
def saved(keras_stack, tmp_path_factory):
    path = tmp_path_factory.mktemp("archive") / "stack.skstack"
    skstack.save(keras_stack, path)
    return path


def _rewrite(source, target, change):
    """Copy an archive, letting ``change(name, data)`` edit each file."""
    with zipfile.ZipFile(source) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, change(name, data))


def _dotted(obj) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def test_keras_stack_round_trips_with_identical_predictions(keras_stack, saved, iris):
    X, y = iris
    loaded = skstack.load(saved)
    assert type(loaded) is KerasStackingClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), keras_stack.predict_proba(X))
    # the default meta-learner's Keras model (a registered logit layer) loads
    assert type(loaded.final_estimator_).__name__ == "LinearMetaClassifier"
    for _ in range(2):  # member by member, then through the compiled graph
        np.testing.assert_allclose(
            loaded.predict_proba(X[:3]), keras_stack.predict_proba(X[:3]), rtol=1e-5
        )
    assert loaded.named_estimators_["net"].model_ is loaded.estimators_[0].model_
    assert loaded.get_params()["net__hidden"] == (8,)
    loaded.fit(X, y)  # and it trains again
    assert loaded.score(X, y) > 0.8


def test_a_fused_stack_round_trips_through_joblib_without_a_warning(
    keras_stack, iris, tmp_path
):
    # Fused fold copies once kept unbuilt optimizers: every load (and every
    # transfer to a loky or Dask worker) warned "Skipping variable loading".
    X, _ = iris
    assert keras_stack.fused_members_ == ["net"]
    joblib.dump(keras_stack, tmp_path / "stack.joblib")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = joblib.load(tmp_path / "stack.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), keras_stack.predict_proba(X))


def test_archive_holds_keras_files_and_a_manifest(saved):
    with zipfile.ZipFile(saved) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
    # The default meta-learner is scikit-learn's: its weights are in the skops
    # file, and only the Keras member has a Keras model.
    assert names == {"manifest.json", "estimator.skops", "keras/0.keras"}
    assert [entry["at"] for entry in manifest["keras_models"]] == [
        "estimator.estimators_[0].model_",
    ]
    assert (
        manifest["versions"]["scikit-learn"]
        == skstack._persistence._archive._versions()["scikit-learn"]
    )
    assert set(manifest["sha256"]) == names - {"manifest.json"}


def test_pipeline_around_a_regression_stack_round_trips(diabetes, tmp_path):
    X, y = diabetes
    stack = KerasStackingRegressor(
        [
            ("net", KerasRegressor(dense_model, hidden=(4,), epochs=2, verbose=0)),
            ("ridge", Ridge()),
        ],
        final_estimator=Ridge(),
        cv=3,
        random_state=0,
    )
    pipeline = make_pipeline(StandardScaler(), stack).fit(X, y)
    skstack.save(pipeline, tmp_path / "pipe.skstack")
    loaded = skstack.load(tmp_path / "pipe.skstack")
    np.testing.assert_array_equal(loaded.predict(X), pipeline.predict(X))


def test_unfitted_estimator_round_trips(tmp_path):
    stack = KerasStackingClassifier([("lr", LogisticRegression(C=0.5))], cv=4)
    skstack.save(stack, tmp_path / "unfitted.skstack")
    loaded = skstack.load(tmp_path / "unfitted.skstack")
    assert loaded.get_params()["lr__C"] == 0.5
    assert loaded.get_params()["cv"] == 4
    assert not hasattr(loaded, "estimators_")


def test_other_library_versions_warn(saved, tmp_path):
    def older_sklearn(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["versions"]["scikit-learn"] = "0.1"
        return json.dumps(manifest)

    _rewrite(saved, tmp_path / "old.skstack", older_sklearn)
    with pytest.warns(VersionMismatchWarning, match=r"scikit-learn 0\.1 -> "):
        skstack.load(tmp_path / "old.skstack")


@pytest.mark.parametrize("target", ["estimator.skops", "keras/0.keras"])
def test_a_changed_file_is_refused(saved, tmp_path, target):
    def flip_last_byte(name, data):
        return data[:-1] + bytes([data[-1] ^ 1]) if name == target else data

    _rewrite(saved, tmp_path / "tampered.skstack", flip_last_byte)
    with pytest.raises(ArchiveError, match=rf"modified .*changed: \['{target}'\]"):
        skstack.load(tmp_path / "tampered.skstack")


def _archive_with(obj, path):
    """An archive for ``obj`` with correct hashes, as a forger would write it."""
    data = skops.io.dumps(obj)
    manifest = {
        "format": "skstack-archive",
        "format_version": 1,
        "versions": skstack._persistence._archive._versions(),
        "keras_models": [],
        "sha256": {"estimator.skops": skstack._persistence._archive._sha256(data)},
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("estimator.skops", data)


class Payload(BaseEstimator):
    """An estimator whose attribute is a function that runs commands."""

    def __init__(self, hook=os.system):
        self.hook = hook


def test_an_unknown_type_is_refused_even_with_correct_hashes(tmp_path):
    _archive_with(Payload(), tmp_path / "forged.skstack")
    with pytest.raises(UntrustedTypesError, match="needs types that are not trusted"):
        skstack.load(tmp_path / "forged.skstack")
    with pytest.raises(UntrustedTypesError, match=r"system"):
        skstack.load(tmp_path / "forged.skstack", trusted=[_dotted(Payload)])


def test_names_in_a_trusted_package_must_be_what_they_say(tmp_path):
    # skstack.ensemble._tasks imports ``os``: reaching it through a trusted package's
    # namespace does not make it trusted.
    assert not skstack._persistence._trust.is_trusted("skstack.ensemble._tasks.os")
    assert not skstack._persistence._trust.is_trusted("skstack.ensemble._tasks.clone")
    assert skstack._persistence._trust.is_trusted("skstack.keras._dense.dense_model")


def _own_network(meta, hidden=(), lambda_layer=False):
    """A softmax network; ``lambda_layer`` puts Python code in it (a ``Lambda``)."""
    inputs = keras.Input((meta["n_features_in_"],))
    x = keras.layers.Lambda(lambda t: t * 2)(inputs) if lambda_layer else inputs
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_a_builder_of_ones_own_loads_once_trusted(iris, tmp_path):
    X, y = iris
    net = KerasClassifier(_own_network, epochs=1, verbose=0, random_state=0)
    net.fit(X, y)
    skstack.save(net, tmp_path / "own.skstack")
    with pytest.raises(UntrustedTypesError, match=_dotted(_own_network)):
        skstack.load(tmp_path / "own.skstack")
    loaded = skstack.load(tmp_path / "own.skstack", trusted=[_dotted(_own_network)])
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))


def test_keras_models_load_in_safe_mode(iris, tmp_path):
    X, y = iris
    net = KerasClassifier(
        _own_network, lambda_layer=True, epochs=1, verbose=0, random_state=0
    )
    skstack.save(net.fit(X, y), tmp_path / "lambda.skstack")
    with pytest.raises(ArchiveError, match=r"model_ could not be loaded in safe mode"):
        skstack.load(tmp_path / "lambda.skstack", trusted=[_dotted(_own_network)])


@pytest.mark.parametrize("content", ["joblib", "text"])
def test_a_file_that_is_not_an_archive_is_refused_unread(tmp_path, content):
    path = tmp_path / "other.bin"
    if content == "joblib":
        joblib.dump(LogisticRegression(), path)  # a pickle: never unpickled here
    else:
        path.write_text("hello")
    with pytest.raises(ArchiveError, match="is not a skstack archive"):
        skstack.load(path)


def test_keras_objects_other_than_models_are_refused_and_nothing_written(tmp_path):
    net = KerasClassifier(dense_model, optimizer=keras.optimizers.Adam())
    with pytest.raises(TypeError, match=r"Adam at estimator\.optimizer"):
        skstack.save(net, tmp_path / "net.skstack")
    assert os.listdir(tmp_path) == []


def test_saving_over_an_archive_replaces_it_whole(keras_stack, saved, tmp_path, iris):
    X, _ = iris
    path = tmp_path / "again.skstack"
    skstack.save(LogisticRegression(), path)
    skstack.save(keras_stack, path)
    assert os.listdir(tmp_path) == ["again.skstack"]
    np.testing.assert_array_equal(skstack.load(path).predict(X), keras_stack.predict(X))


def test_kept_fold_models_round_trip(iris, tmp_path):
    X, y = iris
    net = KerasClassifier(dense_model, hidden=(4,), epochs=1, verbose=0)
    stack = KerasStackingClassifier(
        [("net", net)],
        final_estimator=LogisticRegression(),
        cv=3,
        fold_models="average",
        random_state=0,
    ).fit(X, y)
    skstack.save(stack, tmp_path / "average.skstack")
    with zipfile.ZipFile(tmp_path / "average.skstack") as archive:
        assert sum(name.startswith("keras/") for name in archive.namelist()) == 3
    loaded = skstack.load(tmp_path / "average.skstack")
    np.testing.assert_array_equal(loaded.predict_proba(X), stack.predict_proba(X))


def test_a_manifest_that_leaves_out_a_model_is_refused(saved, tmp_path):
    def unlist_model(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        del manifest["sha256"]["keras/0.keras"]
        return json.dumps(manifest)

    _rewrite(saved, tmp_path / "unlisted.skstack", unlist_model)
    with pytest.raises(ArchiveError, match=r"not a complete .*\['keras/0.keras'\]"):
        skstack.load(tmp_path / "unlisted.skstack")


def _block(input_shape):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(4, activation="relu")(inputs))


COMPOSED = {
    # skstack's own registered layers (WeightedSum, AttentionMerge) in safe mode
    "weighted fusion": lambda: KerasFusionClassifier(
        [("a", _block), ("b", _block)], merge="weighted", epochs=1, random_state=0
    ),
    "attention fusion": lambda: KerasFusionClassifier(
        [("a", _block), ("b", _block)], merge="attention", epochs=1, random_state=0
    ),
    "chain": lambda: KerasChainClassifier([_block], epochs=1, random_state=0),
    # the extractor shares its layers with the wrapper's model
    "feature extractor": lambda: Pipeline(
        [
            (
                "features",
                KerasFeatureExtractor(
                    KerasClassifier(dense_model, hidden=(8,), epochs=1, random_state=0),
                    layer=-2,
                ),
            ),
            ("logreg", LogisticRegression()),
        ]
    ),
}


@pytest.mark.parametrize("kind", list(COMPOSED))
def test_composed_models_and_extractors_round_trip(kind, iris, tmp_path):
    X, y = iris
    estimator = COMPOSED[kind]().fit(X, y)
    skstack.save(estimator, tmp_path / "composed.skstack")
    loaded = skstack.load(tmp_path / "composed.skstack", trusted=[_dotted(_block)])
    np.testing.assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))


class Holder(BaseEstimator):
    def __init__(self, first=None, second=None):
        self.first = first
        self.second = second


def test_a_model_in_a_tuple_referenced_twice_comes_back_in_both(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    pair = ("model", model)
    skstack.save(Holder(pair, pair), tmp_path / "holder.skstack")
    loaded = skstack.load(tmp_path / "holder.skstack", trusted=[_dotted(Holder)])
    assert isinstance(loaded.first[1], keras.Model)
    assert loaded.first is loaded.second


def _named(module: str, name: str):
    """A function that says it is ``module.name``, as a crafted archive would."""

    def function():
        return None

    function.__module__, function.__name__, function.__qualname__ = module, name, name
    return function


@pytest.mark.parametrize(
    "module, name",
    [("skstack.__main__", "_parser"), ("skstack.not_a_module", "run")],
)
def test_load_never_imports_a_module_the_archive_names(tmp_path, module, name):
    sys.modules.pop("skstack.__main__", None)
    _archive_with(Payload(hook=_named(module, name)), tmp_path / "crafted.skstack")
    with pytest.raises(UntrustedTypesError, match=f"{module}.{name}"):
        skstack.load(tmp_path / "crafted.skstack")
    assert "skstack.__main__" not in sys.modules  # it would run the program
    assert not skstack._persistence._trust.is_trusted("skstack.__main__.main")
