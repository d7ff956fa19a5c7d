"""KerasStackingClassifier with Keras members and the default meta-learner."""

import pickle

import joblib
import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skstack import Flatten, KerasStackingClassifier
from skstack.keras import (
    KerasClassifier,
    LinearMetaClassifier,
    dense_model,
    make_meta_learner,
)


def _mlp(**params):
    return KerasClassifier(dense_model, **{"hidden": (8,), "epochs": 3, **params})


def _keras_stack(**params):
    members = [("mlp", _mlp()), ("lr", LogisticRegression())]
    return KerasStackingClassifier(members, **{"cv": 2, "random_state": 0, **params})


@pytest.fixture(scope="module")
def fitted_stack(iris):
    X, y = iris
    return _keras_stack().fit(X, y)


def _output_layer(wrapper):
    layer = wrapper.model_.layers[-1]
    return layer.units, layer.activation.__name__


def test_default_meta_learner_is_a_linear_keras_layer(fitted_stack, binary):
    assert isinstance(fitted_stack.final_estimator_, LinearMetaClassifier)
    assert _output_layer(fitted_stack.final_estimator_) == (3, "softmax")
    # every column of a stack of probabilities is taken as a probability
    assert fitted_stack.final_estimator_.proba_columns_.all()
    X, y = binary
    stack = KerasStackingClassifier([("lr", LogisticRegression())], cv=2).fit(X, y)
    assert _output_layer(stack.final_estimator_) == (1, "sigmoid")
    assert stack.score(X, y) > 0.9


def test_methods_follow_the_meta_learner(fitted_stack, iris):
    X, _ = iris
    assert hasattr(fitted_stack, "decision_function")
    dense = _keras_stack(final_estimator=make_meta_learner(kind="dense"))
    assert not hasattr(dense, "decision_function")
    proba = fitted_stack.predict_proba(X[:1])
    assert proba.shape == (1, 3)
    np.testing.assert_allclose(proba.sum(), 1.0, rtol=1e-5)
    linear = _keras_stack(final_estimator=LogisticRegression())
    assert hasattr(linear, "decision_function")


def test_same_random_state_same_predictions(fitted_stack, iris):
    X, y = iris
    again = clone(fitted_stack).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), fitted_stack.predict_proba(X))
    np.testing.assert_array_equal(again.oof_predictions_, fitted_stack.oof_predictions_)


