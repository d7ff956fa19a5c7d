"""scikit-learn's estimator checks over every public estimator."""

import functools

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import estimator_checks_generator

from skstack import Flatten, KerasStackingClassifier, KerasStackingRegressor
from skstack.compose import (
    KerasChainClassifier,
    KerasChainRegressor,
    KerasFusionClassifier,
    KerasFusionRegressor,
)
from skstack.ensemble import EnsembleSelectionClassifier, EnsembleSelectionRegressor
from skstack.features import KerasFeatureExtractor
from skstack.keras import (
    KerasClassifier,
    KerasRegressor,
    LinearMetaClassifier,
    LinearMetaRegressor,
    dense_model,
)

_STOCHASTIC_TRAINING = (
    "mini-batch stochastic training: weighting a row by 2 is not the same "
    "sequence of gradient steps as repeating it"
)
# Decided by the CPU: on one without AVX-512 a float32 network's output for a
# row can change in the last bits (~3e-7 relative) with its place in the batch,
# beyond the check's rtol of 1e-7; with AVX-512 the bits are equal. Neither
# passing nor failing can be expected, so the check is skipped for the Keras
# estimators and test_keras_outputs_do_not_depend_on_row_order runs it at
# float32's precision instead.
_ROW_ORDER_CHECK = "check_methods_sample_order_invariance"
_FLOAT32_BATCHES = (
    "float32 kernels may round a row by its place in the batch on CPUs without "
    "AVX-512; test_keras_outputs_do_not_depend_on_row_order checks it to 1e-6"
)

_WRAPPER_FAILURES = {
    "check_estimator_tags_renamed": (
        "scikeras's BaseWrapper defines _more_tags; this check inspects every class "
        "in the MRO, while skstack's class defines __sklearn_tags__ and that is "
        "what scikit-learn reads"
    ),
    "check_mixin_order": (
        "scikeras lists ClassifierMixin/RegressorMixin after BaseWrapper; putting "
        "it first in a subclass is an MRO error. __sklearn_tags__ gives the tags "
        "the mixin would have given"
    ),
    "check_no_attributes_set_in_init": (
        "parameters of the model-building function (hidden=...) are accepted as "
        "keyword arguments, as in scikeras; they are parameters for get_params, "
        "set_params and clone, but not named in __init__'s signature"
    ),
    "check_sample_weight_equivalence_on_dense_data": _STOCHASTIC_TRAINING,
    "check_sample_weight_equivalence_on_sparse_data": _STOCHASTIC_TRAINING,
}

_OUT_OF_FOLD = (
    "by design fit_transform returns the out-of-fold meta-features the "
    "meta-learner was trained on, while transform gives the refitted members' "
    "predictions; scikit-learn's stacking returns in-sample ones, which leak y"
)
_STACK_FAILURES = {
    "check_transformer_general": _OUT_OF_FOLD,
    "check_transformer_data_not_an_array": _OUT_OF_FOLD,
}


_COMPOSED_FAILURES = {
    name: reason
    for name, reason in _WRAPPER_FAILURES.items()
    if name != "check_no_attributes_set_in_init"
}


_MEMBER_BLOCKS = (
    "X must hold the members' probabilities side by side, one block of n_classes "
    "columns each (one column for binary targets); these checks fit multi-class "
    "targets on raw features whose count is not a multiple of n_classes, which "
    "is refused with a clear error"
)
_SELECTION_FAILURES = dict.fromkeys(
    [
        "check_estimators_overwrite_params",
        "check_estimators_fit_returns_self",
        "check_readonly_memmap_input",
        "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit",
        "check_dtype_object",
        "check_classifiers_classes",
        "check_classifiers_train",
    ],
    _MEMBER_BLOCKS,
)


_AUTO_C = (
    "C='auto' chooses C on an inner split of the rows: a row repeated twice "
    "changes those folds, so the chosen C can differ from the one for the row "
    "weighted 2 (with a fixed C the check passes: tests/ensemble/test_meta_learner.py)"
)


