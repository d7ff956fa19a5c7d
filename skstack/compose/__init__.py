"""Chaining and fusing Keras models, as scikit-learn estimators."""

from ._chain import KerasChainClassifier, KerasChainRegressor

__all__ = ["KerasChainClassifier", "KerasChainRegressor"]
