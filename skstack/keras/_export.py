"""Fitted estimators as one Keras model (``skstack.to_keras``, ``to_keras()``).

A stack, a Keras wrapper (chains and fusions too), a linear scikit-learn
model, a :class:`~skstack.features.KerasFeatureExtractor`, or a ``Pipeline``
of transformers with a Keras form ending in any of them: raw features in,
``predict_proba`` (classifiers), predictions (regressors) or features
(transformers) out.
"""

from __future__ import annotations

import copy
import warnings

import keras
import numpy as np
from keras import layers, ops
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags

from skstack.ensemble._columns import kept_probability_columns
from skstack.ensemble._meta_learner import (
    LOGIT_EPSILON,
    LinearMetaClassifier,
    LinearMetaRegressor,
)

from ._backend import computes_float64, string_tensors
from ._fast_predict import as_float64, exportable_network
from ._layers import ProbabilityLogit
from ._named_columns import PRECISION, ColumnInputs, text_inputs
from ._outputs import logits_link
from ._targets import StandardTargetEncoder
from ._training import without_augmentation
from ._transformers import SUPPORTED, NoKerasForm, matrix, transformed
from ._wrappers import KerasClassifier, KerasRegressor

_WRAPPERS = (KerasClassifier, KerasRegressor)
_LINEAR_META_LEARNERS = (LinearMetaClassifier, LinearMetaRegressor)

_EXPORTABLE = (
    "a skstack stack, a skstack KerasClassifier/KerasRegressor (chains and "
    "fusions included), a KerasFeatureExtractor or a linear scikit-learn "
    "model (coef_, intercept_), alone or at the end of a Pipeline of " + SUPPORTED
)


def to_keras(estimator, named_inputs=None, fitted_dtypes=True) -> keras.Model:
    """Build the functional model of a fitted estimator; see ``skstack.to_keras``.

    ``named_inputs``: one input per column; by default when the estimator
    was fitted on a DataFrame (it has ``feature_names_in_``).
    ``fitted_dtypes``: numbers come in as the estimator was fitted on them
    (float32 inputs for float32 data, cast to float64 inside, exactly);
    otherwise every number input is float64.
    """
    owner = _owner(estimator)
    float32 = float32_inputs(estimator) if fitted_dtypes else set()
    inputs = _inputs(estimator, named_inputs, float32)
    features = inputs
    if "X" in float32 and not isinstance(inputs, ColumnInputs):
        features = layers.Identity(dtype=PRECISION, name="X_float64")(inputs)
    try:
        outputs = estimator_output(owner, "the estimator", estimator, features)
    except NoKerasForm as exc:
        raise TypeError(f"{owner}: {exc}") from exc
    if isinstance(inputs, ColumnInputs):
        inputs = inputs.used()
    name = "skstack_stack" if hasattr(estimator, "final_estimator_") else "skstack"
    return keras.Model(inputs, outputs, name=name)


def stack_to_keras(stack) -> keras.Model:
    """The stack's functional model (``stack.to_keras()``)."""
    return to_keras(stack)


def prediction_graph(stack) -> keras.Model | None:
    """The stack's graph for its predictions, or None without a Keras network.

    It is only ever called with batches padded to a few fixed row counts
    (``fixed_shape_chunks``), so its compiled predict function is traced once
    per count and a row runs the same computation whatever batch it comes
    in. X comes in as one tensor, or as named columns when it has text
    columns. None for a stack without a Keras network: one graph saves
    nothing there.
    """
    models = [
        model
        for _, member in stack._kept_members()
        for model in (member if isinstance(member, list) else [member])
    ]
    text = bool(getattr(stack, "_text_columns_in", []))
    if (
        not any(_has_network(model) for model in models)
        # Without float64 (JAX by default) the graph would round its float64
        # parts to float32; without string tensors it cannot take text. The
        # members' own paths then predict, in numpy's float64.
        or not computes_float64()
        or (text and not string_tensors())
    ):
        return None
    # Float64 inputs: the members' own paths take float64 rows as they come.
    return to_keras(stack, named_inputs=text, fitted_dtypes=False)


def _owner(estimator) -> str:
    if hasattr(estimator, "final_estimator_"):
        return f"{type(estimator).__name__}.to_keras()"
    return f"skstack.to_keras({type(estimator).__name__})"


