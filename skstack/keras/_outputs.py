"""What a classifier network outputs: probabilities, or logits its loss links.

Keras's guides end a classifier in a linear layer and compile the loss with
``from_logits=True``; others end it in softmax or sigmoid. A classifier's
``predict_proba`` (and so a stack's meta-features) must be probabilities, so
the wrappers apply the loss's link to logits, and refuse a network whose graph
ends in another activation with a loss that does not take logits.
"""

from __future__ import annotations

import keras
import numpy as np
from scipy.special import expit, softmax

__all__ = ["as_probabilities", "check_probability_output", "logits_link"]

_PROBABILITY_ACTIVATIONS = frozenset({"softmax", "sigmoid", "hard_sigmoid"})


def output_activation(model) -> str | None:
    """Name of the activation the network's one output ends in.

    None when its graph does not say: a subclassed model, several outputs, a
    last layer without an activation (``Reshape``, a custom layer). A linear
    ``Activation`` or ``Identity`` layer (the float32 cast Keras's mixed
    precision guide ends networks with) is looked through; an output computed
    by an operation that is not a layer (``keras.ops.softmax``) is not known.
    """
    outputs = getattr(model, "outputs", None)
    if not outputs or len(outputs) != 1:
        return None
    tensor = outputs[0]
    layers = getattr(model, "layers", ())
    for _ in range(len(layers)):
        layer = next((layer for layer in layers if _output_of(layer) is tensor), None)
        if layer is None:
            return None
        if isinstance(layer, keras.layers.Softmax):
            return "softmax"
        name = getattr(getattr(layer, "activation", None), "__name__", None)
        passes_through = isinstance(layer, keras.layers.Identity) or (
            isinstance(layer, keras.layers.Activation) and name == "linear"
        )
        if not passes_through:
            return name
        tensor = _input_of(layer)
    return None


def _output_of(layer):
    try:
        return layer.output
    except (AttributeError, ValueError):  # not called, or called several times
        return None


def _input_of(layer):
    try:
        return layer.input
    except (AttributeError, ValueError):
        return None


def logits_link(model) -> str | None:
    """``"sigmoid"`` or ``"softmax"`` when the compiled loss takes logits.

    The link follows the loss: sigmoid for binary crossentropy (one unit or
    one per label), softmax for categorical crossentropy; for another loss
    with ``from_logits=True``, sigmoid for one unit and softmax for more.
    """
    loss = getattr(model, "loss", None)
    try:
        config = loss.get_config() if hasattr(loss, "get_config") else {}
    except (NotImplementedError, TypeError):
        return None
    if not isinstance(config, dict) or not config.get("from_logits"):
        return None
    name = str(config.get("name") or type(loss).__name__).lower()
    if "binary" in name:
        return "sigmoid"
    if "categorical" in name:
        return "softmax"
    return "auto"


def as_probabilities(outputs, link: str):
    """``outputs`` (logits) through ``link``, in float64."""
    if not isinstance(outputs, np.ndarray):
        return outputs  # several outputs: left as the network gives them
    logits = outputs.astype(np.float64)
    if link == "sigmoid" or (link == "auto" and logits.shape[-1] == 1):
        return expit(logits)
    return softmax(logits, axis=-1)


def check_probability_output(model, owner: str) -> None:
    """Raise a ValueError naming the problem when ``model``'s outputs are not
    probabilities: its graph ends in another activation and its loss does not
    take logits."""
    if logits_link(model) is not None:
        return
    activation = output_activation(model)
    if activation is None or activation in _PROBABILITY_ACTIVATIONS:
        return
    raise ValueError(
        f"{owner}: its network's output ends in a {activation!r} activation and "
        "its loss does not take logits, so its outputs are not probabilities "
        "and predict_proba (a stack's meta-features) cannot use them. End the "
        "network in softmax (sigmoid for one unit), or compile it with a loss "
        "that takes logits, e.g. "
        "keras.losses.SparseCategoricalCrossentropy(from_logits=True), whose "
        "link predict_proba then applies."
    )
