"""Each fix the wrappers make over scikeras 0.13, shown with real training."""

import pickle
import random

import joblib
import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import sparse
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.ensemble import StackingClassifier, StackingRegressor, VotingClassifier
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    GridSearchCV,
    cross_val_predict,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags

from skstack.keras import KerasClassifier, KerasRegressor, dense_model


def _clf(**params):
    return KerasClassifier(dense_model, **{"hidden": (8,), "epochs": 2, **params})


def _reg(**params):
    return KerasRegressor(dense_model, **{"hidden": (8,), "epochs": 2, **params})


def test_wrappers_report_their_estimator_type():
    assert is_classifier(_clf()) and not is_regressor(_clf())
    assert is_regressor(_reg()) and not is_classifier(_reg())
    assert get_tags(_clf()).estimator_type == "classifier"
    assert get_tags(_reg()).target_tags.multi_output


def _classes_seen_by_scorer(estimator, X, y, seen):
    seen.append(np.unique(y).size)
    return estimator.score(X, y)


def test_cross_validation_of_classifier_is_stratified(iris):
    # iris ships sorted by class, so unshuffled KFold(3) would give each test fold
    # a single class; stratified folds hold all three.
    X, y = iris
    result = cross_validate(_clf(epochs=1), X, y, cv=3, return_indices=True)
    for test_index in result["indices"]["test"]:
        assert np.unique(y[test_index]).size == 3

    seen = []
    search = GridSearchCV(
        _clf(epochs=1),
        {"hidden": [(4,), (8,)]},
        cv=3,
        scoring=lambda est, X_, y_: _classes_seen_by_scorer(est, X_, y_, seen),
    )
    search.fit(X, y)
    assert seen and set(seen) == {3}
    assert search.best_params_["hidden"] in [(4,), (8,)]


def test_accepted_by_sklearn_stacking_and_voting(iris, diabetes):
    X, y = iris
    stack = StackingClassifier(
        [("mlp", _clf(random_state=0)), ("lr", LogisticRegression())],
        final_estimator=_clf(random_state=1),
        cv=3,
    ).fit(X, y)
    assert stack.predict_proba(X).shape == (150, 3)
    # One-row prediction through sklearn's stack needs (1, n_classes) from members.
    assert stack.predict_proba(X[:1]).shape == (1, 3)
    assert stack.predict(X[:1]).shape == (1,)

    vote = VotingClassifier(
        [("mlp", _clf(random_state=0)), ("lr", LogisticRegression())], voting="soft"
    ).fit(X, y)
    assert vote.predict_proba(X[:1]).shape == (1, 3)

    X, y = diabetes
    stack = StackingRegressor(
        [("mlp", _reg(random_state=0)), ("ridge", Ridge())],
        final_estimator=_reg(random_state=1),
        cv=3,
    ).fit(X, y)
    assert stack.predict(X[:1]).shape == (1,)


def test_same_random_state_gives_identical_predictions(iris):
    X, y = iris
    first = _clf(random_state=0, dropout=0.2).fit(X, y).predict_proba(X)
    second = _clf(random_state=0, dropout=0.2).fit(X, y).predict_proba(X)
    other = _clf(random_state=1, dropout=0.2).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_seeded_fit_leaves_no_global_random_state_changed(iris):
    X, y = iris
    python_state = random.getstate()
    numpy_state = np.random.get_state()  # noqa: NPY002 (the global one Keras seeds)
    _clf(random_state=0).fit(X, y)
    assert random.getstate() == python_state
    numpy_after = np.random.get_state()  # noqa: NPY002
    np.testing.assert_array_equal(numpy_after[1], numpy_state[1])


def test_unseeded_training_still_works_after_a_seeded_fit(iris):
    X, y = iris
    _clf(random_state=0, dropout=0.5).fit(X, y)
    # With scikeras 0.13 each of these raised "Random ops require a seed".
    _clf(dropout=0.5).fit(X, y)
    tf.random.uniform((2,))
    plain = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dropout(0.5), keras.layers.Dense(3)]
    )
    plain.compile("adam", "sparse_categorical_crossentropy")
    plain.fit(X, y, epochs=1, verbose=0)


