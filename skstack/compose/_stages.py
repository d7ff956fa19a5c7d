"""Turning a stage or member (model, saved file, builder) into a Keras model."""

from __future__ import annotations

import math

import keras

from skstack.keras._dense import output_head

TRAINING_PARAMETERS = """\
    optimizer : str or keras.optimizers.Optimizer, default="adam"
        Optimizer; pass an instance (``keras.optimizers.Adam(1e-3)``) to set its
        learning rate.
    loss : str or keras.losses.Loss, default=None
        None picks the loss matching the output layer.
    metrics : list, default=None
        Keras metrics recorded in ``history_``.
    epochs : int, default=1
        Training epochs (a chain's fine-tuning epochs come on top).
    batch_size : int, default=None
        Rows per step (Keras's 32 when None).
    validation_split : float, default=0.0
        Fraction of the rows Keras holds out for validation metrics.
    shuffle : bool, default=True
        Shuffle rows each epoch.
    callbacks : list of keras.callbacks.Callback, default=None
        Callbacks of ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds each fit (new layers' weights, shuffling, dropout).
    verbose : int, default=0
        Keras's progress output."""


class ComposedModel:
    """What chains and fusions share as scikeras wrappers with their own builder."""

    # scikeras reads these attributes; composed models do not expose them as
    # parameters (their builder is fixed, and these have no use there).
    class_weight = None
    validation_batch_size = None
    warm_start = False
    run_eagerly = False


def input_shape_of(model: keras.Model) -> tuple:
    shape = model.inputs[0].shape if model.inputs else model.input_shape
    return tuple(shape[1:])


def named_wrapper(model: keras.Model, input_shape: tuple, name: str) -> keras.Model:
    """Wrap ``model`` in a functional model called ``name``.

    Stages from different sources often share a default name ("sequential");
    a uniquely named wrapper nests them safely and gives each a handle
    (``model_.get_layer("stage0")``) for freezing and inspection.
    """
    inputs = keras.Input(shape=input_shape)
    return keras.Model(inputs, model(inputs), name=name)


def shapes_match(actual: tuple, expected: tuple) -> bool:
    return len(actual) == len(expected) and all(
        e is None or a == e for a, e in zip(actual, expected, strict=True)
    )


def adapt(x, expected: tuple, adapter, before: str, after: str):
    """Make tensor ``x`` fit an input of shape ``expected`` with ``adapter``."""
    actual = tuple(x.shape[1:])
    if shapes_match(actual, expected):
        return x
    mismatch = (
        f"{after} expects inputs of shape {expected} but {before} outputs {actual}"
    )
    if adapter is None:
        raise ValueError(
            f"{mismatch}; pass adapter='flatten', 'reshape' or 'dense' to convert."
        )
    if None in expected or None in actual:
        raise ValueError(f"{mismatch}; adapter={adapter!r} needs fixed sizes.")
    size, target = math.prod(actual), math.prod(expected)
    if adapter == "dense":
        if len(actual) > 1:
            x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(target)(x)
        return keras.layers.Reshape(expected)(x) if len(expected) > 1 else x
    if size != target:
        raise ValueError(
            f"{mismatch}; adapter={adapter!r} keeps the {size} values but "
            f"{target} are needed: use adapter='dense'."
        )
    if adapter == "flatten" and len(expected) != 1:
        raise ValueError(f"{mismatch}; adapter='flatten' gives 1-D samples.")
    return keras.layers.Reshape(expected)(x)


def add_head(x, meta: dict, hidden, activation: str = "relu"):
    """Task output layer (softmax, sigmoid or linear) after optional hidden layers.

    Returns the output tensor and the loss that matches it.
    """
    units, output_activation, loss = output_head(meta)
    if len(x.shape) > 2:
        x = keras.layers.Flatten()(x)
    for width in hidden:
        x = keras.layers.Dense(width, activation=activation)(x)
    return keras.layers.Dense(units, activation=output_activation, name="head")(x), loss
