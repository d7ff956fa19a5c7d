"""Keras forms of fitted scikit-learn transformers: preprocessing in the graph.

A pipeline member (``make_pipeline(ColumnTransformer(...), KerasClassifier(...))``)
predicts through one compiled graph only if its preprocessing has a Keras
form. Features flow through the graph as a float tensor ``(batch, n)``, or,
for a stack fitted on a DataFrame with text columns, as a dict of named
``(batch, 1)`` columns (numbers as float64, text as strings). Each form is
built from the transformer's public fitted attributes; encoders' outputs are
read off the encoder itself (its ``transform`` of each known category).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import keras
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)

from ._layers import (
    Affine,
    CodeMap,
    EqualsAny,
    FillMissing,
    IndicatorMap,
    TakeColumns,
)
from ._named_columns import PRECISION, SelectedColumns

SUPPORTED = (
    "StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler, SimpleImputer "
    "(numbers, NaN as missing), OneHotEncoder (numbers or text; "
    "handle_unknown='ignore' or 'infrequent_if_exist'), OrdinalEncoder "
    "(numbers or text; handle_unknown='use_encoded_value'), "
    "FunctionTransformer() (no function), KerasFeatureExtractor, and "
    "Pipelines and ColumnTransformers of them"
)


class NoKerasForm(TypeError):
    """A fitted transformer that has no Keras form; the message names it."""


def transformed(transformer, features, where: str):
    """The output of a fitted ``transformer`` in the graph, ``(batch, n)``.

    ``features`` is a float tensor or a dict of named columns; ``where``
    names the transformer's place for errors ("estimator 'mlp', step 0").
    """
    if transformer is None or (
        isinstance(transformer, str) and transformer == "passthrough"
    ):
        return matrix(features, None, where)
    if isinstance(transformer, Pipeline):
        for index, (_, step) in enumerate(transformer.steps):
            features = transformed(step, features, f"{where}, step {index}")
        return matrix(features, None, where)
    if isinstance(transformer, ColumnTransformer):
        return _column_transformer(transformer, features, where)
    if isinstance(transformer, OneHotEncoder | OrdinalEncoder):
        return _encoded(transformer, features, where)
    if hasattr(type(transformer), "_keras_form"):
        # A transformer built on Keras (KerasFeatureExtractor) gives its own.
        return transformer._keras_form(matrix(features, transformer, where))
    if isinstance(transformer, FunctionTransformer) and transformer.func is None:
        return matrix(features, transformer, where)  # "passthrough" once fitted
    for kind, form in _NUMERIC_FORMS.items():
        if isinstance(transformer, kind):
            return form(transformer, matrix(features, transformer, where), where)
    raise NoKerasForm(
        f"{where} is a {type(transformer).__name__}, which has no Keras form. "
        f"Supported: {SUPPORTED}."
    )


def matrix(features, transformer, where: str):
    """``features`` as one float tensor (dict columns in the fitted order)."""
    if not isinstance(features, Mapping):
        return features
    names = getattr(transformer, "feature_names_in_", None)
    names = list(features) if names is None else list(names)
    coded = getattr(features, "vocabularies", {})
    text = [name for name in names if name in coded or features[name].dtype == "string"]
    if text:
        raise NoKerasForm(
            f"{where} takes the text columns {text} as numbers; only a "
            "OneHotEncoder can take text in the Keras form."
        )
    columns = [features[name] for name in names]
    return (
        columns[0]
        if len(columns) == 1
        else keras.layers.Concatenate(dtype=PRECISION)(columns)
    )


def _column_transformer(transformer, features, where):
    outputs = []
    for name, step, columns in transformer.transformers_:
        if isinstance(step, str) and step == "drop":
            continue
        selected = _select(transformer, features, columns)
        if selected is None:
            continue  # no columns selected: the step adds no output
        outputs.append(transformed(step, selected, f"{where}, transformer {name!r}"))
    if not outputs:
        raise NoKerasForm(f"{where} is a ColumnTransformer with no output.")
    return (
        outputs[0]
        if len(outputs) == 1
        else keras.layers.Concatenate(dtype=PRECISION)(outputs)
    )


def _select(transformer, features, columns):
    """The columns a ColumnTransformer gives one of its transformers, or None."""
    names = getattr(transformer, "feature_names_in_", None)
    everything = np.arange(transformer.n_features_in_)
    if isinstance(columns, str) or (
        isinstance(columns, list | tuple | np.ndarray)
        and len(columns)
        and isinstance(columns[0], str)
    ):
        wanted = [columns] if isinstance(columns, str) else list(columns)
        indices = [list(names).index(name) for name in wanted]
    else:
        indices = everything[columns].reshape(-1).tolist()
    if not indices:
        return None
    if isinstance(features, Mapping):
        selected = SelectedColumns({names[i]: features[names[i]] for i in indices})
        selected.vocabularies = getattr(features, "vocabularies", {})
        return selected
    if indices == everything.tolist():
        return features
    return TakeColumns(indices, dtype=PRECISION)(features)


def _scaler(transformer, X, where):
    n = X.shape[-1]
    zeros, ones = np.zeros(n), np.ones(n)
    clip = None
    if isinstance(transformer, StandardScaler):
        shift = transformer.mean_ if transformer.with_mean else zeros
        scale = 1.0 / transformer.scale_ if transformer.with_std else ones
        offset = zeros
    elif isinstance(transformer, RobustScaler):
        center, spread = transformer.center_, transformer.scale_
        shift = zeros if center is None else center
        scale = ones if spread is None else 1.0 / spread
        offset = zeros
    elif isinstance(transformer, MaxAbsScaler):
        shift, scale, offset = zeros, 1.0 / transformer.scale_, zeros
    else:  # MinMaxScaler: X * scale_ + min_, as scikit-learn computes it
        shift, scale, offset = zeros, transformer.scale_, transformer.min_
        clip = transformer.feature_range if transformer.clip else None
    return Affine(shift, scale, offset, clip=clip, dtype=PRECISION)(X)


def _imputer(imputer: SimpleImputer, X, where):
    missing = imputer.missing_values
    statistics = np.asarray(imputer.statistics_)
    if not (isinstance(missing, float) and np.isnan(missing)):
        raise NoKerasForm(
            f"{where} is a SimpleImputer of missing_values={missing!r}; the Keras "
            "form imputes NaN only."
        )
    try:
        statistics = statistics.astype(float)  # object for strategy="constant"
    except (TypeError, ValueError):
        statistics = None
    if imputer.add_indicator or statistics is None:
        raise NoKerasForm(
            f"{where} is a SimpleImputer with "
            + ("add_indicator=True" if imputer.add_indicator else "text statistics")
            + f", which has no Keras form. Supported: {SUPPORTED}."
        )
    empty = np.isnan(statistics)
    filled = FillMissing(np.where(empty, 0.0, statistics), dtype=PRECISION)(X)
    if empty.any() and not imputer.keep_empty_features:
        # scikit-learn drops the columns that were empty in fit.
        filled = TakeColumns(np.flatnonzero(~empty), dtype=PRECISION)(filled)
    return filled


_NUMERIC_FORMS = {
    StandardScaler: _scaler,
    MinMaxScaler: _scaler,
    MaxAbsScaler: _scaler,
    RobustScaler: _scaler,
    SimpleImputer: _imputer,
}


def _encoded(encoder: OneHotEncoder | OrdinalEncoder, features, where):
    """A fitted one-hot or ordinal encoder: known categories to its own output."""
    ordinal = isinstance(encoder, OrdinalEncoder)
    usable = ("use_encoded_value",) if ordinal else ("ignore", "infrequent_if_exist")
    if encoder.handle_unknown not in usable + ("warn",):
        raise NoKerasForm(
            f"{where} is a {type(encoder).__name__} with "
            f"handle_unknown={encoder.handle_unknown!r}, which a graph cannot "
            f"raise; use handle_unknown={usable[0]!r} for a Keras form."
        )
    names = getattr(encoder, "feature_names_in_", None)
    widths = [
        1 if ordinal else _output_width(encoder, k)
        for k in range(len(encoder.categories_))
    ]
    encoded = _encoded_categories(encoder)
    blocks = []
    coded = getattr(features, "vocabularies", {})
    for j, categories in enumerate(encoder.categories_):
        if isinstance(features, Mapping):
            column = features[names[j]]
        else:
            column = TakeColumns([j], dtype=PRECISION)(features)
        start = sum(widths[:j])
        mapping = encoded[j][:, start : start + widths[j]]
        unknown = _unknown_output(encoder, j, mapping)
        if isinstance(features, Mapping) and names[j] in coded:
            if not all(isinstance(c, str) for c in categories):
                raise NoKerasForm(f"{where}, column {j}: categories are not text.")
            table = _code_table(coded[names[j]], categories, mapping, unknown)
            blocks.append(CodeMap(table, dtype=PRECISION)(column))
            continue
        indicator = _indicator(column, categories, f"{where}, column {j}")
        blocks.append(IndicatorMap(mapping, unknown, dtype=PRECISION)(indicator))
    return (
        blocks[0]
        if len(blocks) == 1
        else keras.layers.Concatenate(dtype=PRECISION)(blocks)
    )


def _code_table(vocabulary, categories, mapping, unknown) -> np.ndarray:
    """The encoder's output for each value of ``vocabulary`` (a code's row)."""
    table = np.tile(unknown, (len(vocabulary), 1))
    known = np.asarray(categories, dtype=object)
    position = {value: index for index, value in enumerate(known.tolist())}
    for code, value in enumerate(vocabulary.tolist()):
        if value in position:
            table[code] = mapping[position[value]]
    return table


def _indicator(column, categories, where):
    """``(batch, n_categories)``: which known category each row holds."""
    if categories.dtype.kind in "biuf":
        if np.isnan(categories.astype(float)).any():
            raise NoKerasForm(f"{where}: NaN is a category; it has no Keras form.")
        if column.dtype == "string":
            raise NoKerasForm(f"{where}: numeric categories of a text column.")
        return EqualsAny(categories, dtype=PRECISION)(column)
    if not all(isinstance(c, str) for c in categories):
        raise NoKerasForm(
            f"{where}: categories of mixed types or missing values "
            f"({categories.tolist()[:5]}...) have no Keras form."
        )
    if column.dtype != "string":
        raise NoKerasForm(f"{where}: text categories of a numeric column.")
    lookup = keras.layers.StringLookup(
        vocabulary=list(categories), num_oov_indices=1, output_mode="one_hot"
    )
    # Index 0 is the out-of-vocabulary bucket: an unknown category.
    ones = TakeColumns(range(1, len(categories) + 1), dtype=PRECISION)
    return ones(lookup(column))


def _encoded_categories(encoder) -> list[np.ndarray]:
    """Per input column, the encoder's output for each of its known categories.

    Read off ``encoder.transform`` (other columns at their first category), so
    drop, infrequent categories and ordinal codes are the encoder's own.
    """
    categories = encoder.categories_
    names = getattr(encoder, "feature_names_in_", None)
    outputs = []
    for j in range(len(categories)):
        probe = np.empty((len(categories[j]), len(categories)), dtype=object)
        for k, known in enumerate(categories):
            probe[:, k] = categories[j] if k == j else known[0]
        if names is not None:
            import pandas as pd

            dtypes = {n: c.dtype for n, c in zip(names, categories, strict=True)}
            probe = pd.DataFrame(probe, columns=names).astype(dtypes)
        else:
            probe = probe.astype(np.result_type(*[c.dtype for c in categories]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            encoded = encoder.transform(probe)
        if hasattr(encoded, "toarray"):
            encoded = encoded.toarray()
        outputs.append(np.asarray(encoded, dtype=np.float64))
    return outputs


def _unknown_output(encoder, j: int, mapping: np.ndarray) -> np.ndarray:
    """What the encoder outputs for a category of column ``j`` it never saw."""
    if isinstance(encoder, OrdinalEncoder):
        return np.array([encoder.unknown_value], dtype=np.float64)
    infrequent = _infrequent(encoder, j)
    if encoder.handle_unknown != "ignore" and infrequent:
        # An unknown category is encoded as the infrequent ones.
        return mapping[list(encoder.categories_[j]).index(infrequent[0])]
    return np.zeros(mapping.shape[1])


def _infrequent(encoder, j) -> list:
    infrequent = getattr(encoder, "infrequent_categories_", None)
    if infrequent is None or infrequent[j] is None:
        return []
    return list(infrequent[j])


def _output_width(encoder, j) -> int:
    """How many output columns input column ``j`` has."""
    width = len(encoder.categories_[j])
    infrequent = _infrequent(encoder, j)
    if infrequent:
        width -= len(infrequent) - 1
    drop = encoder.drop_idx_
    if drop is not None and drop[j] is not None:
        width -= 1
    return width