@pytest.mark.parametrize(
    ("fit_dtype", "predict_dtype"),
    [("float32", "float64"), ("float64", "float32"), ("float32", "int64")],
)
def test_input_dtypes_may_differ_between_fit_and_predict(
    iris, fit_dtype, predict_dtype
):
    X, y = iris
    clf = _clf(random_state=0).fit(X.astype(fit_dtype), y)
    reg = _reg(random_state=0).fit(X.astype(fit_dtype), X[:, 0])
    X_new = np.round(X).astype(predict_dtype)
    np.testing.assert_allclose(
        clf.predict_proba(X_new), clf.predict_proba(np.round(X).astype(fit_dtype))
    )
    assert reg.predict(X_new).shape == (150,)


def test_one_row_in_one_row_out(iris, binary, diabetes):
    X, y = iris
    assert _clf().fit(X, y).predict_proba(X[:1]).shape == (1, 3)
    Xb, yb = binary
    clf = _clf().fit(Xb, yb)
    assert clf.predict_proba(Xb[:1]).shape == (1, 2)
    assert clf.predict(Xb[:1]).shape == (1,)
    Xr, yr = diabetes
    assert _reg().fit(Xr, yr).predict(Xr[:1]).shape == (1,)
    two_targets = np.column_stack([yr, -yr])
    reg = _reg().fit(Xr, two_targets)
    assert reg.predict(Xr[:1]).shape == (1, 2)
    assert reg.predict(Xr[:1]).dtype == np.float64


def test_string_labels_and_pandas_input(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=list("abcd"))
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = _clf(random_state=0).fit(frame, pd.Series(labels))
    np.testing.assert_array_equal(clf.classes_, np.unique(labels))
    assert set(clf.predict(frame)) <= set(labels)


@pytest.mark.parametrize("persist", ["pickle", "joblib"])
def test_persisted_estimator_predicts_identically(iris, tmp_path, persist):
    X, y = iris
    clf = _clf(random_state=0).fit(X, y)
    if persist == "pickle":
        loaded = pickle.loads(pickle.dumps(clf))
    else:
        joblib.dump(clf, tmp_path / "clf.joblib")
        loaded = joblib.load(tmp_path / "clf.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.get_params()["hidden"] == (8,)


def test_clone_keeps_parameters_and_refits_identically(iris):
    X, y = iris
    clf = _clf(random_state=0, optimizer__learning_rate=0.01).fit(X, y)
    twin = clone(clf)
    assert not hasattr(twin, "model_")
    assert twin.get_params()["optimizer__learning_rate"] == 0.01
    np.testing.assert_array_equal(twin.fit(X, y).predict_proba(X), clf.predict_proba(X))


def test_nested_parameters_reach_the_builder(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), _clf())
    # A builder parameter given at construction is a plain parameter; any other
    # one is set through the ``model__`` route.
    pipe.set_params(kerasclassifier__hidden=(5, 7), kerasclassifier__model__dropout=0.1)
    pipe.fit(X, y)
    model = pipe[-1].model_
    dense_widths = [
        layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)
    ]
    assert dense_widths == [5, 7, 3]
    assert any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)


def test_cross_validation_in_parallel_processes(iris):
    X, y = iris
    scores = cross_val_score(_clf(random_state=0), X, y, cv=2, n_jobs=2)
    assert scores.shape == (2,)
    # Seeded fits in worker processes give what they give in this one.
    parallel = cross_val_predict(
        _clf(random_state=0), X, y, cv=2, n_jobs=2, method="predict_proba"
    )
    sequential = cross_val_predict(
        _clf(random_state=0), X, y, cv=2, method="predict_proba"
    )
    np.testing.assert_array_equal(parallel, sequential)


