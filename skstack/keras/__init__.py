"""Keras models as scikit-learn estimators."""

from ._builders import dense_model
from ._meta import make_meta_learner
from ._wrappers import KerasClassifier, KerasRegressor

__all__ = ["KerasClassifier", "KerasRegressor", "dense_model", "make_meta_learner"]
