"""skstack: stack, chain and fuse Keras models as scikit-learn estimators.

The Keras wrappers live in :mod:`skstack.keras`; importing ``skstack`` itself does
not import Keras or TensorFlow.
"""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
