"""The named columns of a DataFrame as the inputs of a Keras form.

A stack fitted on a DataFrame with text columns takes X in its graph as one
``(batch, 1)`` input per column, numbers as float64 and text as strings (or,
in fused training, text as codes into the column's known values).
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from ._backend import string_tensors

# Preprocessing computes in float64, as scikit-learn does: standardizing a
# column of small spread in float32 would lose digits the network then sees.
PRECISION = "float64"


class ColumnInputs(Mapping):
    """The graph's named inputs, one ``(batch, 1)`` column each, made when used.

    A column that no step reads (dropped by a ColumnTransformer) is no input
    of the graph. Numbers are float64 (the ``float32`` columns come in as
    float32 and are read as float64), ``text`` columns strings.
    """

    def __init__(self, names, text=(), vocabularies=None, float32=()):
        self._names = [str(name) for name in names]
        self._text = set(text)
        self._float32 = set(float32)
        # Text columns given as codes: column name -> its sorted values.
        self.vocabularies = dict(vocabularies or {})
        self._made: dict = {}
        self._read: dict = {}

    def __getitem__(self, name):
        if name not in self._made:
            if name not in self._names:
                raise KeyError(name)
            as_text = name in self._text and name not in self.vocabularies
            if as_text and not string_tensors():
                raise ValueError(
                    f"Text column {name!r} becomes a string input of the Keras "
                    "graph, which only the TensorFlow backend has (Keras's "
                    f"backend is {keras.backend.backend()!r}): build the graph "
                    "in a process with KERAS_BACKEND=tensorflow, where a stack "
                    "saved with skstack.save loads."
                )
            single = name in self._float32 and not as_text
            dtype = "string" if as_text else "float32" if single else PRECISION
            safe_name = name.replace("/", "_")  # Keras refuses "/" in names
            made = keras.Input(shape=(1,), dtype=dtype, name=safe_name)
            self._made[name] = made
            cast = keras.layers.Identity(dtype=PRECISION) if single else None
            self._read[name] = made if cast is None else cast(made)
        return self._read[name]

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)

    def used(self) -> dict:
        """The inputs the graph reads, in the fitted column order."""
        return {name: self._made[name] for name in self._names if name in self._made}


class SelectedColumns(dict):
    """Named columns a step reads; ``vocabularies`` as in ColumnInputs."""

    vocabularies: dict = {}  # noqa: RUF012 - replaced per instance, never mutated


def text_inputs(estimator) -> set:
    """Names of the input columns that ``estimator``'s encoders read as text."""
    recorded = getattr(estimator, "_text_columns_in", None)  # a fitted stack
    if recorded is not None:
        return set(recorded)
    return {
        name
        for name, known in column_categories(estimator).items()
        if known.dtype.kind not in "biuf"
    }


def column_categories(estimator) -> dict:
    """The categories the encoders of ``estimator`` know, by input column name."""
    if isinstance(estimator, Pipeline):
        return column_categories(estimator.steps[0][1]) if estimator.steps else {}
    if isinstance(estimator, ColumnTransformer):
        steps = [step for _, step, _ in getattr(estimator, "transformers_", [])]
    elif hasattr(estimator, "final_estimator_"):  # a stack: its members'
        steps = [
            model
            for _, member in estimator._kept_members()
            for model in (member if isinstance(member, list) else [member])
        ]
    elif isinstance(estimator, OneHotEncoder | OrdinalEncoder):
        names = getattr(estimator, "feature_names_in_", None)
        if names is None:
            return {}
        return {
            str(name): np.asarray(known)
            for name, known in zip(names, estimator.categories_, strict=True)
        }
    else:
        return {}
    found = {}
    for step in steps:
        if not isinstance(step, str):
            found.update(column_categories(step))
    return found
