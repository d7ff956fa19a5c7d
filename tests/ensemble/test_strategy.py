"""Each member's fitting strategy: how it is found, and that the stack runs it."""

from dataclasses import dataclass

import keras
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from skstack import KerasStackingClassifier
from skstack.ensemble import _strategy
from skstack.ensemble._strategy import (
    FitContext,
    FitStrategy,
    MemberOutcome,
    SeparateFits,
    Task,
    fit_strategy,
    register_fit_strategy,
)
from skstack.ensemble._tasks import fit_full
from skstack.ensemble._warm_start import WarmStartedFits
from skstack.keras import KerasClassifier, dense_model
from skstack.keras._strategies import EarlyStoppedFits, FusedFits


def _context(**options):
    defaults = {"fit_params": {}, "n_fits": 4, "keep_fold_models": False}
    return FitContext(**{**defaults, **options})


def test_an_estimator_with_no_strategy_of_its_own_is_fitted_separately():
    strategy = fit_strategy(DecisionTreeClassifier(), _context())
    assert type(strategy) is SeparateFits


@pytest.mark.parametrize(
    "options, expected",
    [
        ({}, WarmStartedFits),
        ({"warm_start_folds": False}, SeparateFits),
        ({"keep_fold_models": True}, SeparateFits),  # no full fit to start from
    ],
)
def test_a_convex_model_is_warm_started_when_the_stack_allows(options, expected):
    scaled = make_pipeline(StandardScaler(), LogisticRegression())
    for member in (LogisticRegression(), scaled):
        assert type(fit_strategy(member, _context(**options))) is expected


@pytest.mark.parametrize(
    "member",
    [
        LogisticRegression(C=np.inf),  # unpenalized: not strictly convex
        Ridge(),  # a closed-form solve: nothing to start from
        make_pipeline(StandardScaler(), DecisionTreeClassifier()),
    ],
)
def test_other_scikit_learn_models_are_fitted_separately(member):
    assert type(fit_strategy(member, _context())) is SeparateFits


@pytest.mark.parametrize(
    "member, options, expected",
    [
        (KerasClassifier(dense_model, epochs=3), {}, FusedFits(None, fall_back=True)),
        (
            KerasClassifier(dense_model, epochs=3),
            {"fuse_folds": True},
            FusedFits(None, False),
        ),
        (
            KerasClassifier(dense_model, epochs=3),
            {"fuse_folds": False},
            SeparateFits("fuse_folds=False"),
        ),
        (
            KerasClassifier(dense_model, epochs=3),
            {"n_fits": 1},
            SeparateFits("it is fitted once"),
        ),
        (
            make_pipeline(StandardScaler(), KerasClassifier(dense_model, epochs=3)),
            {},
            FusedFits("kerasclassifier", fall_back=True),
        ),
        # epochs="auto" (the default) holds out rows as early_stopping does...
        (
            KerasClassifier(dense_model),
            {},
            FusedFits(None, fall_back=True, stopping=EarlyStoppedFits()),
        ),
        # ...unless the user's own validation or callback stops the fit.
        (
            KerasClassifier(dense_model, validation_split=0.1),
            {"fuse_folds": False},
            SeparateFits("fuse_folds=False"),
        ),
        (
            KerasClassifier(dense_model, early_stopping=True),
            {},
            FusedFits(None, fall_back=True, stopping=EarlyStoppedFits()),
        ),
        (
            KerasClassifier(dense_model, early_stopping=True),
            {"fuse_folds": False},
            EarlyStoppedFits(reason="fuse_folds=False"),
        ),
        (
            make_pipeline(StandardScaler(), KerasClassifier(dense_model, epochs=3)),
            {"fit_params": {"kerasclassifier__class_weight": {0: 2.0}}},
            SeparateFits(
                "it is given fit parameters ['kerasclassifier__class_weight']"
            ),
        ),
        (
            make_pipeline(KerasClassifier(dense_model, early_stopping=True)),
            {"time_ordered": True},
            FusedFits(
                "kerasclassifier",
                fall_back=True,
                stopping=EarlyStoppedFits("kerasclassifier__", last_rows=True),
            ),
        ),
    ],
)
def test_skstacks_wrappers_bring_their_strategy(member, options, expected):
    strategy = fit_strategy(member, _context(**options))
    assert type(strategy) is type(expected)
    assert vars(strategy) == vars(expected)


