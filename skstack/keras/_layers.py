"""skstack's own Keras layers, registered so saved models holding them load.

Those composed models (fusions), the linear meta-learner and the Keras forms
of fitted scikit-learn transformers are made of.
"""

from __future__ import annotations

import keras
from keras import ops

from skstack.ensemble._meta_learner import LOGIT_EPSILON

_PACKAGE = "skstack"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class TakeColumns(keras.layers.Layer):
    """Select columns of a 2-D input: one member's share of multi-input data."""

    def __init__(self, columns, **kwargs):
        super().__init__(**kwargs)
        self.columns = [int(c) for c in columns]

    def call(self, inputs):
        return ops.take(inputs, self.columns, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.columns))

    def get_config(self):
        return {**super().get_config(), "columns": self.columns}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class WeightedSum(keras.layers.Layer):
    """Sum of same-shaped inputs weighted by a learned softmax (weights sum to 1)."""

    def build(self, input_shape):
        self.logits = self.add_weight(
            shape=(len(input_shape),), initializer="zeros", name="logits"
        )

    def weights_softmax(self):
        """The current member weights: softmax of the learned logits."""
        return ops.softmax(self.logits)

    def call(self, inputs):
        stacked = ops.stack(inputs, axis=1)  # (batch, members, width)
        weights = ops.reshape(self.weights_softmax(), (1, -1, 1))
        return ops.sum(stacked * weights, axis=1)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package=_PACKAGE)
