"""Fold fusion: a wrapper's k fold models (and its refit) trained as one graph.

Small tabular networks spend their time in per-step overhead, not arithmetic,
so k networks side by side in one graph train in about the time of one. Each
copy's loss is weighted by a mask of its own training rows: rows outside it
have weight 0, so they add nothing to that copy's gradient.
"""

from __future__ import annotations

import keras
import numpy as np
from sklearn.base import clone, is_classifier

from skstack.exceptions import FoldFusionError

from ._dense import (
    copy_weights_back,
    dense_layers,
    masked_loss,
    stacked_network,
)
from ._fused_inputs import CopyFeatures, reproduces
from ._scikeras import encoded_training_data, keras_seed, xla_compilable
from ._training import KerasWrapperHooks

# Training steps run per call into TensorFlow. Small networks spend most of a
# step in the call's overhead; running many steps per call gives the same
# weights bit for bit (same batches, same order, same seeds) in about half
# the time. Callbacks see the batches in groups of this size.
STEPS_PER_EXECUTION = 64
# A fused network behind its copies' in-graph preprocessing is compiled with
# XLA from this many training steps: many small preprocessing operations per
# step fuse into few (nycflights13 flights, 3,600 steps: training 11.0 s ->
# 7.0 s), and the ~1 s compilation is paid back (at 500 rows it was not).
XLA_MIN_STEPS = 1000


def fold_fusion_blocker(wrapper) -> str | None:
    """Why ``wrapper`` cannot be trained fused, or None if it can."""
    params = wrapper.get_params(deep=False)
    reasons = {
        "early_stopping": "it stops early, on its own validation rows",
        "class_weight": "class_weight reweights each fold's rows differently",
        "warm_start": "warm_start continues a previous fit",
        "callbacks": "callbacks expect one model per fit",
        "validation_split": "validation_split takes each fit's last rows",
    }
    for name, reason in reasons.items():
        if params.get(name):
            return reason
    if any(key.startswith(("fit__", "callbacks__")) for key in params):
        return "fit__ parameters are passed to separate fits"
    return None


def fit_folds_fused(wrapper, X, y, splits, sample_weight=None, refit=True, heads=None):
    """Train one copy of ``wrapper`` per split (plus one on all rows) together.

    Returns the fitted fold copies, in the order of ``splits``, and the copy fit
    on all rows (None unless ``refit``). Every copy starts from the same
    weights a separate fit would start from (the wrapper's ``random_state``).
    ``heads`` gives each copy its own fitted preprocessing of ``X`` (see
    ``FoldFusionMixin.fit_folds``).
    """
    n_rows = len(y)
    _check_every_class_in_each_fold(wrapper, y, splits)
    masks = []
    for train, _ in splits:
        mask = np.zeros(n_rows)
        mask[train] = 1.0
        masks.append(mask)
    if refit:
        masks.append(np.ones(n_rows))
    if heads is not None and len(heads) != len(masks):
        raise ValueError(
            f"heads has {len(heads)} transformers for {len(masks)} copies "
            f"({len(splits)} splits" + (" and the refit)." if refit else ").")
        )
    copies = [clone(wrapper) for _ in masks]
    own = None if heads is None else CopyFeatures(X, heads, masks)
    for i, model in enumerate(copies):
        # A copy with its own features is initialized on stand-ins of their
        # shape and kind: the features themselves are made once, below.
        model.initialize(X if own is None else own.stand_in(i), y)
        model.model_.name = f"copy_{i}"
        if i == 0:
            _refuse_batch_statistics(model.model_)
    stand_in = X if own is None else own.stand_in(0)
    X_fit, y_fit, weights = encoded_training_data(copies[0], stand_in, y, sample_weight)
    base = np.ones(n_rows) if weights is None else np.asarray(weights, float)
    # Scaled so each copy's mean weight is that of a separate fit's rows: its
    # loss, and so its step sizes, are those of training on its rows alone.
    per_copy = [base * mask * (n_rows / mask.sum()) for mask in masks]

    template = copies[0].model_
    optimizer = template.optimizer.__class__.from_config(
        template.optimizer.get_config()
    )
    params = wrapper.get_params()
    batch_size = params.get("batch_size") or 32
    fit_kwargs = {
        "epochs": params["epochs"],
        "batch_size": n_rows if batch_size == -1 else batch_size,
        "shuffle": params.get("shuffle", True),
        "verbose": params.get("verbose", 0),
    }
    # Seeded from here on: the stacked network's Dropout layers draw their seed
    # generators when built, and training shuffles and drops out.
    with keras_seed(wrapper.random_state):
        stacked = None if own is None else own.in_graph(copies)
        if stacked is None:
            if own is not None:
                X_fit = own.encoded(copies, y)
            stacked = _stacked_network(copies, X_fit)
        if stacked is not None:
            X_fit = None  # the stacked input holds them: one copy less in memory
            _train_stacked(copies, stacked, optimizer, y_fit, per_copy, fit_kwargs)
        else:
            _train_side_by_side(copies, optimizer, X_fit, y_fit, per_copy, fit_kwargs)
    if refit:
        return copies[:-1], copies[-1]
    return copies, None


