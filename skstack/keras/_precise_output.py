"""A classifier network's last ``Dense`` layer computed in float64.

A float32 softmax or sigmoid rounds a probability near 1 to a multiple of
6e-8, so ``1 - p`` (and the logit the default meta-learner takes of it)
carries an error of up to 6e-8 / (1 - p): for a member that is sure to 1e-5,
a logit error of ~1e-2, which another runtime's float32 rounding (onnxruntime
on an exported stack) turns into a different stack output. From the float32
hidden features, the last layer's matmul and activation in float64 give
probabilities whose logits are exact to ~1e-6 in any runtime.
"""

from __future__ import annotations

import weakref

import keras
from keras import ops

from ._augment import without_augmentation

PRECISION = "float64"
_ACTIVATIONS = (keras.activations.softmax, keras.activations.sigmoid)
# Each fitted network's prediction network, built at its first prediction.
# Outside the estimator, so predicting changes no attribute.
_PREDICTION_NETWORKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def output_dense(model):
    """``(body, dense)`` of a network ending in a softmax/sigmoid ``Dense``.

    ``body`` maps the network's input to the last layer's input (sharing the
    network's layers). None for other networks (several inputs or outputs, a
    different last layer), which keep their own output.
    """
    model = without_augmentation(model)
    if len(model.inputs) != 1 or len(model.outputs) != 1 or not model.layers:
        return None
    dense = model.layers[-1]
    if (
        not isinstance(dense, keras.layers.Dense)
        or dense.activation not in _ACTIVATIONS
    ):
        return None
    try:
        if dense.output is not model.outputs[0]:
            return None
        body = keras.Model(model.inputs, dense.input, name=f"{model.name}_hidden")
    except (AttributeError, ValueError):  # a layer called more than once
        return None
    return body, dense


class Float64Output(keras.layers.Layer):
    """A ``Dense`` layer's output computed in float64 from its live weights."""

    def __init__(self, dense, **kwargs):
        super().__init__(dtype=PRECISION, **kwargs)
        self.dense = dense

    def call(self, hidden):
        hidden = ops.cast(hidden, PRECISION)
        outputs = ops.matmul(hidden, ops.cast(self.dense.kernel, PRECISION))
        if self.dense.use_bias:
            outputs = outputs + ops.cast(self.dense.bias, PRECISION)
        return self.dense.activation(outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.dense.units)


def prediction_network(model) -> keras.Model:
    """``model`` for predictions: its last softmax/sigmoid layer in float64.

    Built once per network and cached outside it; it reads the network's own
    weights, so it follows further training.
    """
    network = _PREDICTION_NETWORKS.get(model)
    if network is None:
        parts = output_dense(model)
        network = model
        if parts is not None:
            body, dense = parts
            inputs = keras.Input(
                shape=model.inputs[0].shape[1:], dtype=model.inputs[0].dtype
            )
            network = keras.Model(inputs, Float64Output(dense)(body(inputs)))
        _PREDICTION_NETWORKS[model] = network
    return network


def exportable_network(model, name) -> keras.Model:
    """A standalone copy of ``prediction_network(model)``, of standard layers.

    ``model`` is already a copy; its last layer becomes a float64 ``Dense``
    with the same weights, which Keras saves and tf2onnx converts.
    """
    parts = output_dense(model)
    if parts is None:
        model = without_augmentation(model)
        if name is not None:
            model.name = name
        return model
    body, dense = parts
    head = keras.layers.Dense(
        dense.units,
        activation=dense.activation,
        use_bias=dense.use_bias,
        dtype=PRECISION,
        name=f"{dense.name}_float64",
    )
    inputs = keras.Input(shape=model.inputs[0].shape[1:], dtype=model.inputs[0].dtype)
    outputs = head(_as_float64(body(inputs)))
    head.set_weights([weight.astype(PRECISION) for weight in dense.get_weights()])
    return keras.Model(inputs, outputs, name=name or model.name)


def _as_float64(tensor):
    """``tensor`` cast to float64 by a layer (a graph's tensors come from layers)."""
    return keras.layers.Identity(dtype=PRECISION)(tensor)
