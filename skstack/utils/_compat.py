"""scikit-learn's private helpers skstack builds on, imported in one place.

They keep scikit-learn's own names, so every use shows it is a private API.
Nothing else in skstack imports a private scikit-learn module; scikeras's and
Keras's internals are reached only from :mod:`skstack.keras._scikeras`.

- ``_BaseComposition``: the ``name__param`` routing of ``get_params`` and
  ``set_params`` over a list of ``(name, estimator)`` pairs.
- ``_safe_indexing``: row selection that keeps pandas, sparse and N-D inputs
  in their type.
- ``_fit_context`` with ``HasMethods``, ``Interval``, ``StrOptions``:
  declarative parameter validation, as scikit-learn's estimators do it (a
  ``_parameter_constraints`` dict, checked when ``fit`` starts).
- ``_routing_enabled``, ``_raise_for_params``, ``_check_method_params``:
  metadata routing as scikit-learn's meta-estimators do it (whether it is on,
  the error for metadata passed while it is off, and the rows of each
  sample-aligned fit parameter for a fold).
- ``NEWTON_WARM_START_WORKS``: whether a ``newton-cholesky``
  ``LogisticRegression`` may start warm. Before scikit-learn 1.8 a
  multinomial one started warm gets corrupted intercepts (scikit-learn
  issue #31859, fixed by #31866): probabilities 0.5 off the cold fit's.
"""

from __future__ import annotations

import re

import sklearn
from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import _raise_for_params, _routing_enabled
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import _check_method_params

_VERSION = re.match(r"(\d+)\.(\d+)", sklearn.__version__)
NEWTON_WARM_START_WORKS = (int(_VERSION[1]), int(_VERSION[2])) >= (1, 8)

__all__ = [
    "NEWTON_WARM_START_WORKS",
    "HasMethods",
    "Interval",
    "StrOptions",
    "_BaseComposition",
    "_check_method_params",
    "_fit_context",
    "_raise_for_params",
    "_routing_enabled",
    "_safe_indexing",
]
