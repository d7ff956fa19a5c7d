"""Bad input at the stacks' boundary: each row of the table is one test.

A row names the input, the error the user gets (type and message), and the
test checks that nothing was left half-fitted: a fresh stack stays unfitted,
and a stack fitted before keeps exactly its previous fit and predictions.
``python tests/test_bad_input.py`` prints the table with the messages.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_iris
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GroupKFold, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.exceptions import UnseenLabelWarning
from skstack.keras import KerasClassifier, dense_model


def _data():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y_continuous = X @ np.array([0.5, -1.0, 2.0, 0.25])
    return X, y, y_continuous


def _classifier_stack():
    members = [
        ("lr", LogisticRegression()),
        ("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
    ]
    return KerasStackingClassifier(
        members, final_estimator=LogisticRegression(), cv=3, random_state=0
    )


def _keras_stack():
    net = KerasClassifier(dense_model, hidden=(4,), epochs=2, verbose=0)
    return KerasStackingClassifier(
        [("net", net), ("lr", LogisticRegression())],
        final_estimator=LogisticRegression(),
        cv=3,
        random_state=0,
    )


def _regressor_stack():
    members = [
        ("ridge", Ridge()),
        ("tree", DecisionTreeRegressor(max_depth=3, random_state=0)),
    ]
    return KerasStackingRegressor(
        members, final_estimator=Ridge(), cv=3, random_state=0
    )


def _gradient_boosting_stack():
    members = [("hgb", HistGradientBoostingClassifier(max_iter=5))]
    return KerasStackingClassifier(
        members, final_estimator=LogisticRegression(), cv=3, random_state=0
    )


STACKS = {
    "classifier": _classifier_stack,
    "keras": _keras_stack,
    "regressor": _regressor_stack,
    "gradient boosting": _gradient_boosting_stack,
}


@dataclass(frozen=True)
class BadFit:
    """One bad ``fit``: the stack, its parameters and the arguments to fit."""

    case: str
    stack: str
    arguments: Callable  # (X, y, y_continuous) -> (args, kwargs)
    error: type[Exception]
    match: str
    params: dict = field(default_factory=dict)


def _with(X, row, column, value):
    X = X.copy()
    X[row, column] = value
    return X


def _with_text_column(X):
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["colour"] = "red"
    return frame


def _with_text_in_last_column(X):
    X = X.astype(object)
    X[:, -1] = "red"
    return X


def _two_unit_network(meta, hidden=()):
    """A classifier network built for 2 classes, whatever the data has."""
    inputs = keras.Input((meta["n_features_in_"],))
    outputs = keras.layers.Dense(2, activation="softmax")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _first_class_missing_from_last_fold(X, y):
    # 50 rows of class 0, then 25 of class 1: the unshuffled KFold(3)'s last
    # training part holds class 0 alone, which LogisticRegression refuses.
    return (X[:75], y[:75]), {}


BAD_FITS = [
    BadFit(
        "NaN in X",
        "classifier",
        lambda X, y, yc: ((_with(X, 3, 1, np.nan), y), {}),
        ValueError,
        "Input X contains NaN",
    ),
    BadFit(
        "infinity in X",
        "classifier",
        lambda X, y, yc: ((_with(X, 3, 1, np.inf), y), {}),
        ValueError,
        "Input X contains infinity",
    ),
    BadFit(
        "NaN in y",
        "classifier",
        lambda X, y, yc: ((X, np.r_[np.nan, y[1:]]), {}),
        ValueError,
        "Input y contains NaN",
    ),
    BadFit(
        "infinity in y (regression)",
        "regressor",
        lambda X, y, yc: ((X, np.r_[np.inf, yc[1:]]), {}),
        ValueError,
        "Input y contains infinity",
    ),
    BadFit(
        "empty X and y",
        "classifier",
        lambda X, y, yc: ((X[:0], y[:0]), {}),
        ValueError,
        r"Found array with 0 sample\(s\) \(shape=\(0, 4\)\) while a minimum of 1 "
        "is required by KerasStackingClassifier",
    ),
    BadFit(
        "one sample (classification)",
        "classifier",
        lambda X, y, yc: ((X[:1], y[:1]), {}),
        ValueError,
        "KerasStackingClassifier needs at least 2 classes in y; it has one class: 0",
    ),
    BadFit(
        "one sample (regression)",
        "regressor",
        lambda X, y, yc: ((X[:1], yc[:1]), {}),
        ValueError,
        r"KerasStackingRegressor: cv=KFold\(n_splits=3.*cannot split the 1 "
        "training samples: Cannot have number of splits n_splits=3 greater than "
        "the number of samples: n_samples=1",
    ),
    BadFit(
        "one class in y",
        "classifier",
        lambda X, y, yc: ((X[:50], y[:50]), {}),
        ValueError,
        "needs at least 2 classes in y; it has one class: 0",
    ),
    BadFit(
        "cv larger than the smallest class",
        "classifier",
        lambda X, y, yc: (
            (X[:104], np.array(["setosa", "versicolor", "virginica"])[y[:104]]),
            {},
        ),
        ValueError,
        "cv=5 folds but class 'virginica' has only 4 samples; every class needs a "
        "sample in each fold. Lower cv to at most 4",
        params={"cv": 5},
    ),
    BadFit(
        "fewer groups than folds",
        "classifier",
        lambda X, y, yc: ((X, y), {"groups": np.arange(len(y)) % 2}),
        ValueError,
        "cv=GroupKFold.*cannot split the 150 training samples: Cannot have number "
        "of splits n_splits=3 greater than the number of groups: 2",
        params={"cv": GroupKFold(3)},
    ),
    BadFit(
        "a text column where members need numbers",
        "classifier",
        lambda X, y, yc: ((_with_text_column(X), y), {}),
        ValueError,
        r"Estimator 'lr' failed on the full training data \(150 samples\): "
        r"ValueError: could not convert string to float: 'red' \(X has non-numeric "
        r"columns \['colour'\]; a member that needs numbers can encode them",
    ),
    BadFit(
        "a text column given to a Keras member",
        "keras",
        lambda X, y, yc: ((_with_text_in_last_column(X), y), {}),
        ValueError,
        r"Estimator 'net' failed .*could not convert string to float: 'red' "
        r"\(X has non-numeric columns \[3\]",
    ),
    BadFit(
        "text labels given to the regressor",
        "regressor",
        lambda X, y, yc: ((X, np.array(["low", "high"])[y % 2]), {}),
        ValueError,
        "KerasStackingRegressor needs a numeric target y; got dtype <U4 holding "
        "np.str_\\('(low|high)'\\). For class labels use KerasStackingClassifier",
    ),
    BadFit(
        "X and y of different lengths",
        "classifier",
        lambda X, y, yc: ((X, y[:-1]), {}),
        ValueError,
        r"Found input variables with inconsistent numbers of samples: \[150, 149\]",
    ),
    BadFit(
        "sample_weight of another length",
        "classifier",
        lambda X, y, yc: ((X, y), {"sample_weight": np.ones(10)}),
        ValueError,
        r"sample_weight must have shape \(150,\) to match X, got \(10,\)",
    ),
    BadFit(
        "groups of another length",
        "classifier",
        lambda X, y, yc: ((X, y), {"groups": np.ones(10)}),
        ValueError,
        "KerasStackingClassifier: groups has 10 entries but X has 150 samples",
        params={"cv": GroupKFold(3)},
    ),
    BadFit(
        "1-D X",
        "classifier",
        lambda X, y, yc: ((X[:, 0], y), {}),
        ValueError,
        "Expected 2D array, got 1D array instead",
    ),
    BadFit(
        "multi-output multi-class y for a classifier",
        "classifier",
        lambda X, y, yc: ((X, np.c_[y, y]), {}),
        ValueError,
        r"supports binary, multi-class and multilabel-indicator targets, got "
        "'multiclass-multioutput'",
    ),
    BadFit(
        "images given to a 2-D-only member",
        "classifier",
        lambda X, y, yc: ((X.reshape(150, 2, 2), y), {}),
        ValueError,
        r"Estimator 'lr' failed .*dim 3.*X has shape \(150, 2, 2\); an estimator "
        r"that takes only 2-D input can be stacked as "
        r"make_pipeline\(skstack.Flatten\(\), estimator\)",
    ),
    BadFit(
        "sparse X given to a member that needs dense input",
        "gradient boosting",
        lambda X, y, yc: ((sparse.csr_matrix(X), y), {}),
        TypeError,
        "Estimator 'hgb' failed .*Sparse data was passed for X, but dense data is "
        "required",
    ),
    BadFit(
        "a Keras network with fewer outputs than classes",
        "keras",
        lambda X, y, yc: ((X, y), {}),
        RuntimeError,
        r"Estimator 'net' failed in fused training of its 3 fold models: "
        r"InvalidArgumentError: Received a label value of 2 which is outside the "
        r"valid range of \[0, 2\)\.[^\n]*$",
        params={"net__model": _two_unit_network},
    ),
    BadFit(
        "no y",
        "regressor",
        lambda X, y, yc: ((X, None), {}),
        ValueError,
        "KerasStackingRegressor requires y to be passed, but the target y is None",
    ),
    BadFit(
        "complex numbers in X",
        "classifier",
        lambda X, y, yc: ((X.astype(complex), y), {}),
        ValueError,
        "Complex data not supported",
    ),
    BadFit(
        "a fold whose training part lacks a class",
        "classifier",
        lambda X, y, yc: _first_class_missing_from_last_fold(X, y),
        ValueError,
        r"Estimator 'lr' failed on fold 2 of 3 \(fit on 50 samples, predicting "
        r"25\): ValueError: This solver needs samples of at least 2 classes",
        params={"cv": KFold(3)},
    ),
]


def _fitted_attributes(stack) -> dict:
    params = stack.get_params(deep=False)
    return {key: value for key, value in vars(stack).items() if key not in params}


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module")
def fitted(data):
    """One fitted stack of each kind, fitted once; tests work on deep copies."""
    X, y, y_continuous = data
    stacks = {}
    for kind, make in STACKS.items():
        target = y_continuous if kind == "regressor" else y
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stacks[kind] = make().fit(X, target)
    return stacks


def _predictions(stack, X):
    method = "predict_proba" if hasattr(stack, "predict_proba") else "predict"
    return getattr(stack, method)(X)


@pytest.mark.parametrize("row", BAD_FITS, ids=[row.case for row in BAD_FITS])
def test_bad_fit_is_named_and_leaves_no_half_fitted_stack(row, data, fitted):
    X, y, y_continuous = data
    args, kwargs = row.arguments(X, y, y_continuous)

    fresh = STACKS[row.stack]().set_params(**row.params)
    with pytest.raises(row.error, match=row.match):
        fresh.fit(*args, **kwargs)
    assert _fitted_attributes(fresh) == {}, "a failed fit left fitted attributes"

    stack = copy.deepcopy(fitted[row.stack])
    before = _fitted_attributes(stack)
    predictions = _predictions(stack, X)
    stack.set_params(**row.params)
    with pytest.raises(row.error, match=row.match):
        stack.fit(*args, **kwargs)
    after = _fitted_attributes(stack)
    assert after.keys() == before.keys()
    assert all(after[key] is before[key] for key in before)
    np.testing.assert_array_equal(_predictions(stack, X), predictions)


@dataclass(frozen=True)
class BadPredict:
    """One bad call on a fitted classifier stack."""

    case: str
    call: Callable  # (stack, X, y) -> result
    error: type[Exception] | type[Warning]
    match: str


BAD_PREDICTS = [
    BadPredict(
        "wrong number of features",
        lambda stack, X, y: stack.predict(X[:, :3]),
        ValueError,
        "X has 3 features, but KerasStackingClassifier is expecting 4 features",
    ),
    BadPredict(
        "NaN in X",
        lambda stack, X, y: stack.predict_proba(_with(X, 0, 0, np.nan)),
        ValueError,
        "Input X contains NaN",
    ),
    BadPredict(
        "a text column where members need numbers",
        lambda stack, X, y: stack.predict(_with_text_in_last_column(X)),
        ValueError,
        r"Estimator 'lr' failed predicting: ValueError: could not convert string "
        r"to float: 'red' \(X has non-numeric columns \[3\]",
    ),
    BadPredict(
        "samples of another shape",
        lambda stack, X, y: stack.predict(X[:, :, np.newaxis]),
        ValueError,
        r"X has samples of shape \(4, 1\), but KerasStackingClassifier was fitted "
        r"on samples of shape \(4,\)",
    ),
    BadPredict(
        "labels never seen in fit, to score",
        lambda stack, X, y: stack.score(X, np.where(y == 2, 7, y)),
        UnseenLabelWarning,
        r"y holds labels never seen in fit: \[7\] \(50 of 150 samples\); the stack "
        r"knows \[0, 1, 2\] and counts those samples as errors",
    ),
]


@pytest.mark.parametrize("row", BAD_PREDICTS, ids=[row.case for row in BAD_PREDICTS])
def test_bad_predict_is_named_and_changes_nothing(row, data, fitted):
    X, y, _ = data
    stack = copy.deepcopy(fitted["classifier"])
    before = _fitted_attributes(stack)
    predictions = _predictions(stack, X)
    if issubclass(row.error, Warning):
        with pytest.warns(row.error, match=row.match):
            row.call(stack, X, y)
    else:
        with pytest.raises(row.error, match=row.match):
            row.call(stack, X, y)
    after = _fitted_attributes(stack)
    assert all(after[key] is before[key] for key in before)
    np.testing.assert_array_equal(_predictions(stack, X), predictions)


def test_unseen_labels_count_as_errors_in_the_score(data, fitted):
    X, y, _ = data
    stack = fitted["classifier"]
    relabelled = np.where(y == 2, 7, y)
    with pytest.warns(UnseenLabelWarning):
        score = stack.score(X, relabelled)
    assert score == pytest.approx(np.mean(stack.predict(X) == relabelled))
    assert score <= 2 / 3


def test_predicting_before_fit_is_not_fitted_error(data):
    X, _, _ = data
    stack = _classifier_stack()
    with pytest.raises(NotFittedError, match="KerasStackingClassifier instance is not"):
        stack.predict(X)
    with pytest.raises(NotFittedError):
        stack.score(X, np.zeros(len(X)))


def test_sparse_input_reaches_keras_members_and_matches_dense(data):
    X, y, _ = data
    stack = _keras_stack()
    dense = stack.fit(X, y).predict_proba(X)
    from_sparse = stack.fit(sparse.csr_matrix(X), y).predict_proba(sparse.csr_matrix(X))
    np.testing.assert_allclose(from_sparse, dense, atol=1e-6)


def _table() -> str:
    """The closing-note table: each bad input and the message it gets."""
    X, y, y_continuous = _data()
    lines = [
        "| input | call | error | message | fitted attributes left |",
        "|---|---|---|---|---|",
    ]
    for row in BAD_FITS:
        args, kwargs = row.arguments(X, y, y_continuous)
        stack = STACKS[row.stack]().set_params(**row.params)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                stack.fit(*args, **kwargs)
            outcome = ("no error", "")
        except Exception as exc:  # noqa: BLE001
            outcome = (type(exc).__name__, str(exc).splitlines()[0])
        left = sorted(_fitted_attributes(stack)) or "none"
        lines.append(f"| {row.case} | fit | {outcome[0]} | {outcome[1]} | {left} |")
    stack = _classifier_stack().fit(X, y)
    for row in BAD_PREDICTS:
        before = _fitted_attributes(stack)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                row.call(stack, X, y)
                outcome = (caught[-1].category.__name__, str(caught[-1].message))
            except Exception as exc:  # noqa: BLE001
                outcome = (type(exc).__name__, str(exc).splitlines()[0])
        after = _fitted_attributes(stack)
        same = after.keys() == before.keys() and all(
            after[key] is before[key] for key in before
        )
        state = "the fit's, unchanged" if same else "CHANGED"
        lines.append(
            f"| {row.case} | predict/score | {outcome[0]} | {outcome[1]} | {state} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(_table())


def test_text_column_hint_only_for_a_failed_conversion(data):
    # The member encodes the text column itself and fails for another reason
    # (a training fold with one class): the error must not blame the column.
    X, y, _ = data
    encoded = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["colour"]), remainder="passthrough"),
        LogisticRegression(),
    )
    stack = KerasStackingClassifier(
        [("encoded", encoded)], final_estimator=LogisticRegression(), cv=KFold(3)
    )
    frame = _with_text_column(X)
    with pytest.raises(ValueError, match="failed on fold 2 of 3") as caught:
        stack.fit(frame.iloc[:75], y[:75])
    assert "non-numeric columns" not in str(caught.value)
