"""A fitted stack of Keras members as one Keras model (``stack.to_keras()``)."""

from __future__ import annotations

import copy
import warnings

import keras
import numpy as np
from keras import layers, ops
from sklearn.pipeline import Pipeline

from skstack._columns import kept_probability_columns

from ._linear_meta import LinearMetaClassifier, LinearMetaRegressor
from ._transformers import PRECISION, SUPPORTED, NoKerasForm, matrix, transformed
from ._wrappers import KerasClassifier, KerasRegressor

_WRAPPERS = (KerasClassifier, KerasRegressor)
_LINEAR_META_LEARNERS = (LinearMetaClassifier, LinearMetaRegressor)


def stack_to_keras(stack) -> keras.Model:
    """Build the functional model of a fitted stack; see ``to_keras``."""
    kept = stack._kept_members()
    owner = type(stack).__name__
    if isinstance(getattr(stack, "classes_", None), list):
        raise TypeError(f"{owner}.to_keras() does not export multilabel stacks.")
    inputs = _stack_inputs(stack, kept)
    blocks = []
    for name, member in kept:
        models = member if isinstance(member, list) else [member]
        method = stack.stack_method_[name]
        columns = [
            _member_columns(stack, owner, label, m, method, inputs)
            for label, m in _labelled(name, models)
        ]
        blocks.append(
            columns[0] if len(columns) == 1 else ops.mean(ops.stack(columns), axis=0)
        )
    if stack.passthrough:
        features = matrix(inputs, stack, "the passed-through X")
        blocks.append(layers.Flatten(name="passthrough", dtype=PRECISION)(features))
    features = layers.Concatenate(name="meta_features", dtype=PRECISION)(blocks)
    outputs = _meta_output(stack, owner, features)
    return keras.Model(inputs, outputs, name="skstack_stack")


def small_batch_graphs(stack) -> tuple[keras.Model, keras.Model]:
    """The stack's graph twice, sharing its layers: one per input shape.

    Each model keeps its own compiled predict function, so one that is only
    ever called with one shape (a row; or a batch padded to a fixed size) is
    traced once, and the same rows always run the same computation.
    """
    graph = stack_to_keras(stack)
    return graph, keras.Model(graph.inputs, graph.outputs, name="skstack_padded")


def _labelled(name, models):
    """Unique network names: the member's, or ``<name>_fold<i>`` for fold models."""
    if len(models) == 1:
        return [(name, models[0])]
    return [(f"{name}_fold{i}", model) for i, model in enumerate(models)]


def _stack_inputs(stack, kept):
    """The graph's input: X as one tensor, or its named columns with text ones.

    Numbers come in as float64 (preprocessing computes in float64, as
    scikit-learn does). A stack fitted on a DataFrame with text columns takes
    a dict of ``(batch, 1)`` columns, each named as in ``feature_names_in_``
    (numbers, text as strings), as a serving client sends a record.
    """
    text = set(getattr(stack, "_text_columns_in", ()))
    if text:
        return {
            name: keras.Input(
                shape=(1,),
                dtype="string" if name in text else PRECISION,
                name=name.replace("/", "_"),  # Keras refuses "/" in names
            )
            for name in stack.feature_names_in_
        }
    first = kept[0][1]
    first = first[0] if isinstance(first, list) else first
    shape = getattr(first, "X_shape_", None)
    shape = (stack.n_features_in_,) if shape is None else tuple(shape[1:])
    return keras.Input(shape=shape, name="X", dtype=PRECISION)


