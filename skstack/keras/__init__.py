"""Keras models as scikit-learn estimators."""

from skstack.ensemble._meta_learner import (
    LinearMetaClassifier,
    LinearMetaRegressor,
    make_meta_learner,
)

from ._conv import conv_model
from ._dense import dense_model
from ._wrappers import KerasClassifier, KerasRegressor

__all__ = [
    "KerasClassifier",
    "KerasRegressor",
    "LinearMetaClassifier",
    "LinearMetaRegressor",
    "conv_model",
    "dense_model",
    "make_meta_learner",
]