def _check_every_class_in_each_fold(wrapper, y, splits) -> None:
    """Refuse folds whose training rows lack a class of ``y`` (classifiers).

    A fused copy is built for every class of ``y``, so it would know a class
    its training rows never showed; fitted alone, it would not (and would give
    that class probability 0).
    """
    y = np.asarray(y)
    if not is_classifier(wrapper) or y.ndim != 1:
        return
    classes = np.unique(y)
    for index, (train, _) in enumerate(splits):
        missing = np.setdiff1d(classes, y[train])
        if missing.size:
            raise FoldFusionError(
                f"the training rows of fold {index} lack classes "
                f"{missing.tolist()}: a fused copy would know them"
            )


def _train_stacked(copies, stacked, optimizer, y, per_copy, fit_kwargs):
    """One vectorized network: about one network's operations per step.

    ``stacked`` is what :func:`_stacked_network` or ``CopyFeatures.in_graph``
    built: the model to train, the stacked network in it, each copy's layers
    in that, and the model's input.
    """
    model, network, layers_per_copy, X = stacked
    targets = y.reshape(len(y), -1)
    loss = masked_loss(copies[0].model_.loss, len(copies), targets.shape[1])
    steps = fit_kwargs["epochs"] * -(-len(y) // fit_kwargs["batch_size"])
    jit = model is not network and steps >= XLA_MIN_STEPS and xla_compilable(model)
    model.compile(
        optimizer, loss, steps_per_execution=STEPS_PER_EXECUTION, jit_compile=jit
    )
    packed = np.hstack([targets, np.column_stack(per_copy)]).astype("float32")
    history = model.fit(X, packed, **fit_kwargs)
    copy_weights_back(network, layers_per_copy)
    for model in copies:
        model.history_ = {"fused_loss": list(history.history["loss"])}


def _train_side_by_side(copies, optimizer, X, y, per_copy, fit_kwargs):
    """The k networks in one graph, each output with its own masked loss.

    ``X`` is the input all copies share, or a list of each copy's own.
    """
    if isinstance(X, list):
        inputs = [keras.Input(shape=x.shape[1:], dtype=x.dtype) for x in X]
        outputs = [m.model_(i) for m, i in zip(copies, inputs, strict=True)]
    else:
        inputs = keras.Input(shape=X.shape[1:], dtype=X.dtype)
        outputs = [model.model_(inputs) for model in copies]
    graph = keras.Model(inputs, outputs)
    graph.compile(
        optimizer=optimizer,
        loss=[copies[0].model_.loss] * len(copies),
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    history = graph.fit(X, [y] * len(copies), sample_weight=per_copy, **fit_kwargs)
    for i, model in enumerate(copies):
        model.history_ = {"loss": _copy_loss(history.history, i, len(copies))}


def _stacked_network(copies, X_fit):
    """The copies as one vectorized network and its input, or None.

    Only plain dense networks with a named loss; the result is checked to
    reproduce each copy's output before training, else None. Copies with
    their own inputs (a list ``X_fit``) take them side by side, zero-padded
    to the widest: ``(n_rows, k, width)``.
    """
    template = copies[0].model_
    layers_per_copy = [dense_layers(model.model_) for model in copies]
    if not isinstance(template.loss, str) or any(
        layers is None for layers in layers_per_copy
    ):
        return None
    if isinstance(X_fit, list):
        if any(x.ndim != 2 for x in X_fit):
            return None
        widths = [x.shape[1] for x in X_fit]
        X_network = np.zeros((len(X_fit[0]), len(X_fit), max(widths)), X_fit[0].dtype)
        for i, x in enumerate(X_fit):
            X_network[:, i, : widths[i]] = x
        own_inputs = X_fit
    elif isinstance(X_fit, np.ndarray):
        widths, X_network, own_inputs = None, X_fit, [X_fit] * len(copies)
    else:
        return None
    network = stacked_network(
        copies, layers_per_copy, X_network.shape[1:], X_network.dtype, widths
    )
    stacked_output = keras.ops.convert_to_numpy(network(X_network[:8]))
    own_outputs = [
        keras.ops.convert_to_numpy(model.model_(own_inputs[i][:8]))
        for i, model in enumerate(copies)
    ]
    if not reproduces(stacked_output, own_outputs):
        return None
    return network, network, layers_per_copy, X_network


def _copy_loss(history: dict, index: int, n_copies: int) -> list:
    """One copy's training loss per epoch, from the fused graph's history."""
    if n_copies == 1:
        return list(history["loss"])
    key = f"copy_{index}_loss"
    return list(history.get(key, []))


def _refuse_batch_statistics(model) -> None:
    """Raise FoldFusionError for a network that normalizes by its batches."""
    batch_statistics = _batch_statistics_layer(model)
    if batch_statistics is not None:
        raise FoldFusionError(
            f"fold fusion cannot train a network with {batch_statistics}: it "
            "normalizes with statistics of whole batches, held-out rows included."
        )


def _batch_statistics_layer(model) -> str | None:
    """The name of a layer computing batch statistics in ``model``, if any."""
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.BatchNormalization):
            return f"the BatchNormalization layer {layer.name!r}"
        found = _batch_statistics_layer(layer)
        if found is not None:
            return found
    return None


class FoldFusionMixin(KerasWrapperHooks):
    """Training several fold models of one wrapper as one Keras graph."""

    def fold_fusion_blocker(self) -> str | None:
        """Why :meth:`fit_folds` cannot train this wrapper, or None if it can.

        Two blockers show only once the network is built or the folds are
        known: ``BatchNormalization``, and a classifier fold whose training
        rows lack a class; :meth:`fit_folds` then raises
        :class:`~skstack.exceptions.FoldFusionError`.
        """
        if not type(self).__dict__.get("_trains_as_built", False):
            return f"{type(self).__name__} is a subclass that may train in its own way"
        return fold_fusion_blocker(self)

    def fit_folds(self, X, y, splits, sample_weight=None, refit=True, heads=None):
        """Fit one copy of this estimator per split, all in one Keras graph.

        Each copy's loss is weighted by a mask of its split's training rows,
        so it never learns from the other rows; all copies train in the same
        steps. Plain dense networks (those :func:`dense_model` builds) train
        as ONE network whose layers hold the copies' weights stacked, so a
        step costs about one network's operations (``history_["fused_loss"]``
        is the summed loss); other networks train side by side in one graph
        (``history_["loss"]`` per copy).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        splits : list of (ndarray, ndarray)
            (train, test) indices; each copy trains on its train rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows, multiplied into each copy's mask.
        refit : bool, default=True
            Also train a copy on all rows.
        heads : list of fitted transformers, default=None
            Each copy's own preprocessing (the splits' copies in order, then
            the refit's), e.g. a pipeline's steps before this estimator fitted
            on that copy's training rows: copy i trains on
            ``heads[i].transform(X)`` of its training rows. When every head
            has a Keras form (see ``skstack.to_keras``) and the network is a
            plain dense one, the heads run in the training graph on raw ``X``
            batches, so no copy's feature table is made. None: ``X`` for all.

        Returns
        -------
        fold_models : list of estimators
            Fitted copies, one per split, in order.
        full_model : estimator or None
            The copy fitted on all rows, if ``refit``.
        """
        reason = self.fold_fusion_blocker()
        if reason is not None:
            raise ValueError(
                f"{type(self).__name__} cannot train its folds fused: {reason}."
            )
        return fit_folds_fused(self, X, y, splits, sample_weight, refit, heads)
