"""A fitted stack's compiled Keras graph for predictions of a few rows.

Keras-free until a graph is built: ``skstack.keras._export`` is imported then.
"""

from __future__ import annotations

import weakref

import numpy as np
from scipy import sparse
from sklearn.utils.validation import check_is_fitted

from ._folds import is_keras_wrapper
from ._keras import stack_to_keras

# Predictions of at most this many rows take the stack's compiled graph.
_SMALL_BATCH_ROWS = 64
# Each fitted stack's graph (or None), with a weak reference to the meta-learner
# of the fit it was built from. Outside the estimator, so predicting changes no
# attribute and pickles stay as they were.
_GRAPHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_NOT_BUILT = "not built"  # a stack that predicted a few rows once


def predict_small_batch(stack, X):
    """The stack's output for a few rows, from one compiled Keras graph.

    Each call of a member costs a fixed overhead (about 0.4 ms for a
    compiled Keras network) that dominates a prediction of a few rows, so
    a stack whose members and meta-learner all have a Keras form
    (:meth:`to_keras`) is built into one graph, at its second prediction
    of a few rows (building costs a fraction of a second, which a stack
    scored once, as in a grid search, does not pay), and run by one call.
    Returns None (the caller predicts member by member) for the first such
    call, other stacks, larger or non-numeric inputs. Values equal the
    member-by-member path's to float32 precision (~1e-6).
    """
    check_is_fitted(stack, "final_estimator_")
    entry = _GRAPHS.get(stack)
    # Keyed to the stack, valid for the fit that made its meta-learner.
    if entry is None or entry[0]() is not stack.final_estimator_:
        entry = None
    elif entry[1] is None:
        return None
    # Counted before validating: a large X is validated once, by the caller
    # (as is anything that cannot be counted, to get its clear error).
    try:
        n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
    except (TypeError, IndexError):
        return None
    if sparse.issparse(X) or not 0 < n_rows <= _SMALL_BATCH_ROWS:
        return None
    X_checked, _, _ = stack._validate_input(X, reset=False)
    if X_checked.dtype.kind not in "biuf":
        return None
    if entry is None:
        _GRAPHS[stack] = (weakref.ref(stack.final_estimator_), _NOT_BUILT)
        return None
    graph = entry[1]
    if graph is _NOT_BUILT:
        graph = _build_graph(stack)
        _GRAPHS[stack] = (entry[0], graph)
        if graph is None:
            return None
    output = graph.predict_on_batch(X_checked.astype(np.float32))
    return np.asarray(output, dtype=np.float64)


def _build_graph(stack):
    """The exported stack for small batches, or None if there is none."""
    models = [
        model
        for _, member in stack._kept_members()
        for model in (member if isinstance(member, list) else [member])
    ]
    if not any(is_keras_wrapper(model) for model in models):
        return None  # no Keras member: nothing to save by one graph
    try:
        return stack_to_keras(stack)
    except (TypeError, ValueError):
        return None
