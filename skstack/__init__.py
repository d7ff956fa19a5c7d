"""skstack: stack, chain and fuse Keras models as scikit-learn estimators.

The Keras wrappers live in :mod:`skstack.keras`; importing ``skstack`` itself does
not import Keras or TensorFlow (the stacking estimators import it when they fit
their default Keras meta-learner).
"""

from ._preprocessing import Flatten
from ._serving import ExportResult, export, to_keras
from .ensemble import KerasStackingClassifier, KerasStackingRegressor
from .persistence import load, save

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
