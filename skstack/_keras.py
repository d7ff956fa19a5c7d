"""The one plug between skstack's Keras-free core and :mod:`skstack.keras`.

``import skstack`` loads no Keras or TensorFlow. What the core does only with
Keras goes through these functions, which import :mod:`skstack.keras` when
first called: the stacking engine's (a linear meta-learner's ``model_``, a
stack's ``to_keras`` and prediction graph, the dense meta-learner) are
provided to it by name (``ensemble/_extension.py``) when ``skstack`` is
imported; exporting and saving (``_serving.py``, ``_persistence``) call them
directly. ``skstack.keras`` builds on the engine, never the reverse.
"""

from __future__ import annotations

import sys

from .ensemble._extension import provide


def linear_meta_model(estimator, dtype):
    """A fitted linear meta-learner as a Keras model computing in ``dtype``."""
    from .keras._export import linear_meta_model

    return linear_meta_model(estimator, dtype)


def dense_meta_learner(task, params):
    """The dense-network meta-learner (``make_meta_learner(kind="dense")``)."""
    from .keras._meta import dense_meta_learner

    return dense_meta_learner(task, params)


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


def prediction_graph(stack):
    """The stack's graph for its predictions, in calls of fixed row counts.

    None when no member can be a Keras network, without importing Keras: a
    skstack wrapper, built or unpickled, has imported ``skstack.keras``.
    """
    if "skstack.keras" not in sys.modules:
        return None
    from .keras._export import prediction_graph

    return prediction_graph(stack)


def member_equivalent(estimator):
    """What a stack fits in place of ``estimator``: skstack's wrapper for Keras's
    own scikit-learn wrappers (importing skstack.keras), a feature extractor
    for its ``SKLearnTransformer``, else ``estimator``."""
    if not type(estimator).__module__.startswith("keras."):
        return estimator
    from .keras._keras_wrappers import fitted_equivalent, is_keras_transformer

    if is_keras_transformer(estimator):
        from .features._extractor import from_keras_transformer

        return from_keras_transformer(estimator)
    return fitted_equivalent(estimator)


def keras_saving():
    """skstack.keras's helpers that write and read Keras models in archives."""
    from .keras import _saving

    return _saving


provide(
    linear_meta_model=linear_meta_model,
    dense_meta_learner=dense_meta_learner,
    stack_to_keras=stack_to_keras,
    prediction_graph=prediction_graph,
    member_equivalent=member_equivalent,
)