def test_time_ordered_folds_make_early_stopping_validate_on_the_last_rows():
    member = make_pipeline(KerasClassifier(dense_model, early_stopping=True))
    strategy = fit_strategy(member, _context(time_ordered=True))
    prepared = strategy.prepare(clone(member))
    assert prepared.get_params()["kerasclassifier__validation_rows"] == "last"


def test_fuse_folds_true_names_why_a_wrapper_cannot_be_fused():
    member = KerasClassifier(dense_model, callbacks=[keras.callbacks.LambdaCallback()])
    with pytest.raises(ValueError, match="cannot be trained fused: .*LambdaCallback"):
        fit_strategy(member, _context(fuse_folds=True))


class _OwnStrategy(BaseEstimator, ClassifierMixin):
    """A classifier bringing its own strategy; None defers to the adapters."""

    def __init__(self, strategy=None, depth=3):
        self.strategy = strategy
        self.depth = depth

    def __skstack_fit_strategy__(self, context):
        return self.strategy

    def fit(self, X, y):
        self.tree_ = DecisionTreeClassifier(max_depth=self.depth, random_state=0)
        self.tree_.fit(X, y)
        self.classes_ = self.tree_.classes_
        return self

    def predict_proba(self, X):
        return self.tree_.predict_proba(X)

    def predict(self, X):
        return self.tree_.predict(X)


def test_the_method_comes_first_then_the_adapter_then_the_default(monkeypatch):
    own = FusedFits("x")
    assert fit_strategy(_OwnStrategy(own), _context()) is own
    assert type(fit_strategy(_OwnStrategy(), _context())) is SeparateFits
    adapted = WarmStartedFits()
    monkeypatch.setitem(_strategy._ADAPTERS, _OwnStrategy, lambda e, c: adapted)
    assert fit_strategy(_OwnStrategy(), _context()) is adapted
    assert fit_strategy(_OwnStrategy(own), _context()) is own


@dataclass(frozen=True)
class _ShallowRefit(FitStrategy):
    """Folds fitted separately; the full fit, after them, one level deep."""

    def tasks(self, plan, folds):
        return SeparateFits().tasks(plan, folds)[1:]  # the folds only

    def more_tasks(self, plan, folds, results):
        assert len(results) == len(folds)  # every fold ran first
        return [Task(fit_full, ({"depth": 1},))]

    def outcome(self, plan, folds, results, more):
        return MemberOutcome(folds=list(results), full=more[0], refit_epochs=1)


def test_a_stack_runs_the_strategy_a_member_brings(iris, monkeypatch):
    X, y = iris
    monkeypatch.setitem(_strategy._ADAPTERS, _OwnStrategy, lambda e, c: _ShallowRefit())
    stack = KerasStackingClassifier(
        [("own", _OwnStrategy()), ("lr", LogisticRegression())], cv=3, random_state=0
    ).fit(X, y)
    full = stack.named_estimators_["own"]
    assert full.depth == 1 and full.tree_.get_depth() == 1
    assert stack.refit_epochs_ == {"own": 1}
    # The folds were fitted as the member is (depth 3), by the engine's tasks.
    alone = KerasStackingClassifier(
        [("own", _OwnStrategy()), ("lr", LogisticRegression())], cv=3, random_state=0
    ).set_params(own__depth=3)
    monkeypatch.delitem(_strategy._ADAPTERS, _OwnStrategy)
    np.testing.assert_array_equal(
        alone.fit(X, y).oof_predictions_, stack.oof_predictions_
    )
    assert alone.named_estimators_["own"].tree_.get_depth() > 1


def test_register_fit_strategy_covers_subclasses(monkeypatch):
    class Deeper(_OwnStrategy):
        pass

    monkeypatch.setattr(_strategy, "_ADAPTERS", dict(_strategy._ADAPTERS))
    register_fit_strategy(_OwnStrategy, lambda e, c: _ShallowRefit())
    assert type(fit_strategy(Deeper(), _context())) is _ShallowRefit
