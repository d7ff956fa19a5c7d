"""Training-time augmentation: Keras preprocessing layers in front of a model."""

from __future__ import annotations

from collections.abc import Sequence

import keras

AUGMENTATION_NAME = "augmentation"


def with_augmentation(model: keras.Model, layers: Sequence) -> keras.Model:
    """Return ``model`` behind fresh copies of ``layers``, compiled alike.

    Keras's random preprocessing layers (``RandomFlip``, ``RandomRotation``,
    ``RandomZoom``, ``RandomTranslation``...) transform their input only when
    called with ``training=True``, so the augmentation acts in ``fit`` and is
    the identity in ``predict`` and feature extraction.
    """
    copies = []
    for layer in layers:
        if not isinstance(layer, keras.layers.Layer):
            raise TypeError(
                f"augmentation must be a list of Keras layers, got {layer!r}."
            )
        # A fresh layer per fit: the given objects are parameters, never built.
        copies.append(type(layer).from_config(layer.get_config()))
    inputs = keras.Input(shape=model.inputs[0].shape[1:])
    augment = keras.Sequential(copies, name=AUGMENTATION_NAME)
    augmented = keras.Model(
        inputs, model(augment(inputs)), name=f"augmented_{model.name}"
    )
    if model.compiled:
        augmented.compile_from_config(model.get_compile_config())
    return augmented


def without_augmentation(model: keras.Model) -> keras.Model:
    """The network inside a model built by :func:`with_augmentation`, else itself."""
    names = [layer.name for layer in model.layers]
    if AUGMENTATION_NAME in names:
        return model.layers[-1]
    return model


class Augmentation:
    """The wrappers' ``augmentation``: the layers in front of the trained model.

    Plugs into the ``_model_for_training`` hook of the scikeras fixes.
    """

    def _model_for_training(self, model):
        model = super()._model_for_training(model)
        if getattr(self, "augmentation", None):
            model = with_augmentation(model, self.augmentation)
        return model
