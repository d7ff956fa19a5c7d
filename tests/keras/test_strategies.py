"""Fold fusion of pipelines ending in a Keras wrapper (skstack/ensemble/_tasks.py)."""

import keras
import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.keras import KerasClassifier, KerasRegressor, dense_model
from skstack.keras._strategies import fit_pipeline_folds


def _residual_model(meta):
    """Not a plain chain of Dense layers: trained as parallel networks."""
    inputs = keras.Input((meta["n_features_in_"],))
    hidden = keras.layers.Dense(meta["n_features_in_"], activation="relu")(inputs)
    merged = keras.layers.Add()([inputs, hidden])
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(merged)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _dense(**params):
    params = {"hidden": (8,), "epochs": 3, "random_state": 0, **params}
    return KerasClassifier(dense_model, **params)


def _residual(**params):
    params = {"epochs": 3, "random_state": 0, **params}
    return KerasClassifier(_residual_model, **params)


NETWORKS = [
    pytest.param(_dense, id="vectorized"),
    pytest.param(_residual, id="parallel"),
]


def _weights(pipeline):
    return [w.copy() for w in pipeline[-1].model_.get_weights()]


def _same(first, second):
    return all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def _encoded_pipeline(wrapper):
    columns = ColumnTransformer(
        [
            ("numbers", StandardScaler(), ["size", "age"]),
            ("colour", OneHotEncoder(handle_unknown="ignore"), ["colour"]),
        ]
    )
    return make_pipeline(columns, wrapper)


@pytest.mark.parametrize("network", NETWORKS)
def test_each_copy_preprocesses_with_its_own_training_rows(iris, network):
    X, y = iris
    X = X * 3 + 1
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    pipeline = make_pipeline(StandardScaler(), MinMaxScaler(), network())
    folds, full = fit_pipeline_folds(pipeline, X, y, splits, {}, refit=True)
    for (train, _), fold in zip(splits, folds, strict=True):
        alone = StandardScaler().fit(X[train])
        np.testing.assert_array_equal(fold[0].mean_, alone.mean_)
        np.testing.assert_array_equal(fold[0].scale_, alone.scale_)
        scaled = alone.transform(X[train])
        np.testing.assert_array_equal(fold[1].data_min_, scaled.min(axis=0))
    np.testing.assert_array_equal(full[0].mean_, X.mean(axis=0))
    assert pipeline[0] is not folds[0][0]  # the given pipeline stays unfitted
    assert not hasattr(pipeline[0], "mean_")


@pytest.mark.parametrize("network", NETWORKS)
def test_a_held_out_row_changed_after_the_split_changes_no_copy_weight(iris, network):
    X, y = iris
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    test0 = splits[0][1]
    pipeline = make_pipeline(StandardScaler(), network())
    folds, full = fit_pipeline_folds(pipeline, X, y, splits, {}, refit=True)
    X_changed, y_changed = X.copy(), y.copy()
    X_changed[test0] = X[test0] * 5 + 3
    y_changed[test0] = (y[test0] + 1) % 3
    folds2, full2 = fit_pipeline_folds(
        pipeline, X_changed, y_changed, splits, {}, refit=True
    )
    np.testing.assert_array_equal(folds[0][0].mean_, folds2[0][0].mean_)
    assert _same(_weights(folds[0]), _weights(folds2[0]))
    assert not _same(_weights(folds[1]), _weights(folds2[1]))
    assert not np.array_equal(full[0].mean_, full2[0].mean_)