def test_n_jobs_2_gives_the_sequential_result(fitted_stack, iris):
    X, y = iris
    parallel = clone(fitted_stack).set_params(n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(
        parallel.oof_predictions_, fitted_stack.oof_predictions_
    )
    np.testing.assert_array_equal(
        parallel.predict_proba(X), fitted_stack.predict_proba(X)
    )


def test_joblib_and_pickle_round_trips_predict_identically(
    fitted_stack, iris, tmp_path
):
    X, _ = iris
    joblib.dump(fitted_stack, tmp_path / "stack.joblib")
    loaded = joblib.load(tmp_path / "stack.joblib")
    np.testing.assert_array_equal(
        loaded.predict_proba(X), fitted_stack.predict_proba(X)
    )
    unpickled = pickle.loads(pickle.dumps(fitted_stack))
    np.testing.assert_array_equal(unpickled.predict(X), fitted_stack.predict(X))


def test_inside_a_pipeline_and_cross_val_score(iris):
    X, y = iris
    pipe = make_pipeline(
        StandardScaler(), _keras_stack(final_estimator=LogisticRegression())
    )
    scores = cross_val_score(pipe, X * 10 + 3, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8


def test_grid_search_over_a_member_and_the_meta_learner(iris):
    X, y = iris
    stack = _keras_stack(final_estimator=_mlp(hidden=(4,)))
    grid = {"mlp__hidden": [(4,), (8,)], "final_estimator__epochs": [1, 3]}
    search = GridSearchCV(stack, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    best = search.best_estimator_
    assert best.named_estimators_.mlp.hidden == search.best_params_["mlp__hidden"]
    assert (
        best.final_estimator_.epochs == search.best_params_["final_estimator__epochs"]
    )


def test_keras_member_class_missing_from_fold_is_aligned(iris):
    X, y = iris
    stack = KerasStackingClassifier(
        [("mlp", _mlp())], final_estimator=LogisticRegression(), cv=KFold(3)
    ).fit(X, y)
    # The first fold trained on classes 1 and 2 only: class 0 gets probability 0.
    assert np.all(stack.oof_predictions_[:50, 0] == 0.0)
    # A copy in a fused graph would know every class: the member is not fused.
    assert stack.fused_members_ == []
    np.testing.assert_allclose(stack.oof_predictions_.sum(axis=1), 1.0, rtol=1e-5)


def _small_cnn(meta, compile_kwargs):
    inputs = keras.Input(shape=meta["X_shape_"][1:])
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    return model


@pytest.fixture(scope="module")
def digit_images():
    X, y = load_digits(return_X_y=True)
    return (X[:400] / 16.0).reshape(-1, 8, 8, 1), y[:400]


def test_cnn_and_flattened_sklearn_model_stack_on_images(digit_images):
    X, y = digit_images
    stack = KerasStackingClassifier(
        [
            ("cnn", KerasClassifier(_small_cnn, epochs=3)),
            ("lr", make_pipeline(Flatten(), LogisticRegression(max_iter=500))),
        ],
        final_estimator=LogisticRegression(),
        cv=2,
        random_state=0,
    ).fit(X, y)
    assert stack.oof_predictions_.shape == (400, 20)
    assert stack.predict(X[:3]).shape == (3,)
    assert stack.score(X, y) > 0.8
    with pytest.raises(ValueError, match="samples of shape \\(8, 4, 2\\)"):
        stack.predict(X.reshape(-1, 8, 4, 2))


def test_two_d_only_member_given_images_is_named(digit_images):
    X, y = digit_images
    stack = KerasStackingClassifier(
        [("lr", LogisticRegression())], final_estimator=LogisticRegression(), cv=2
    )
    with pytest.raises(ValueError, match="'lr' failed .*Flatten"):
        stack.fit(X, y)


def test_member_that_is_not_an_estimator_is_named(iris):
    X, y = iris
    stack = KerasStackingClassifier([("lr", LogisticRegression()), ("oops", "lr")])
    with pytest.raises(TypeError, match="'oops' is not a scikit-learn estimator"):
        stack.fit(X, y)


def test_default_stack_fuses_its_keras_members(iris):
    X, y = iris
    stack = KerasStackingClassifier([("mlp", _mlp()), ("lr", LogisticRegression())])
    assert stack.fuse_folds == "auto"
    stack.fit(X, y)
    assert stack.fused_members_ == ["mlp"]
    assert stack.fold_scores_["mlp"].shape == (1, 5)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"fuse_folds": "never"}, "'fuse_folds' parameter"),
        ({"fuse_folds": None}, "'fuse_folds' parameter"),
        ({"passthrough": "no"}, "'passthrough' parameter"),
        ({"verbose": "x"}, "'verbose' parameter"),
        ({"n_jobs": 1.5}, "'n_jobs' parameter"),
        ({"n_repeats": 0}, "'n_repeats' parameter"),
        ({"fold_models": "mean"}, "'fold_models' parameter"),
        ({"stack_method": "proba"}, "'stack_method' parameter"),
        ({"final_estimator": "lr"}, "'final_estimator' parameter"),
        ({"cv": "five"}, "'cv' parameter"),
    ],
)
def test_parameters_are_validated_with_scikit_learns_messages(iris, params, message):
    X, y = iris
    stack = _keras_stack(**params)
    with pytest.raises(ValueError, match=message):  # InvalidParameterError
        stack.fit(X, y)
    assert not hasattr(stack, "estimators_")


def test_default_path_never_learns_a_fold_from_its_held_out_rows(iris):
    # Fold 0's held-out labels changed: its out-of-fold predictions come from the
    # copy trained without those rows, so they stay bit-identical; the other
    # folds' copies train on those rows, so theirs change.
    X, y = iris
    cv = KFold(3, shuffle=True, random_state=0)
    test0 = next(cv.split(X))[1]
    others = np.setdiff1d(np.arange(len(y)), test0)
    members = [("mlp", _mlp(epochs=5, random_state=0))]
    first = KerasStackingClassifier(members, cv=cv, random_state=0).fit(X, y)
    y_changed = y.copy()
    y_changed[test0] = (y[test0] + 1) % 3
    second = KerasStackingClassifier(members, cv=cv, random_state=0)
    second.fit(X, y_changed)
    assert first.fused_members_ == second.fused_members_ == ["mlp"]
    np.testing.assert_array_equal(
        first.oof_predictions_[test0], second.oof_predictions_[test0]
    )
    assert not np.array_equal(
        first.oof_predictions_[others], second.oof_predictions_[others]
    )


def test_default_stack_passes_sparse_features_through(iris):
    from scipy import sparse

    X, y = iris
    members = [("lr", LogisticRegression(max_iter=500))]
    dense = KerasStackingClassifier(members, cv=3, passthrough=True).fit(X, y)
    stack = KerasStackingClassifier(members, cv=3, passthrough=True)
    stack.fit(sparse.csr_array(X), y)
    np.testing.assert_allclose(
        stack.predict_proba(sparse.csr_array(X)), dense.predict_proba(X), rtol=1e-6
    )
