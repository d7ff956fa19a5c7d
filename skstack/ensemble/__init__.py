"""Meta-learners for stacking."""

from ._selection import EnsembleSelectionClassifier, EnsembleSelectionRegressor

__all__ = ["EnsembleSelectionClassifier", "EnsembleSelectionRegressor"]