@pytest.mark.parametrize("network", NETWORKS)
def test_fused_pipelines_match_fold_by_fold_fits_in_full_batch(network, mixed_table):
    # One batch of all rows, no shuffling: each copy takes a separate fit's
    # steps on its own rows, even when the copies' one-hot widths differ
    # (the rare colour is missing from some folds' training rows).
    X, y = mixed_table()
    splits = list(KFold(3, shuffle=False).split(X))
    params = {"batch_size": -1, "shuffle": False, "epochs": 5, "optimizer": "sgd"}
    pipeline = _encoded_pipeline(network(**params))
    folds, full = fit_pipeline_folds(pipeline, X, y, splits, {}, refit=True)
    widths = {fold[-1].n_features_in_ for fold in folds}
    assert len(widths) == 2
    for (train, _), fused in zip(splits, folds, strict=True):
        alone = _encoded_pipeline(network(**params)).fit(X.iloc[train], y[train])
        np.testing.assert_allclose(
            fused.predict_proba(X), alone.predict_proba(X), rtol=1e-4, atol=1e-5
        )
    alone = _encoded_pipeline(network(**params)).fit(X, y)
    np.testing.assert_allclose(
        full.predict_proba(X), alone.predict_proba(X), rtol=1e-4, atol=1e-5
    )


def test_pipeline_members_are_fused_by_default_on_a_dataframe(mixed_table):
    X, y = mixed_table(200)
    members = [
        ("mlp", _encoded_pipeline(_dense(epochs=30, optimizer__learning_rate=0.01))),
        ("lr", _encoded_pipeline(LogisticRegression())),
    ]
    stack = KerasStackingClassifier(members, cv=3, random_state=0).fit(X, y)
    assert stack.fused_members_ == ["mlp"]
    fitted = stack.named_estimators_["mlp"]
    assert fitted[0].feature_names_in_.tolist() == ["size", "age", "colour"]
    assert stack.fold_scores_["mlp"].shape == (1, 3)
    assert stack.score(X, y) > 0.6
    unfused = KerasStackingClassifier(
        members, cv=3, random_state=0, fuse_folds=False
    ).fit(X, y)
    assert unfused.fused_members_ == []
    # Same meaning, other training order: close out-of-fold scores.
    assert (
        abs(stack.fold_scores_["mlp"].mean() - unfused.fold_scores_["mlp"].mean()) < 0.1
    )


def test_fused_pipeline_fold_models_are_kept_for_averaging(diabetes):
    X, y = diabetes
    member = make_pipeline(
        StandardScaler(), KerasRegressor(dense_model, hidden=(8,), epochs=3)
    )
    stack = KerasStackingRegressor(
        [("mlp", member)], cv=3, fold_models="average", random_state=0
    ).fit(X, y)
    assert stack.fused_members_ == ["mlp"]
    fold_pipelines = stack.named_estimators_["mlp"]
    assert len(fold_pipelines) == 3
    assert all(fold[0].n_samples_seen_ < len(X) for fold in fold_pipelines)


def test_sample_weight_reaches_the_fused_pipeline(iris):
    X, y = iris
    member = make_pipeline(StandardScaler(), _dense())
    weights = np.where(y == 0, 5.0, 1.0)
    stack = KerasStackingClassifier([("mlp", member)], cv=3, random_state=0)
    weighted = stack.fit(X, y, sample_weight=weights).oof_predictions_
    assert stack.fused_members_ == ["mlp"]
    plain = stack.fit(X, y).oof_predictions_
    assert not np.allclose(weighted, plain)


def test_fuse_folds_true_names_the_pipeline_step_that_blocks_it(iris):
    X, y = iris
    logged = _dense(callbacks=[keras.callbacks.LambdaCallback()])
    member = make_pipeline(StandardScaler(), logged)
    stack = KerasStackingClassifier([("mlp", member)], cv=3, fuse_folds=True)
    with pytest.raises(ValueError, match="'mlp'.*'kerasclassifier'.*LambdaCallback"):
        stack.fit(X, y)
    stack.set_params(fuse_folds="auto").fit(X, y)
    assert stack.fused_members_ == []


def test_a_pipeline_not_ending_in_a_keras_wrapper_is_not_fused(iris):
    X, y = iris
    member = make_pipeline(StandardScaler(), LogisticRegression())
    stack = KerasStackingClassifier([("lr", member)], cv=3, fuse_folds=True)
    assert stack.fit(X, y).fused_members_ == []
