"""Ensembles: stacked generalization and ensemble selection.

The stacking engine lives here, read in the order of a fit: ``_classifier`` /
``_regressor`` (the public classes) -> ``_base`` (validation, the plan, the
meta-learner) -> ``_tasks`` (the fits workers run, and the pool running them).
"""

from ._classifier import KerasStackingClassifier
from ._regressor import KerasStackingRegressor
from ._selection import EnsembleSelectionClassifier, EnsembleSelectionRegressor

__all__ = [
    "EnsembleSelectionClassifier",
    "EnsembleSelectionRegressor",
    "KerasStackingClassifier",
    "KerasStackingRegressor",
]
