"""The fits a stack's workers run."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import check_scoring

from skstack.ensemble._columns import MetaColumns
from skstack.ensemble._strategy import Fold, MemberPlan
from skstack.ensemble._tasks import fit_full, fit_on, fit_predict_fold


class _Recorder(BaseEstimator, ClassifierMixin):
    """Remembers the rows and weights it was fitted on."""

    def __init__(self, fail=False):
        self.fail = fail

    def fit(self, X, y, sample_weight=None):
        if self.fail:
            raise RuntimeError("cannot fit")
        self.X_, self.weights_ = X, sample_weight
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def _plan(estimator, keep=False, fit_params=None):
    return MemberPlan(
        name="m",
        estimator=estimator,
        method="predict_proba",
        fit_params=fit_params or {},
        scorer=check_scoring(estimator, "accuracy"),
        columns=MetaColumns(classes=np.arange(2), labels=np.arange(2)),
        keep_fold_models=keep,
    )


def _fold(n_rows=10):
    rows = np.arange(n_rows)
    return Fold(0, 0, rows[:6], rows[6:], "on fold 0 of 1 (fit on 6 samples, ...)")


def test_fit_on_cuts_the_rows_and_their_weights():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10) % 2
    weights = np.arange(10.0)
    member = fit_on(_Recorder(), X, y, {"sample_weight": weights}, rows=[1, 3])
    np.testing.assert_array_equal(member.X_, X[[1, 3]])
    np.testing.assert_array_equal(member.weights_, [1.0, 3.0])


@pytest.mark.parametrize("keep", [False, True])
def test_a_fold_fit_predicts_its_held_out_rows_and_keeps_its_model_if_asked(keep):
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10) % 2
    result = fit_predict_fold(_plan(_Recorder(), keep), X, y, _fold())
    assert result.columns.shape == (4, 1)  # the positive class of 4 rows
    assert result.score == 0.5
    assert (result.model is not None) is keep
    if keep:
        np.testing.assert_array_equal(result.model.X_, X[:6])


def test_settings_apply_to_the_fitted_clone_only():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10) % 2
    member = LogisticRegression()
    full = fit_full(_plan(member), X, y, {"C": 0.01})
    assert full.C == 0.01 and member.C == 1.0
    assert not hasattr(member, "coef_")


def test_a_failed_fit_names_the_member_and_the_fold():
    X, y = np.zeros((10, 2)), np.arange(10) % 2
    with pytest.raises(RuntimeError, match="'m' failed on fold 0 of 1"):
        fit_predict_fold(_plan(_Recorder(fail=True)), X, y, _fold())
    with pytest.raises(RuntimeError, match="'m' failed on the full training data"):
        fit_full(_plan(_Recorder(fail=True)), X, y)
