"""Metadata routing (``enable_metadata_routing=True``) through the stacks."""

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import BayesianRidge, LogisticRegression, Ridge
from sklearn.model_selection import GroupKFold, KFold

from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.keras import LinearMetaClassifier


@pytest.fixture(autouse=True)
def routing_on():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


class _Recorder(LogisticRegression):
    """A classifier that keeps the metadata its ``fit`` was given."""

    def fit(self, X, y, sample_weight=None, tag=None):
        self.seen_ = {"sample_weight": sample_weight, "tag": tag, "n_rows": len(y)}
        return super().fit(X, y, sample_weight=sample_weight)


def _recorders(X, y):
    both = _Recorder(max_iter=500).set_fit_request(sample_weight=True, tag=True)
    tag_only = _Recorder(max_iter=500).set_fit_request(sample_weight=False, tag=True)
    return [("both", both), ("tag_only", tag_only)]


def test_each_member_gets_what_it_requested_cut_to_its_rows(iris):
    X, y = iris
    weights = np.linspace(0.5, 2.0, len(y))
    tags = np.arange(len(y))
    stack = KerasStackingClassifier(
        _recorders(X, y),
        final_estimator=LogisticRegression().set_fit_request(sample_weight=False),
        cv=KFold(3, shuffle=True, random_state=0),
        fold_models="average",  # keeps the fold models, to read what they saw
    ).fit(X, y, sample_weight=weights, tag=tags)

    for fold_model, (train, _) in zip(
        stack.named_estimators_["both"], stack.splits_[0], strict=True
    ):
        np.testing.assert_array_equal(fold_model.seen_["sample_weight"], weights[train])
        np.testing.assert_array_equal(fold_model.seen_["tag"], tags[train])
    for fold_model, (train, _) in zip(
        stack.named_estimators_["tag_only"], stack.splits_[0], strict=True
    ):
        assert fold_model.seen_["sample_weight"] is None
        np.testing.assert_array_equal(fold_model.seen_["tag"], tags[train])


def test_the_full_fit_and_the_meta_learner_get_all_rows(iris):
    X, y = iris
    weights = np.linspace(0.5, 2.0, len(y))
    final = LogisticRegression(max_iter=500).set_fit_request(sample_weight=True)
    stack = KerasStackingClassifier(_recorders(X, y), final_estimator=final, cv=3)
    stack.fit(X, y, sample_weight=weights, tag=np.arange(len(y)))

    np.testing.assert_array_equal(
        stack.named_estimators_["both"].seen_["sample_weight"], weights
    )
    expected = clone(final).fit(stack.oof_predictions_, y, sample_weight=weights)
    np.testing.assert_allclose(stack.final_estimator_.coef_, expected.coef_)


def test_a_meta_learner_that_requested_nothing_is_fitted_without_metadata(iris):
    # As in scikit-learn, a meta-learner that set no fit request is not an
    # error; it gets none of fit's metadata.
    X, y = iris
    weights = np.linspace(0.5, 2.0, len(y))
    final = _Recorder(max_iter=500)
    stack = KerasStackingClassifier(_recorders(X, y), final_estimator=final, cv=3)
    stack.fit(X, y, sample_weight=weights, tag=np.arange(len(y)))
    assert stack.final_estimator_.seen_ == {
        "sample_weight": None,
        "tag": None,
        "n_rows": len(y),
    }


def test_the_default_meta_learner_requests_sample_weight(iris):
    X, y = iris
    weights = np.linspace(0.5, 2.0, len(y))
    members = [
        ("lr", LogisticRegression(max_iter=500).set_fit_request(sample_weight=True))
    ]
    stack = KerasStackingClassifier(members, cv=3).fit(X, y, sample_weight=weights)

    expected = LinearMetaClassifier().fit(
        stack.oof_predictions_, np.unique(y, return_inverse=True)[1], weights
    )
    np.testing.assert_allclose(stack.final_estimator_.coef_, expected.coef_)


def test_metadata_a_member_did_not_request_is_scikit_learns_error(iris):
    X, y = iris
    stack = KerasStackingClassifier(
        [("lr", LogisticRegression())],
        final_estimator=LogisticRegression().set_fit_request(sample_weight=False),
        cv=3,
    )
    with pytest.raises(UnsetMetadataPassedError, match="LogisticRegression.fit"):
        stack.fit(X, y, sample_weight=np.ones(len(y)))
    assert not hasattr(stack, "final_estimator_")


def test_metadata_nothing_requested_is_refused(iris):
    X, y = iris
    stack = KerasStackingClassifier(
        [("lr", LogisticRegression())], final_estimator=LogisticRegression(), cv=3
    )
    with pytest.raises(TypeError, match="not routed to any object"):
        stack.fit(X, y, tag=np.arange(len(y)))


def test_groups_are_routed_to_a_group_splitter(iris):
    X, y = iris
    groups = np.arange(len(y)) // 10
    stack = KerasStackingClassifier(
        [("lr", LogisticRegression())],
        final_estimator=LogisticRegression(),
        cv=GroupKFold(3),
    ).fit(X, y, groups=groups)
    for train, test in stack.splits_[0]:
        assert not set(groups[train]) & set(groups[test])
    with pytest.raises(TypeError, match="not routed to any object"):
        clone(stack).set_params(cv=3).fit(X, y, groups=groups)


def test_predict_params_are_routed_to_the_meta_learner(diabetes):
    X, y = diabetes
    members = [("ridge", Ridge())]
    requested = BayesianRidge().set_predict_request(return_std=True)
    stack = KerasStackingRegressor(members, final_estimator=requested, cv=3).fit(X, y)
    mean, std = stack.predict(X[:5], return_std=True)
    assert mean.shape == std.shape == (5,)

    unrequested = KerasStackingRegressor(members, final_estimator=BayesianRidge())
    with pytest.raises(UnsetMetadataPassedError, match="BayesianRidge.predict"):
        unrequested.fit(X, y).predict(X[:5], return_std=True)


def test_routing_lists_members_meta_learner_and_splitter():
    stack = KerasStackingClassifier(
        [
            ("lr", LogisticRegression().set_fit_request(sample_weight=True)),
            ("x", "drop"),
        ],
        final_estimator=LogisticRegression().set_fit_request(sample_weight=False),
        cv=GroupKFold(2),
    )
    routing = stack.get_metadata_routing()
    assert routing.consumes("fit", ["sample_weight", "groups"]) == {
        "sample_weight",
        "groups",
    }
    assert {name for name, _ in routing} == {"lr", "final_estimator", "cv"}


def test_extra_fit_parameters_without_routing_are_refused(iris):
    X, y = iris
    stack = KerasStackingClassifier(
        [("lr", LogisticRegression())], final_estimator=LogisticRegression(), cv=3
    )
    with sklearn.config_context(enable_metadata_routing=False):
        with pytest.raises(ValueError, match="enable_metadata_routing=True"):
            stack.fit(X, y, tag=np.arange(len(y)))


def test_a_keras_member_given_sample_weight_is_still_fused(iris):
    from skstack.keras import KerasClassifier, dense_model

    X, y = iris
    mlp = KerasClassifier(dense_model, hidden=(8,), epochs=2)
    stack = KerasStackingClassifier(
        [("mlp", mlp.set_fit_request(sample_weight=True))], cv=3, random_state=0
    ).fit(X, y, sample_weight=np.linspace(0.5, 2.0, len(y)))
    assert stack.fused_members_ == ["mlp"]
