"""Keras's own scikit-learn wrappers as members and meta-learners of the stacks."""

import pickle

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skstack
from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.keras import KerasClassifier, KerasRegressor

SKLearnClassifier = pytest.importorskip("keras.wrappers").SKLearnClassifier
SKLearnRegressor = keras.wrappers.SKLearnRegressor


def build_classifier(X, y, hidden=8):
    """Keras's documented builder: ``model(X, y, **model_kwargs)``, y one-hot."""
    inputs = keras.Input((X.shape[1],))
    features = keras.layers.Dense(hidden, activation="relu")(inputs)
    outputs = keras.layers.Dense(y.shape[1], activation="softmax")(features)
    model = keras.Model(inputs, outputs)
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    return model


def build_regressor(X, y):
    inputs = keras.Input((X.shape[1],))
    outputs = keras.layers.Dense(y.shape[1])(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(loss="mse", optimizer="adam")
    return model


def _classifier(**fit_kwargs):
    fit_kwargs = {"epochs": 4, "verbose": 0, **fit_kwargs}
    return SKLearnClassifier(
        model=build_classifier, model_kwargs={"hidden": 6}, fit_kwargs=fit_kwargs
    )


def _epochs(model):
    return len(next(iter(model.history_.values())))


@pytest.mark.parametrize("fuse_folds", ["auto", False])
def test_every_fold_model_trains_the_epochs_asked_for(iris, fuse_folds, capfd):
    X, y = iris
    member = _classifier()
    stack = KerasStackingClassifier(
        [("nn", member), ("lr", LogisticRegression())],
        cv=3,
        fuse_folds=fuse_folds,
        fold_models="average",
        random_state=0,
    ).fit(X, y)
    fold_models = stack.named_estimators_["nn"]
    assert [_epochs(model) for model in fold_models] == [4, 4, 4]
    assert fold_models[0].model_.layers[1].units == 6  # model_kwargs reach it
    assert stack.fused_members_ == ([] if fuse_folds is False else ["nn"])
    assert "Epoch" not in capfd.readouterr().out  # verbose: 0 is respected
    # The user's wrapper is neither fitted nor changed.
    assert member.fit_kwargs == {"epochs": 4, "verbose": 0}
    assert not hasattr(member, "model_")


@pytest.mark.parametrize("n_classes", [2, 3])
def test_its_probabilities_are_the_meta_features(iris, n_classes):
    X, y = iris
    X, y = X[y < n_classes], y[y < n_classes]
    stack = KerasStackingClassifier(
        [("nn", _classifier()), ("lr", LogisticRegression())], cv=3, random_state=0
    ).fit(X, y)
    assert stack.stack_method_ == ["predict_proba", "predict_proba"]
    proba = stack.named_estimators_["nn"].predict_proba(X)
    assert proba.shape == (len(y), n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    refit = stack.named_estimators_["nn"]
    assert isinstance(refit, KerasClassifier) and _epochs(refit) == 4
    same = KerasStackingClassifier(
        [("nn", _classifier()), ("lr", LogisticRegression())], cv=3, random_state=0
    ).fit(X, y)
    assert np.array_equal(same.predict_proba(X), stack.predict_proba(X))


def test_a_pipeline_ending_in_one_and_a_regressor(diabetes):
    X, y = diabetes
    member = make_pipeline(
        StandardScaler(),
        SKLearnRegressor(model=build_regressor, fit_kwargs={"epochs": 3, "verbose": 0}),
    )
    stack = KerasStackingRegressor(
        [("nn", member), ("ridge", Ridge())], cv=3, random_state=0
    ).fit(X, y)
    assert stack.fused_members_ == ["nn"]
    refit = stack.named_estimators_["nn"][-1]
    assert isinstance(refit, KerasRegressor) and _epochs(refit) == 3
    # trained on the targets as given, as Keras's wrapper trains
    assert refit.scale_target is False
    assert type(refit.target_encoder_).__name__ == "RegressorTargetEncoder"
    assert stack.predict(X).shape == (len(y),)


def test_as_the_meta_learner(iris):
    X, y = iris
    stack = KerasStackingClassifier(
        [("lr", LogisticRegression())],
        final_estimator=_classifier(epochs=5),
        cv=3,
        random_state=0,
    ).fit(X, y)
    assert isinstance(stack.final_estimator_, KerasClassifier)
    assert _epochs(stack.final_estimator_) == 5
    assert stack.predict_proba(X).shape == (len(y), 3)


def test_a_stack_of_them_persists(iris, tmp_path):
    X, y = iris
    stack = KerasStackingClassifier(
        [("nn", _classifier()), ("lr", LogisticRegression())], cv=3, random_state=0
    ).fit(X, y)
    expected = stack.predict_proba(X)
    assert np.array_equal(pickle.loads(pickle.dumps(stack)).predict_proba(X), expected)
    skstack.save(stack, tmp_path / "stack.skstack")
    builder = f"{__name__}.build_classifier"  # the user's own function
    loaded = skstack.load(tmp_path / "stack.skstack", trusted=[builder])
    assert np.array_equal(loaded.predict_proba(X), expected)


def test_fit_arguments_map_to_the_wrappers_parameters(iris):
    from skstack.keras._keras_wrappers import skstack_wrapper

    stop = keras.callbacks.EarlyStopping(patience=2)
    member = _classifier(
        batch_size=16, callbacks=[stop], validation_split=0.2, initial_epoch=1
    )
    wrapper = skstack_wrapper(member)
    params = wrapper.get_params()
    assert (params["epochs"], params["batch_size"], params["verbose"]) == (4, 16, 0)
    assert params["callbacks"] == [stop] and params["validation_split"] == 0.2
    assert params["fit__initial_epoch"] == 1
    assert params["build_kwargs"] == {"hidden": 6}
    # Keras's defaults where nothing is given: one epoch, progress bars.
    plain = skstack_wrapper(SKLearnClassifier(model=build_classifier))
    assert (plain.epochs, plain.verbose) == (1, 1)


def test_a_prebuilt_model_is_refused_with_what_to_pass(iris):
    X, y = iris
    model = build_classifier(X, np.eye(3)[y])
    stack = KerasStackingClassifier([("nn", SKLearnClassifier(model=model))], cv=3)
    with pytest.raises(TypeError, match="Pass the function that builds"):
        stack.fit(X, y)
    assert not hasattr(stack, "estimators_")


def test_a_cloned_stack_and_a_grid_search_keep_the_fit_arguments(iris):
    X, y = iris
    member = make_pipeline(StandardScaler(), _classifier())
    stack = KerasStackingClassifier(
        [("nn", member), ("plain", _classifier(epochs=2))], cv=3, random_state=0
    )
    cloned = clone(stack)
    assert cloned.estimators[0][1][-1].fit_kwargs == {"epochs": 4, "verbose": 0}
    assert cloned.estimators[1][1].fit_kwargs == {"epochs": 2, "verbose": 0}
    grid = [{"epochs": 2, "verbose": 0}, {"epochs": 3, "verbose": 0}]
    search = GridSearchCV(stack, {"plain__fit_kwargs": grid}, cv=2).fit(X, y)
    best = search.best_estimator_.named_estimators_["plain"]
    assert _epochs(best) == search.best_params_["plain__fit_kwargs"]["epochs"]
    assert stack.estimators[1][1].fit_kwargs == {"epochs": 2, "verbose": 0}


def build_logits(X, y):
    """Keras's guides' classifier: a linear output and a loss taking logits."""
    inputs = keras.Input((X.shape[1],))
    features = keras.layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(y.shape[1])(features))
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    model.compile(loss=loss, optimizer="adam")
    return model


@pytest.mark.slow
def test_a_logits_member_exports_its_probabilities_to_onnx(iris, tmp_path):
    pytest.importorskip("onnxruntime")
    X, y = iris
    member = SKLearnClassifier(build_logits, fit_kwargs={"epochs": 3, "verbose": 0})
    stack = KerasStackingClassifier(
        [("nn", member), ("lr", LogisticRegression())], cv=3, random_state=0
    ).fit(X, y)
    proba = stack.named_estimators_["nn"].predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert proba.min() >= 0
    path = tmp_path / "stack.onnx"
    result = skstack.export(stack, path, format="onnx", X_check=X)
    assert result.max_abs_difference < 1e-6


def test_their_fits_run_in_parallel_with_the_same_predictions(iris):
    X, y = iris
    members = [("nn", _classifier()), ("lr", LogisticRegression())]
    runs = [
        KerasStackingClassifier(members, cv=3, random_state=0, n_jobs=n_jobs)
        for n_jobs in (None, 2)
    ]
    sequential, parallel = (stack.fit(X, y) for stack in runs)
    assert parallel.fused_members_ == ["nn"]
    assert _epochs(parallel.named_estimators_["nn"]) == 4
    np.testing.assert_allclose(
        parallel.predict_proba(X), sequential.predict_proba(X), rtol=1e-6, atol=1e-9
    )


def build_embedding(X, y, width=6):
    """A network trained on the step's targets, whose output is the features."""
    inputs = keras.Input((X.shape[1],))
    hidden = keras.layers.Dense(width, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(y.shape[1])(hidden))
    model.compile(loss="mse", optimizer="adam")
    return model


def test_a_transformer_step_of_a_member_pipeline(iris):
    from skstack.features import KerasFeatureExtractor

    X, y = iris
    SKLearnTransformer = keras.wrappers.SKLearnTransformer
    step = SKLearnTransformer(
        build_embedding,
        model_kwargs={"width": 4},
        fit_kwargs={"epochs": 3, "verbose": 0},
    )
    member = make_pipeline(step, LogisticRegression())

    def fitted():
        members = [("embedded", member), ("lr", LogisticRegression())]
        return KerasStackingClassifier(members, cv=3, random_state=0).fit(X, y)

    stack = fitted()
    extractor = stack.named_estimators_["embedded"][0]
    assert isinstance(extractor, KerasFeatureExtractor)
    assert _epochs(extractor.estimator_) == 3
    assert extractor.n_features_out_ == 1  # the network's output: one target
    assert step.fit_kwargs == {"epochs": 3, "verbose": 0}  # the user's, unchanged
    # Seeded by the stack's random_state, as skstack's own wrappers are.
    assert np.array_equal(fitted().predict_proba(X), stack.predict_proba(X))


def test_memory_caches_their_fits_by_their_fit_arguments(iris, tmp_path):
    X, y = iris

    def fitted(epochs):
        members = [("nn", _classifier(epochs=epochs)), ("lr", LogisticRegression())]
        stack = KerasStackingClassifier(members, cv=3, random_state=0, memory=tmp_path)
        return stack.fit(X, y)

    def entries():
        return len(list(tmp_path.rglob("output.pkl")))

    first = fitted(epochs=3)
    cached = entries()
    again = fitted(epochs=3)
    assert entries() == cached  # every fit came from the cache
    np.testing.assert_array_equal(again.predict_proba(X), first.predict_proba(X))
    longer = fitted(epochs=4)
    assert entries() > cached  # other fit arguments, other entries
    assert _epochs(longer.named_estimators_["nn"]) == 4
