"""Model-building functions for the Keras wrappers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

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
    units, output_activation, default_loss = output_head(meta)

    inputs = keras.Input(shape=meta["X_shape_"][1:])
    x = inputs
    if len(inputs.shape) > 2:
        x = keras.layers.Flatten()(x)
    for width in hidden:
        x = keras.layers.Dense(width, activation=activation)(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(units, activation=output_activation)(x)
    model = keras.Model(inputs, outputs)

    compile_model(model, compile_kwargs, default_loss)
    return model


def compile_model(model: keras.Model, compile_kwargs: dict, default_loss: str) -> None:
    """Compile ``model`` with the wrapper's arguments; a None loss is the task's."""
    compile_kwargs = dict(compile_kwargs)
    if compile_kwargs.get("loss") is None:
        compile_kwargs["loss"] = default_loss
    model.compile(**compile_kwargs)
