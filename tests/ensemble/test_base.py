"""The stacking engine: folds, out-of-fold meta-features, refits, weights, prefit.

These use scikit-learn members, whose fits are deterministic, so each expected
matrix can be rebuilt independently with ``cross_val_predict``.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import (
    BayesianRidge,
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeClassifier,
    SGDClassifier,
)
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.exceptions import SampleWeightIgnoredWarning


def _lr_stack(**params):
    members = [("lr", LogisticRegression()), ("knn", KNeighborsClassifier(5))]
    params = {"final_estimator": LogisticRegression(), "cv": 3, **params}
    return KerasStackingClassifier(members, **params)


def test_oof_predictions_are_cross_val_predict_of_each_member(iris):
    X, y = iris
    # Folds started from scratch, as scikit-learn's; by default the logistic
    # regression's start from its full fit: the same optimum, within its tol.
    cold = _lr_stack(warm_start_folds=False).fit(X, y)
    warm = _lr_stack().fit(X, y)
    cv = StratifiedKFold(3)
    for i, member in enumerate([LogisticRegression(), KNeighborsClassifier(5)]):
        expected = cross_val_predict(member, X, y, cv=cv, method="predict_proba")
        columns = slice(3 * i, 3 * i + 3)
        np.testing.assert_allclose(cold.oof_predictions_[:, columns], expected)
        np.testing.assert_allclose(
            warm.oof_predictions_[:, columns], expected, rtol=0, atol=5e-3
        )


def test_members_are_refit_on_all_data_for_prediction(iris):
    X, y = iris
    stack = _lr_stack().fit(X, y)
    full = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(stack.named_estimators_.lr.coef_, full.coef_)
    np.testing.assert_allclose(stack.transform(X[:5])[:, :3], full.predict_proba(X[:5]))


def test_every_member_sees_the_same_folds_of_a_shuffling_splitter(iris):
    # KFold(shuffle=True) without a seed draws new folds on every split() call;
    # two identical members only get identical columns if they share folds.
    X, y = iris
    members = [("a", LogisticRegression()), ("b", LogisticRegression())]
    stack = KerasStackingClassifier(
        members, final_estimator=LogisticRegression(), cv=KFold(4, shuffle=True)
    ).fit(X, y)
    np.testing.assert_array_equal(
        stack.oof_predictions_[:, :3], stack.oof_predictions_[:, 3:]
    )


def test_cv_accepts_an_iterable_of_splits(iris):
    X, y = iris
    splits = list(StratifiedKFold(3, shuffle=True, random_state=1).split(X, y))
    stack = _lr_stack(cv=splits, warm_start_folds=False).fit(X, y)
    expected = cross_val_predict(
        LogisticRegression(), X, y, cv=splits, method="predict_proba"
    )
    np.testing.assert_allclose(stack.oof_predictions_[:, :3], expected)


def test_cv_whose_test_parts_overlap_is_refused(iris):
    X, y = iris
    half = np.arange(75)
    with pytest.raises(ValueError, match="test parts of cv overlap: 75 samples"):
        _lr_stack(cv=[(half, half + 75), (half, half + 75)]).fit(X, y)


def test_fit_transform_is_out_of_fold_not_in_sample(iris):
    X, y = iris
    stack = _lr_stack()
    meta = stack.fit_transform(X, y)
    np.testing.assert_array_equal(meta, stack.oof_predictions_)
    in_sample = stack.transform(X)
    assert meta.shape == in_sample.shape
    # 5-NN in-sample sees each row among its own neighbours; out-of-fold it does not.
    assert not np.allclose(meta, in_sample)


def test_dropped_member_is_left_out_everywhere(iris):
    X, y = iris
    stack = _lr_stack().set_params(knn="drop").fit(X, y)
    assert len(stack.estimators_) == 1
    assert stack.named_estimators_.knn == "drop"
    assert stack.stack_method_ == ["predict_proba"]
    assert list(stack.get_feature_names_out()) == [
        "lr_proba_0",
        "lr_proba_1",
        "lr_proba_2",
    ]


def test_all_members_dropped_is_an_error(iris):
    X, y = iris
    with pytest.raises(ValueError, match="all estimators are dropped"):
        _lr_stack().set_params(lr="drop", knn="drop").fit(X, y)


def test_nested_parameters_reach_members(iris):
    X, y = iris
    stack = _lr_stack().set_params(lr__C=0.01, final_estimator__C=3.0)
    params = stack.get_params()
    assert params["lr__C"] == 0.01 and params["final_estimator__C"] == 3.0
    stack.fit(X, y)
    assert stack.named_estimators_.lr.C == 0.01
    assert stack.final_estimator_.C == 3.0


def test_stack_method_auto_dict_and_binary_columns(binary):
    X, y = binary
    members = [("lr", LogisticRegression()), ("svc", LinearSVC())]
    stack = KerasStackingClassifier(
        members, final_estimator=LogisticRegression(), cv=3, warm_start_folds=False
    )
    stack.fit(X, y)
    # A list aligned with estimators_, as scikit-learn's.
    assert stack.stack_method_ == ["predict_proba", "decision_function"]
    # Binary: one column per member (the positive class).
    assert stack.oof_predictions_.shape == (100, 2)
    expected = cross_val_predict(
        LogisticRegression(), X, y, cv=StratifiedKFold(3), method="predict_proba"
    )[:, 1]
    np.testing.assert_allclose(stack.oof_predictions_[:, 0], expected)

    stack.set_params(stack_method={"lr": "predict"}).fit(X, y)
    assert stack.stack_method_ == ["predict", "decision_function"]
    assert set(np.unique(stack.oof_predictions_[:, 0])) <= {0.0, 1.0}


def test_stack_method_a_member_lacks_is_a_clear_error(iris):
    X, y = iris
    stack = _lr_stack(stack_method={"knn": "decision_function"})
    message = "'knn' .* does not implement the method decision_function"
    with pytest.raises(ValueError, match=message):
        stack.fit(X, y)
    with pytest.raises(ValueError, match="unknown estimators \\['svm'\\]"):
        _lr_stack(stack_method={"svm": "predict"}).fit(X, y)


def test_drop_first_proba_keeps_k_minus_one_columns(iris):
    X, y = iris
    stack = _lr_stack(drop_first_proba=True).fit(X, y)
    full = _lr_stack().fit(X, y)
    np.testing.assert_allclose(
        stack.oof_predictions_, full.oof_predictions_[:, [1, 2, 4, 5]]
    )
    assert list(stack.get_feature_names_out()[:2]) == ["lr_proba_1", "lr_proba_2"]


def test_class_missing_from_a_training_fold_keeps_columns_aligned(iris):
    # Iris is sorted by class: unshuffled KFold(3)'s first fold trains on classes
    # 1 and 2 only and predicts the 50 rows of class 0.
    X, y = iris
    stack = KerasStackingClassifier(
        [("lr", LogisticRegression())],
        final_estimator=LogisticRegression(),
        cv=KFold(3),
    ).fit(X, y)
    first = stack.oof_predictions_[:50]
    assert np.all(first[:, 0] == 0.0)
    expected = LogisticRegression().fit(X[50:], y[50:]).predict_proba(X[:50])
    np.testing.assert_allclose(first[:, 1:], expected)
    np.testing.assert_allclose(stack.oof_predictions_.sum(axis=1), 1.0)


def test_decision_function_of_a_member_missing_a_class_is_a_clear_error(iris):
    X, y = iris
    stack = KerasStackingClassifier(
        [("svc", LinearSVC())], final_estimator=LogisticRegression(), cv=KFold(3)
    )
    with pytest.raises(
        ValueError, match="'svc' failed on fold 0.*no column for classes \\[0\\]"
    ):
        stack.fit(X, y)


def test_passthrough_appends_the_original_features(iris):
    X, y = iris
    stack = _lr_stack(passthrough=True).fit(X, y)
    np.testing.assert_array_equal(stack.oof_predictions_[:, 6:], X)
    names = stack.get_feature_names_out()
    assert list(names[6:]) == ["x0", "x1", "x2", "x3"]


def test_pandas_input_keeps_column_names(iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    # A member selecting columns by name only works if it gets the DataFrame.
    petals = ColumnTransformer([("keep", "passthrough", ["pl", "pw"])])
    select = make_pipeline(petals, LogisticRegression())
    stack = KerasStackingClassifier(
        [("petals", select), ("lr", LogisticRegression())],
        final_estimator=LogisticRegression(),
        passthrough=True,
        cv=3,
    ).fit(frame, pd.Series(y))
    assert list(stack.feature_names_in_) == ["sl", "sw", "pl", "pw"]
    assert list(stack.get_feature_names_out()[-4:]) == ["sl", "sw", "pl", "pw"]
    assert stack.score(frame, y) > 0.9


def test_string_labels(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    stack = _lr_stack().fit(X, names)
    assert list(stack.classes_) == ["setosa", "versicolor", "virginica"]
    assert set(stack.predict(X)) <= set(names)
    assert stack.score(X, names) > 0.9
    assert stack.get_feature_names_out()[0] == "lr_proba_setosa"


def test_regression_single_and_multi_output(diabetes):
    X, y = diabetes
    members = [("ridge", Ridge()), ("lin", LinearRegression())]
    stack = KerasStackingRegressor(members, final_estimator=Ridge(), cv=4).fit(X, y)
    expected = cross_val_predict(Ridge(), X, y, cv=KFold(4))
    np.testing.assert_allclose(stack.oof_predictions_[:, 0], expected)
    assert stack.predict(X).shape == (200,)

    Y = np.column_stack([y, -2 * y])
    stack.fit(X, Y)
    assert stack.oof_predictions_.shape == (200, 4)
    assert stack.predict(X[:3]).shape == (3, 2)
    assert list(stack.get_feature_names_out()) == [
        "ridge_predict0",
        "ridge_predict1",
        "lin_predict0",
        "lin_predict1",
    ]


def test_sample_weight_reaches_fold_full_and_final_fits(binary):
    # DummyClassifier(strategy="prior") predicts the weighted class shares of
    # the rows it was fitted on, so each fit's weights show in its output.
    X, y = binary
    weights = np.where(y == 1, 3.0, 1.0)
    stack = KerasStackingClassifier(
        [
            ("prior", DummyClassifier(strategy="prior")),
            (
                "pipe",
                make_pipeline(StandardScaler(), DummyClassifier(strategy="prior")),
            ),
        ],
        final_estimator=DummyClassifier(strategy="prior"),
        cv=KFold(4, shuffle=True, random_state=0),
    ).fit(X, y, sample_weight=weights)
    for train, test in KFold(4, shuffle=True, random_state=0).split(X):
        share = weights[train][y[train] == 1].sum() / weights[train].sum()
        np.testing.assert_allclose(stack.oof_predictions_[test], share)
    assert stack.named_estimators_.prior.class_prior_[1] == pytest.approx(0.75)
    assert stack.named_estimators_.pipe[-1].class_prior_[1] == pytest.approx(0.75)
    assert stack.final_estimator_.class_prior_[1] == pytest.approx(0.75)


def test_member_without_sample_weight_is_named_in_a_warning(iris):
    X, y = iris
    with pytest.warns(SampleWeightIgnoredWarning, match="\\['knn'\\]") as caught:
        _lr_stack().fit(X, y, sample_weight=np.ones(len(y)))
    assert caught[0].filename == __file__  # it points at the user's fit call


def test_prefit_uses_the_given_members_unchanged(iris):
    X, y = iris
    X_a, y_a, X_b, y_b = X[::2], y[::2], X[1::2], y[1::2]
    lr = LogisticRegression().fit(X_a, y_a)
    coef = lr.coef_.copy()
    stack = KerasStackingClassifier(
        [("lr", lr)], final_estimator=LogisticRegression(), cv="prefit"
    ).fit(X_b, y_b)
    assert stack.estimators_[0] is lr
    np.testing.assert_array_equal(lr.coef_, coef)
    np.testing.assert_allclose(stack.oof_predictions_, lr.predict_proba(X_b))


def test_prefit_with_an_unfitted_member_names_it(iris):
    X, y = iris
    stack = KerasStackingClassifier(
        [("lr", LogisticRegression())],
        final_estimator=LogisticRegression(),
        cv="prefit",
    )
    with pytest.raises(ValueError, match="'lr' is not"):
        stack.fit(X, y)


def test_random_state_seeds_unset_member_seeds_reproducibly(iris):
    X, y = iris
    members = [("rf", RandomForestClassifier(n_estimators=5))]
    stack = KerasStackingClassifier(
        members, final_estimator=LogisticRegression(), cv=3, random_state=7
    )
    first = stack.fit(X, y).oof_predictions_
    second = clone(stack).fit(X, y).oof_predictions_
    np.testing.assert_array_equal(first, second)
    assert stack.get_params()["rf__random_state"] is None  # parameter untouched
    other = clone(stack).set_params(random_state=8).fit(X, y).oof_predictions_
    assert not np.array_equal(first, other)


def test_dummy_regressor_weights(diabetes):
    X, y = diabetes
    weights = np.linspace(0.5, 2.0, len(y))
    stack = KerasStackingRegressor(
        [("mean", DummyRegressor())], final_estimator=LinearRegression(), cv=KFold(2)
    ).fit(X, y, sample_weight=weights)
    half = np.arange(100, 200)
    expected = np.average(y[half], weights=weights[half])
    np.testing.assert_allclose(stack.oof_predictions_[:100, 0], expected)


def test_images_with_a_flattening_member_and_passthrough():
    from sklearn.datasets import load_digits

    from skstack import Flatten

    X, y = load_digits(return_X_y=True)
    images = (X[:300] / 16.0).reshape(-1, 8, 8, 1)
    member = make_pipeline(Flatten(), LogisticRegression(max_iter=500))
    stack = KerasStackingClassifier(
        [("lr", member)], final_estimator=LogisticRegression(), cv=3, passthrough=True
    ).fit(images, y[:300])
    assert stack.oof_predictions_.shape == (300, 10 + 64)
    np.testing.assert_array_equal(stack.oof_predictions_[:, 10:], X[:300] / 16.0)
    assert stack.get_feature_names_out()[-1] == "x63"
    assert stack.predict(images[:2]).shape == (2,)


def test_fold_models_average_predicts_with_the_mean_of_fold_models(iris):
    X, y = iris
    stack = _lr_stack(fold_models="average", cv=StratifiedKFold(3)).fit(X, y)
    fold_models = stack.named_estimators_.lr
    assert len(fold_models) == 3
    for model, (train, _) in zip(fold_models, stack.splits_[0], strict=True):
        # Each kept model was fitted on its fold's training part, none on all rows.
        expected = LogisticRegression().fit(X[train], y[train])
        np.testing.assert_allclose(model.coef_, expected.coef_)
    mean = np.mean([m.predict_proba(X[:7]) for m in fold_models], axis=0)
    np.testing.assert_allclose(stack.transform(X[:7])[:, :3], mean)
    assert stack.predict(X[:7]).shape == (7,)


def test_fold_models_average_refuses_averaging_labels(iris):
    X, y = iris
    with pytest.raises(ValueError, match="no meaning for predicted labels; \\['lr'\\]"):
        _lr_stack(fold_models="average", stack_method={"lr": "predict"}).fit(X, y)


def test_n_repeats_oof_is_the_mean_of_single_repeats(iris):
    X, y = iris
    stack = _lr_stack(n_repeats=3, random_state=0).fit(X, y)
    assert len(stack.splits_) == 3
    singles = [
        _lr_stack(cv=splits, random_state=0).fit(X, y).oof_predictions_
        for splits in stack.splits_
    ]
    np.testing.assert_allclose(stack.oof_predictions_, np.mean(singles, axis=0))
    # The repeats really are different shuffles.
    assert not np.array_equal(stack.splits_[0][0][1], stack.splits_[1][0][1])
    again = _lr_stack(n_repeats=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.oof_predictions_, stack.oof_predictions_)


def test_n_repeats_needs_a_shuffling_splitter(iris):
    X, y = iris
    splits = list(StratifiedKFold(3).split(X, y))
    with pytest.raises(ValueError, match="n_repeats=2 needs a splitter that shuffles"):
        _lr_stack(cv=splits, n_repeats=2).fit(X, y)


def test_groups_reach_the_splitter(iris):
    from sklearn.model_selection import GroupKFold

    X, y = iris
    groups = np.arange(len(y)) // 5  # 30 groups of 5 rows
    stack = _lr_stack(cv=GroupKFold(3)).fit(X, y, groups=groups)
    for train, test in stack.splits_[0]:
        assert not set(groups[train]) & set(groups[test])
    pipe = make_pipeline(StandardScaler(), _lr_stack(cv=GroupKFold(3)))
    pipe.fit(X, y, kerasstackingclassifier__groups=groups)
    for train, test in pipe[-1].splits_[0]:
        assert not set(groups[train]) & set(groups[test])
    with pytest.raises(ValueError, match="groups has 3 entries but X has 150"):
        _lr_stack(cv=GroupKFold(3)).fit(X, y, groups=[1, 2, 3])


def test_fold_scores_and_report(iris):
    from sklearn.model_selection import cross_val_score

    X, y = iris
    stack = _lr_stack(cv=StratifiedKFold(3)).fit(X, y)
    expected = cross_val_score(LogisticRegression(), X, y, cv=StratifiedKFold(3))
    np.testing.assert_allclose(stack.fold_scores_["lr"], [expected])
    report = stack.report(X, y)
    assert report.members == ["lr", "knn"]
    assert report.mean_scores["lr"] == pytest.approx(expected.mean())
    np.testing.assert_allclose(np.diag(report.correlation), 1.0)
    lr_block, knn_block = stack.oof_predictions_[:, :3], stack.oof_predictions_[:, 3:]
    assert report.correlation[0, 1] == pytest.approx(
        np.corrcoef(lr_block.ravel(), knn_block.ravel())[0, 1]
    )
    assert report.stack_score == pytest.approx(stack.score(X, y))
    text = str(report)
    assert "oof accuracy" in text and f"{expected.mean():.4f}" in text
    frame = report.to_frame()
    assert frame.loc["lr", "oof_score"] == pytest.approx(expected.mean())
    scored = _lr_stack(scoring="neg_log_loss").fit(X, y)
    assert np.all(scored.fold_scores_["lr"] < 0)


def test_plot_report_draws_scores_and_correlation(iris):
    import matplotlib

    matplotlib.use("Agg")
    X, y = iris
    axes = _lr_stack().fit(X, y).plot_report(X, y)
    bars, heat = axes
    assert [p.get_height() for p in bars.patches] == pytest.approx(
        [np.mean(s) for s in _lr_stack().fit(X, y).fold_scores_.values()]
    )
    assert heat.images[0].get_array().shape == (2, 2)


def test_two_layer_stack_trains_each_layer_on_out_of_fold_features(iris):
    # A stack is a transformer whose fit_transform is out-of-fold, so in a
    # Pipeline the next layer learns from the layer below's OOF predictions;
    # passthrough=True is the skip connection from the original features.
    X, y = iris
    # Cold folds, to compare with cross_val_predict exactly.
    layer0 = _lr_stack(passthrough=True, warm_start_folds=False)
    layer1 = KerasStackingClassifier(
        [("lr1", LogisticRegression()), ("knn1", KNeighborsClassifier(7))],
        final_estimator=LogisticRegression(),
        cv=3,
        warm_start_folds=False,
    )
    stacked = make_pipeline(layer0, layer1).fit(X, y)
    first = stacked[0].oof_predictions_
    assert first.shape == (150, 6 + 4)
    expected = cross_val_predict(
        LogisticRegression(), first, y, cv=StratifiedKFold(3), method="predict_proba"
    )
    np.testing.assert_allclose(stacked[1].oof_predictions_[:, :3], expected)
    assert stacked.score(X, y) > 0.9
    assert stacked.get_params()["kerasstackingclassifier-2__lr1__C"] == 1.0


def test_groups_reach_the_stack_inside_grid_search_by_metadata_routing(iris):
    import sklearn
    from sklearn.model_selection import GridSearchCV, GroupKFold

    X, y = iris
    groups = np.arange(len(y)) // 5
    with sklearn.config_context(enable_metadata_routing=True):
        stack = _lr_stack(cv=GroupKFold(3)).set_fit_request(
            groups=True, sample_weight=False
        )
        search = GridSearchCV(stack, {"lr__C": [0.1, 1.0]}, cv=GroupKFold(2))
        search.fit(X, y, groups=groups)
    for train, test in search.best_estimator_.splits_[0]:
        assert not set(groups[train]) & set(groups[test])


@pytest.mark.parametrize(
    ("estimators", "message"),
    [
        (
            [("lr", LogisticRegression()), ("lr", LogisticRegression())],
            "unique: \\['lr'\\]",
        ),
        ([("l__r", LogisticRegression())], "'l__r' must not contain '__'"),
        ([("cv", LogisticRegression())], "'cv' conflicts with the parameter"),
        # scikit-learn's wording first, then which stack got what.
        ([], "^Invalid 'estimators' attribute, .*KerasStackingClassifier got"),
    ],
)
def test_malformed_estimators_are_named(iris, estimators, message):
    X, y = iris
    stack = KerasStackingClassifier(estimators, final_estimator=LogisticRegression())
    with pytest.raises(ValueError, match=message):
        stack.fit(X, y)


class _FitReturnsNone(LogisticRegression):
    """A member whose ``fit`` forgets ``return self``."""

    def fit(self, X, y, sample_weight=None):
        super().fit(X, y, sample_weight=sample_weight)


def test_a_member_whose_fit_returns_none_is_used_as_fitted(iris):
    X, y = iris
    stack = KerasStackingClassifier(
        [("lr", _FitReturnsNone(max_iter=500))],
        final_estimator=LogisticRegression(),
        cv=3,
    ).fit(X, y)
    assert isinstance(stack.estimators_[0], _FitReturnsNone)
    assert stack.score(X, y) > 0.9


def test_a_method_the_meta_learner_lacks_chains_its_own_error(iris):
    X, y = iris
    members = [("lr", LogisticRegression(max_iter=500))]
    stack = KerasStackingClassifier(members, final_estimator=RidgeClassifier(), cv=3)
    for estimator in (stack, clone(stack).fit(X, y)):  # unfitted, then fitted
        with pytest.raises(AttributeError, match="predict_proba") as info:
            estimator.predict_proba  # noqa: B018
        assert isinstance(info.value.__cause__, AttributeError)
        assert "RidgeClassifier" in str(info.value.__cause__)


def test_random_state_seeds_the_meta_learner_with_prefit(iris):
    X, y = iris
    member = LogisticRegression(max_iter=500).fit(X, y)

    def fitted():
        stack = KerasStackingClassifier(
            [("lr", member)],
            final_estimator=SGDClassifier(),
            cv="prefit",
            random_state=3,
        )
        return stack.fit(X, y)

    first, second = fitted(), fitted()
    assert first.final_estimator_.random_state is not None
    np.testing.assert_array_equal(
        first.decision_function(X), second.decision_function(X)
    )


def test_repeats_draw_new_splits_from_a_generator_given_to_cv(iris):
    X, y = iris
    cv = StratifiedKFold(3, shuffle=True, random_state=np.random.RandomState(0))
    stack = KerasStackingClassifier(
        [("lr", LogisticRegression(max_iter=500))],
        final_estimator=LogisticRegression(),
        cv=cv,
        n_repeats=3,
    ).fit(X, y)
    first_test_parts = {tuple(splits[0][1]) for splits in stack.splits_}
    assert len(first_test_parts) == 3


@pytest.mark.parametrize(
    "container",
    [sparse.csr_matrix, sparse.csc_matrix, sparse.csr_array, sparse.csc_array],
)
def test_passthrough_keeps_the_sparse_format_and_type(iris, container):
    X, y = iris
    stack = KerasStackingClassifier(
        [("lr", LogisticRegression(max_iter=500))],
        final_estimator=LogisticRegression(max_iter=500),
        cv=3,
        passthrough=True,
    )
    X_sparse = container(X)
    meta = stack.fit(X_sparse, y).transform(X_sparse)
    assert type(meta) is container
    assert type(stack.oof_predictions_) is container
    dense = stack.transform(X)
    np.testing.assert_allclose(meta.toarray(), dense)


def test_a_regressor_in_a_classifier_stack_gives_numeric_meta_features(iris):
    X, y = iris
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    stack = KerasStackingClassifier(
        [("ridge", Ridge()), ("lr", LogisticRegression(max_iter=500))],
        final_estimator=LogisticRegression(max_iter=500),
        cv=cv,
    ).fit(X, y)
    assert stack.stack_method_ == ["predict", "predict_proba"]
    # Ridge fitted on the label indices, out of fold, as the numbers it predicts
    expected = cross_val_predict(Ridge(), X, y, cv=cv)
    np.testing.assert_allclose(stack.oof_predictions_[:, 0], expected)
    assert stack.score(X, y) > 0.9
    assert list(stack.get_feature_names_out())[0] == "ridge_predict"


def test_predict_params_reach_the_meta_learner(diabetes):
    X, y = diabetes
    stack = KerasStackingRegressor(
        [("ridge", Ridge()), ("lr", LinearRegression())],
        final_estimator=BayesianRidge(),
        cv=3,
    ).fit(X, y)
    for rows in (X, X[:1]):  # a large batch, and a single row
        mean, std = stack.predict(rows, return_std=True)
        np.testing.assert_allclose(mean, stack.predict(rows))
        assert mean.shape == std.shape == (len(rows),)
        assert np.all(std > 0)
