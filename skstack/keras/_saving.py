"""Keras models in and out of a skstack archive: the ``.keras`` format, safe mode."""

from __future__ import annotations

import keras

# Registers skstack's layers, so models holding them load.
from . import _layers  # noqa: F401

__all__ = ["is_keras_model", "read_model", "write_model"]


def is_keras_model(obj) -> bool:
    return isinstance(obj, keras.Model)


def write_model(model, path: str) -> None:
    """Save ``model`` (architecture, weights, optimizer state) as ``.keras``."""
    model.save(path)


def read_model(path: str, custom_objects: dict | None = None):
    """Load a ``.keras`` model in safe mode: a ``Lambda`` layer's code is refused."""
    return keras.saving.load_model(
        path, custom_objects=custom_objects, compile=True, safe_mode=True
    )