def _inputs(estimator, named_inputs, float32):
    """The graph's input: X as one tensor, or its named columns.

    Numbers come in as float64, or float32 for the inputs named in
    ``float32``; preprocessing computes in float64, as scikit-learn does.
    Named columns are ``(batch, 1)`` each, named as in ``feature_names_in_``,
    text as strings: a record as a serving client sends it. Only the columns
    the estimator reads become inputs.
    """
    names = getattr(estimator, "feature_names_in_", None)
    if named_inputs is None:
        named_inputs = names is not None
    if named_inputs:
        text = text_inputs(estimator)
        if "X" in float32:  # one float32 array from every number column
            float32 = {str(name) for name in names} - text
        return ColumnInputs(names, text, float32=float32)
    shape = _sample_shape(estimator)
    dtype = "float32" if "X" in float32 else PRECISION
    return keras.Input(shape=shape, name="X", dtype=dtype)


def float32_inputs(estimator) -> set:
    """The graph inputs that take float32: those fitted on float32 data.

    skstack's stacks record it per input, its wrappers as ``X_dtype_``
    (``"X"``: the whole array); a Pipeline's is its first recording step's,
    through steps that keep float32 (scalers). Otherwise float64.
    """
    return _recorded_float32(estimator) or set()


def _recorded_float32(estimator) -> set | None:
    recorded = getattr(estimator, "_float32_inputs_in", None)
    if recorded is not None:
        return set(recorded)
    dtype = getattr(estimator, "X_dtype_", None)
    if dtype is not None:
        return {"X"} if np.dtype(dtype) == np.float32 else set()
    if not isinstance(estimator, Pipeline):
        return None
    for _, step in estimator.steps:
        if step is None or isinstance(step, str):
            continue
        found = _recorded_float32(step)
        if found is not None:
            return found
        tags = get_tags(step).transformer_tags
        if tags is None or "float32" not in tags.preserves_dtype:
            return None
    return None


def _sample_shape(estimator) -> tuple:
    """The shape of one row of X, as fitted (images have more than one axis)."""
    for attribute in ("_sample_shape", "X_shape_"):
        shape = getattr(estimator, attribute, None)
        if shape is not None:
            return tuple(shape) if attribute == "_sample_shape" else tuple(shape[1:])
    if isinstance(estimator, Pipeline) and estimator.steps:
        first = estimator.steps[0][1]
        if not isinstance(first, str) and first is not None:
            return _sample_shape(first)
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is None:
        raise TypeError(
            f"{_owner(estimator)}: the estimator does not record the shape of X."
        )
    return (n_features,)


def estimator_output(owner, where, estimator, features):
    """The fitted estimator's output in the graph, from ``features``.

    Probabilities for classifiers, as ``predict_proba``; predictions for
    regressors, ``(batch, n_outputs)``; features for transformers.
    """
    if isinstance(estimator, Pipeline) and estimator.steps:
        head, (last_name, last) = estimator[:-1], estimator.steps[-1]
        features = transformed(head, features, where)
        if last is None or isinstance(last, str):
            return features  # a Pipeline of transformers ending in "passthrough"
        return estimator_output(owner, f"{where}, step {last_name!r}", last, features)
    if hasattr(estimator, "final_estimator_"):
        return _stack_output(estimator, owner, features)
    classifier = is_classifier(estimator)
    if isinstance(estimator, _WRAPPERS):
        if getattr(estimator, "target_type_", None) in (
            "multilabel-indicator",
            "multiclass-multioutput",
        ):
            raise TypeError(f"{owner}: {where} is multilabel, which has no export.")
        X = matrix(features, estimator, where)
        # The float64 features as the wrapper's model takes them (floatx).
        X = layers.Identity(dtype=keras.backend.floatx())(X)
        output = _copied_network(estimator, _layer_name(where))(X)
        return _probabilities(output) if classifier else _flat(output)
    if isinstance(estimator, _LINEAR_META_LEARNERS):
        X = matrix(features, estimator, where)
        output = linear_meta_model(estimator, PRECISION)(X)
        return _probabilities(output) if classifier else output
    if _is_linear(estimator, classifier):
        X = matrix(features, estimator, where)
        layer = _linear_layer(owner, where, estimator, classifier, _layer_name(where))
        output = layer(X)
        return _probabilities(output) if classifier else output
    if hasattr(estimator, "transform") and not hasattr(estimator, "predict"):
        return transformed(estimator, features, where)
    raise TypeError(
        f"{owner}: {where} is a {type(estimator).__name__}, which has no Keras "
        f"form. What has one: {_EXPORTABLE}."
    )


