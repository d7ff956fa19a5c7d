"""Keras models as scikit-learn estimators."""

from ._dense import dense_model
from ._linear_meta import LinearMetaClassifier, LinearMetaRegressor
from ._meta import make_meta_learner
from ._wrappers import KerasClassifier, KerasRegressor

__all__ = [
    "KerasClassifier",
    "KerasRegressor",
    "LinearMetaClassifier",
    "LinearMetaRegressor",
    "dense_model",
    "make_meta_learner",
]