def _builder_with_meta(meta, hidden_units=6):
    # scikeras style: the function builds from ``meta`` and compiles itself.
    model = keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Dense(hidden_units, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_accepts_a_scikeras_style_builder(iris):
    X, y = iris
    clf = KerasClassifier(_builder_with_meta, hidden_units=4, epochs=1).fit(X, y)
    assert clf.model_.layers[0].units == 4
    assert clf.predict_proba(X).shape == (150, 3)


def _compiled_model(with_lambda=False):
    layers = [keras.Input((4,))]
    if with_lambda:
        layers.append(keras.layers.Lambda(lambda t: t * 2.0))
    layers.append(keras.layers.Dense(3, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_given_keras_model_is_copied_not_trained(iris):
    X, y = iris
    model = _compiled_model()
    before = [w.copy() for w in model.get_weights()]
    clf = KerasClassifier(model, epochs=2, random_state=0).fit(X, y)
    for start, now in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(start, now)
    assert clf.model_ is not model
    first = clf.predict_proba(X)
    # A second fit starts from the given weights again, not from the first fit's.
    np.testing.assert_array_equal(clf.fit(X, y).predict_proba(X), first)


def test_model_with_lambda_layer_round_trips(iris):
    # scikeras's process-wide pickling patch reloads in safe mode, which refuses
    # Lambda layers; skstack leaves Keras's own pickling in place.
    X, y = iris
    clf = KerasClassifier(_compiled_model(with_lambda=True), epochs=1).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X))


def test_sparse_input_in_every_layout(iris):
    X, y = iris
    for layout in (sparse.csr_array, sparse.csc_array, sparse.coo_matrix):
        proba = _clf(epochs=1).fit(layout(X), y).predict_proba(layout(X))
        assert proba.shape == (150, 3)


def test_column_vector_labels_warn_and_are_ravelled(iris):
    X, y = iris
    with pytest.warns(DataConversionWarning):
        clf = _clf(epochs=1).fit(X, y.reshape(-1, 1))
    assert clf.predict(X).shape == (150,)


def test_clear_errors_for_missing_target_and_wrong_width(iris):
    X, y = iris
    with pytest.raises(ValueError, match="KerasClassifier requires y to be passed"):
        _clf().fit(X, None)
    clf = _clf(epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but KerasClassifier is"):
        clf.predict(X[:, :3])


def test_failed_refit_keeps_the_previous_fit(iris):
    X, y = iris
    clf = _clf(random_state=0).fit(X, y)
    before = clf.predict_proba(X)
    clf.set_params(model__dropout=1.0)  # dense_model refuses it while building
    fitted_names = set(vars(clf))
    with pytest.raises(ValueError, match="dropout must be in"):
        clf.fit(X[:, :3], y)
    assert set(vars(clf)) == fitted_names
    assert clf.n_features_in_ == 4
    np.testing.assert_array_equal(clf.predict_proba(X), before)


def test_failed_first_fit_leaves_nothing_fitted(iris):
    X, y = iris
    clf = _clf(model__dropout=1.0)
    with pytest.raises(ValueError, match="dropout must be in"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    assert not [name for name in vars(clf) if name.endswith("_")]


def test_failed_partial_fit_keeps_the_previous_fit(iris):
    # scikeras sets classes_ from ``classes`` before it checks X, so without the
    # restore this would leave four classes beside a three-class model.
    X, y = iris
    clf = _clf(random_state=0).fit(X, y)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match="X has 3 features"):
        clf.partial_fit(X[:, :3], y, classes=np.arange(4))
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    np.testing.assert_array_equal(clf.predict_proba(X), before)


def test_augmentation_acts_in_training_only(iris):
    X, y = iris
    clf = _clf(augmentation=[keras.layers.GaussianNoise(1.0)], random_state=0)
    clf.fit(X, y)
    network = clf.model_.layers[-1]
    assert clf.model_.get_layer("augmentation") is not None
    np.testing.assert_allclose(
        clf.predict_proba(X),
        keras.ops.convert_to_numpy(network(X.astype("float32"))),
        rtol=1e-5,
    )
    noisy = clf.model_.get_layer("augmentation")(X.astype("float32"), training=True)
    assert not np.allclose(keras.ops.convert_to_numpy(noisy), X)
    # The layer given as a parameter is copied per fit, never used itself.
    assert clf.model_.get_layer("augmentation").layers[0] is not clf.augmentation[0]
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_small_inputs_predict_by_calling_the_model_directly(iris, monkeypatch):
    X, y = iris
    clf = KerasClassifier(dense_model, hidden=(8,), epochs=2, random_state=0).fit(X, y)
    batched = clf.model_.predict(X, verbose=0)
    calls = []
    real_predict = clf.model_.predict

    def counting_predict(*args, **kwargs):
        calls.append(1)
        return real_predict(*args, **kwargs)

    monkeypatch.setattr(clf.model_, "predict", counting_predict)
    np.testing.assert_allclose(clf.predict_proba(X), batched, rtol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X[:1]), batched[:1], rtol=1e-6)
    assert clf.predict(X[:1]).shape == (1,)
    assert calls == []
    # Predict arguments take Keras's batched path, with the same result.
    np.testing.assert_allclose(clf.predict_proba(X, batch_size=7), batched, rtol=1e-6)
    assert calls == [1]


def test_large_inputs_predict_in_chunks_with_the_same_outputs(monkeypatch):
    from skstack.keras import _fast_predict

    rng = np.random.RandomState(0)
    X, y = rng.rand(300, 4), rng.rand(300)
    reg = KerasRegressor(dense_model, epochs=1, random_state=0).fit(X, y)
    direct = reg.predict(X)
    monkeypatch.setattr(_fast_predict, "FAST_PREDICT_MAX_VALUES", 100)
    np.testing.assert_allclose(reg.predict(X), direct, rtol=1e-6)


def test_seeded_fit_ignores_other_threads_drawing_from_python_random(iris):
    # A Dask worker's event loop draws from Python's global ``random`` while a
    # task trains; Keras took its initializers' seeds from the same generator.
    import threading

    X, y = iris

    def fitted():
        clf = KerasClassifier(dense_model, hidden=(8,), epochs=2, random_state=3)
        return clf.fit(X, y).predict_proba(X)

    quiet = fitted()
    stop = threading.Event()

    def draw():
        while not stop.is_set():
            random.random()

    drawer = threading.Thread(target=draw)
    drawer.start()
    try:
        noisy = [fitted() for _ in range(3)]
    finally:
        stop.set()
        drawer.join()
    for probabilities in noisy:
        np.testing.assert_array_equal(probabilities, quiet)


def test_layers_made_in_other_threads_take_no_seed_from_a_seeded_fit():
    # Keras seeds unseeded initializers from a module-level ``random``: a
    # stack building its prediction graph beside a seeded fit took that fit's
    # draws, and the fit's next layer started from other weights.
    import threading

    from skstack.keras._scikeras import keras_seed

    def initializer_seeds(beside=None):
        with keras_seed(0):
            first = keras.layers.Dense(2).kernel_initializer.seed
            if beside is not None:
                thread = threading.Thread(target=beside)
                thread.start()
                thread.join()
            second = keras.layers.Dense(2).kernel_initializer.seed
        return first, second

    alone = initializer_seeds()
    made = []
    assert initializer_seeds(lambda: made.append(keras.layers.Dense(2))) == alone
    random.seed(5)
    unseeded = keras.layers.Dense(2).kernel_initializer.seed
    random.seed(5)
    assert made[0].kernel_initializer.seed != alone[1]
    assert keras.layers.Dense(2).kernel_initializer.seed == unseeded


def test_seeded_fits_in_threads_give_the_models_fitted_alone(iris):
    # The seeding swaps process-wide generators: threads take turns holding them.
    from concurrent.futures import ThreadPoolExecutor

    X, y = iris

    def fitted(seed):
        model = _clf(hidden=(8,), epochs=3, random_state=seed, shuffle=True)
        return model.fit(X, y).predict_proba(X)

    alone = [fitted(seed) for seed in (1, 2, 3, 4)]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(fitted, (1, 2, 3, 4)))
    for expected, got in zip(alone, threaded, strict=True):
        np.testing.assert_array_equal(got, expected)


