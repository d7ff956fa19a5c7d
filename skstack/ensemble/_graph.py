"""A fitted stack's compiled Keras graph for its predictions.

Keras-free: the graph is built by the function provided as
``prediction_graph`` (``_extension.py``).
"""

from __future__ import annotations

import weakref

import numpy as np
from scipy import sparse
from sklearn.utils.validation import check_is_fitted

from ..utils._batches import (
    MAX_PADDED_ROW_VALUES,
    expected_traces,
    fixed_shape_chunks,
    pad_rows,
)
from ._extension import keras_function

# Each fitted stack's graph (or None), with a weak reference to the meta-learner
# of the fit it was built from. Outside the estimator, so predicting changes no
# attribute and pickles stay as they were.
_GRAPHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def predict_by_graph(stack, X):
    """The stack's output from its one compiled Keras graph, or None.

    Each call of a member costs a fixed overhead (about 0.4 ms for a
    compiled Keras network) that dominates a prediction of a few rows, so
    a stack whose members and meta-learner all have a Keras form
    (:meth:`to_keras`) is built into one graph at its first prediction (a
    fraction of a second, once) and run in calls of two fixed shapes
    (``fixed_shape_chunks``), whatever the number of rows: a row gets the
    same bits in any batch, and one row costs one call.
    Returns None (the caller predicts member by member) for other stacks,
    rows too large to pad (images) and rows with missing values, which
    members may impute or refuse in their own way: the path depends on the
    stack and the input alone, so the same rows always give the same
    output. Values equal the member-by-member path's to about 1e-12 (the
    graph computes in float64 around the members' float32 networks).
    """
    if "final_estimator_" not in vars(stack):
        check_is_fitted(stack, "final_estimator_")  # its error
    entry = _GRAPHS.get(stack)
    # Keyed to the stack, valid for the fit that made its meta-learner.
    if entry is not None and entry[0]() is not stack.final_estimator_:
        entry = None
    if entry is not None and entry[1] is None:
        return None
    if sparse.issparse(X) and X.shape[1] > MAX_PADDED_ROW_VALUES:
        return None
    X_checked, _, _ = stack._validate_input(X, reset=False)
    if X_checked.shape[0] == 0:
        return None
    graph_input = _graph_input(stack, X, X_checked)
    if graph_input is None:
        return None
    if entry is None:
        entry = (weakref.ref(stack.final_estimator_), _build_graph(stack))
        _GRAPHS[stack] = entry
        if entry[1] is None:
            return None
    graph = entry[1]
    with expected_traces():
        parts = [
            np.asarray(graph.predict_on_batch(_padded(graph_input, a, b, n)))[: b - a]
            for a, b, n in fixed_shape_chunks(X_checked.shape[0])
        ]
    return np.concatenate(parts).astype(np.float64, copy=False)


def _graph_input(stack, X, X_checked):
    """X as the graph takes it (before padding), or None.

    None (member by member) for rows with missing values, which members may
    impute or refuse in their own way, and for rows too large to pad.
    A sparse X (one-hot columns from a ColumnTransformer in front of the
    stack) stays sparse here and is made dense a call at a time.
    """
    text = getattr(stack, "_text_columns_in", [])
    if text:
        if not hasattr(X, "iloc"):
            return None
        columns = {}
        for name in stack.feature_names_in_:
            if X[name].isna().any():
                return None
            values = X[name].to_numpy()
            is_text = name in text
            values = values.astype(str).astype(object) if is_text else values
            columns[name] = values.reshape(-1, 1)
        return columns
    row_values = int(np.prod(X_checked.shape[1:], dtype=np.int64))
    if X_checked.dtype.kind not in "biuf" or row_values > MAX_PADDED_ROW_VALUES:
        return None
    values = X_checked.data if sparse.issparse(X_checked) else X_checked
    if np.isnan(values).any():
        return None
    return X_checked


def _padded(graph_input, start, stop, n_rows):
    """Rows ``start:stop`` of the graph's input, padded to ``n_rows`` rows."""
    if isinstance(graph_input, dict):
        return {
            name: _padded_column(column[start:stop], n_rows)
            for name, column in graph_input.items()
        }
    rows = graph_input[start:stop]
    if sparse.issparse(rows):
        rows = rows.toarray()
    return pad_rows(rows, n_rows, dtype=np.float64)


def _padded_column(column, n_rows):
    """A named column padded with zeros, or empty strings for text."""
    if column.dtype == object:
        padded = np.full((n_rows, 1), "", dtype=object)
        padded[: len(column)] = column
        return padded
    return pad_rows(column, n_rows, dtype=np.float64)


def _build_graph(stack):
    """The exported stack for small batches, or None if there is none."""
    try:
        return keras_function("prediction_graph")(stack)
    except (TypeError, ValueError):
        return None
