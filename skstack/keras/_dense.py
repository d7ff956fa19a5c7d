"""Dense networks: the ``dense_model`` builder, and k copies trained as one.

:func:`dense_model` builds the plain dense networks of the wrappers. Fold
fusion trains k copies of such a network (a stack's fold models) as ONE
network whose layers hold the copies' weights in one tensor,
``(k, inputs, units)``, rather than k networks side by side, whose every layer
is k small operations per step: a step costs about one network's operations.
Each copy keeps its own weights and its own masked loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from ._backend import steps_per_execution

# target_type_ (as scikeras records it) -> (output activation, default loss)
_CLASSIFIER_HEADS = {
    "binary": ("sigmoid", "binary_crossentropy"),
    "multiclass": ("softmax", "sparse_categorical_crossentropy"),
    "multilabel-indicator": ("sigmoid", "binary_crossentropy"),
}


def output_head(meta: dict[str, Any]) -> tuple[int, str, str]:
    """Return (units, activation, default loss) of the output layer for the task."""
    if "n_classes_" not in meta:  # only KerasClassifier records classes
        return meta["n_outputs_"], "linear", "mean_squared_error"
    target_type = meta["target_type_"]
    if target_type not in _CLASSIFIER_HEADS:
        raise ValueError(
            f"dense_model cannot build an output layer for target type "
            f"{target_type!r}; supported: {sorted(_CLASSIFIER_HEADS)}."
        )
    activation, loss = _CLASSIFIER_HEADS[target_type]
    units = 1 if target_type == "binary" else meta["n_classes_"]
    return units, activation, loss


def dense_model(
    meta: dict[str, Any],
    compile_kwargs: dict[str, Any],
    hidden: Sequence[int] = (100,),
    activation: str = "relu",
    dropout: float = 0.0,
) -> keras.Model:
    """Build a compiled dense network whose output layer fits the task.

    Pass it as the ``model`` of :class:`KerasClassifier` or
    :class:`KerasRegressor`; they call it at ``fit`` with ``meta`` and
    ``compile_kwargs`` and with the other arguments given to the wrapper
    (``hidden=(64,)`` or ``model__hidden=(64,)``).

    Parameters
    ----------
    meta : dict
        What the wrapper learnt from the data: ``X_shape_``, ``target_type_``,
        ``n_classes_`` (classifiers), ``n_outputs_``.
    compile_kwargs : dict
        Arguments for ``keras.Model.compile`` from the wrapper (``optimizer``,
        ``loss``, ``metrics``...). A ``loss`` of None is replaced by the loss
        that matches the output layer.
    hidden : sequence of int, default=(100,)
        Units of each hidden ``Dense`` layer; ``()`` gives a linear model.
    activation : str, default="relu"
        Activation of the hidden layers.
    dropout : float, default=0.0
        Dropout rate after each hidden layer; 0 adds no ``Dropout`` layer.

    Returns
    -------
    model : keras.Model
        Compiled model. The output layer is one sigmoid unit for binary labels,
        a softmax over the classes for multi-class labels, sigmoid units for
        multi-label indicators (one-hot labels count as these: pass class labels
        for a softmax) and linear units for regression. Inputs with
        more than one feature axis are flattened first.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skstack.keras import KerasClassifier, dense_model
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = KerasClassifier(dense_model, hidden=(16,), epochs=2, random_state=0)
    >>> clf.fit(X, y).predict_proba(X[:2]).shape
    (2, 3)
    """
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
    inputs = keras.Input(shape=meta["X_shape_"][1:])
    x = inputs
    if len(inputs.shape) > 2:
        x = keras.layers.Flatten()(x)
    return dense_head(inputs, x, meta, compile_kwargs, hidden, activation, dropout)


def dense_head(
    inputs, x, meta, compile_kwargs, hidden, activation, dropout, features=None
) -> keras.Model:
    """The compiled model of ``inputs``: ``x``, then ``hidden`` Dense layers
    (the last named ``features``, if given) with ``dropout`` after each, then
    the output layer of the task."""
    units, output_activation, default_loss = output_head(meta)
    for position, width in enumerate(hidden):
        last = position == len(hidden) - 1
        name = features if last else None
        x = keras.layers.Dense(width, activation=activation, name=name)(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(units, activation=output_activation)(x)
    model = keras.Model(inputs, outputs)
    compile_model(model, compile_kwargs, default_loss)
    return model


def compile_model(model: keras.Model, compile_kwargs: dict, default_loss: str) -> None:
    """Compile ``model`` with the wrapper's arguments; a None loss is the task's.

    Training steps run several per call into the backend unless the arguments
    say otherwise: the same weights in less time for small networks (0.6x on
    digits); callbacks see the batches in groups.
    """
    compile_kwargs = dict(compile_kwargs)
    if compile_kwargs.get("loss") is None:
        compile_kwargs["loss"] = default_loss
    compile_kwargs.setdefault("steps_per_execution", steps_per_execution())
    model.compile(**compile_kwargs)


class StackedDense(keras.layers.Layer):
    """k ``Dense`` layers side by side: ``(batch, [k,] in) -> (batch, k, units)``."""

    def __init__(self, kernels, biases, activation, **kwargs):
        super().__init__(**kwargs)
        self.initial = (np.asarray(kernels), np.asarray(biases))
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        kernels, biases = self.initial
        self.kernel = self.add_weight(
            shape=kernels.shape, initializer=lambda shape, dtype=None: kernels
        )
        self.bias = self.add_weight(
            shape=biases.shape, initializer=lambda shape, dtype=None: biases
        )

    def call(self, inputs):
        pattern = "bi,kio->bko" if len(inputs.shape) == 2 else "bki,kio->bko"
        return self.activation(ops.einsum(pattern, inputs, self.kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.initial[1].shape)


def dense_layers(model) -> list | None:
    """The layers of a plain dense network, in order, or None if it is not one.

    Plain: an input, an optional ``Flatten``, then ``Dense`` layers (with bias,
    no regularizers or constraints) and ``Dropout`` layers, one after another.
    """
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.Flatten) and not layers:
            layers.append(layer)
        elif isinstance(layer, keras.layers.Dropout):
            layers.append(layer)
        elif isinstance(layer, keras.layers.Dense) and _plain(layer):
            layers.append(layer)
        else:
            return None
    if not layers or not isinstance(layers[-1], keras.layers.Dense):
        return None
    return layers


def _plain(dense) -> bool:
    extras = (
        dense.kernel_regularizer,
        dense.bias_regularizer,
        dense.activity_regularizer,
        dense.kernel_constraint,
        dense.bias_constraint,
        getattr(dense, "lora_rank", None),
    )
    return dense.use_bias and all(extra is None for extra in extras)


def stacked_network(copies, layers_per_copy, input_shape, dtype, widths=None):
    """One network computing every copy's output: ``(batch, k, units)``.

    ``widths``: each copy's number of input features when the copies have
    their own inputs, ``(batch, k, max(widths))`` zero-padded. The first
    kernels are padded with zero rows, which get zero gradients (their inputs
    are zero), so each copy computes and learns exactly what it would alone.
    """
    inputs = keras.Input(shape=input_shape, dtype=dtype)
    x = inputs
    first_dense = True
    for position, layer in enumerate(layers_per_copy[0]):
        if isinstance(layer, keras.layers.Flatten):
            if widths is None:  # own inputs are already flat
                x = keras.layers.Flatten()(x)
        elif isinstance(layer, keras.layers.Dropout):
            x = keras.layers.Dropout(layer.rate)(x)
        else:
            same_layer = [layers[position] for layers in layers_per_copy]
            kernels = [dense.kernel.numpy() for dense in same_layer]
            if first_dense and widths is not None:
                kernels = [_padded(kernel, input_shape[-1]) for kernel in kernels]
            biases = np.stack([dense.bias.numpy() for dense in same_layer])
            x = StackedDense(np.stack(kernels), biases, layer.activation)(x)
            first_dense = False
    return keras.Model(inputs, x)


def _padded(kernel: np.ndarray, n_inputs: int) -> np.ndarray:
    padded = np.zeros((n_inputs, kernel.shape[1]), kernel.dtype)
    padded[: len(kernel)] = kernel
    return padded


def copy_weights(network, layers_per_copy, index) -> list[np.ndarray]:
    """Copy ``index``'s current weights in the stacked network, as its own
    model lists them (a padded kernel cut to its own rows)."""
    stacked = [layer for layer in network.layers if isinstance(layer, StackedDense)]
    denses = [
        layer
        for layer in layers_per_copy[index]
        if isinstance(layer, keras.layers.Dense)
    ]
    weights = []
    for dense, trained in zip(denses, stacked, strict=True):
        n_inputs = dense.kernel.shape[0]  # a padded kernel's own rows
        # Sliced in NumPy: an eager slice of a variable compiles an op per
        # shape on JAX (~30 ms each).
        weights.append(ops.convert_to_numpy(trained.kernel)[index, :n_inputs])
        weights.append(ops.convert_to_numpy(trained.bias)[index])
    return weights


def copy_weights_back(network, layers_per_copy) -> None:
    """Give each copy's ``Dense`` layers their slice of the trained weights."""
    for index, layers in enumerate(layers_per_copy):
        weights = copy_weights(network, layers_per_copy, index)
        denses = [layer for layer in layers if isinstance(layer, keras.layers.Dense)]
        for position, dense in enumerate(denses):
            dense.set_weights(weights[2 * position : 2 * position + 2])


def masked_loss(loss_name: str, n_copies: int, target_width: int, per_copy=False):
    """The sum over copies of each copy's loss times its row mask.

    ``y_true`` packs the encoded target (``target_width`` columns; with
    ``per_copy``, each copy's own, one after the other) and the copies' masks
    side by side, since Keras passes one ``sample_weight`` per row, not per
    copy.
    """
    loss = keras.losses.get(loss_name)
    n_target_columns = target_width * (n_copies if per_copy else 1)

    def fused(y_true, y_pred):
        if len(y_pred.shape) == 2:
            # Keras drops the last axis of outputs of width 1 (one regression
            # target, one sigmoid unit) to match the packed target's rank.
            y_pred = ops.expand_dims(y_pred, -1)
        if per_copy:
            target = ops.reshape(
                y_true[:, :n_target_columns], (-1, n_copies, target_width)
            )
        else:
            target = ops.expand_dims(y_true[:, :target_width], 1)
            target = ops.repeat(target, n_copies, axis=1)
        losses = loss(target, y_pred)
        return ops.sum(losses * y_true[:, n_target_columns:], axis=1)

    return fused
