"""Errors of members, re-raised naming the member, where it failed and why."""

from __future__ import annotations

import numbers

import numpy as np


def member_error(exc: BaseException, name: str, where: str, X) -> Exception:
    """The member's exception, re-raised with which estimator and where it failed."""
    message = f"Estimator {name!r} failed {where}: {type(exc).__name__}: "
    message += condensed_message(exc)
    if getattr(X, "ndim", 2) > 2:
        message += (
            f" (X has shape {X.shape}; an estimator that takes only 2-D input can "
            "be stacked as make_pipeline(skstack.Flatten(), estimator))"
        )
    # Only for a failed conversion: a member that encodes its text columns
    # itself can fail for other reasons, where the hint would mislead.
    text_columns = non_numeric_columns(X)
    converting = any(word in str(exc).lower() for word in ("convert", "string"))
    if text_columns and converting and isinstance(exc, (ValueError, TypeError)):
        shown = text_columns[:5] + (["..."] if len(text_columns) > 5 else [])
        message += (
            f" (X has non-numeric columns {shown}; a member that needs numbers "
            "can encode them itself, e.g. make_pipeline(make_column_transformer("
            f"(OneHotEncoder(), {text_columns[:5]}), remainder='passthrough'), "
            "estimator))"
        )
    for kind in (ValueError, TypeError):
        if isinstance(exc, kind):
            return kind(message)
    return RuntimeError(message)


def condensed_message(exc: BaseException, limit: int = 500) -> str:
    """The exception's text without the graph traceback TensorFlow puts in it.

    A failing TensorFlow op lists every Python frame that built it ("defined at
    (most recent call last)") before the cause; keep the cause. The whole
    traceback stays on the chained exception.
    """
    text = str(exc)
    if "(most recent call last):" not in text:
        return text
    lines = text.splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
    if not frames:
        return text
    cause = [
        line.strip()
        for line in lines[frames[-1] + 1 :]
        if line.strip() and not line.strip().startswith("[[{{node")
    ]
    condensed = " ".join(cause) or lines[0]
    return condensed if len(condensed) <= limit else condensed[:limit] + " ..."


def non_numeric_columns(X, scan_rows: int = 1000) -> list:
    """Names (DataFrame) or indices (array) of the columns of X that hold text."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):
        return [
            column
            for column, dtype in dtypes.items()
            if getattr(dtype, "kind", "O") not in "biuf"
        ]
    dtype = getattr(X, "dtype", None)
    if dtype is None or dtype.kind not in "OUS" or X.ndim != 2:
        return []
    if dtype.kind in "US":
        return list(range(X.shape[1]))
    head = np.asarray(X[:scan_rows])
    return [
        column
        for column in range(head.shape[1])
        if not all(isinstance(value, numbers.Number) for value in head[:, column])
    ]
