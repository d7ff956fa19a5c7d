"""What a fitted stack offers: transform, feature names, report, Keras form."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from skstack import KerasStackingClassifier


@pytest.fixture(scope="module")
def fitted(iris):
    X, y = iris
    members = [
        ("lr", LogisticRegression()),
        ("tree", DecisionTreeClassifier(max_depth=2, random_state=0)),
    ]
    return KerasStackingClassifier(members, cv=3, random_state=0).fit(X, y)


def test_transform_is_the_members_columns_side_by_side(fitted, iris):
    X, _ = iris
    lr, tree = fitted.estimators_
    expected = np.hstack([lr.predict_proba(X[:5]), tree.predict_proba(X[:5])])
    np.testing.assert_array_equal(fitted.transform(X[:5]), expected)


def test_feature_names_name_each_member_and_class(fitted):
    names = fitted.get_feature_names_out()
    assert list(names[:3]) == ["lr_proba_0", "lr_proba_1", "lr_proba_2"]
    assert len(names) == 6


def test_passthrough_names_follow_the_input_features(fitted, iris):
    X, y = iris
    stack = fitted.__class__(**{**fitted.get_params(deep=False), "passthrough": True})
    stack.fit(X, y)
    names = stack.get_feature_names_out(["a", "b", "c", "d"])
    assert list(names[-4:]) == ["a", "b", "c", "d"]
    assert list(stack.get_feature_names_out()[-1:]) == ["x3"]
    with pytest.raises(ValueError, match="input_features should have length 4"):
        stack.get_feature_names_out(["a"])


def test_report_needs_out_of_fold_scores(fitted, iris):
    X, y = iris
    report = fitted.report(X, y)
    assert report.members == ["lr", "tree"] and report.stack_score > 0.9
    members = list(zip(["lr", "tree"], fitted.estimators_, strict=True))
    prefit = KerasStackingClassifier(members, cv="prefit")
    with pytest.raises(ValueError, match="cv='prefit' does not make"):
        prefit.fit(X, y).report()


def test_an_unfitted_stack_refuses_what_needs_a_fit(iris):
    X, _ = iris
    stack = KerasStackingClassifier([("lr", LogisticRegression())])
    for method in (stack.transform, stack.predict):
        with pytest.raises(NotFittedError):
            method(X)
    with pytest.raises(NotFittedError):
        stack.to_keras()
