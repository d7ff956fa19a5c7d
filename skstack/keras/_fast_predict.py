"""Fast predictions: the compiled predict function, not ``Model.predict``.

``Model.predict`` builds a data pipeline on every call (~100 ms for one row);
the compiled predict function costs ~0.4 ms for a row of a small network.
Rows go through it in calls of fixed row counts (``fixed_shape_chunks``), so a
row gets the same bits in any batch, wherever it sits in it.

Which way a prediction goes depends on the input alone (its size), never on
what the model predicted before, so the same rows give the same numbers on
every call, after a round trip and in a fresh process.

A classifier network's last ``Dense`` layer is computed in float64: a float32
softmax or sigmoid rounds a probability near 1 to a multiple of 6e-8, so ``1 -
p`` (and the logit the default meta-learner takes of it) carries an error of up
to 6e-8 / (1 - p): for a member that is sure to 1e-5, a logit error of ~1e-2,
which another runtime's float32 rounding (onnxruntime on an exported stack)
turns into a different stack output. From the float32 hidden features, the last
layer's matmul and activation in float64 give probabilities whose logits are
exact to ~1e-6 in any runtime.
"""

from __future__ import annotations

import keras
import numpy as np
from scipy import sparse
from scipy.special import expit, softmax

from skstack.utils._batches import (
    MAX_PADDED_ROW_VALUES,
    expected_traces,
    fixed_shape_chunks,
    pad_rows,
)

from ._training import KerasWrapperHooks, without_augmentation
from ._transformers import PRECISION

# Inputs go through the model in calls of up to this many numbers (4 MB as
# float32).
FAST_PREDICT_MAX_VALUES = 1_000_000


def _dense_size(matrix) -> int:
    return int(np.prod(matrix.shape, dtype=np.int64))


