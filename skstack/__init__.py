"""skstack: stack, chain and fuse Keras models as scikit-learn estimators.

The Keras wrappers live in :mod:`skstack.keras`; importing ``skstack`` itself does
not import Keras or TensorFlow, nor does a stack of scikit-learn members with its
default meta-learner.
"""

from . import _keras  # noqa: F401 - provides the engine's Keras functions
from ._persistence import load, save
from ._preprocessing import Flatten
from ._serving import ExportResult, export, to_keras
from .ensemble._classifier import KerasStackingClassifier
from .ensemble._regressor import KerasStackingRegressor

__version__ = "0.1.0.dev0"

__all__ = [
    "ExportResult",
    "Flatten",
    "KerasStackingClassifier",
    "KerasStackingRegressor",
    "__version__",
    "export",
    "load",
    "save",
    "to_keras",
]
