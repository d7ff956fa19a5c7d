"""KerasRegressor's ``scale_target``: networks train on standardized targets."""

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skstack
from skstack import KerasStackingRegressor
from skstack.keras import KerasRegressor, dense_model
from skstack.keras._targets import StandardTargetEncoder


@pytest.fixture(scope="module")
def raw_diabetes():
    """Diabetes with its target as it ships: mean 152, standard deviation 77."""
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _reg(model=dense_model, **params):
    return KerasRegressor(model, **{"epochs": 3, "random_state": 0, **params})


def _poisson_model(meta, compile_kwargs):
    model = dense_model(meta, compile_kwargs, hidden=(8,))
    model.compile(compile_kwargs["optimizer"], "poisson")
    return model


def _residual_model(meta):
    """Not a chain of Dense layers: its fused copies train side by side."""
    inputs = keras.Input((meta["n_features_in_"],))
    hidden = keras.layers.Dense(meta["n_features_in_"], activation="relu")(inputs)
    outputs = keras.layers.Dense(1)(keras.layers.Add()([inputs, hidden]))
    model = keras.Model(inputs, outputs)
    model.compile("rmsprop", "mse")
    return model


def test_a_regressor_on_a_raw_target_learns_as_scikit_learn_expects(raw_diabetes):
    # The case: R2 -3.9 in 20 epochs on the target as it ships.
    X, y = raw_diabetes
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scores = {}
    for scale_target in ("auto", False):
        reg = KerasRegressor(
            dense_model, epochs=20, random_state=0, scale_target=scale_target
        )
        scores[scale_target] = r2_score(
            y_test, reg.fit(X_train, y_train).predict(X_test)
        )
    assert scores["auto"] > 0.25
    assert scores[False] < 0


def test_the_network_trains_on_standardized_targets_and_predicts_in_their_units(
    raw_diabetes,
):
    X, y = raw_diabetes
    reg = _reg().fit(X, y)
    encoder = reg.target_encoder_
    assert isinstance(encoder, StandardTargetEncoder)
    np.testing.assert_allclose(encoder.mean_, [y.mean()])
    np.testing.assert_allclose(encoder.scale_, [y.std()])
    raw = keras.ops.convert_to_numpy(reg.model_(X[:5].astype("float32")))
    expected = raw.astype(np.float64).ravel() * y.std() + y.mean()
    np.testing.assert_allclose(reg.predict(X[:5]), expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("scale_target", "build", "scaled"),
    [
        ("auto", dense_model, True),
        ("auto", _poisson_model, False),  # Poisson needs the target as it is
        (True, _poisson_model, True),
        (False, dense_model, False),
    ],
)
def test_scale_target_follows_the_compiled_loss(
    raw_diabetes, scale_target, build, scaled
):
    X, y = raw_diabetes
    reg = _reg(model=build, scale_target=scale_target, epochs=1).fit(X, y)
    assert isinstance(reg.target_encoder_, StandardTargetEncoder) is scaled


def test_each_output_and_a_constant_one_are_standardized_alone(raw_diabetes):
    X, y = raw_diabetes
    targets = np.column_stack([y, y / 100 - 3, np.full(len(y), 7.0)])
    reg = _reg().fit(X, targets)
    np.testing.assert_allclose(reg.target_encoder_.mean_, targets.mean(axis=0))
    np.testing.assert_allclose(reg.target_encoder_.scale_[:2], targets[:, :2].std(0))
    assert reg.target_encoder_.scale_[2] == 1.0  # only centred
    assert reg.predict(X[:4]).shape == (4, 3)


def test_validation_data_targets_are_standardized_too(raw_diabetes):
    X, y = raw_diabetes
    reg = _reg(fit__validation_data=(X[:50], y[:50])).fit(X, y)
    # In standardized units, not in the target's (about 77 ** 2 = 6,000).
    assert reg.history_["val_loss"][-1] < 5


@pytest.mark.parametrize("build", [dense_model, _residual_model])
def test_fused_copies_standardize_by_their_own_rows_as_separate_fits(
    raw_diabetes, build
):
    X, y = raw_diabetes[0][:240], raw_diabetes[1][:240]
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    params = {"batch_size": -1, "shuffle": False, "epochs": 4, "optimizer": "sgd"}
    make = lambda: _reg(model=build, **params)  # noqa: E731
    folds, full = make().fit_folds(X, y, splits)
    np.testing.assert_allclose(full.target_encoder_.mean_, [y.mean()])
    for (train, _), fused in zip(splits, folds, strict=True):
        np.testing.assert_allclose(fused.target_encoder_.mean_, [y[train].mean()])
        alone = make().fit(X[train], y[train])
        np.testing.assert_allclose(fused.predict(X), alone.predict(X), rtol=1e-4)


