"""The default meta-learners: scikit-learn's linear models, their Keras form."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
)

from skstack.keras import LinearMetaClassifier, LinearMetaRegressor, make_meta_learner
from skstack.utils._compat import NEWTON_WARM_START_WORKS


def _member_probabilities(n_classes, n_rows=400, seed=0):
    """Two noisy members' probabilities (binary: the positive column) and y."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, n_classes, n_rows)
    blocks = []
    for noise in (0.5, 0.8):
        proba = (1 - noise) * np.eye(n_classes)[y] + noise * rng.dirichlet(
            np.ones(n_classes), size=n_rows
        )
        blocks.append(proba[:, 1:] if n_classes == 2 else proba)
    return np.hstack(blocks), y


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_classifier_is_logistic_regression_on_standardized_logits(n_classes, weighted):
    X, y = _member_probabilities(n_classes)
    X = np.hstack([X, np.random.RandomState(1).normal(3, 2, size=(len(y), 1))])
    weights = np.random.RandomState(2).uniform(0.2, 3, len(y)) if weighted else None
    meta = LinearMetaClassifier(C=0.3, tol=1e-10).fit(X, y, sample_weight=weights)

    # The reference: the same transformation by hand, then scikit-learn.
    proba_columns = np.all((X >= 0) & (X <= 1), axis=0)
    assert proba_columns.tolist() == [True] * (X.shape[1] - 1) + [False]
    np.testing.assert_array_equal(meta.proba_columns_, proba_columns)
    Z = X.copy()
    clipped = np.clip(Z[:, proba_columns], 1e-6, 1 - 1e-6)
    Z[:, proba_columns] = np.log(clipped / (1 - clipped))
    if weighted:  # the weighted rows' mean and deviation
        mean = np.average(Z, axis=0, weights=weights)
        Z = (Z - mean) / np.sqrt(np.average((Z - mean) ** 2, axis=0, weights=weights))
    else:
        Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    reference = LogisticRegression(C=0.3, tol=1e-12, max_iter=10_000)
    reference.fit(Z, y, sample_weight=weights)

    # Both are the optimum of one convex problem, up to the solvers' tolerances.
    expected = reference.predict_proba(Z)
    np.testing.assert_allclose(meta.predict_proba(X), expected, atol=1e-5)
    np.testing.assert_array_equal(meta.predict(X), reference.predict(Z))
    np.testing.assert_allclose(meta.coef_, reference.coef_, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_regressor_is_ridge_on_standardized_columns(n_outputs):
    rng = np.random.RandomState(0)
    y = rng.normal(50, 20, size=(300, n_outputs))
    X = np.hstack([y + rng.normal(0, s, size=y.shape) for s in (5, 10, 30)])
    y = y.ravel() if n_outputs == 1 else y
    weights = rng.uniform(0.5, 2, len(X))
    meta = LinearMetaRegressor(alpha=4.0).fit(X, y, sample_weight=weights)
    mean = np.average(X, axis=0, weights=weights)
    Z = (X - mean) / np.sqrt(np.average((X - mean) ** 2, axis=0, weights=weights))
    reference = Ridge(alpha=4.0).fit(Z, y, sample_weight=weights)
    np.testing.assert_allclose(meta.predict(X), reference.predict(Z), rtol=1e-5)
    assert meta.predict(X).shape == y.shape
    assert not meta.proba_columns_.any()


@pytest.mark.parametrize("n_classes", [2, 3])
def test_keras_model_gives_the_same_probabilities(n_classes):
    X, y = _member_probabilities(n_classes)
    meta = LinearMetaClassifier().fit(X, y)
    output = meta.model_.predict_on_batch(X.astype("float32"))
    if n_classes == 2:
        output = np.hstack([1 - output, output])
    np.testing.assert_allclose(output, meta.predict_proba(X), atol=1e-5)


def test_regressor_keras_model_gives_the_predictions():
    rng = np.random.RandomState(0)
    y = rng.normal(size=100)
    X = y[:, None] + rng.normal(size=(100, 3))
    meta = LinearMetaRegressor().fit(X, y)
    output = meta.model_.predict_on_batch(X.astype("float32"))
    np.testing.assert_allclose(output.ravel(), meta.predict(X), rtol=1e-4, atol=1e-5)


def test_logits_can_be_switched_off():
    X, y = _member_probabilities(3)
    meta = LinearMetaClassifier(logit_probabilities=False).fit(X, y)
    assert not meta.proba_columns_.any()
    assert [layer.name for layer in meta.model_.layers] == ["meta_features", "linear"]


def test_fits_are_identical_and_fast_to_converge():
    X, y = _member_probabilities(4, n_rows=2000)
    first = LinearMetaClassifier().fit(X, y)
    second = LinearMetaClassifier().fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert first.n_iter_ < first.max_iter


@pytest.mark.parametrize(
    "meta, message",
    [
        (LinearMetaClassifier(C=0), "'C' parameter of LinearMetaClassifier"),
        (LinearMetaClassifier(C="strong"), "'C' parameter of LinearMetaClassifier"),
        (LinearMetaRegressor(alpha=-1.0), "'alpha' parameter of LinearMetaRegressor"),
    ],
)
def test_bad_penalties_are_named(meta, message):
    X, y = _member_probabilities(2, n_rows=20)
    with pytest.raises(ValueError, match=message):
        meta.fit(X, y)
    assert not hasattr(meta, "coef_")


def test_make_meta_learner_kinds():
    assert isinstance(make_meta_learner(), LinearMetaClassifier)
    assert isinstance(make_meta_learner("regression"), LinearMetaRegressor)
    assert make_meta_learner(kind="dense").hidden == (16,)
    with pytest.raises(ValueError, match="kind must be 'linear' or 'dense'"):
        make_meta_learner(kind="deep")


def test_auto_C_penalizes_noise_and_not_signal():
    X, y = _member_probabilities(3, n_rows=600)
    assert LinearMetaClassifier().C == "auto"
    informed = LinearMetaClassifier().fit(X, y)
    noise = np.random.RandomState(5).randint(0, 3, len(y))
    uninformed = LinearMetaClassifier().fit(X, noise)
    assert uninformed.C_ == 1e-3  # the strongest penalty: predict the prior
    assert informed.C_ > 1e-3
    fixed = LinearMetaClassifier(C=informed.C_).fit(X, y)
    np.testing.assert_array_equal(fixed.predict_proba(X), informed.predict_proba(X))


def test_a_fixed_C_weights_rows_as_repeating_them():
    # scikit-learn's own check; with C="auto" the inner folds differ instead.
    check_sample_weight_equivalence_on_dense_data(
        "LinearMetaClassifier", LinearMetaClassifier(C=1.0)
    )


def test_sparse_meta_features_are_taken_dense():
    # A stack's passthrough of sparse X hands the meta-learner sparse columns.
    from scipy import sparse

    X, y = _member_probabilities(3)
    dense = LinearMetaClassifier(C=1.0).fit(X, y)
    from_sparse = LinearMetaClassifier(C=1.0).fit(sparse.csr_array(X), y)
    np.testing.assert_array_equal(
        from_sparse.predict_proba(sparse.csc_matrix(X)), dense.predict_proba(X)
    )


def test_auto_C_ranks_on_a_stratified_sample_of_many_rows(monkeypatch):
    # The search's cost stays bounded at any size; the final fit uses all rows.
    from sklearn.model_selection import train_test_split

    from skstack.ensemble import _meta_learner

    X, y = _member_probabilities(3, n_rows=3000)
    monkeypatch.setattr(_meta_learner, "C_SEARCH_ROWS", 500)
    meta = LinearMetaClassifier(tol=1e-10).fit(X, y)
    Z = meta._scaled_features(X)
    weights = np.ones(len(y))
    Z_sample, _, y_sample, _, w_sample, _ = train_test_split(
        Z, y, weights, train_size=500, stratify=y, random_state=0
    )
    assert meta._chosen_C(Z_sample, y_sample, w_sample) == meta.C_
    # Newton's method at tol=1e-12: the optimum to ~1e-16 (L-BFGS stops
    # ~1e-6 from it in probability, on its relative-decrease criterion).
    reference = LogisticRegression(
        C=meta.C_, solver="newton-cholesky", tol=1e-12, max_iter=100
    ).fit(Z, y)
    np.testing.assert_allclose(
        meta.predict_proba(X), reference.predict_proba(Z), atol=1e-9
    )


@pytest.mark.skipif(
    not NEWTON_WARM_START_WORKS,
    reason="scikit-learn < 1.8 corrupts a warm multinomial Newton fit (#31859)",
)
def test_many_rows_start_the_final_fit_from_the_samples_solution(monkeypatch):
    from skstack.ensemble import _meta_learner

    X, y = _member_probabilities(3, n_rows=3000)
    cold = LinearMetaClassifier(C=1.0).fit(X, y)  # fewer rows than a sample
    monkeypatch.setattr(_meta_learner, "C_SEARCH_ROWS", 500)
    warm = LinearMetaClassifier(C=1.0).fit(X, y)
    assert warm.n_iter_ < cold.n_iter_
    # The same optimum, to the solver's tolerance.
    np.testing.assert_allclose(warm.predict_proba(X), cold.predict_proba(X), atol=1e-6)
    again = LinearMetaClassifier(C=1.0).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), warm.predict_proba(X))


@pytest.mark.parametrize("C", ["auto", 0.5])
def test_one_class_is_predicted_with_certainty(C):
    # scikit-learn's check uses a label of 1; any label must work.
    X = np.random.RandomState(0).uniform(size=(30, 2))
    meta = LinearMetaClassifier(C=C).fit(X, np.full(30, 7))
    np.testing.assert_array_equal(meta.predict(X[:3]), [7, 7, 7])
    np.testing.assert_array_equal(meta.predict_proba(X[:3]), np.ones((3, 1)))


def test_the_final_fit_takes_newtons_method_for_few_coefficients():
    X, y = _member_probabilities(3, n_rows=600)
    meta = LinearMetaClassifier(C=1.0).fit(X, y)
    assert meta._solver(X) == "newton-cholesky"
    assert meta.n_iter_ < 20  # L-BFGS takes tens at tol=1e-6
    many_columns = np.zeros((1, 30))  # 31 coefficients for each of 3 classes
    assert meta._solver(many_columns) == "lbfgs"
