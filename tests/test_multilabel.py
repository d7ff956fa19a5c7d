"""Multilabel-indicator targets in the classifier stack."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.neighbors import KNeighborsClassifier

from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier, LinearMetaClassifier, dense_model


@pytest.fixture(scope="module")
def multilabel():
    X, Y = make_multilabel_classification(
        240, 8, n_classes=3, allow_unlabeled=True, random_state=0
    )
    return X.astype(np.float32), Y


def _members():
    return [
        ("mlp", KerasClassifier(dense_model, hidden=(8,), epochs=5)),  # (n, 3) proba
        ("forest", RandomForestClassifier(20, random_state=0)),  # a list of (n, 2)
        ("ridge", RidgeClassifier()),  # decision_function (n, 3)
        ("knn", KNeighborsClassifier()),  # predict (n, 3), by stack_method
    ]


@pytest.fixture(scope="module")
def fitted(multilabel):
    X, Y = multilabel
    stack = KerasStackingClassifier(
        _members(), stack_method={"knn": "predict"}, cv=3, random_state=0
    )
    return stack.fit(X[:180], Y[:180])


def test_each_member_gives_one_column_per_label(fitted, multilabel):
    X, Y = multilabel
    assert fitted.oof_predictions_.shape == (180, 12)
    assert list(fitted.get_feature_names_out()[3:6]) == [
        "forest_proba_0",
        "forest_proba_1",
        "forest_proba_2",
    ]
    assert [c.tolist() for c in fitted.classes_] == [[0, 1]] * 3
    assert fitted.fused_members_ == ["mlp"]
    # Rebuilt by hand: the probability of 1 from each label's array, and the
    # other members' outputs as they are.
    forest, ridge, knn = (np.zeros((180, 3)) for _ in range(3))
    for train, test in fitted.splits_[0]:
        model = clone(_members()[1][1]).fit(X[train], Y[train])
        forest[test] = np.column_stack([p[:, 1] for p in model.predict_proba(X[test])])
        ridge[test] = (
            RidgeClassifier().fit(X[train], Y[train]).decision_function(X[test])
        )
        knn[test] = KNeighborsClassifier().fit(X[train], Y[train]).predict(X[test])
    np.testing.assert_allclose(fitted.oof_predictions_[:, 3:6], forest)
    np.testing.assert_allclose(fitted.oof_predictions_[:, 6:9], ridge)
    np.testing.assert_array_equal(fitted.oof_predictions_[:, 9:], knn)


def test_predictions_are_indicators_from_sigmoid_outputs(fitted, multilabel):
    X, Y = multilabel
    meta = fitted.final_estimator_
    assert isinstance(meta, LinearMetaClassifier)
    assert meta.model_.layers[-1].activation.__name__ == "sigmoid"
    proba = fitted.predict_proba(X[180:])
    predicted = fitted.predict(X[180:])
    assert proba.shape == predicted.shape == (60, 3)
    np.testing.assert_array_equal(predicted, (proba > 0.5).astype(int))
    # Better than the best constant indicator, label by label.
    constant = np.mean(Y[180:] == (Y[:180].mean(axis=0) > 0.5), axis=0)
    assert np.all(np.mean(predicted == Y[180:], axis=0) > constant)
    assert fitted.score(X[180:], Y[180:]) == np.mean(np.all(predicted == Y[180:], 1))


def test_a_meta_learner_with_list_probabilities_gives_an_array(multilabel):
    X, Y = multilabel
    stack = KerasStackingClassifier(
        [("forest", RandomForestClassifier(10, random_state=0))],
        final_estimator=KNeighborsClassifier(),
        cv=3,
    ).fit(X, Y)
    per_label = stack.final_estimator_.predict_proba(stack.transform(X[:5]))
    expected = np.column_stack([p[:, 1] for p in per_label])
    np.testing.assert_allclose(stack.predict_proba(X[:5]), expected)


def test_linear_meta_learner_is_a_logistic_regression_per_label(multilabel):
    X, Y = multilabel
    X = X.astype(np.float64)
    meta = LinearMetaClassifier(C=0.5, logit_probabilities=False, tol=1e-10).fit(X, Y)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    for label in range(Y.shape[1]):
        reference = LogisticRegression(C=0.5, tol=1e-12, max_iter=10_000)
        reference.fit(Z, Y[:, label])
        np.testing.assert_allclose(
            meta.predict_proba(X)[:, label],
            reference.predict_proba(Z)[:, 1],
            atol=1e-5,
        )
    assert meta.decision_function(X).shape == (len(X), 3)
    assert LinearMetaClassifier().fit(X, Y).C_ in np.logspace(-3, 2, 6)


def test_multiclass_multioutput_targets_are_refused(multilabel):
    X, Y = multilabel
    stack = KerasStackingClassifier(
        [("lr", LogisticRegression())], final_estimator=LogisticRegression(), cv=3
    )
    with pytest.raises(ValueError, match="got 'multiclass-multioutput'"):
        stack.fit(X, Y * np.array([1, 2, 3]))