def _expected_failures(estimator):
    if isinstance(estimator, LinearMetaClassifier):
        return {
            "check_sample_weight_equivalence_on_dense_data": _AUTO_C,
            "check_sample_weight_equivalence_on_sparse_data": _AUTO_C,
        }
    if isinstance(estimator, EnsembleSelectionClassifier):
        return _SELECTION_FAILURES
    if isinstance(estimator, KerasFeatureExtractor):
        return {}
    if isinstance(estimator, (KerasClassifier, KerasRegressor)):
        # Chains and fusions are scikeras wrappers too, without builder kwargs.
        if hasattr(estimator, "stages") or hasattr(estimator, "members"):
            return _COMPOSED_FAILURES
        return _WRAPPER_FAILURES
    if isinstance(estimator, (KerasStackingClassifier, KerasStackingRegressor)):
        return _STACK_FAILURES
    return {}


def _dense_stage(input_shape):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(4, activation="relu")(inputs))


# The stacks' members are scikit-learn models so that the checks' hundreds of
# fits stay fast; Keras members are exercised in tests/ensemble/test_classifier.py. The
# meta-learner is the default one.
_ESTIMATORS = [
    KerasClassifier(dense_model, hidden=(8,), epochs=1, random_state=0),
    KerasRegressor(dense_model, hidden=(8,), epochs=1, random_state=0),
    KerasStackingClassifier(
        [
            ("lr", LogisticRegression()),
            ("tree", DecisionTreeClassifier(max_depth=3)),
        ],
        cv=2,
        random_state=0,
    ),
    KerasStackingRegressor(
        [("ridge", Ridge()), ("tree", DecisionTreeRegressor(max_depth=3))],
        cv=2,
        random_state=0,
    ),
    Flatten(),
    KerasChainClassifier([_dense_stage], epochs=1, random_state=0),
    KerasChainRegressor([_dense_stage], epochs=1, random_state=0),
    KerasFusionClassifier(
        [("a", _dense_stage), ("b", _dense_stage)], merge="weighted", random_state=0
    ),
    KerasFusionRegressor(
        [("a", _dense_stage), ("b", _dense_stage)], merge="add", random_state=0
    ),
    KerasFeatureExtractor(
        KerasClassifier(dense_model, hidden=(4,), epochs=1, random_state=0)
    ),
    EnsembleSelectionClassifier(),
    EnsembleSelectionRegressor(),
    LinearMetaClassifier(),
    LinearMetaRegressor(),
]


def _runs_float32_network(estimator) -> bool:
    return isinstance(
        estimator, (KerasClassifier, KerasRegressor, KerasFeatureExtractor)
    )


def _all_checks():
    for estimator in _ESTIMATORS:
        for params in estimator_checks_generator(
            estimator,
            expected_failed_checks=_expected_failures(estimator),
            mark="xfail",
        ):
            # A pytest.param (a marked check) or an (estimator, check) pair.
            check = getattr(params, "values", params)[1]
            name = getattr(check, "func", check).__name__
            if name == _ROW_ORDER_CHECK and _runs_float32_network(estimator):
                yield pytest.param(
                    estimator, check, marks=pytest.mark.skip(reason=_FLOAT32_BATCHES)
                )
            else:
                yield params


def _check_id(value):
    # Stable across processes (pytest-xdist workers must collect the same ids):
    # the class name rather than scikit-learn's repr, which shows addresses.
    if isinstance(value, functools.partial):
        keywords = ",".join(f"{k}={v}" for k, v in value.keywords.items())
        return value.func.__name__ + (f"({keywords})" if keywords else "")
    return type(value).__name__


@pytest.mark.parametrize(("estimator", "check"), list(_all_checks()), ids=_check_id)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "estimator", [e for e in _ESTIMATORS if _runs_float32_network(e)], ids=_check_id
)
def test_keras_outputs_do_not_depend_on_row_order(estimator):
    """scikit-learn's check_methods_sample_order_invariance at float32's
    precision: the same rows in another order give the same outputs."""
    rng = np.random.RandomState(0)
    X = 3 * rng.uniform(size=(20, 3))
    y = X[:, 0].astype(np.int64)
    fitted = clone(estimator).fit(X, y)
    order = rng.permutation(len(X))
    methods = ("predict", "transform", "decision_function", "predict_proba")
    checked = [m for m in methods if hasattr(fitted, m)]
    assert checked
    for method in checked:
        np.testing.assert_allclose(
            getattr(fitted, method)(X)[order],
            getattr(fitted, method)(X[order]),
            rtol=1e-6,
            atol=1e-9,
            err_msg=method,
        )
