"""Fused pipeline copies: each copy's preprocessing, in the training graph.

A fused pipeline member trains k copies of its network, each on features
made by its own preprocessing (fitted on that copy's training rows). Made
outside the graph, those are k dense feature tables of every row (a
one-hot encoded table, k times). When every copy's preprocessing has a Keras
form (``_transformers``), the copies share one raw input instead and each
batch is preprocessed in the graph, copy by copy: no feature table exists.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops
from scipy import sparse
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import _safe_indexing

from ._dense import dense_layers, stacked_network
from ._named_columns import PRECISION, ColumnInputs, text_inputs
from ._scikeras import encoded_training_data
from ._transformers import NoKerasForm, transformed

# The rows each copy's graph preprocessing is checked on against its
# ``transform`` before training (else the features are made outside).
CHECKED_ROWS = 256
ROWS_INPUT = "skstack_copy_rows"


def raw_input(X, heads):
    """X as the preprocessing graph takes it, or None where it cannot.

    A DataFrame becomes its columns, ``(n, 1)`` each: numbers float64, text
    as codes into the column's sorted values (looked up once here, not in
    every copy's graph at every step). An array of numbers becomes float64.
    None for sparse input, missing values (each encoder treats them in its
    own way), or text an encoder does not read.
    """
    if sparse.issparse(X):
        return None
    if hasattr(X, "iloc"):
        if X.columns.has_duplicates:
            return None
        text = set().union(*(text_inputs(head) for head in heads))
        columns, vocabularies = {}, {}
        for column in X.columns:
            name, values = str(column), X[column]
            if values.isna().any():
                return None
            if name in text:
                if not all(isinstance(value, str) for value in values.unique()):
                    return None  # text and other values: no order to code by
                codes, vocabulary = values.factorize(sort=True)
                columns[name] = codes.astype(np.float64).reshape(-1, 1)
                vocabularies[name] = np.asarray(vocabulary, dtype=object)
            elif values.dtype.kind in "biuf":
                columns[name] = values.to_numpy(np.float64).reshape(-1, 1)
        return columns, vocabularies
    X = np.asarray(X)
    if X.ndim != 2 or X.dtype.kind not in "biuf" or np.isnan(X).any():
        return None
    return X.astype(np.float64), None


def graph_inputs(X, vocabularies):
    """The Keras inputs :func:`raw_input`'s data feed: named columns, or one."""
    if vocabularies is not None:
        names = [str(name) for name in X.columns]
        return ColumnInputs(names, set(vocabularies), vocabularies)
    return keras.Input(shape=(X.shape[1],), dtype=PRECISION, name="X")


def preprocessed_copies(heads, inputs, widths, dtype):
    """Each copy's features in the graph, stacked: ``(batch, k, max(widths))``.

    A copy's features of the rows it does not train on are zeroed (as when
    made outside the graph): their weight in its loss is 0, and zeroing keeps
    any value its network cannot take out of its arithmetic. Returns the
    stacked features and the rows input (``(batch, k)``, 1 on a copy's
    training rows). Raises NoKerasForm if a head has no Keras form.
    """
    rows = keras.Input(shape=(len(heads),), dtype=dtype, name=ROWS_INPUT)
    width = max(widths)
    stacked = []
    for index, head in enumerate(heads):
        where = f"the preprocessing of fused copy {index}"
        features = ops.cast(transformed(head, inputs, where), dtype)
        if features.shape[-1] != widths[index]:
            raise NoKerasForm(f"{where}: {features.shape[-1]} columns in the graph")
        own = ops.expand_dims(rows[:, index], -1) > 0
        features = ops.where(own, features, ops.zeros_like(features))
        if widths[index] < width:
            features = ops.pad(features, [[0, 0], [0, width - widths[index]]])
        stacked.append(features)
    return ops.stack(stacked, axis=1), rows


def training_model(inputs, rows, stacked_features, network):
    """The network on the in-graph features, and the names its data go by."""
    named = inputs.used() if isinstance(inputs, ColumnInputs) else {"X": inputs}
    model = keras.Model({**named, ROWS_INPUT: rows}, network(stacked_features))
    return model, list(named)


def training_data(raw, names, masks, dtype):
    """``Model.fit``'s x for :func:`training_model`: raw columns and row masks."""
    data = dict(raw) if isinstance(raw, dict) else {"X": raw}
    data = {name: data[name] for name in names}
    data[ROWS_INPUT] = np.column_stack(masks).astype(dtype)
    return data


