"""Fast predictions of small inputs: the model called directly, not ``predict``.

``Model.predict`` builds a data pipeline on every call (~100 ms for one row);
calling the model costs a few ms, its compiled predict function ~0.4 ms for a
row of a small network.

Which way a prediction goes depends on the input alone (its row count and
size), never on what the model predicted before, so the same rows give the
same numbers on every call, after a round trip and in a fresh process.
"""

from __future__ import annotations

import keras
import numpy as np
from scipy import sparse

from ._precise_output import float64_head, hidden_and_head

# Inputs of up to this many numbers (4 MB as float32) go straight through the
# model; larger ones take Keras's batched path.
FAST_PREDICT_MAX_VALUES = 1_000_000
# Up to this many rows, small enough rows run compiled, padded to this many
# rows: one input shape, so one trace and one computation for every call.
COMPILED_PREDICT_ROWS = 64
# Padding costs the arithmetic of 64 rows; rows larger than this (images)
# run eagerly instead.
COMPILED_PREDICT_MAX_ROW_VALUES = 4096


def pad_rows(encoded: np.ndarray, n_rows: int) -> np.ndarray:
    """``encoded`` followed by zero rows, to ``n_rows`` rows."""
    padded = np.zeros((n_rows, *encoded.shape[1:]), dtype=encoded.dtype)
    padded[: len(encoded)] = encoded
    return padded


def _dense_size(matrix) -> int:
    return int(np.prod(matrix.shape, dtype=np.int64))


class FastPredict:
    """Plugs into the ``_predict_encoded`` hook of the scikeras fixes."""

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
        # the float32 hidden features its body gives (see _precise_output).
        parts = hidden_and_head(self.model_)
        if parts is None:
            return self._run_network(self.model_, encoded)
        body, dense = parts
        hidden = self._run_network(body, encoded)
        return None if hidden is None else float64_head(hidden, dense)

    def _run_network(self, network, encoded):
        """``network``'s outputs, by the path the input's size picks; or None."""
        small = (
            isinstance(encoded, np.ndarray) and encoded.size <= FAST_PREDICT_MAX_VALUES
        )
        if not small:
            if network is self.model_ or not isinstance(encoded, np.ndarray):
                return super()._predict_encoded(encoded)
            # Keras's batched predict, as scikeras's, of the body.
            batch_size = self._predict_batch_size(len(encoded))
            return network.predict(encoded, batch_size=batch_size, verbose=0)
        if len(encoded) == 0:
            return super()._predict_encoded(encoded)
        n_rows = len(encoded)
        row_values = encoded.size // n_rows
        if (
            n_rows <= COMPILED_PREDICT_ROWS
            and row_values <= COMPILED_PREDICT_MAX_ROW_VALUES
        ):
            # A few rows (serving): one compiled call of a fixed shape.
            outputs = network.predict_on_batch(pad_rows(encoded, COMPILED_PREDICT_ROWS))
            return keras.tree.map_structure(lambda out: out[:n_rows], outputs)
        # More rows: eagerly (a few ms), no tracing.
        outputs = network(encoded, training=False)
        return keras.tree.map_structure(keras.ops.convert_to_numpy, outputs)
