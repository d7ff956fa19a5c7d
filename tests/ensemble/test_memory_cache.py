"""``memory=``: member fits and out-of-fold results cached on disk."""

from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.exceptions import CacheEntryWarning
from skstack.keras import KerasClassifier, LinearMetaClassifier, dense_model


class _CountingLR(LogisticRegression):
    """Counts its fits in this process (the stacks here fit sequentially)."""

    fits = 0

    def fit(self, X, y, sample_weight=None):
        type(self).fits += 1
        return super().fit(X, y, sample_weight=sample_weight)


def _stack(memory, **params):
    members = [("a", _CountingLR(max_iter=500)), ("b", _CountingLR(C=0.1))]
    # Fold by fold, one cache entry per fit: a warm-started member's fits are
    # one task and one entry (tested below).
    params = {
        "final_estimator": LogisticRegression(),
        "cv": 3,
        "warm_start_folds": False,
        **params,
    }
    return KerasStackingClassifier(members, memory=memory, random_state=0, **params)


def _fits(stack, X, y, **fit_params):
    before = _CountingLR.fits
    stack.fit(X, y, **fit_params)
    return _CountingLR.fits - before


@pytest.mark.parametrize("warm_start_folds", [False, True])
def test_a_second_fit_trains_no_member(iris, tmp_path, warm_start_folds):
    X, y = iris
    first = _stack(tmp_path, warm_start_folds=warm_start_folds)
    assert _fits(first, X, y) == 2 * (3 + 1)  # 3 folds and a full fit each
    entries = len(list(Path(tmp_path).rglob("output.pkl")))
    assert entries == (2 if warm_start_folds else 2 * (3 + 1))
    second = _stack(tmp_path, warm_start_folds=warm_start_folds)
    assert _fits(second, X, y) == 0
    np.testing.assert_array_equal(second.oof_predictions_, first.oof_predictions_)
    np.testing.assert_array_equal(second.predict_proba(X), first.predict_proba(X))


def test_tuning_the_meta_learner_or_passthrough_trains_no_member(iris, tmp_path):
    X, y = iris
    _fits(_stack(tmp_path), X, y)
    assert (
        _fits(_stack(tmp_path, final_estimator=LogisticRegression(C=0.01)), X, y) == 0
    )
    assert _fits(_stack(tmp_path, passthrough=True), X, y) == 0
    assert _fits(_stack(tmp_path).set_params(b="drop"), X, y) == 0


@pytest.mark.parametrize(
    ("change", "expected_fits"),
    [
        (lambda stack, X, y: (stack.set_params(a__C=2.0), X, y, {}), 4),
        (lambda stack, X, y: (stack, X + 1e-9, y, {}), 8),
        (lambda stack, X, y: (stack.set_params(random_state=1), X, y, {}), 8),
        (lambda stack, X, y: (stack, X, y, {"sample_weight": np.ones(len(y))}), 8),
        # New folds; the full fits on all rows are the same, and cached.
        (lambda stack, X, y: (stack.set_params(cv=4), X, y, {}), 8),
    ],
    ids=["member parameter", "data", "seed", "sample weight", "splits"],
)
def test_what_changes_a_fit_misses_the_cache(iris, tmp_path, change, expected_fits):
    X, y = iris
    _fits(_stack(tmp_path), X, y)
    stack, X_changed, y_changed, fit_params = change(_stack(tmp_path), X, y)
    assert _fits(stack, X_changed, y_changed, **fit_params) == expected_fits


def test_keras_members_give_bit_identical_results_from_the_cache(iris, tmp_path):
    X, y = iris
    members = [
        ("mlp", KerasClassifier(dense_model, hidden=(8,), epochs=3)),
        ("lr", LogisticRegression(max_iter=500)),
    ]
    stacks = [
        KerasStackingClassifier(members, cv=3, random_state=0, memory=memory)
        for memory in (None, tmp_path, joblib.Memory(tmp_path, verbose=0))
    ]
    results = [stack.fit(X, y) for stack in stacks]
    assert results[0].fused_members_ == results[2].fused_members_ == ["mlp"]
    for stack in results[1:]:
        np.testing.assert_array_equal(
            stack.oof_predictions_, results[0].oof_predictions_
        )
        np.testing.assert_array_equal(
            stack.predict_proba(X), results[0].predict_proba(X)
        )


def test_an_unreadable_entry_is_refitted_with_a_warning(iris, tmp_path):
    X, y = iris
    expected = _stack(tmp_path).fit(X, y).oof_predictions_
    outputs = sorted(Path(tmp_path).rglob("output.pkl"))
    assert len(outputs) == 8
    outputs[0].write_bytes(outputs[0].read_bytes()[:20])  # truncated
    with pytest.warns(CacheEntryWarning, match="could not be read"):
        assert _fits(stack := _stack(tmp_path), X, y) == 1
    np.testing.assert_array_equal(stack.oof_predictions_, expected)
    assert _fits(_stack(tmp_path), X, y) == 0  # the entry was replaced


def test_grid_search_over_the_meta_learner_shares_the_cache(iris, tmp_path):
    X, y = iris
    grid = {"final_estimator__C": [0.1, 1.0, 10.0]}

    def search(memory):
        stack = _stack(memory, final_estimator=LinearMetaClassifier())
        return GridSearchCV(stack, grid, cv=2, n_jobs=2).fit(X, y)

    cached, plain = search(tmp_path), search(None)
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_array_equal(cached.cv_results_[key], plain.cv_results_[key])
    # One stack's members per outer split and the refit, whatever the grid.
    assert len(list(Path(tmp_path).rglob("output.pkl"))) == 3 * 2 * (3 + 1)


def test_memory_is_validated(diabetes):
    X, y = diabetes
    stack = KerasStackingRegressor([("lr", LogisticRegression())], memory=3)
    with pytest.raises(ValueError, match="'memory' parameter"):
        stack.fit(X, y)