class AttentionMerge(keras.layers.Layer):
    """Per-sample attention over members: softmax(v . tanh(W h_i + b)) weights h_i."""

    def __init__(self, units=16, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)

    def build(self, input_shape):
        width = input_shape[0][-1]
        self.kernel = self.add_weight(
            shape=(width, self.units), initializer="glorot_uniform", name="kernel"
        )
        self.bias = self.add_weight(
            shape=(self.units,), initializer="zeros", name="bias"
        )
        self.score = self.add_weight(
            shape=(self.units, 1), initializer="glorot_uniform", name="score"
        )

    def attention(self, inputs):
        """Weights of each member for each sample, shape (batch, members)."""
        stacked = ops.stack(inputs, axis=1)
        hidden = ops.tanh(ops.matmul(stacked, self.kernel) + self.bias)
        scores = ops.squeeze(ops.matmul(hidden, self.score), axis=-1)
        return ops.softmax(scores, axis=1)

    def call(self, inputs):
        stacked = ops.stack(inputs, axis=1)
        weights = ops.expand_dims(self.attention(inputs), -1)
        return ops.sum(stacked * weights, axis=1)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _clipped_logit(probabilities, epsilon):
    """The logit of probabilities clipped ``epsilon`` from 0 and 1, so a
    member that is certain gives a large, finite value (about +-13.8)."""
    clipped = ops.clip(probabilities, epsilon, 1.0 - epsilon)
    # log(1 - p), not log1p(-p): ONNX has no log1p, and on the clipped range
    # the two differ by less than 1e-10.
    return ops.log(clipped) - ops.log(1.0 - clipped)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LogProbabilities(keras.layers.Layer):
    """Probabilities as the values they are merged by: log-probabilities
    (``link="softmax"``) or logits (``link="sigmoid"``, one probability per
    unit), clipped ``epsilon`` from 0 and 1 so a certain member gives a large,
    finite value."""

    def __init__(self, link, epsilon=LOGIT_EPSILON, **kwargs):
        super().__init__(**kwargs)
        if link not in ("softmax", "sigmoid"):
            raise ValueError(f"link must be 'softmax' or 'sigmoid', got {link!r}.")
        self.link = link
        self.epsilon = float(epsilon)

    def call(self, inputs):
        if self.link == "softmax":
            return ops.log(ops.clip(inputs, self.epsilon, 1.0 - self.epsilon))
        return _clipped_logit(inputs, self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        return {**config, "link": self.link, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ProbabilityLogit(keras.layers.Layer):
    """The logit of the given columns (probabilities); other columns unchanged."""

    def __init__(self, columns, epsilon=LOGIT_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.columns = [bool(c) for c in columns]
        self.epsilon = float(epsilon)

    def call(self, inputs):
        mask = ops.convert_to_tensor(self.columns)
        return ops.where(mask, _clipped_logit(inputs, self.epsilon), inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        return {**config, "columns": self.columns, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Affine(keras.layers.Layer):
    """``(x - shift) * scale + offset`` per column, optionally clipped: a scaler."""

    def __init__(self, shift, scale, offset, clip=None, **kwargs):
        super().__init__(**kwargs)
        self.shift = [float(v) for v in shift]
        self.scale = [float(v) for v in scale]
        self.offset = [float(v) for v in offset]
        self.clip = None if clip is None else [float(v) for v in clip]

    def call(self, inputs):
        shift, scale, offset = (
            ops.convert_to_tensor(values, dtype=inputs.dtype)
            for values in (self.shift, self.scale, self.offset)
        )
        outputs = (inputs - shift) * scale + offset
        if self.clip is not None:
            outputs = ops.clip(outputs, self.clip[0], self.clip[1])
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        values = {"shift": self.shift, "scale": self.scale, "offset": self.offset}
        return {**super().get_config(), **values, "clip": self.clip}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class FillMissing(keras.layers.Layer):
    """NaN replaced by each column's value: a fitted numeric imputer."""

    def __init__(self, values, **kwargs):
        super().__init__(**kwargs)
        self.values = [float(v) for v in values]

    def call(self, inputs):
        values = ops.convert_to_tensor(self.values, dtype=inputs.dtype)
        return ops.where(ops.isnan(inputs), values, inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "values": self.values}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class EqualsAny(keras.layers.Layer):
    """A column of numbers as indicators of the given values: ``(batch, n)``."""

    def __init__(self, values, **kwargs):
        super().__init__(**kwargs)
        self.values = [float(v) for v in values]

    def call(self, inputs):
        values = ops.convert_to_tensor(self.values, dtype=inputs.dtype)
        return ops.cast(ops.equal(inputs, values), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.values))

    def get_config(self):
        return {**super().get_config(), "values": self.values}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class IndicatorMap(keras.layers.Layer):
    """Category indicators to an encoder's columns; no category gives ``unknown``.

    ``mapping`` has a row per known category: the encoder's output for it.
    """

    def __init__(self, mapping, unknown, **kwargs):
        super().__init__(**kwargs)
        self.mapping = [[float(v) for v in row] for row in mapping]
        self.unknown = [float(v) for v in unknown]

    def call(self, inputs):
        inputs = ops.cast(inputs, self.compute_dtype)  # lookups give integers
        mapping = ops.convert_to_tensor(self.mapping, dtype=inputs.dtype)
        unknown = ops.convert_to_tensor(self.unknown, dtype=inputs.dtype)
        # ``where``, not arithmetic: an unknown output may be NaN (an
        # OrdinalEncoder's unknown_value), which must not reach known rows.
        none = ops.sum(inputs, axis=1, keepdims=True) < 0.5
        return ops.where(none, unknown, ops.matmul(inputs, mapping))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.unknown))

    def get_config(self):
        config = super().get_config()
        return {**config, "mapping": self.mapping, "unknown": self.unknown}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CodeMap(keras.layers.Layer):
    """A column of category codes (``0..n-1``) to the rows of ``table``."""

    def __init__(self, table, **kwargs):
        super().__init__(**kwargs)
        self.table = [[float(v) for v in row] for row in table]

    def call(self, inputs):
        table = ops.convert_to_tensor(self.table, dtype=self.compute_dtype)
        return ops.take(table, ops.cast(inputs[:, 0], "int32"), axis=0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.table[0]))

    def get_config(self):
        return {**super().get_config(), "table": self.table}
