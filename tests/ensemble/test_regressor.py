"""KerasStackingRegressor: its default meta-learner and its target's shape."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.tree import DecisionTreeRegressor

from skstack import KerasStackingRegressor
from skstack.keras import LinearMetaRegressor


def _output_layer(wrapper):
    layer = wrapper.model_.layers[-1]
    return layer.units, layer.activation.__name__


def test_default_regression_meta_learner_is_linear(diabetes):
    X, y = diabetes
    stack = KerasStackingRegressor([("ridge", Ridge())], cv=2, random_state=0)
    stack.fit(X, y)
    assert isinstance(stack.final_estimator_, LinearMetaRegressor)
    assert _output_layer(stack.final_estimator_) == (1, "linear")
    assert stack.predict(X[:1]).shape == (1,)


@pytest.mark.parametrize("shape", [(200,), (200, 1)])
def test_predictions_take_the_shape_of_the_target(diabetes, shape):
    X, y = diabetes
    y = y.reshape(shape)
    stack = KerasStackingRegressor([("ridge", Ridge())], cv=2, random_state=0)
    prediction = stack.fit(X, y).predict(X[:3])
    assert prediction.shape == (3, *shape[1:])
    # With a meta-learner that returns columns for a column target.
    stack.set_params(final_estimator=LinearRegression()).fit(X, y)
    assert stack.predict(X[:3]).shape == (3, *shape[1:])


def test_the_default_meta_learner_combines_better_than_the_worse_member(diabetes):
    X, y = diabetes
    members = [("ridge", Ridge()), ("stump", DecisionTreeRegressor(max_depth=1))]
    stack = KerasStackingRegressor(members, cv=5, random_state=0).fit(X, y)
    coef = stack.final_estimator_.coef_.ravel()
    assert coef[0] > coef[1] > -0.1  # the ridge member carries the stack
    oof = stack.oof_predictions_
    stack_error = np.mean((stack.final_estimator_.predict(oof) - y) ** 2)
    assert stack_error < min(np.mean((oof[:, i] - y) ** 2) for i in range(2)) * 1.05


@pytest.mark.parametrize(
    "final", ["dense", "linear"], ids=["make_meta_learner(kind='dense')", "linear"]
)
def test_a_classifier_meta_learner_is_refused_with_the_call_that_works(diabetes, final):
    from sklearn.utils import get_tags

    from skstack.keras import make_meta_learner

    X, y = diabetes
    # make_meta_learner's task defaults to classification: the guide's
    # spelling without it gave a classifier, and an AttributeError from tags.
    stack = KerasStackingRegressor(
        [("lr", LinearRegression())], final_estimator=make_meta_learner(kind=final)
    )
    assert get_tags(stack).regressor_tags.poor_score  # tags do not crash
    with pytest.raises(ValueError, match=r"make_meta_learner\('regression'"):
        stack.fit(X, y)
    assert not hasattr(stack, "final_estimator_")
