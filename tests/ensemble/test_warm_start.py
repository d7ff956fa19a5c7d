"""Folds of members with one optimum start from the full fit (warm_start_folds)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.ensemble._warm_start import has_one_optimum, start_from
from skstack.utils._compat import NEWTON_WARM_START_WORKS

ITERATIONS = []


class CountingLogisticRegression(LogisticRegression):
    """Records the solver's iterations of every fit (one process: n_jobs=None)."""

    def fit(self, X, y, sample_weight=None):
        super().fit(X, y, sample_weight)
        ITERATIONS.append(int(self.n_iter_.max()))
        return self


@pytest.fixture
def three_classes():
    X, y = make_classification(
        n_samples=600, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    return X, y


def fitted_stack(members, X, y, warm, cls=KerasStackingClassifier):
    stack = cls(members, cv=5, random_state=0, warm_start_folds=warm)
    return stack.fit(X, y)


def test_warm_folds_reach_the_cold_folds_optimum_in_fewer_iterations(three_classes):
    X, y = three_classes
    member = CountingLogisticRegression(tol=1e-10, max_iter=2000)
    ITERATIONS.clear()
    warm = fitted_stack([("lr", member)], X, y, warm=True)
    warm_iterations = list(ITERATIONS)
    ITERATIONS.clear()
    cold = fitted_stack([("lr", member)], X, y, warm=False)
    cold_iterations = list(ITERATIONS)

    np.testing.assert_allclose(
        warm.oof_predictions_, cold.oof_predictions_, rtol=0, atol=1e-6
    )
    np.testing.assert_allclose(
        warm.predict_proba(X), cold.predict_proba(X), rtol=0, atol=1e-6
    )
    # The full fit is the same cold fit in both; each fold then starts near
    # its optimum.
    assert warm_iterations[0] == cold_iterations[0]
    assert sum(warm_iterations[1:]) < sum(cold_iterations[1:])
    # The member given by the user is left as it was.
    assert member.get_params()["warm_start"] is False


def test_default_tolerance_gives_nearly_the_same_out_of_fold_predictions(
    three_classes,
):
    X, y = three_classes
    members = [("lr", make_pipeline(StandardScaler(), LogisticRegression()))]
    warm = fitted_stack(members, X, y, warm=True)
    cold = fitted_stack(members, X, y, warm=False)
    # Both stop within lbfgs's tol=1e-4 of the optimum, from different sides.
    difference = np.abs(warm.oof_predictions_ - cold.oof_predictions_)
    assert difference.max() < 5e-3 and difference.mean() < 5e-4


def test_regressors_with_one_optimum_are_warm_started():
    X, y = make_regression(n_samples=400, n_features=6, noise=5, random_state=0)
    members = [("net", ElasticNet(alpha=0.1, l1_ratio=0.5, tol=1e-10))]
    warm = fitted_stack(members, X, y, True, KerasStackingRegressor)
    cold = fitted_stack(members, X, y, False, KerasStackingRegressor)
    np.testing.assert_allclose(
        warm.oof_predictions_, cold.oof_predictions_, rtol=0, atol=1e-6
    )
    counts = np.exp(y / y.std())  # a positive target for the Poisson model
    members = [("glm", PoissonRegressor(alpha=0.5, tol=1e-10, max_iter=1000))]
    warm = fitted_stack(members, X, counts, True, KerasStackingRegressor)
    cold = fitted_stack(members, X, counts, False, KerasStackingRegressor)
    np.testing.assert_allclose(
        warm.oof_predictions_, cold.oof_predictions_, rtol=1e-6, atol=1e-8
    )


@pytest.mark.parametrize(
    "member, expected",
    [
        (LogisticRegression(), True),
        (make_pipeline(StandardScaler(), LogisticRegression()), True),
        (LogisticRegression(solver="liblinear"), False),
        # scikit-learn < 1.8 corrupts a warm multinomial Newton fit (#31859).
        (LogisticRegression(solver="newton-cholesky"), NEWTON_WARM_START_WORKS),
        (LogisticRegression(C=np.inf), False),
        (LogisticRegression(l1_ratio=1.0, solver="saga"), False),
        (LogisticRegression(warm_start=True), False),  # the user's own chain
        (ElasticNet(l1_ratio=0.5), True),
        (Lasso(), False),  # not strictly convex: several optima
        (PoissonRegressor(), True),
        (PoissonRegressor(alpha=0), False),
        (Ridge(), False),  # closed form: nothing to warm-start
    ],
)
def test_which_members_start_from_the_full_fit(member, expected):
    assert has_one_optimum(member) is expected


def test_a_fold_missing_a_class_starts_from_scratch(three_classes):
    X, y = three_classes
    full = LogisticRegression().fit(X, y)
    fold = LogisticRegression()
    assert not start_from(fold, full, y[y != 2])
    assert not hasattr(fold, "coef_") and fold.warm_start is False
    assert start_from(fold, full, y)
    assert fold.warm_start is True
    np.testing.assert_array_equal(fold.coef_, full.coef_)


def test_a_fold_whose_preprocessing_changes_shape_is_fitted_cold():
    # One row holds the only "rare" category: the folds that do not train on
    # it one-hot encode one column fewer than the full fit, so their solver
    # cannot start from its coefficients; they are fitted from scratch.
    X_num, y = make_classification(n_samples=300, n_features=4, random_state=0)
    X = pd.DataFrame(X_num, columns=list("abcd"))
    X["kind"] = np.where(np.arange(300) % 2, "odd", "even")
    X.loc[7, "kind"] = "rare"
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["kind"]),
        (StandardScaler(), list("abcd")),
    )
    members = [("lr", make_pipeline(encode, LogisticRegression(tol=1e-10)))]
    warm = fitted_stack(members, X, y, warm=True)
    cold = fitted_stack(members, X, y, warm=False)
    np.testing.assert_allclose(
        warm.oof_predictions_, cold.oof_predictions_, rtol=0, atol=1e-6
    )
    rare_test = next(test for _, test in warm.splits_[0] if 7 in test)
    np.testing.assert_array_equal(
        warm.oof_predictions_[rare_test], cold.oof_predictions_[rare_test]
    )


def test_warm_start_folds_is_validated(three_classes):
    X, y = three_classes
    stack = KerasStackingClassifier(
        [("lr", LogisticRegression())], warm_start_folds="yes"
    )
    with pytest.raises(ValueError, match="warm_start_folds"):
        stack.fit(X, y)
