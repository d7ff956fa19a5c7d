"""Keras models from what users pass (a model, a saved file, a builder) and cut."""

from __future__ import annotations

import os

import keras


def load_member(spec, input_shape: tuple, name: str) -> keras.Model:
    """A fresh Keras model for ``spec``, so the user's object is never trained.

    ``spec`` is a ``keras.Model`` (copied with its weights), a path to a saved
    ``.keras``/``.h5`` model (loaded in safe mode) or a callable taking the
    input shape (without the batch axis) and returning a ``keras.Model``.
    """
    if isinstance(spec, (str, os.PathLike)):
        path = os.fspath(spec)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{name}: no saved model at {path!r}.")
        model = keras.saving.load_model(path, compile=False)
    elif isinstance(spec, keras.Model):
        model = keras.models.clone_model(spec)
        model.set_weights(spec.get_weights())
    elif callable(spec):
        model = spec(tuple(input_shape))
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"{name}: the builder must return a keras.Model, got "
                f"{type(model).__name__}."
            )
    else:
        raise TypeError(
            f"{name} must be a keras.Model, a path to a saved model or a builder "
            f"callable, got {type(spec).__name__}."
        )
    return model


def cut_at_layer(model: keras.Model, layer, owner: str) -> keras.Model:
    """The part of ``model`` from its input to ``layer`` (an index or a name)."""
    try:
        chosen = (
            model.get_layer(layer) if isinstance(layer, str) else model.layers[layer]
        )
    except (ValueError, IndexError) as exc:
        available = [each.name for each in model.layers]
        raise ValueError(
            f"{owner} has no layer {layer!r}; its layers are {available}."
        ) from exc
    # A single input as a tensor, not a one-item list, so calling the model
    # on an array matches its input structure (Keras warns otherwise).
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, chosen.output)
