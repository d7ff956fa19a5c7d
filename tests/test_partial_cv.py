"""cv whose test parts do not cover every row: time-ordered splits and holdouts."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import PredefinedSplit, ShuffleSplit, TimeSeriesSplit

from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.keras import KerasRegressor, dense_model


@pytest.fixture(scope="module")
def series():
    """Diabetes rows taken as a time-ordered series (200 rows), target scaled."""
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:200], y[:200]
    return (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()


def _mlp(**params):
    params = {"hidden": (8,), "epochs": 3, "random_state": 0, **params}
    return KerasRegressor(dense_model, **params)


@pytest.mark.parametrize("fuse_folds", [False, True])
def test_time_series_split_predicts_each_row_from_earlier_rows_only(series, fuse_folds):
    X, y = series
    cv = TimeSeriesSplit(4, gap=3)
    params = {"batch_size": -1, "shuffle": False, "optimizer": "sgd"}
    members = [("mlp", _mlp(**params)), ("ridge", Ridge())]
    stack = KerasStackingRegressor(
        members, final_estimator=LinearRegression(), cv=cv, fuse_folds=fuse_folds
    ).fit(X, y)
    assert stack.fused_members_ == (["mlp"] if fuse_folds else [])
    splits = stack.splits_[0]
    for train, test in splits:
        assert train.max() < test.min() - 3  # the past, less the gap
    predicted = np.zeros(len(y), dtype=bool)
    for _, test in splits:
        predicted[test] = True
    np.testing.assert_array_equal(stack.oof_mask_, predicted)
    assert np.isnan(stack.oof_predictions_[~predicted]).all()
    # A reference loop over the splits: each member fitted on the window,
    # predicting the next rows.
    for column, (_, member) in enumerate(members):
        expected = np.full(len(y), np.nan)
        for train, test in splits:
            expected[test] = clone(member).fit(X[train], y[train]).predict(X[test])
        np.testing.assert_allclose(
            stack.oof_predictions_[:, column], expected, rtol=1e-4, atol=1e-5
        )


def test_the_meta_learner_learns_from_the_predicted_rows_only(series):
    X, y = series
    weights = np.linspace(1, 2, len(y))
    stack = KerasStackingRegressor(
        [("ridge", Ridge()), ("small", Ridge(alpha=100))],
        final_estimator=LinearRegression(),
        cv=TimeSeriesSplit(3),
    ).fit(X, y, sample_weight=weights)
    rows = stack.oof_mask_
    assert 0 < rows.sum() < len(y)
    expected = LinearRegression().fit(
        stack.oof_predictions_[rows], y[rows], sample_weight=weights[rows]
    )
    np.testing.assert_allclose(stack.final_estimator_.coef_, expected.coef_)
    # fit_transform: the same matrix, NaN where no out-of-fold prediction.
    meta = clone(stack).fit_transform(X, y, sample_weight=weights)
    np.testing.assert_array_equal(meta, stack.oof_predictions_)
    assert "ridge" in str(stack.report())


def test_a_holdout_blend_trains_members_once_and_the_meta_learner_on_the_holdout(
    series,
):
    X, y = series
    cv = ShuffleSplit(n_splits=1, test_size=0.25, random_state=0)
    ((train, holdout),) = cv.split(X)
    members = [("mlp", _mlp()), ("ridge", Ridge())]
    stack = KerasStackingRegressor(
        members,
        final_estimator=LinearRegression(),
        cv=cv,
        fold_models="average",
    ).fit(X, y)
    assert stack.fused_members_ == []  # one fit per member: nothing to fuse
    assert stack.oof_mask_.sum() == len(holdout)
    blended = []
    for (_, member), fitted in zip(members, stack.estimators_, strict=True):
        alone = clone(member).fit(X[train], y[train])
        assert len(fitted) == 1  # one model per member, trained once
        np.testing.assert_allclose(fitted[0].predict(X), alone.predict(X), rtol=1e-6)
        blended.append(alone.predict(X[holdout]))
    meta = LinearRegression().fit(np.column_stack(blended), y[holdout])
    np.testing.assert_allclose(stack.final_estimator_.coef_, meta.coef_, rtol=1e-5)


def test_predefined_split_with_unassigned_rows_is_a_holdout(series):
    X, y = series
    fold = np.full(len(y), -1)
    fold[150:] = 0  # the last 50 rows are held out; the others never tested
    stack = KerasStackingRegressor([("ridge", Ridge())], cv=PredefinedSplit(fold))
    stack.fit(X, y)
    np.testing.assert_array_equal(np.flatnonzero(stack.oof_mask_), np.arange(150, 200))


def test_overlapping_test_parts_are_refused(series):
    X, y = series
    cv = ShuffleSplit(n_splits=3, test_size=0.5, random_state=0)
    with pytest.raises(ValueError, match=r"test parts of cv overlap: \d+ samples"):
        KerasStackingRegressor([("ridge", Ridge())], cv=cv).fit(X, y)


class _NeverFitted(ClassifierMixin, BaseEstimator):
    """A member whose fit fails: an error before it proves nothing was fitted."""

    def fit(self, X, y):
        raise AssertionError("fitted")

    def predict_proba(self, X):
        raise AssertionError("predicted")


def test_a_class_missing_from_the_predicted_rows_fails_before_any_fit(series):
    X, _ = series
    y = np.repeat([0, 1, 2], [80, 60, 60])
    fold = np.full(len(y), -1)
    fold[:100] = 0  # the held-out rows hold classes 0 and 1 only
    stack = KerasStackingClassifier(
        [("never", _NeverFitted()), ("lr", LogisticRegression())],
        cv=PredefinedSplit(fold),
    )
    with pytest.raises(ValueError, match=r"predicts 100 of the 200 samples.*\[2\]"):
        stack.fit(X, y)
    assert not hasattr(stack, "estimators_")


def test_repeats_need_a_splitter_that_can_be_redrawn(series):
    X, y = series
    stack = KerasStackingRegressor(
        [("ridge", Ridge())], cv=TimeSeriesSplit(3), n_repeats=2
    )
    with pytest.raises(ValueError, match="n_repeats=2 needs a splitter that shuffles"):
        stack.fit(X, y)


def test_early_stopping_validates_on_the_last_rows_of_each_window(series):
    X, y = series
    member = _mlp(early_stopping=True, validation_fraction=0.2, epochs=4)
    stack = KerasStackingRegressor(
        [("mlp", member)], cv=TimeSeriesSplit(3), fold_models="average"
    ).fit(X, y)
    for (train, _), fold_model in zip(
        stack.splits_[0], stack.estimators_[0], strict=True
    ):
        n_held_out = int(round(0.2 * len(train)))
        expected = np.arange(len(train) - n_held_out, len(train))
        np.testing.assert_array_equal(fold_model.validation_rows_, expected)
    assert member.validation_rows == "random"  # the user's member is unchanged
    # A shuffled holdout is not time-ordered: random validation rows.
    blend = KerasStackingRegressor(
        [("mlp", member)],
        cv=ShuffleSplit(n_splits=1, test_size=0.25, random_state=0),
        fold_models="average",
    ).fit(X, y)
    assert blend.estimators_[0][0].validation_rows == "random"


def test_time_ordered_stacks_cache_parallelize_route_and_round_trip(series, tmp_path):
    import sklearn

    import skstack

    X, y = series
    weights = np.linspace(1, 3, len(y))

    def stack(**params):
        members = [("ridge", Ridge()), ("small", Ridge(alpha=50))]
        return KerasStackingRegressor(
            members, final_estimator=LinearRegression(), cv=TimeSeriesSplit(3), **params
        )

    plain = stack().fit(X, y, sample_weight=weights)
    cached = stack(memory=tmp_path / "cache")
    for _ in range(2):  # the second fit reads every member fit from the cache
        cached.fit(X, y, sample_weight=weights)
        np.testing.assert_array_equal(cached.oof_predictions_, plain.oof_predictions_)
    parallel = stack(n_jobs=2).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(parallel.oof_predictions_, plain.oof_predictions_)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = stack()
        for _, member in routed.estimators:
            member.set_fit_request(sample_weight=True)
        routed.final_estimator.set_fit_request(sample_weight=True)
        routed.fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(routed.oof_predictions_, plain.oof_predictions_)
    np.testing.assert_allclose(
        routed.final_estimator_.coef_, plain.final_estimator_.coef_
    )
    exported = plain.to_keras().predict_on_batch(X)
    np.testing.assert_allclose(exported.ravel(), plain.predict(X), rtol=1e-9)
    skstack.save(plain, tmp_path / "stack.skstack")
    loaded = skstack.load(tmp_path / "stack.skstack")
    np.testing.assert_array_equal(loaded.oof_mask_, plain.oof_mask_)
    np.testing.assert_array_equal(loaded.predict(X), plain.predict(X))