def _member_output(owner, name, member, classifier, inputs):
    """The member's predictions in the graph (a pipeline's preprocessing first)."""
    what = f"estimator {name!r}"
    if isinstance(member, Pipeline) and member.steps:
        head, (_, last) = member[:-1], member.steps[-1]
        try:
            features = transformed(head, inputs, what)
        except NoKerasForm as exc:
            raise TypeError(f"{owner}.to_keras(): {exc}") from exc
        return _member_output(owner, name, last, classifier, features)
    try:
        inputs = matrix(inputs, member, what)
    except NoKerasForm as exc:
        raise TypeError(f"{owner}.to_keras(): {exc}") from exc
    if isinstance(member, _WRAPPERS):
        # The float64 features as the wrapper's model takes them (floatx).
        inputs = layers.Identity(dtype=keras.backend.floatx())(inputs)
        return _copied_network(member, f"member_{name}")(inputs)
    if _is_linear(member, classifier):
        layer = _linear_layer(owner, what, member, classifier, f"member_{name}")
        return layer(inputs)
    raise TypeError(
        f"{owner}.to_keras(): estimator {name!r} is a {type(member).__name__}: "
        "neither a skstack KerasClassifier/KerasRegressor nor a linear "
        "scikit-learn model (coef_, intercept_), so it has no Keras form. "
        "Export works for stacks of Keras wrappers and linear models, alone or "
        f"at the end of a Pipeline of {SUPPORTED}."
    )


def _member_columns(stack, owner, name, member, method, inputs):
    """The member's meta-feature columns, computed in the graph."""
    classifier = hasattr(stack, "classes_")
    output = _member_output(owner, name, member, classifier, inputs)
    if not classifier:
        return layers.Flatten()(output) if len(output.shape) > 2 else output
    if method != "predict_proba":
        raise ValueError(
            f"{owner}.to_keras(): estimator {name!r} gives {method!r} meta-features; "
            "only probabilities can be exported."
        )
    if not np.array_equal(member.classes_, np.arange(len(stack.classes_))):
        raise ValueError(
            f"{owner}.to_keras(): a model of estimator {name!r} was fitted on classes "
            f"{member.classes_.tolist()}, not all of the stack's; its columns are "
            "realigned in numpy, which an exported graph cannot do."
        )
    proba = _probabilities(output)
    return proba[
        :, kept_probability_columns(len(stack.classes_), stack.drop_first_proba)
    ]


def _copied_network(wrapper, name):
    """A copy of the wrapper's trained network, so the stack's is never changed."""
    with warnings.catch_warnings():
        # Copying a compiled model warns that its optimizer state is not copied;
        # the export is for inference and has no optimizer.
        warnings.filterwarnings("ignore", "Skipping variable loading")
        network = copy.deepcopy(wrapper.model_)
    network.name = name
    return network


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


def _linear_layer(owner, what, estimator, classifier, name):
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
            f"{owner}.to_keras(): {what}, a {type(estimator).__name__}, is not a "
            "plain linear model with "
            + ("softmax/sigmoid" if classifier else "identity")
            + " output (a Dense layer from its coef_ does not reproduce it)."
        )
    return dense


def _meta_output(stack, owner, features):
    meta = stack.final_estimator_
    classifier = hasattr(stack, "classes_")
    if isinstance(meta, _LINEAR_META_LEARNERS):
        output = _linear_meta_head(meta, classifier)(features)
        return _probabilities(output) if classifier else output
    if isinstance(meta, _WRAPPERS):
        output = _copied_network(meta, "meta_learner")(features)
        return _probabilities(output) if classifier else output
    if not _is_linear(meta, classifier):
        raise TypeError(
            f"{owner}.to_keras(): the meta-learner {type(meta).__name__} is neither "
            "a Keras wrapper nor a linear scikit-learn model (coef_, intercept_"
            + (", predict_proba" if classifier else "")
            + ")."
        )
    dense = _linear_layer(owner, "the meta-learner", meta, classifier, "meta_learner")
    output = dense(features)
    return _probabilities(output) if classifier else output


def _linear_meta_head(meta, classifier) -> keras.Model:
    """The linear meta-learner in float64, as its ``predict`` computes it.

    Its ``model_`` holds float32 weights; in float64 a member's probability
    near 0 or 1, where the logit is steep, gives the graph what it gives the
    meta-learner.
    """
    activation = None
    if classifier:
        activation = "softmax" if np.atleast_2d(meta.coef_).shape[0] > 1 else "sigmoid"
    return meta._keras_model(len(meta.mean_), activation, dtype=PRECISION)
