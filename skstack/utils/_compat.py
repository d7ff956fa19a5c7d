"""scikit-learn's private helpers skstack builds on, named in one place.

Nothing else in skstack imports a private scikit-learn name; scikeras's and
Keras's internals are reached only from :mod:`skstack.keras._scikeras`.
"""

from __future__ import annotations

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import _raise_for_params, _routing_enabled
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import _check_method_params

__all__ = [
    "BaseComposition",
    "HasMethods",
    "Interval",
    "StrOptions",
    "fit_context",
    "params_of_rows",
    "raise_for_params",
    "routing_enabled",
    "safe_indexing",
]


# scikit-learn's own meta-estimators build on these two private helpers: the
# ``name__param`` routing of ``get_params``/``set_params`` over a list of
# ``(name, estimator)`` pairs, and row selection that keeps pandas, sparse and
# N-D inputs in their type. Named here so no other module imports private names.
BaseComposition = _BaseComposition
safe_indexing = _safe_indexing

# Declarative parameter validation, as scikit-learn's estimators do it: an
# estimator lists ``_parameter_constraints`` and its ``fit`` is wrapped in
# ``fit_context``, which checks them (unless the user's configuration skips
# validation) and names the parameter, the estimator and what it accepts.
fit_context = _fit_context

# Metadata routing as scikit-learn's meta-estimators do it: whether it is on,
# the error for metadata passed while it is off, and the rows of each
# sample-aligned fit parameter for a fold.
routing_enabled = _routing_enabled
raise_for_params = _raise_for_params
params_of_rows = _check_method_params