class FastPredictMixin(KerasWrapperHooks):
    """The wrappers' fast predictions, on the ``_predict_encoded`` hook."""

    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        if (
            not reset
            and sparse.issparse(X)
            and _dense_size(X) <= FAST_PREDICT_MAX_VALUES
        ):
            # Small sparse input to predict (one-hot columns from a
            # ColumnTransformer) is made dense here, from CSR: scikeras would
            # turn it into LIL (~10 ms for 1000 rows) and Keras's sparse
            # ``predict`` costs ~100 ms a call.
            X = X.tocsr().toarray()
        return super()._validate_data(X, y, reset=reset, y_numeric=y_numeric)

    def _predict_encoded(self, encoded):
        # A classifier's last softmax/sigmoid layer is applied in float64 to
        # the float32 hidden features its body gives (see output_dense).
        parts = hidden_and_head(self.model_)
        if parts is None:
            outputs = self._run_network(self.model_, encoded)
            return super()._predict_encoded(encoded) if outputs is None else outputs
        body, dense = parts
        hidden = self._run_network(body, encoded)
        if hidden is None:
            return super()._predict_encoded(encoded)
        return float64_head(hidden, dense)

    def _run_network(self, network, encoded):
        """``network``'s outputs, by the path the input's size picks; or None.

        ``encoded`` is an array, or a structure of arrays for a network of
        several inputs. None (scikeras's path) for anything else: sparse
        input too large to make dense, tensors.
        """
        leaves = keras.tree.flatten(encoded)
        if not leaves or not all(isinstance(leaf, np.ndarray) for leaf in leaves):
            return None
        n_rows = len(leaves[0])
        if n_rows == 0:
            return None
        row_values = max(1, sum(leaf.size for leaf in leaves) // n_rows)
        compiled = not getattr(self.model_, "run_eagerly", False)
        if compiled and row_values <= MAX_PADDED_ROW_VALUES:
            # Compiled calls of two fixed shapes (the last padded), whatever
            # the row count: each row gets the same bits in any batch, and
            # one row costs one call of SMALL_BATCH_ROWS. A network compiled
            # with ``run_eagerly`` is never traced.
            parts = []
            for start, stop, size in fixed_shape_chunks(n_rows):
                chunk = keras.tree.map_structure(
                    lambda leaf, a=start, b=stop, n=size: pad_rows(leaf[a:b], n),
                    encoded,
                )
                with expected_traces():
                    outputs = network.predict_on_batch(chunk)
                parts.append(
                    keras.tree.map_structure(
                        lambda out, n=stop - start: np.asarray(out)[:n], outputs
                    )
                )
            return _joined(parts)
        # Rows of many values (images) or an eager network: eagerly, in calls
        # of at most FAST_PREDICT_MAX_VALUES input values: Keras's ``predict``
        # would take ~2 ms per batch of ``batch_size`` rows, mostly overhead.
        rows_per_call = max(1, FAST_PREDICT_MAX_VALUES // row_values)
        parts = []
        for start in range(0, n_rows, rows_per_call):
            part = keras.tree.map_structure(
                lambda leaf, start=start: leaf[start : start + rows_per_call], encoded
            )
            outputs = network(part, training=False)
            parts.append(keras.tree.map_structure(keras.ops.convert_to_numpy, outputs))
        return _joined(parts)


def _joined(parts):
    """The outputs of successive calls, as one output."""
    if len(parts) == 1:
        return parts[0]
    return keras.tree.map_structure(lambda *pieces: np.concatenate(pieces), *parts)


# A classifier network's last Dense layer in float64.

_ACTIVATIONS = (keras.activations.softmax, keras.activations.sigmoid)
# Where a network keeps its (body, dense), found at its first prediction: on
# the Keras network, not on the estimator, whose attributes predicting leaves
# as they were.
_CACHE = "_skstack_hidden_and_head"
_MISSING = object()


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
        body = keras.Model(model.inputs[0], dense.input, name=f"{model.name}_hidden")
    except (AttributeError, ValueError):  # a layer called more than once
        return None
    return body, dense


def hidden_and_head(model):
    """``(body, dense)`` for predicting ``model``, or None; found once per network.

    ``body`` gives the float32 hidden features; :func:`float64_head` then
    applies ``dense`` in float64. ``body`` is a model over the network's own
    graph (no layer is called again); ``dense``'s weights are read at each
    call, so predictions follow further training.
    """
    found = model.__dict__.get(_CACHE, _MISSING)
    if found is _MISSING:
        found = output_dense(model)
        # Kept on the network itself, past Keras's attribute tracking (which
        # would make the body part of the network): it dies with the network
        # in one garbage collection, where a weak-keyed dict would keep a
        # stack's fold models alive until the next one.
        object.__setattr__(model, _CACHE, found)
    return found


def float64_head(hidden, dense) -> np.ndarray:
    """``dense`` applied in float64 to the float32 ``hidden`` features.

    Sums by ``einsum`` (no BLAS, whose thread count may change the rounding),
    so the same rows give the same bits in every process.
    """
    hidden = np.asarray(hidden, dtype=np.float64)
    # ``Variable.numpy`` reads in half the time of ``ops.convert_to_numpy``.
    kernel = dense.kernel.numpy().astype(np.float64)
    outputs = np.einsum("ij,jk->ik", hidden, kernel)
    if dense.use_bias:
        outputs += dense.bias.numpy().astype(np.float64)
    if dense.activation is keras.activations.sigmoid:
        return expit(outputs)
    return softmax(outputs, axis=-1)


def exportable_network(model, name) -> keras.Model:
    """``model`` as it predicts (:func:`float64_head`), of standard layers.

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
    outputs = head(as_float64(body(inputs)))
    head.set_weights([weight.astype(PRECISION) for weight in dense.get_weights()])
    return keras.Model(inputs, outputs, name=name or model.name)


def as_float64(tensor):
    """``tensor`` cast to float64 by a layer (a graph's tensors come from layers)."""
    return keras.layers.Identity(dtype=PRECISION)(tensor)
