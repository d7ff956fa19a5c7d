"""A fitted stack's compiled Keras graph for predictions of a few rows.

Keras-free: the graph is built by the function provided as
``small_batch_graph`` (``_extension.py``).
"""

from __future__ import annotations

import weakref

import numpy as np
from scipy import sparse
from sklearn.utils.validation import check_is_fitted

from ..utils._batches import MAX_PADDED_ROW_VALUES, SMALL_BATCH_ROWS, pad_rows
from ._extension import keras_function

# Each fitted stack's graph (or None), with a weak reference to the meta-learner
# of the fit it was built from. Outside the estimator, so predicting changes no
# attribute and pickles stay as they were.
_GRAPHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def predict_small_batch(stack, X):
    """The stack's output for a few rows, from one compiled Keras graph.

    Each call of a member costs a fixed overhead (about 0.4 ms for a
    compiled Keras network) that dominates a prediction of a few rows, so
    a stack whose members and meta-learner all have a Keras form
    (:meth:`to_keras`) is built into one graph at its first prediction of
    a few rows (a fraction of a second, once) and run by one call.
    Returns None (the caller predicts member by member) for other stacks,
    larger inputs (a few sparse rows are made dense), and rows with missing
    values: the path depends on the stack and the input alone, so the same
    rows always give the same output. Values equal the member-by-member
    path's to about 1e-12 (the graph computes in float64 around the
    members' float32 networks).
    """
    if "final_estimator_" not in vars(stack):
        check_is_fitted(stack, "final_estimator_")  # its error
    entry = _GRAPHS.get(stack)
    # Keyed to the stack, valid for the fit that made its meta-learner.
    if entry is not None and entry[0]() is not stack.final_estimator_:
        entry = None
    if entry is not None and entry[1] is None:
        return None
    # Counted before validating: a large X is validated once, by the caller
    # (as is anything that cannot be counted, to get its clear error).
    try:
        n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
    except (TypeError, IndexError):
        return None
    if not 0 < n_rows <= SMALL_BATCH_ROWS:
        return None
    if sparse.issparse(X):
        # A few sparse rows (one-hot columns from a ColumnTransformer in front
        # of the stack) are small dense: they take the graph too.
        if X.shape[1] > MAX_PADDED_ROW_VALUES:
            return None
        X = X.toarray()
    X_checked, _, _ = stack._validate_input(X, reset=False)
    graph_input = _padded_input(stack, X, X_checked)
    if graph_input is None:
        return None
    if entry is None:
        entry = (weakref.ref(stack.final_estimator_), _build_graph(stack))
        _GRAPHS[stack] = entry
        if entry[1] is None:
            return None
    output = entry[1].predict_on_batch(graph_input)[:n_rows]
    return np.asarray(output, dtype=np.float64)


def _padded_input(stack, X, X_checked):
    """X as the graph takes it, padded to ``SMALL_BATCH_ROWS`` rows, or None.

    None (member by member) for rows with missing values, which members may
    impute or refuse in their own way, and for rows too large to pad.
    """
    n_rows, size = len(X_checked), SMALL_BATCH_ROWS
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
            padded = np.zeros(size, dtype=object if is_text else np.float64)
            padded[:n_rows] = values.astype(str) if is_text else values
            if is_text:
                padded[n_rows:] = ""
            columns[name] = padded.reshape(-1, 1)
        return columns
    row_values = X_checked.size // n_rows
    if X_checked.dtype.kind not in "biuf" or row_values > MAX_PADDED_ROW_VALUES:
        return None
    if np.isnan(X_checked).any():
        return None
    return pad_rows(X_checked, size, dtype=np.float64)


def _build_graph(stack):
    """The exported stack for small batches, or None if there is none."""
    try:
        return keras_function("small_batch_graph")(stack)
    except (TypeError, ValueError):
        return None