def test_to_keras_a_stack_and_an_archive_give_the_targets_units(raw_diabetes, tmp_path):
    X, y = raw_diabetes
    member = make_pipeline(StandardScaler(), _reg(epochs=5))
    stack = KerasStackingRegressor(
        [("mlp", member), ("ridge", RidgeCV())], cv=3, random_state=0
    ).fit(X, y)
    assert stack.fused_members_ == ["mlp"]
    assert r2_score(y, stack.predict(X)) > 0.3
    network = skstack.to_keras(stack.named_estimators_["mlp"])
    np.testing.assert_allclose(
        np.ravel(network.predict(X[:7], verbose=0)),
        stack.named_estimators_["mlp"].predict(X[:7]),
        rtol=1e-6,  # the graph scales X in float32
    )
    skstack.save(stack, tmp_path / "stack.skstack")
    loaded = skstack.load(tmp_path / "stack.skstack")
    np.testing.assert_array_equal(loaded.predict(X), stack.predict(X))


def test_scale_target_is_a_parameter_clone_and_grid_search_see(raw_diabetes):
    reg = _reg(scale_target=False)
    assert clone(reg).get_params()["scale_target"] is False
    with pytest.raises(ValueError, match="scale_target"):
        _reg(scale_target="yes").fit(*raw_diabetes)


def test_a_transformed_target_regressor_around_a_network_is_fused(raw_diabetes):
    # Each fused copy's transformer is fitted on its own training rows, so
    # the stack equals its fold-by-fold fit (full-batch SGD: the same steps).
    X, y = raw_diabetes
    network = KerasRegressor(
        dense_model, epochs=5, batch_size=-1, shuffle=False, optimizer="sgd"
    )
    members = [
        ("log", TransformedTargetRegressor(network, func=np.log, inverse_func=np.exp)),
        (
            "scaled",
            TransformedTargetRegressor(
                make_pipeline(StandardScaler(), network), transformer=StandardScaler()
            ),
        ),
    ]
    stack = KerasStackingRegressor(
        members, cv=KFold(3), fold_models="average", random_state=0
    )
    fused = clone(stack).fit(X, y)
    alone = clone(stack).set_params(fuse_folds=False).fit(X, y)
    assert fused.fused_members_ == ["log", "scaled"]
    assert alone.fused_members_ == []
    np.testing.assert_allclose(
        fused.oof_predictions_, alone.oof_predictions_, rtol=1e-5
    )
    np.testing.assert_allclose(fused.predict(X), alone.predict(X), rtol=1e-5)
    for (train, _), model in zip(
        KFold(3).split(X), fused.named_estimators_["scaled"], strict=True
    ):
        assert isinstance(model, TransformedTargetRegressor)
        np.testing.assert_allclose(model.transformer_.mean_, [y[train].mean()])


def _extractor(input_shape):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(16, activation="relu")(inputs))


@pytest.mark.parametrize("composed", ["chain", "fusion"])
def test_chains_and_fusions_standardize_their_targets_too(raw_diabetes, composed):
    from skstack.compose import KerasChainRegressor, KerasFusionRegressor

    X, y = raw_diabetes
    if composed == "chain":
        make = lambda **p: KerasChainRegressor([_extractor], **p)  # noqa: E731
    else:
        make = lambda **p: KerasFusionRegressor(  # noqa: E731
            [("a", _extractor), ("b", _extractor)], **p
        )
    scores = {}
    for scale_target in ("auto", False):
        model = make(epochs=10, random_state=0, scale_target=scale_target).fit(X, y)
        assert isinstance(model.target_encoder_, StandardTargetEncoder) is bool(
            scale_target
        )
        scores[scale_target] = r2_score(y, model.predict(X))
    assert scores["auto"] > 0.3 > scores[False]
    assert clone(make(scale_target=False)).get_params()["scale_target"] is False
    network = skstack.to_keras(model.set_params(scale_target="auto").fit(X, y))
    np.testing.assert_allclose(
        np.ravel(network.predict(X[:5], verbose=0)), model.predict(X[:5]), rtol=1e-6
    )
