"""The ``conv_model`` builder: a small convolutional network for images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from ._dense import dense_head

# Feature maps of at most this many positions are flattened (digits' 2x2
# after two poolings); larger ones are averaged over their positions, so the
# feature layer does not grow with the image.
_FLATTENED_POSITIONS = 16


def conv_model(
    meta: dict[str, Any],
    compile_kwargs: dict[str, Any],
    filters: Sequence[int] = (32, 64),
    kernel_size: int = 3,
    hidden: Sequence[int] = (64,),
    activation: str = "relu",
    dropout: float = 0.0,
) -> keras.Model:
    """Build a compiled convolutional network for images, its output fitting the task.

    Pass it as the ``model`` of :class:`KerasClassifier` or
    :class:`KerasRegressor`, as :func:`dense_model`: they call it at ``fit``
    with ``meta`` and ``compile_kwargs`` and the other arguments given to the
    wrapper (``filters=(16, 32)`` or ``model__filters=(16, 32)``). Its body is
    the template for a builder of your own (see the features guide).

    Parameters
    ----------
    meta : dict
        What the wrapper learnt from the data: ``X_shape_`` (images,
        ``(n, height, width)`` or ``(n, height, width, channels)``),
        ``target_type_``, ``n_classes_`` (classifiers), ``n_outputs_``.
    compile_kwargs : dict
        Arguments for ``keras.Model.compile`` from the wrapper; a ``loss`` of
        None is replaced by the loss that matches the output layer.
    filters : sequence of int, default=(32, 64)
        Filters of each convolution block: a ``Conv2D`` (``"same"`` padding)
        then a 2x2 ``MaxPooling2D`` while the maps are at least 2x2.
    kernel_size : int, default=3
        Size of the convolution kernels.
    hidden : sequence of int, default=(64,)
        Units of the ``Dense`` layers after the blocks; the last is named
        ``"features"``, the layer ``KerasFeatureExtractor(layer="features")``
        takes. The maps are flattened before them when they have at most 16
        positions (8x8 digits: 2x2), else averaged over their positions.
    activation : str, default="relu"
        Activation of the convolutions and hidden layers.
    dropout : float, default=0.0
        Dropout rate after each hidden layer; 0 adds no ``Dropout`` layer.

    Returns
    -------
    model : keras.Model
        Compiled model, with :func:`dense_model`'s output layer for the task.

    Raises
    ------
    ValueError
        If X does not hold images (2 or 3 axes per sample), or ``dropout``
        is outside [0, 1).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skstack.keras import KerasClassifier, conv_model
    >>> X, y = load_digits(return_X_y=True)
    >>> images = (X / 16).reshape(-1, 8, 8).astype("float32")
    >>> clf = KerasClassifier(conv_model, filters=(8,), epochs=1, random_state=0)
    >>> clf.fit(images, y).predict_proba(images[:2]).shape
    (2, 10)
    """
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
    shape = tuple(meta["X_shape_"][1:])
    if len(shape) not in (2, 3):
        raise ValueError(
            "conv_model takes images: X of shape (n_samples, height, width) or "
            f"(n_samples, height, width, channels); got X of shape "
            f"{tuple(meta['X_shape_'])}. Reshape flat pixels first, or use "
            "dense_model for tables."
        )

    inputs = keras.Input(shape=shape)
    x = inputs if len(shape) == 3 else keras.layers.Reshape((*shape, 1))(inputs)
    for count in filters:
        x = keras.layers.Conv2D(
            count, kernel_size, padding="same", activation=activation
        )(x)
        if min(x.shape[1], x.shape[2]) >= 2:
            x = keras.layers.MaxPooling2D()(x)
    if x.shape[1] * x.shape[2] <= _FLATTENED_POSITIONS:
        x = keras.layers.Flatten()(x)
    else:
        x = keras.layers.GlobalAveragePooling2D()(x)
    return dense_head(
        inputs, x, meta, compile_kwargs, hidden, activation, dropout, "features"
    )
