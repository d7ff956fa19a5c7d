"""The cross-fitting plan: folds, seeds, strategies, and the assembled columns."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skstack import KerasStackingClassifier
from skstack.ensemble._crossfit import (
    CrossFit,
    one_task_beside_scikit_learn,
    repeated_splits,
    seed_estimator,
    time_ordered,
)
from skstack.ensemble._strategy import MemberOutcome
from skstack.ensemble._tasks import FoldResult
from skstack.keras import KerasClassifier, dense_model


def _repeats(*splits_per_repeat):
    return [list(splits) for splits in splits_per_repeat]


def test_each_fold_is_named_where_it_fits():
    X = np.zeros((9, 1))
    repeats = _repeats(KFold(3).split(X), KFold(3).split(X))
    folds = CrossFit([], repeats).folds
    assert [(fold.repeat, fold.index) for fold in folds[2:4]] == [(0, 2), (1, 0)]
    assert folds[4].where == "on fold 1 of 3, repeat 1 (fit on 6 samples, predicting 3)"
    assert CrossFit([], repeats[:1]).folds[0].where.startswith("on fold 0 of 3 (")


def test_meta_features_average_the_repeats_and_leave_unpredicted_rows_nan():
    # Two repeats over rows 0-3; row 4 is never held out.
    repeats = _repeats(
        [([2, 3, 4], [0, 1]), ([0, 1, 4], [2, 3])],
        [([1, 2, 4], [0, 3]), ([0, 3, 4], [1, 2])],
    )
    crossfit = CrossFit([], repeats)
    values = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]
    outcome = MemberOutcome(
        folds=[FoldResult(np.array(v)[:, None], 0.5, None) for v in values]
    )
    block = crossfit.meta_features(outcome, n_rows=5)
    # Row 0: (1 + 5) / 2; row 1: (2 + 7) / 2; row 2: (3 + 8) / 2; row 3: (4 + 6) / 2.
    np.testing.assert_array_equal(block[:4, 0], [3.0, 4.5, 5.5, 5.0])
    assert np.isnan(block[4, 0])
    assert crossfit.fold_scores(outcome).shape == (2, 2)


def test_one_task_of_another_library_beside_scikit_learns_runs_in_threads():
    mlp = KerasClassifier(dense_model)
    lr, scaled = (
        LogisticRegression(),
        make_pipeline(StandardScaler(), LogisticRegression()),
    )
    assert one_task_beside_scikit_learn([mlp, lr, scaled])
    assert not one_task_beside_scikit_learn([mlp])  # alone
    assert not one_task_beside_scikit_learn([mlp, mlp, lr])  # two networks
    assert not one_task_beside_scikit_learn([lr, scaled])


def test_seeds_go_to_every_unset_random_state_only():
    member = make_pipeline(
        StandardScaler(), LogisticRegression(random_state=7)
    ).set_params(logisticregression__random_state=None)
    seed_estimator(member, np.random.RandomState(0))
    first = member.get_params()["logisticregression__random_state"]
    assert isinstance(first, int)
    seed_estimator(member, np.random.RandomState(1))  # set now: kept
    assert member.get_params()["logisticregression__random_state"] == first


def test_repeats_need_a_splitter_that_reshuffles(iris):
    X, y = iris
    stack = KerasStackingClassifier([("lr", LogisticRegression())], n_repeats=2)
    with pytest.raises(ValueError, match="n_repeats=2 needs a splitter that shuffles"):
        repeated_splits(stack, TimeSeriesSplit(3), X, y, None, None)
    rng = np.random.RandomState(0)
    first, second = repeated_splits(stack, KFold(3, shuffle=True), X, y, None, rng)
    assert not np.array_equal(first[0][1], second[0][1])


def test_time_ordered_splits_are_recognized():
    X = np.zeros((12, 1))
    assert time_ordered([list(TimeSeriesSplit(3).split(X))])
    assert not time_ordered([list(KFold(3).split(X))])
