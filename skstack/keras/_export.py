"""A fitted stack of Keras members as one Keras model (``stack.to_keras()``)."""

from __future__ import annotations

import copy

import keras
import numpy as np
from keras import layers, ops

from ._wrappers import KerasClassifier, KerasRegressor

_WRAPPERS = (KerasClassifier, KerasRegressor)


def stack_to_keras(stack) -> keras.Model:
    """Build the functional model of a fitted stack; see ``to_keras``."""
    kept = stack._kept_members()
    owner = type(stack).__name__
    first = kept[0][1]
    first = first[0] if isinstance(first, list) else first
    inputs = keras.Input(shape=_sample_shape(first, stack), name="X")
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
        blocks.append(layers.Flatten(name="passthrough")(inputs))
    features = (
        blocks[0]
        if len(blocks) == 1
        else layers.Concatenate(name="meta_features")(blocks)
    )
    outputs = _meta_output(stack, owner, features)
    return keras.Model(inputs, outputs, name="skstack_stack")


def _labelled(name, models):
    """Unique network names: the member's, or ``<name>_fold<i>`` for fold models."""
    if len(models) == 1:
        return [(name, models[0])]
    return [(f"{name}_fold{i}", model) for i, model in enumerate(models)]


def _sample_shape(member, stack) -> tuple:
    shape = getattr(member, "X_shape_", None)
    if shape is not None:
        return tuple(shape[1:])
    return (stack.n_features_in_,)


def _member_columns(stack, owner, name, member, method, inputs):
    """The member's meta-feature columns, computed by its own trained network."""
    if not isinstance(member, _WRAPPERS):
        raise TypeError(
            f"{owner}.to_keras(): estimator {name!r} is a {type(member).__name__}, "
            "not a skstack KerasClassifier or KerasRegressor, so it has no Keras "
            "network to export. Export works for stacks whose members are all "
            "Keras wrappers."
        )
    network = copy.deepcopy(member.model_)
    network.name = f"member_{name}"
    output = network(inputs)
    if isinstance(member, KerasRegressor):
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
    if len(stack.classes_) == 2:
        return proba[:, 1:]
    return proba[:, 1:] if stack.drop_first_proba else proba


def _probabilities(output):
    """Keras output as ``predict_proba`` columns: one sigmoid unit means [1-p, p]."""
    if output.shape[-1] == 1:
        return layers.Concatenate()([1 - output, output])
    return output


def _meta_output(stack, owner, features):
    meta = stack.final_estimator_
    classifier = hasattr(stack, "classes_")
    if isinstance(meta, _WRAPPERS):
        network = copy.deepcopy(meta.model_)
        network.name = "meta_learner"
        output = network(features)
        return _probabilities(output) if classifier else output
    if not (hasattr(meta, "coef_") and hasattr(meta, "intercept_")):
        raise TypeError(
            f"{owner}.to_keras(): the meta-learner {type(meta).__name__} is neither "
            "a Keras wrapper nor a linear scikit-learn model (coef_, intercept_)."
        )
    if classifier and not hasattr(meta, "predict_proba"):
        raise TypeError(
            f"{owner}.to_keras(): the meta-learner {type(meta).__name__} has no "
            "predict_proba, which the exported model would output."
        )
    coef = np.atleast_2d(meta.coef_)
    intercept = np.atleast_1d(meta.intercept_)
    if classifier:
        activation = "sigmoid" if coef.shape[0] == 1 else "softmax"
    else:
        activation = None
    dense = layers.Dense(coef.shape[0], activation=activation, name="meta_learner")
    output = dense(features)
    dense.set_weights([coef.T.astype("float32"), intercept.astype("float32")])
    if classifier:
        output = _probabilities(output)
    _check_linear_meta(stack, owner, meta, dense, classifier)
    return output


def _check_linear_meta(stack, owner, meta, dense, classifier) -> None:
    """The Dense layer must reproduce the meta-learner on its own training rows.

    A linear model's ``coef_`` could mean one-vs-rest scores rather than a
    softmax, or a squashed output; comparing on ``oof_predictions_`` catches it.
    """
    rows = stack.oof_predictions_[:64]
    rows = np.asarray(rows.toarray() if hasattr(rows, "toarray") else rows, "float32")
    got = keras.ops.convert_to_numpy(dense(rows))
    if classifier:
        expected = meta.predict_proba(rows)
        got = np.hstack([1 - got, got]) if got.shape[1] == 1 else got
    else:
        expected = np.asarray(meta.predict(rows)).reshape(len(rows), -1)
    if not np.allclose(got, expected, atol=1e-4):
        raise ValueError(
            f"{owner}.to_keras(): the meta-learner {type(meta).__name__} is not "
            "a plain linear model with "
            + ("softmax/sigmoid" if classifier else "identity")
            + " output (its coef_ does not reproduce its predictions)."
        )
