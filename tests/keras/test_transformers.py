"""Keras forms of fitted scikit-learn transformers (skstack/keras/_transformers.py)."""

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)

from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.keras import KerasClassifier, KerasRegressor, dense_model
from skstack.keras._transformers import NoKerasForm, transformed


def _numbers(n_rows=40, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(3, 2, size=(n_rows, 4))
    X[:, 3] = rng.choice([1.0, 2.0, 5.0], n_rows)
    return X


def _frame(n_rows=60, seed=0):
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(
        {
            "size": rng.normal(5, 2, n_rows),
            "age": rng.uniform(0, 80, n_rows),
            "colour": rng.choice(["red", "green", "blue", "violet"], n_rows),
            "doors": rng.choice([2, 4, 5], n_rows),
        }
    )
    X.loc[:3, "colour"] = "rare"
    return X


def _keras_output(transformer, X):
    """The Keras form's output for X (an array or a DataFrame)."""
    if isinstance(X, pd.DataFrame):
        text = [c for c in X.columns if X[c].dtype.kind not in "biuf"]
        inputs = {
            c: keras.Input((1,), dtype="string" if c in text else "float64", name=c)
            for c in X.columns
        }
        feed = {
            c: X[[c]].to_numpy().astype(object if c in text else "float64")
            for c in X.columns
        }
    else:
        inputs = keras.Input((X.shape[1],), dtype="float64")
        feed = X
    model = keras.Model(inputs, transformed(transformer, inputs, "the transformer"))
    return model.predict_on_batch(feed)


def _dense(output):
    return output.toarray() if hasattr(output, "toarray") else np.asarray(output)


NUMERIC = {
    "standard": StandardScaler(),
    "standard without mean": StandardScaler(with_mean=False),
    "min-max clipped": MinMaxScaler(feature_range=(-1, 2), clip=True),
    "max-abs": MaxAbsScaler(),
    "robust": RobustScaler(),
    "imputer (median)": SimpleImputer(strategy="median"),
    "imputer (constant)": SimpleImputer(strategy="constant", fill_value=-7.0),
    "one-hot of numbers": OneHotEncoder(handle_unknown="ignore"),
    "one-hot, drop first": OneHotEncoder(
        categories=[[1.0, 2.0, 5.0]], drop="first", handle_unknown="ignore"
    ),
    "ordinal of numbers": OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1
    ),
    "ordinal, unknown as NaN": OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=np.nan
    ),
    "pipeline": make_pipeline(SimpleImputer(), StandardScaler(), MinMaxScaler()),
    "columns by index": ColumnTransformer(
        [
            ("scaled", StandardScaler(), [0, 2]),
            ("one-hot", OneHotEncoder(handle_unknown="ignore"), [3]),
        ],
        remainder="passthrough",
    ),
}


@pytest.mark.parametrize("name", list(NUMERIC))
def test_numeric_forms_equal_the_transformers(name):
    transformer = NUMERIC[name]
    X = _numbers()
    if name.startswith("imputer") or name == "pipeline":
        X[::5, 1] = np.nan
    if name.startswith(("one-hot", "ordinal")):
        X = X[:, 3:]
    transformer.fit(X[:30])
    X_new = X[25:].copy()
    if name.startswith(("one-hot", "ordinal")):
        X_new[0, 0] = 7.0  # unknown: all zeros, or unknown_value
    np.testing.assert_allclose(
        _keras_output(transformer, X_new),
        _dense(transformer.transform(X_new)),
        rtol=1e-12,
        atol=1e-12,
    )


