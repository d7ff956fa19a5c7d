"""The fixed row counts of compiled Keras prediction calls, and their padding.

A compiled Keras function is traced once per input shape, and a row's result
may depend on the shape of the batch it is computed in. Predictions run in
calls of a few fixed row counts, the last padded, so every call runs one of a
few traces and a row the same computation in any batch: the stack's
prediction graph (``ensemble/_graph.py``) and a wrapper's compiled
predictions (``keras/_fast_predict.py``) chunk and pad alike.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import numpy as np

# The smallest call: one row costs a call of this many rows.
SMALL_BATCH_ROWS = 64
# Padding costs the arithmetic of SMALL_BATCH_ROWS rows: rows of more values
# than this (images) are not padded.
MAX_PADDED_ROW_VALUES = 4096


# Every prediction call of a compiled network or graph has one of these row
# counts (padded): a row then gets the same bits in any batch (its result
# otherwise depends on the batch it came in, on CPUs whose kernels a batch's
# size picks), and each shape is traced once.
CALL_ROWS = (SMALL_BATCH_ROWS, 256, 1024, 4096)


def fixed_shape_chunks(n_rows: int) -> list[tuple[int, int, int]]:
    """``(start, stop, padded_rows)`` of the calls that predict ``n_rows`` rows.

    Calls of the largest of CALL_ROWS while that many rows are left, then
    one call of the smallest that holds the rest, padded: at most four times
    the arithmetic of the last rows, for one call's overhead.
    """
    chunks, start, largest = [], 0, CALL_ROWS[-1]
    while n_rows - start >= largest:
        chunks.append((start, start + largest, largest))
        start += largest
    if start < n_rows:
        size = next(size for size in CALL_ROWS if size >= n_rows - start)
        chunks.append((start, n_rows, size))
    return chunks


def pad_rows(rows: np.ndarray, n_rows: int, dtype=None) -> np.ndarray:
    """``rows`` followed by zero rows, ``n_rows`` rows in all."""
    padded = np.zeros((n_rows, *rows.shape[1:]), dtype=dtype or rows.dtype)
    padded[: len(rows)] = rows
    return padded


class _RetracingWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


_RETRACING = _RetracingWarnings()


@contextlib.contextmanager
def expected_traces() -> Iterator[None]:
    """TensorFlow's warning about functions traced again, held back meanwhile.

    Each network's compiled predict function is traced once per call shape;
    TensorFlow counts traces by the function's code, shared by every Keras
    model, so the fold models of a stack predicting once each read as "5 out
    of the last 9 calls triggered retracing". Other warnings pass.
    """
    logger = logging.getLogger("tensorflow")
    logger.addFilter(_RETRACING)
    try:
        yield
    finally:
        logger.removeFilter(_RETRACING)
