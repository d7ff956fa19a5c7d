"""Fold fusion: a wrapper's fold models trained side by side in one graph."""

import keras
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.keras import KerasClassifier, KerasRegressor, dense_model


def _net(**params):
    params = {"hidden": (8,), "epochs": 3, "random_state": 0, **params}
    return KerasClassifier(dense_model, **params)


def _weights(model):
    return [w.copy() for w in model.model_.get_weights()]


def _same(first, second):
    return all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_a_copy_never_learns_from_its_held_out_rows(iris):
    X, y = iris
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    test0 = splits[0][1]
    folds, full = _net().fit_folds(X, y, splits)
    # Other labels and features on fold 0's held-out rows: copy 0 must come out
    # bit-identical; the copies that train on those rows must not.
    y_changed, X_changed = y.copy(), X.copy()
    y_changed[test0] = (y[test0] + 1) % 3
    X_changed[test0] = X[test0] * 5 + 3
    folds2, full2 = _net().fit_folds(X_changed, y_changed, splits)
    assert _same(_weights(folds[0]), _weights(folds2[0]))
    assert not _same(_weights(folds[1]), _weights(folds2[1]))
    assert not _same(_weights(full), _weights(full2))


def test_copies_are_fitted_estimators_with_their_own_history(iris):
    X, y = iris
    splits = list(KFold(3).split(X))
    folds, full = _net().fit_folds(X, y, splits, refit=False)
    assert full is None
    assert len(folds) == 3
    for model in folds:
        assert model.predict_proba(X[:5]).shape == (5, 3)
        assert len(model.history_["loss"]) == 3
        np.testing.assert_array_equal(model.classes_, [0, 1, 2])


def test_stack_with_fused_folds_trains_and_reproduces(iris):
    X, y = iris
    members = [("net", _net(epochs=20)), ("lr", LogisticRegression())]
    stack = KerasStackingClassifier(
        members,
        final_estimator=LogisticRegression(),
        cv=3,
        fuse_folds=True,
        random_state=0,
    )
    first = stack.fit(X, y).predict_proba(X)
    assert stack.fused_members_ == ["net"]
    assert stack.fold_scores_["net"].shape == (1, 3)
    assert stack.score(X, y) > 0.8
    np.testing.assert_array_equal(stack.fit(X, y).predict_proba(X), first)


def test_fused_average_fold_models_and_repeats_regression(diabetes):
    X, y = diabetes
    net = KerasRegressor(dense_model, hidden=(8,), epochs=3, random_state=0)
    stack = KerasStackingRegressor(
        [("net", net)],
        final_estimator=None,
        cv=3,
        n_repeats=2,
        fold_models="average",
        fuse_folds=True,
        random_state=0,
    ).fit(X, y)
    assert stack.fused_members_ == ["net"]
    assert len(stack.named_estimators_["net"]) == 6
    assert stack.oof_predictions_.shape == (len(y), 1)


def test_members_that_cannot_be_fused_are_fitted_fold_by_fold(iris):
    X, y = iris
    members = [
        ("stops", _net(early_stopping=True, epochs=5)),
        ("weighted", _net(class_weight="balanced")),
    ]
    stack = KerasStackingClassifier(
        members, final_estimator=LogisticRegression(), cv=3, fuse_folds=True
    ).fit(X, y)
    assert stack.fused_members_ == []
    with pytest.raises(ValueError, match="class_weight reweights"):
        _net(class_weight="balanced").fit_folds(X, y, list(KFold(3).split(X)))


def test_batch_normalization_is_refused(iris):
    X, y = iris

    def normalized(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        hidden = keras.layers.BatchNormalization()(inputs)
        outputs = keras.layers.Dense(3, activation="softmax")(hidden)
        model = keras.Model(inputs, outputs)
        model.compile("adam", "sparse_categorical_crossentropy")
        return model

    with pytest.raises(ValueError, match="BatchNormalization"):
        KerasClassifier(normalized).fit_folds(X, y, list(KFold(3).split(X)))