class _FailsWhenArmed(keras.callbacks.Callback):
    """Once armed, a fit fails after its first epoch changed the weights."""

    armed = False

    def on_epoch_end(self, epoch, logs=None):
        if self.armed:
            raise RuntimeError("failed after an epoch")


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_a_failed_fit_on_a_trained_model_restores_its_weights(iris, how):
    X, y = iris
    failing = _FailsWhenArmed()
    clf = _clf(warm_start=how == "warm_start", callbacks=[failing], random_state=0)
    clf.fit(X, y)
    weights = [w.copy() for w in clf.model_.get_weights()]
    optimizer_state = [v.numpy().copy() for v in clf.model_.optimizer.variables]
    history, proba = dict(clf.history_), clf.predict_proba(X)
    failing.armed = True
    with pytest.raises(RuntimeError, match="failed after an epoch"):
        clf.fit(X, y) if how == "warm_start" else clf.partial_fit(X, y)
    for before, after in zip(weights, clf.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(after, before)
    for before, after in zip(
        optimizer_state, clf.model_.optimizer.variables, strict=True
    ):
        np.testing.assert_array_equal(after.numpy(), before)
    assert clf.history_ == history
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"epochs": -1}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"shuffle": "yes"}, "shuffle"),
        ({"validation_split": 1.5}, "validation_split"),
        ({"class_weight": "even"}, "class_weight"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_wrapper_parameters_are_validated(iris, params, name):
    X, y = iris
    clf = _clf(**params)
    with pytest.raises(ValueError, match=f"'{name}' parameter of KerasClassifier"):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")
    _clf(batch_size=-1, epochs=1).fit(X, y)  # -1: all rows in one batch


def test_the_mixins_all_run_in_any_order_of_the_bases(iris):
    """Each feature is a mixin of KerasWrapperHooks whose hooks call super():
    listed in another order, even after the fixes, every feature still acts."""
    from skstack.keras._fast_predict import FastPredictMixin
    from skstack.keras._fused import FoldFusionMixin
    from skstack.keras._scikeras import ScikerasClassifierFixes
    from skstack.keras._training import AugmentationMixin, EarlyStoppingMixin
    from skstack.keras._wrappers import _ScikerasClassifier as scikeras_classifier

    X, y = iris
    orders = [
        (FastPredictMixin, AugmentationMixin, EarlyStoppingMixin, FoldFusionMixin),
        (ScikerasClassifierFixes, EarlyStoppingMixin, FastPredictMixin),
    ]
    for mixins in orders:
        mixins = list(mixins)
        if ScikerasClassifierFixes in mixins:
            mixins.append(AugmentationMixin)
            bases = (*mixins, scikeras_classifier)
        else:
            bases = (*mixins, ScikerasClassifierFixes, scikeras_classifier)
        # KerasClassifier's __init__ and documentation, on the reordered class.
        cls = type(
            "Reordered",
            bases,
            {
                "__init__": KerasClassifier.__init__,
                "_parameter_constraints": KerasClassifier._parameter_constraints,
            },
        )
        clf = cls(
            dense_model,
            hidden=(8,),
            epochs=4,
            augmentation=[keras.layers.GaussianNoise(0.1)],
            early_stopping=True,
            n_iter_no_change=1,
            random_state=0,
        ).fit(X, y)
        assert clf.model_.get_layer("augmentation") is not None  # augmentation
        assert 1 <= clf.best_epoch_ <= 4  # early stopping
        assert len(clf.validation_rows_) == 15
        reference = KerasClassifier(**clf.get_params()).fit(X, y)
        # Fast predictions (float64 head): the same numbers as the wrapper's.
        np.testing.assert_array_equal(
            clf.predict_proba(X[:3]), reference.predict_proba(X[:3])
        )


def test_a_wrapper_listing_scikeras_before_the_mixins_is_refused():
    from skstack.keras._scikeras import ScikerasClassifierFixes
    from skstack.keras._wrappers import _ScikerasClassifier as scikeras_classifier

    with pytest.raises(TypeError, match="must come before scikeras's wrapper"):
        type("Wrong", (scikeras_classifier, ScikerasClassifierFixes), {})


def test_build_fn_is_scikeras_deprecated_name_of_model(iris):
    X, y = iris
    clf = KerasClassifier(build_fn=dense_model, hidden=(4,), epochs=1)
    with pytest.warns(UserWarning, match="``build_fn`` will be renamed to ``model``"):
        clf.fit(X, y)
    assert clf.predict(X[:2]).shape == (2,)
    assert clone(clf).get_params()["build_fn"] is dense_model


def test_predict_proba_with_arguments_after_initialize_and_a_warm_fit(iris):
    X, y = iris
    clf = KerasClassifier(dense_model, hidden=(4,), warm_start=True, random_state=0)
    clf.initialize(X, y)
    clf.fit(X, y, epochs=1)
    proba = clf.predict_proba(X, batch_size=16)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def _one_hot_network(meta):
    """A network as Keras users compile it: softmax over every class, one-hot loss."""
    inputs = keras.Input((meta["n_features_in_"],))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "categorical_crossentropy")
    return model


@pytest.mark.parametrize("n_classes", [2, 3])
def test_a_network_compiled_for_one_hot_labels_gets_them(iris, n_classes):
    X, y = iris
    rows = y < n_classes
    X, y = X[rows], np.array(["setosa", "versicolor", "virginica"])[y[rows]]
    model = KerasClassifier(_one_hot_network, epochs=3, random_state=0).fit(X, y)
    assert model.n_classes_ == n_classes
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert set(model.predict(X)) <= set(y)
    assert np.array_equal(pickle.loads(pickle.dumps(model)).predict_proba(X), proba)
