"""The core's one way to Keras: :mod:`skstack.keras`, imported when first needed.

``import skstack`` loads no Keras or TensorFlow. Only a linear meta-learner's
``model_``, exporting a fitted stack (``to_keras`` and the small-batch
graph) and saving or loading Keras models reach them, through these functions.
"""

from __future__ import annotations


def keras_form(estimator, dtype):
    """A fitted linear meta-learner as a Keras model computing in ``dtype``."""
    from .keras._export import linear_meta_model

    return linear_meta_model(estimator, dtype)


def stack_to_keras(stack):
    """A fitted stack as one Keras model (``to_keras``)."""
    from .keras._export import stack_to_keras

    return stack_to_keras(stack)


def to_keras(estimator):
    """A fitted estimator (stack, wrapper, pipeline...) as one Keras model."""
    from .keras._export import to_keras

    return to_keras(estimator)


def export(estimator, path, format, X_check, opset):
    """Write ``estimator``'s Keras form in ``format``, load it back and check it."""
    from .keras._serving import export

    return export(estimator, path, format, X_check, opset)


def small_batch_graphs(stack):
    """Two models of the stack's graph: for one row, and for padded batches."""
    from .keras._export import small_batch_graphs

    return small_batch_graphs(stack)


def keras_saving():
    """skstack.keras's helpers that write and read Keras models in archives."""
    from .keras import _saving

    return _saving