def _layer_name(where: str) -> str | None:
    """A unique network name from a place in the estimator, or None (Keras's).

    "estimator 'mlp'" -> "member_mlp"; "estimator 'mlp', step 'net'" ->
    "member_mlp_net"; "the meta-learner" -> "meta_learner".
    """
    if where == "the meta-learner":
        return "meta_learner"
    names = where.split("'")[1::2]
    if not names:
        return None
    prefix = "member_" if where.startswith("estimator '") else ""
    return prefix + "_".join(names)


def _flat(output):
    return layers.Flatten()(output) if len(output.shape) > 2 else output


def _stack_output(stack, owner, features):
    """A stack's output: its members' meta-features into its meta-learner."""
    if isinstance(getattr(stack, "classes_", None), list):
        raise TypeError(f"{owner} does not export multilabel stacks.")
    blocks = []
    for name, member, method in stack._kept_members_and_methods():
        models = member if isinstance(member, list) else [member]
        columns = [
            _member_columns(stack, owner, label, model, method, features)
            for label, model in _labelled(name, models)
        ]
        blocks.append(
            columns[0] if len(columns) == 1 else ops.mean(ops.stack(columns), axis=0)
        )
    if stack.passthrough:
        X = matrix(features, stack, "the passed-through X")
        blocks.append(layers.Flatten(name="passthrough", dtype=PRECISION)(X))
    meta_features = layers.Concatenate(name="meta_features", dtype=PRECISION)(blocks)
    meta = stack.final_estimator_
    if not isinstance(meta, _WRAPPERS + _LINEAR_META_LEARNERS) and not _is_linear(
        meta, hasattr(stack, "classes_")
    ):
        raise TypeError(
            f"{owner}: the meta-learner {type(meta).__name__} is neither a Keras "
            "wrapper nor a linear scikit-learn model (coef_, intercept_"
            + (", predict_proba" if hasattr(stack, "classes_") else "")
            + ")."
        )
    return estimator_output(owner, "the meta-learner", meta, meta_features)


def _labelled(name, models):
    """Unique network names: the member's, or ``<name>_fold<i>`` for fold models."""
    if len(models) == 1:
        return [(name, models[0])]
    return [(f"{name}_fold{i}", model) for i, model in enumerate(models)]


def _member_columns(stack, owner, name, member, method, features):
    """The member's meta-feature columns, computed in the graph."""
    classifier = hasattr(stack, "classes_")
    if classifier and method != "predict_proba":
        raise ValueError(
            f"{owner}: estimator {name!r} gives {method!r} meta-features; "
            "only probabilities can be exported."
        )
    output = estimator_output(owner, f"estimator {name!r}", member, features)
    if not classifier:
        return output
    if not np.array_equal(member.classes_, np.arange(len(stack.classes_))):
        raise ValueError(
            f"{owner}: a model of estimator {name!r} was fitted on classes "
            f"{member.classes_.tolist()}, not all of the stack's; its columns are "
            "realigned in numpy, which an exported graph cannot do."
        )
    return output[
        :, kept_probability_columns(len(stack.classes_), stack.drop_first_proba)
    ]


def _copied_network(wrapper, name):
    """A copy of the wrapper's trained network, so the estimator's is never changed.

    As the wrapper predicts: without its augmentation layers (which only act
    in training), a softmax/sigmoid output layer in float64.
    """
    with warnings.catch_warnings():
        # Copying a compiled model warns that its optimizer state is not copied;
        # the export is for inference and has no optimizer.
        warnings.filterwarnings("ignore", "Skipping variable loading")
        network = copy.deepcopy(without_augmentation(wrapper.model_))
    link = logits_link(network) if is_classifier(wrapper) else None
    network = exportable_network(network, name)
    encoder = getattr(wrapper, "target_encoder_", None)
    if isinstance(encoder, StandardTargetEncoder):
        return _with_targets_restored(network, encoder)
    if link is None:
        return network
    # Logits, as the classifier predicts them: the loss's link in float64.
    if link == "auto":
        link = "sigmoid" if network.outputs[0].shape[-1] == 1 else "softmax"
    inputs = [
        keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=tensor.name)
        for tensor in network.inputs
    ]
    logits = network(inputs if len(inputs) > 1 else inputs[0])
    outputs = layers.Activation(link, dtype=PRECISION)(as_float64(logits))
    return keras.Model(inputs, outputs, name=network.name)