class CopyFeatures:
    """Each fused copy's own features of ``X``, from its fitted ``heads``.

    ``heads[i]`` is copy i's fitted preprocessing (None: X itself);
    ``masks[i]`` marks its training rows.
    """

    def __init__(self, X, heads, masks):
        self.X, self.heads, self.masks = X, heads, masks
        first = np.arange(min(CHECKED_ROWS, len(masks[0])))
        sample = _safe_indexing(X, first)
        self.samples = [_dense(_transform(head, sample)) for head in heads]

    def stand_in(self, index) -> np.ndarray:
        """Zeros of copy ``index``'s features' shape and kind, for initializing.

        Float features are stood in for in Keras's float type, to which the
        wrapper casts them anyway; the zeros take no memory until written.
        """
        sample = self.samples[index]
        dtype = keras.backend.floatx() if sample.dtype.kind == "f" else sample.dtype
        return np.zeros((len(self.masks[index]), *sample.shape[1:]), dtype)

    def encoded(self, copies, y) -> list[np.ndarray]:
        """Every copy's features, made one copy at a time and encoded."""
        made = []
        for head, mask, model in zip(self.heads, self.masks, copies, strict=True):
            # A copy: a transform may return its input (the caller's X).
            own = _dense(_transform(head, self.X), copy=True)
            # Rows a copy does not train on weigh 0 in its loss; zeroing them
            # keeps even a value its network cannot take (NaN, inf) out of it.
            own[mask == 0] = 0
            made.append(encoded_training_data(model, own, y)[0])
            del own
        return made

    def in_graph(self, copies):
        """The copies' stacked network behind their preprocessing, or None.

        Returns what ``_fused._train_stacked`` takes: the model to train,
        the stacked network in it, each copy's layers and the data; None
        when a head has no Keras form, X cannot be fed raw, the network is
        not a plain dense one, or the graph does not reproduce each copy's
        ``transform`` then network on the first rows.
        """
        layers_per_copy = [dense_layers(model.model_) for model in copies]
        given = raw_input(self.X, self.heads) if None not in self.heads else None
        if (
            given is None
            or not isinstance(copies[0].model_.loss, str)
            or any(layers is None for layers in layers_per_copy)
            or any(sample.ndim != 2 for sample in self.samples)
            or not all(_plain_features(model) for model in copies)
        ):
            return None
        dtype = keras.backend.floatx()
        widths = [sample.shape[1] for sample in self.samples]
        raw, vocabularies = given
        try:
            inputs = graph_inputs(self.X, vocabularies)
            features, rows = preprocessed_copies(self.heads, inputs, widths, dtype)
            network = stacked_network(
                copies, layers_per_copy, features.shape[1:], dtype, widths
            )
            model, names = training_model(inputs, rows, features, network)
            data = training_data(raw, names, self.masks, dtype)
        except (NoKerasForm, KeyError, ValueError):
            return None
        n_first = len(self.samples[0])
        first = {
            name: ops.convert_to_tensor(values[:n_first])
            for name, values in data.items()
            if name != ROWS_INPUT
        }
        first[ROWS_INPUT] = ops.ones((n_first, len(copies)), dtype)  # none zeroed
        graph_output = ops.convert_to_numpy(model(first))
        # Plain features: what the wrapper gives its network is the sample
        # in Keras's float type.
        own_outputs = [
            ops.convert_to_numpy(copy.model_(np.asarray(sample, dtype=dtype)))
            for copy, sample in zip(copies, self.samples, strict=True)
        ]
        if not reproduces(graph_output, own_outputs):
            return None
        return model, network, layers_per_copy, data


def reproduces(stacked_output, own_outputs) -> bool:
    """Whether ``(batch, k, ...)`` holds each copy's own output, to float32."""
    for index, own in enumerate(own_outputs):
        if stacked_output.shape[1:] != (len(own_outputs), *own.shape[1:]):
            return False
        if not np.allclose(stacked_output[:, index], own, rtol=1e-5, atol=1e-6):
            return False
    return True


def _plain_features(wrapper) -> bool:
    """Whether the wrapper feeds its features to its network as they are."""
    encoder = wrapper.feature_encoder_
    return isinstance(encoder, FunctionTransformer) and encoder.func is None


def _transform(head, X):
    return X if head is None else head.transform(X)


def _dense(features, copy=False) -> np.ndarray:
    if sparse.issparse(features):
        return features.toarray()  # a new array
    return np.array(features) if copy else np.asarray(features)
