"""Chaining and fusing Keras models, as scikit-learn estimators."""

from ._chain import KerasChainClassifier, KerasChainRegressor
from ._fusion import KerasFusionClassifier, KerasFusionRegressor

__all__ = [
    "KerasChainClassifier",
    "KerasChainRegressor",
    "KerasFusionClassifier",
    "KerasFusionRegressor",
]
