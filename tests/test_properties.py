"""Property-based tests of the stacks over shapes, class counts and label types."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.keras import KerasClassifier, dense_model

FOLDS = 3
# Every example fits a whole stack: few examples, no per-example deadline.
PROPERTY_SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)

LABEL_KINDS = {
    "int": lambda n: np.arange(n) * 7 - 3,
    "str": lambda n: np.array([f"class {chr(97 + i)}" for i in range(n)]),
    # Whole-number floats: scikit-learn reads others as a continuous target.
    "float": lambda n: np.arange(n) * 2.0 - 1.0,
    "object": lambda n: np.array([f"c{i}" for i in range(n)], dtype=object),
}


@st.composite
def classification_data(draw, max_classes=4):
    n_classes = draw(st.integers(2, max_classes))
    per_class = draw(st.integers(FOLDS, 8))
    n_features = draw(st.integers(1, 5))
    kind = draw(st.sampled_from(sorted(LABEL_KINDS) + ["bool"]))
    if kind == "bool":
        n_classes = 2
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    codes = rng.permutation(np.repeat(np.arange(n_classes), per_class))
    X = rng.normal(size=(len(codes), n_features)) + codes[:, None]
    labels = np.array([False, True]) if kind == "bool" else LABEL_KINDS[kind](n_classes)
    return X, labels[codes], labels


def _classifier_stack(final=None):
    return KerasStackingClassifier(
        [
            ("lr", LogisticRegression()),
            ("tree", DecisionTreeClassifier(max_depth=2, random_state=0)),
            ("nb", GaussianNB()),
        ],
        final_estimator=final if final is not None else LogisticRegression(),
        cv=FOLDS,
        random_state=0,
    )


@PROPERTY_SETTINGS
@given(classification_data())
def test_classifier_outputs_have_the_shapes_and_labels_of_the_data(data):
    X, y, labels = data
    stack = _classifier_stack().fit(X, y)
    n_classes = len(labels)

    np.testing.assert_array_equal(stack.classes_, np.unique(labels))
    predicted = stack.predict(X)
    assert predicted.shape == (len(X),)
    assert set(predicted.tolist()) <= set(labels.tolist())
    assert predicted.dtype == stack.classes_.dtype

    proba = stack.predict_proba(X)
    assert proba.shape == (len(X), n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)

    # Binary members give one column (P(class 1)), others one per class.
    width = 3 if n_classes == 2 else 3 * n_classes
    out_of_fold = stack.fit_transform(X, y)
    assert out_of_fold.shape == (len(X), width)
    assert stack.transform(X).shape == (len(X), width)
    assert len(stack.get_feature_names_out()) == width
    assert 0.0 <= stack.score(X, y) <= 1.0


@PROPERTY_SETTINGS
@given(classification_data(), st.integers(1, 1000))
def test_renaming_labels_in_order_renames_the_predictions(data, offset):
    X, y, labels = data
    if labels.dtype.kind not in "iuf":
        labels = np.arange(len(labels))
        y = labels[np.searchsorted(np.unique(y), y)]
    renamed = y * 10 + offset  # an order-preserving map of the labels

    original = _classifier_stack().fit(X, y)
    relabelled = _classifier_stack().fit(X, renamed)
    np.testing.assert_array_equal(
        relabelled.predict(X), original.predict(X) * 10 + offset
    )
    np.testing.assert_allclose(relabelled.predict_proba(X), original.predict_proba(X))


@st.composite
def regression_data(draw):
    n_samples = draw(st.integers(2 * FOLDS, 30))
    n_features = draw(st.integers(1, 5))
    n_outputs = draw(st.sampled_from([None, 1, 2, 3]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    shape = (n_samples,) if n_outputs is None else (n_samples, n_outputs)
    y = rng.normal(size=shape) * draw(st.sampled_from([1e-3, 1.0, 1e3]))
    return X, y


@PROPERTY_SETTINGS
@given(regression_data())
def test_regressor_predictions_have_the_shape_of_the_target(data):
    X, y = data
    stack = KerasStackingRegressor(
        [("ridge", Ridge()), ("tree", DecisionTreeRegressor(max_depth=2))],
        final_estimator=Ridge(),
        cv=FOLDS,
        random_state=0,
    ).fit(X, y)
    predicted = stack.predict(X)
    assert predicted.shape == y.shape
    assert np.all(np.isfinite(predicted))
    n_outputs = 1 if y.ndim == 1 else y.shape[1]
    assert stack.fit_transform(X, y).shape == (len(X), 2 * n_outputs)


@settings(PROPERTY_SETTINGS, max_examples=4)
@given(classification_data(max_classes=3))
def test_keras_member_and_meta_learner_keep_labels_and_shapes(data):
    X, y, labels = data
    net = KerasClassifier(dense_model, hidden=(4,), epochs=1, verbose=0)
    stack = KerasStackingClassifier(
        [("net", net), ("lr", LogisticRegression())], cv=FOLDS, random_state=0
    ).fit(X, y)
    predicted = stack.predict(X)
    assert set(predicted.tolist()) <= set(labels.tolist())
    proba = stack.predict_proba(X)
    assert proba.shape == (len(X), len(labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