def test_a_column_transformer_on_text_and_numbers_equals_the_transformer():
    X = _frame()
    transformer = ColumnTransformer(
        [
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), ["size"]),
            (
                "text",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist", min_frequency=5, drop="first"
                ),
                ["colour"],
            ),
            ("doors", OneHotEncoder(handle_unknown="ignore"), ["doors"]),
            (
                "colour code",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=-1,
                    max_categories=3,
                ),
                ["colour"],
            ),
        ],
        remainder=MinMaxScaler(),
    ).fit(X[:40])
    assert transformer.named_transformers_["text"].infrequent_categories_[0].size
    X_new = X[30:].copy()
    X_new.loc[X_new.index[0], "colour"] = "unseen"  # the infrequent column
    X_new.loc[X_new.index[1], "doors"] = 3  # unknown: zeros
    np.testing.assert_allclose(
        _keras_output(transformer, X_new),
        _dense(transformer.transform(X_new)),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.parametrize(
    "transformer, match",
    [
        (PolynomialFeatures(), "PolynomialFeatures, which has no Keras form"),
        (OrdinalEncoder(), "OrdinalEncoder with handle_unknown='error'"),
        (OneHotEncoder(), "handle_unknown='error'"),
        (SimpleImputer(missing_values=-1.0), "imputes NaN only"),
        (SimpleImputer(add_indicator=True), "add_indicator=True"),
    ],
)
def test_transformers_without_a_keras_form_are_named(transformer, match):
    transformer.fit(_numbers())
    with pytest.raises(NoKerasForm, match=match):
        _keras_output(transformer, _numbers())


def _frame_pipeline(model):
    columns = ColumnTransformer(
        [
            ("numbers", StandardScaler(), make_column_selector(dtype_include="number")),
            ("text", OneHotEncoder(handle_unknown="ignore"), ["colour"]),
        ]
    )
    return make_pipeline(columns, model)


def test_a_stack_of_pipelines_on_a_dataframe_exports_with_named_inputs():
    X = _frame(120)
    y = ((X["size"] > 5) ^ (X["colour"] == "red")).astype(int).to_numpy()
    members = [
        ("mlp", _frame_pipeline(KerasClassifier(dense_model, hidden=(8,), epochs=3))),
        ("lr", _frame_pipeline(LogisticRegression())),
    ]
    stack = KerasStackingClassifier(members, cv=3, random_state=0).fit(X, y)
    model = stack.to_keras()
    assert sorted(model.input) == ["age", "colour", "doors", "size"]
    assert model.input["colour"].dtype == "string"
    rows = X[:7]
    feed = {
        c: rows[[c]].to_numpy().astype(object if c == "colour" else "float32")
        for c in X.columns
    }
    expected = stack.final_estimator_.predict_proba(stack.transform(rows))
    np.testing.assert_allclose(
        model.predict_on_batch(feed), expected, rtol=1e-5, atol=1e-6
    )
    # The small-batch path is that graph: equal to the member-by-member path.
    np.testing.assert_allclose(stack.predict_proba(rows), expected, atol=1e-6)


def test_a_regression_stack_of_scaled_members_exports():
    X = _numbers(80)
    y = X @ [1.0, -2.0, 0.5, 0.0]
    members = [
        ("mlp", make_pipeline(StandardScaler(), KerasRegressor(dense_model, epochs=2))),
        ("ridge", make_pipeline(RobustScaler(), Ridge())),
    ]
    stack = KerasStackingRegressor(members, cv=3, random_state=0).fit(X, y)
    expected = stack.final_estimator_.predict(stack.transform(X[:5]))
    got = stack.to_keras().predict_on_batch(X[:5].astype("float32"))
    np.testing.assert_allclose(got.ravel(), expected, rtol=1e-5, atol=1e-5)


def test_a_pipeline_member_without_a_keras_form_is_named_on_export():
    X = _numbers(60)
    y = (X[:, 0] > 3).astype(int)
    member = make_pipeline(
        PolynomialFeatures(), KerasClassifier(dense_model, hidden=(4,), epochs=1)
    )
    stack = KerasStackingClassifier([("poly", member)], cv=3, random_state=0)
    stack.fit(X, y)
    with pytest.raises(TypeError, match=r"estimator 'poly', step 0 is a Polynom"):
        stack.to_keras()
    # Predictions still work, member by member.
    assert stack.predict_proba(X[:2]).shape == (2, 2)
