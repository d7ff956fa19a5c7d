"""Fused copies' preprocessing in the graph (skstack/keras/_fused_inputs.py)."""

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    PolynomialFeatures,
    StandardScaler,
    TargetEncoder,
)

from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier, dense_model
from skstack.keras._fused_inputs import (
    ROWS_INPUT,
    CopyFeatures,
    graph_inputs,
    preprocessed_copies,
    raw_input,
)
from skstack.keras._strategies import fit_pipeline_folds


def _head():
    return ColumnTransformer(
        [
            ("numbers", StandardScaler(), ["size", "age"]),
            ("colour", OneHotEncoder(handle_unknown="ignore"), ["colour"]),
        ]
    )


def _heads_and_masks(X, y, head=_head):
    splits = list(KFold(3, shuffle=False).split(X))
    heads = [head().fit(X.iloc[train], y[train]) for train, _ in splits]
    heads.append(head().fit(X, y))
    masks = []
    for train, _ in splits:
        mask = np.zeros(len(X))
        mask[train] = 1
        masks.append(mask)
    masks.append(np.ones(len(X)))
    return splits, heads, masks


def _initialized(wrapper, features, y, n_copies):
    copies = [clone(wrapper) for _ in range(n_copies)]
    for index, model in enumerate(copies):
        model.initialize(features.stand_in(index), y)
    return copies


def test_text_goes_in_as_codes_of_its_sorted_values(mixed_table):
    X, y = mixed_table()
    _, heads, _ = _heads_and_masks(X, y)
    columns, vocabularies = raw_input(X, heads)
    assert set(columns) == {"size", "age", "colour"}
    assert vocabularies["colour"].tolist() == ["blue", "green", "red", "violet"]
    decoded = vocabularies["colour"][columns["colour"][:, 0].astype(int)]
    np.testing.assert_array_equal(decoded, X["colour"].to_numpy())
    assert columns["age"].dtype == np.float64


def test_each_copys_graph_features_are_its_transform_on_its_own_rows(mixed_table):
    X, y = mixed_table()
    _, heads, masks = _heads_and_masks(X, y)
    widths = [head.transform(X.iloc[:1]).shape[1] for head in heads]
    assert len(set(widths)) == 2  # the first fold's training rows lack violet
    columns, vocabularies = raw_input(X, heads)
    inputs = graph_inputs(X, vocabularies)
    features, rows = preprocessed_copies(heads, inputs, widths, "float32")
    graph = keras.Model({**inputs.used(), ROWS_INPUT: rows}, features)
    data = {**columns, ROWS_INPUT: np.column_stack(masks).astype("float32")}
    computed = keras.ops.convert_to_numpy(graph(data))
    assert computed.shape == (len(X), len(heads), max(widths))
    for index, (head, mask) in enumerate(zip(heads, masks, strict=True)):
        made = np.asarray(head.transform(X), dtype="float32")
        made[mask == 0] = 0  # rows a copy does not train on are zeroed
        own = computed[:, index, : widths[index]]
        np.testing.assert_allclose(own, made, rtol=1e-6, atol=1e-6)
        assert not computed[:, index, widths[index] :].any()  # padding


def test_a_plain_network_trains_on_graph_preprocessing(mixed_table):
    X, y = mixed_table()
    _, heads, masks = _heads_and_masks(X, y)
    features = CopyFeatures(X, heads, masks)
    wrapper = KerasClassifier(dense_model, hidden=(4,), epochs=1, random_state=0)
    built = features.in_graph(_initialized(wrapper, features, y, len(heads)))
    assert built is not None
    model, network, _, data = built
    assert set(data) == {"size", "age", "colour", ROWS_INPUT}  # no feature table
    assert network in model.layers


def test_preprocessing_without_a_keras_form_is_made_outside_the_graph(mixed_table):
    X, y = mixed_table()
    X = X[["size", "age"]]

    def head():
        return make_pipeline(StandardScaler(), PolynomialFeatures(2))

    splits, heads, masks = _heads_and_masks(X, y, head)
    features = CopyFeatures(X, heads, masks)
    wrapper = KerasClassifier(dense_model, hidden=(4,), epochs=1, random_state=0)
    copies = _initialized(wrapper, features, y, len(heads))
    assert features.in_graph(copies) is None
    made = features.encoded(copies, y)
    expected = heads[0].transform(X).astype("float32")
    expected[masks[0] == 0] = 0
    np.testing.assert_array_equal(made[0], expected)
    # ... and the fused pipeline still trains through them.
    pipeline = make_pipeline(head(), wrapper)
    folds, full = fit_pipeline_folds(pipeline, X, y, splits, {}, refit=True)
    assert len(folds) == 3 and full[-1].model_ is not None


