"""Keras models as scikit-learn estimators.

Everything in skstack that imports Keras lives in this subpackage.
"""

from skstack.keras._builders import dense_model
from skstack.keras._wrappers import KerasClassifier, KerasRegressor

__all__ = ["KerasClassifier", "KerasRegressor", "dense_model"]
