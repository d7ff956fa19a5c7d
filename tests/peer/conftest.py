"""The peers' own test suites, run against skstack's classes.

Each deliberate difference is an expected failure (strict: a test that starts
passing must be looked at) with its reason, as listed in
docs/user_guide/migrating.rst.
"""

import pytest

SAMPLE_WEIGHT = (
    "deliberate: a member or meta-learner whose fit takes no sample_weight is "
    "fitted without it, with a SampleWeightIgnoredWarning naming it; "
    "scikit-learn raises TypeError"
)
FEATURE_NAMES = (
    "deliberate: meta-feature columns are named <member>_proba_<class>, "
    "<member>_decision_<class> or <member>_predict, in the user's labels; "
    "scikit-learn's are stackingclassifier_<member><index>"
)
N_FEATURES_IN = (
    "deliberate: n_features_in_ is the stack's own, from the X it validated; "
    "scikit-learn's reads the first member's"
)

DELIBERATE = {
    "test_sklearn_stacking.py::test_stacking_classifier_error[y2-": SAMPLE_WEIGHT,
    "test_sklearn_stacking.py::test_stacking_classifier_error[y3-": SAMPLE_WEIGHT,
    "test_sklearn_stacking.py::test_stacking_regressor_error[y1-": SAMPLE_WEIGHT,
    "test_sklearn_stacking.py::test_stacking_regressor_error[y2-": SAMPLE_WEIGHT,
    "test_sklearn_stacking.py::test_get_feature_names_out[": FEATURE_NAMES,
    "test_sklearn_stacking.py::test_stacking_without_n_features_in[": N_FEATURES_IN,
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for prefix, reason in DELIBERATE.items():
            if item.nodeid.split("/")[-1].startswith(prefix):
                item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