@pytest.mark.parametrize("column", ["size", "colour"])
def test_missing_values_are_not_fed_raw(column, mixed_table):
    X, y = mixed_table()
    _, heads, _ = _heads_and_masks(X, y)
    missing = X.assign(**{column: X[column].where(X.index > 3)})  # NaN or None
    assert raw_input(missing, heads) is None


def test_text_mixed_with_other_values_is_not_fed_raw(mixed_table):
    X, y = mixed_table()
    _, heads, _ = _heads_and_masks(X, y)
    mixed = X.assign(colour=X["colour"].where(X.index > 3, 7))
    assert raw_input(mixed, heads) is None


def test_features_made_outside_the_graph_leave_the_callers_x_alone():
    # A passthrough head returns X itself; rows outside a copy's training
    # rows are zeroed in a copy of it, not in the caller's array.
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(60, 3)), np.arange(60) % 2
    before = X.copy()

    def residual(meta):  # not a plain dense network: trained side by side
        inputs = keras.Input((meta["n_features_in_"],))
        added = keras.layers.Add()([inputs, keras.layers.Dense(3)(inputs)])
        outputs = keras.layers.Dense(2, activation="softmax")(added)
        model = keras.Model(inputs, outputs)
        model.compile("adam", "sparse_categorical_crossentropy")
        return model

    wrapper = KerasClassifier(residual, epochs=1, random_state=0)
    pipeline = make_pipeline(FunctionTransformer(), wrapper)
    splits = list(KFold(3).split(X))
    folds, _ = fit_pipeline_folds(pipeline, X, y, splits, {}, refit=True)
    np.testing.assert_array_equal(X, before)
    assert len(folds) == 3


def test_a_target_encoder_keeps_a_pipeline_fold_by_fold(mixed_table):
    # A TargetEncoder's fit_transform cross-fits, so the features a
    # pipeline's fit gives its network are not transform's, on which fused
    # copies train: the member is fitted fold by fold, as scikit-learn would.
    X, y = mixed_table()
    network = KerasClassifier(dense_model, hidden=(8,), epochs=1)
    head = ColumnTransformer([("colour", TargetEncoder(), ["colour"])])
    stack = KerasStackingClassifier(
        [("mlp", make_pipeline(head, network))], cv=3, random_state=0
    )
    assert stack.fit(X, y).fused_members_ == []
    # A head whose fit_transform is its fit().transform() is fused.
    scaled = make_pipeline(_head(), network)
    assert clone(stack).set_params(estimators=[("mlp", scaled)]).fit(
        X, y
    ).fused_members_ == ["mlp"]
    with pytest.raises(ValueError, match="'mlp'.*fit_transform"):
        clone(stack).set_params(fuse_folds=True).fit(X, y)


def test_xla_compiled_training_matches_separate_fits(monkeypatch, mixed_table):
    # Many steps compile the in-graph preprocessing with XLA (from 1 here);
    # full batch, no shuffle: each copy still takes a separate fit's steps.
    from skstack.keras import _fused

    compilable, asked = _fused.xla_compilable, []

    def recorded(model):  # the real answer, recorded
        asked.append(compilable(model))
        return asked[-1]

    monkeypatch.setattr(_fused, "XLA_MIN_STEPS", 1)
    monkeypatch.setattr(_fused, "xla_compilable", recorded)
    X, y = mixed_table()
    splits = list(KFold(3, shuffle=False).split(X))
    params = {"batch_size": -1, "shuffle": False, "epochs": 5, "optimizer": "sgd"}
    wrapper = KerasClassifier(dense_model, hidden=(8,), random_state=0, **params)
    pipeline = make_pipeline(_head(), wrapper)
    folds, full = fit_pipeline_folds(pipeline, X, y, splits, {}, refit=True)
    assert asked == [True]
    for (train, _), fused in zip(splits, folds, strict=True):
        alone = clone(pipeline).fit(X.iloc[train], y[train])
        np.testing.assert_allclose(
            fused.predict_proba(X), alone.predict_proba(X), rtol=1e-4, atol=1e-5
        )
    again, _ = fit_pipeline_folds(pipeline, X, y, splits, {}, refit=True)
    np.testing.assert_array_equal(again[1].predict_proba(X), folds[1].predict_proba(X))
