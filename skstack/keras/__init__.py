"""Keras models as scikit-learn estimators."""

from skstack.ensemble._linear_meta import LinearMetaClassifier
from skstack.ensemble._regressor import LinearMetaRegressor

from ._dense import dense_model
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