def _with_targets_restored(network, encoder):
    """``network`` whose standardized outputs are mapped back, in float64."""
    inputs = [
        keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=tensor.name)
        for tensor in network.inputs
    ]
    outputs = network(inputs if len(inputs) > 1 else inputs[0])
    # Arrays, not lists: Keras makes a tensor of a list in float32 first.
    restored = layers.Rescaling(
        np.asarray(encoder.scale_, np.float64),
        np.asarray(encoder.mean_, np.float64),
        dtype=PRECISION,
    )(as_float64(outputs))
    return keras.Model(inputs, restored, name=network.name)


def _probabilities(output):
    """Keras output as ``predict_proba`` columns: one sigmoid unit means [1-p, p].

    In the output's own dtype (float64 from a linear meta-learner).
    """
    if output.shape[-1] == 1:
        return layers.Concatenate(dtype=output.dtype)([1 - output, output])
    return output


def _is_linear(estimator, classifier) -> bool:
    linear = hasattr(estimator, "coef_") and hasattr(estimator, "intercept_")
    return linear and (not classifier or hasattr(estimator, "predict_proba"))


def _linear_layer(owner, where, estimator, classifier, name):
    """A ``Dense`` layer computing a linear model's probabilities or predictions.

    ``coef_`` alone does not say how a model turns scores into probabilities
    (softmax, one-vs-rest, a calibrated squashing), so the layer is checked
    against the model on random inputs and refused if it differs.
    """
    coef = np.atleast_2d(estimator.coef_)
    intercept = np.broadcast_to(estimator.intercept_, coef.shape[:1])
    activation = None
    if classifier:
        activation = "sigmoid" if coef.shape[0] == 1 else "softmax"
    # float64, as scikit-learn computes it.
    dense = layers.Dense(
        coef.shape[0], activation=activation, name=name, dtype=PRECISION
    )
    dense.build((None, coef.shape[1]))
    dense.set_weights([coef.T.astype(PRECISION), intercept.astype(PRECISION)])

    probe = np.random.RandomState(0).normal(size=(32, coef.shape[1]))
    got = keras.ops.convert_to_numpy(dense(probe))
    if classifier:
        got = np.hstack([1 - got, got]) if got.shape[1] == 1 else got
        expected = estimator.predict_proba(probe)
    else:
        expected = np.asarray(estimator.predict(probe)).reshape(len(probe), -1)
    if not np.allclose(got, expected, rtol=1e-3, atol=1e-4):
        raise ValueError(
            f"{owner}: {where}, a {type(estimator).__name__}, is not a "
            "plain linear model with "
            + ("softmax/sigmoid" if classifier else "identity")
            + " output (a Dense layer from its coef_ does not reproduce it)."
        )
    return dense


def linear_meta_model(meta, dtype) -> keras.Model:
    """A fitted linear meta-learner: its logit layer, one ``Dense`` with the
    standardization folded into its weights (``model_`` in float32; the
    stack's graph in float64, as ``predict`` computes)."""
    kernel = (meta.coef_ / meta.scale_).T
    bias = meta.intercept_ - meta.coef_ @ (meta.mean_ / meta.scale_)
    activation = None
    if is_classifier(meta):
        several = kernel.shape[1] > 1 and not meta._multilabel
        activation = "softmax" if several else "sigmoid"
    inputs = keras.Input(shape=(kernel.shape[0],), name="meta_features", dtype=dtype)
    x = inputs
    if meta.proba_columns_.any():
        columns = meta.proba_columns_.tolist()
        x = ProbabilityLogit(columns, LOGIT_EPSILON, name="logit", dtype=dtype)(x)
    dense = layers.Dense(
        kernel.shape[1], activation=activation, name="linear", dtype=dtype
    )
    outputs = dense(x)
    dense.set_weights([kernel.astype(dtype), bias.astype(dtype)])
    return keras.Model(inputs, outputs, name="linear_meta_learner")


def _has_network(estimator) -> bool:
    """Whether ``estimator`` is, or ends in, one of skstack's Keras wrappers."""
    if isinstance(estimator, Pipeline) and estimator.steps:
        estimator = estimator.steps[-1][1]
    return isinstance(estimator, (KerasClassifier, KerasRegressor))
