"""The fixed shape small predictions are padded to, for compiled Keras calls.

A compiled Keras function is traced once per input shape. Predictions of a few
rows (serving) are padded to one shape, so every such call runs one trace and
the same computation: the stack's small-batch graph (``ensemble/_graph.py``)
and a wrapper's compiled predictions (``keras/_fast_predict.py``) pad alike.
"""

from __future__ import annotations

import numpy as np

# Up to this many rows, a prediction takes the compiled, padded path.
SMALL_BATCH_ROWS = 64
# Padding costs the arithmetic of SMALL_BATCH_ROWS rows: rows of more values
# than this (images) are not padded.
MAX_PADDED_ROW_VALUES = 4096


def pad_rows(rows: np.ndarray, n_rows: int, dtype=None) -> np.ndarray:
    """``rows`` followed by zero rows, ``n_rows`` rows in all."""
    padded = np.zeros((n_rows, *rows.shape[1:]), dtype=dtype or rows.dtype)
    padded[: len(rows)] = rows
    return padded
