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
from sklearn.utils.validation import _check_sample_weight

from skstack.exceptions import FoldFusionError

from ._backend import fused_jit_compile, steps_per_execution
from ._copy_fits import (
    CopyStopping,
    CopyValidation,
    copy_callbacks,
    copy_rows,
    fit_arguments,
    fit_arguments_blocker,
    training_weights,
)
from ._dense import (
    copy_weights,
    copy_weights_back,
    dense_layers,
    masked_loss,
    stacked_network,
)
from ._fused_inputs import CopyFeatures, reproduces
from ._scikeras import (
    encoded_training_data,
    encoded_validation_targets,
    keras_seed,
    xla_compilable,
)
from ._targets import StandardTargetEncoder
from ._training import KerasWrapperHooks, check_early_stopping

# A fused network behind its copies' in-graph preprocessing is compiled with
# XLA from this many training steps: many small preprocessing operations per
# step fuse into few (nycflights13 flights, 3,600 steps: training 11.0 s ->
# 7.0 s), and the ~1 s compilation is paid back (at 500 rows it was not).
XLA_MIN_STEPS = 1000


def fold_fusion_blocker(wrapper) -> str | None:
    """Why ``wrapper`` cannot be trained fused, or None if it can."""
    if wrapper.get_params(deep=False).get("warm_start") and hasattr(wrapper, "model_"):
        return "warm_start continues a previous fit"
    return fit_arguments_blocker(wrapper)


def fit_folds_fused(
    wrapper, X, y, splits, sample_weight=None, refit=True, heads=None, targets=None
):
    """Train one copy of ``wrapper`` per split (plus one on all rows) together.

    Returns the fitted fold copies, in the order of ``splits``, and the copy fit
    on all rows (None unless ``refit``). Every copy starts from the same
    weights a separate fit would start from (the wrapper's ``random_state``),
    and trains, validates and stops on the rows its separate fit would
    (``_copy_fits``). ``heads`` gives each copy its own fitted preprocessing
    of ``X``, ``targets`` its own ``y`` (see ``FoldFusionMixin.fit_folds``).
    """
    n_rows = len(y)
    _check_every_class_in_each_fold(wrapper, y, splits)
    arguments = fit_arguments(wrapper)
    stops_early = arguments.stopping.holds_out
    if stops_early:
        check_early_stopping(wrapper)
    if arguments.validation_data is not None and heads is not None and not stops_early:
        raise FoldFusionError(
            "its validation_data is in its network's input space, which each "
            "fused pipeline copy makes with its own preprocessing"
        )
    row_sets = [train for train, _ in splits] + ([np.arange(n_rows)] if refit else [])
    if heads is not None and len(heads) != len(row_sets):
        raise ValueError(
            f"heads has {len(heads)} transformers for {len(row_sets)} copies "
            f"({len(splits)} splits" + (" and the refit)." if refit else ").")
        )
    if targets is None:
        targets = [y] * len(row_sets)
    elif len(targets) != len(row_sets):
        raise ValueError(
            f"targets has {len(targets)} arrays for {len(row_sets)} copies."
        )
    copies, own = _initialized_copies(wrapper, X, targets, row_sets, heads)
    stand_in = X if own is None else own.stand_in(0)
    X_fit, y_fit, _ = encoded_training_data(copies[0], stand_in, targets[0])
    y_fits = _copy_targets(copies, targets, y_fit)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, y)
    refit_index = len(splits) if refit and stops_early else None
    plans = [
        copy_rows(
            wrapper,
            targets[index],
            y_fits[index],
            rows,
            sample_weight,
            arguments,
            validates=index != refit_index,
        )
        for index, rows in enumerate(row_sets)
    ]
    per_copy = [training_weights(n_rows, plan) for plan in plans]
    watched = {
        "validations": _Validation(copies, plans, y_fits, arguments, stops_early),
        "callbacks": [
            copy_callbacks(model, wrapper, arguments, plan.validation is not None)
            for model, plan in zip(copies, plans, strict=True)
        ],
        "refit": refit_index,
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
        watch = _train(copies, stacked, X_fit, y_fits, per_copy, arguments, watched)
    _keep_what_each_copy_ended_with(copies, watch, plans, stops_early)
    if refit:
        return copies[:-1], copies[-1]
    return copies, None


def _initialized_copies(wrapper, X, targets, row_sets, heads):
    """A clone of ``wrapper`` per row set, its network built; and their features.

    ``targets``: each copy's ``y``. The features (``CopyFeatures``) are None
    when the copies share ``X``.
    """
    masks = []
    for rows in row_sets:
        mask = np.zeros(len(targets[0]))
        mask[rows] = 1.0
        masks.append(mask)
    copies = [clone(wrapper) for _ in masks]
    own = None if heads is None else CopyFeatures(X, heads, masks)
    for i, (model, rows, y) in enumerate(zip(copies, row_sets, targets, strict=True)):
        # A copy with its own features is initialized on stand-ins of their
        # shape and kind: the features themselves are made once, later.
        model.initialize(X if own is None else own.stand_in(i), y)
        if isinstance(model.target_encoder_, StandardTargetEncoder):
            # Standardized by its own training rows, as its separate fit is.
            model.target_encoder_.fit(np.asarray(y)[rows])
        model.model_.name = f"copy_{i}"
        if i == 0:
            _refuse_batch_statistics(model.model_)
            _refuse_norm_clipping(model.model_)
    return copies, own


def _copy_targets(copies, targets, y_fit) -> list:
    """Each copy's encoded targets: ``y_fit`` (copy 0's) where the copies
    share ``y`` and encode it alike, else each its own (its own ``y``, or
    targets standardized by its rows)."""
    shared = all(y is targets[0] for y in targets)
    if shared and not isinstance(copies[0].target_encoder_, StandardTargetEncoder):
        return [y_fit] * len(copies)
    return [y_fit] + [
        model.target_encoder_.transform(np.asarray(y))
        for model, y in zip(copies[1:], targets[1:], strict=True)
    ]


def _train(copies, stacked, X_fit, y_fits, per_copy, arguments, watched):
    """Train the copies, stacked or side by side; the ``CopyStopping`` that
    watched them. ``watched``: its validations, callbacks and refit copy;
    ``y_fits``: each copy's encoded targets."""
    template = copies[0].model_
    optimizer = template.optimizer.__class__.from_config(
        template.optimizer.get_config()
    )
    batch_size = arguments.batch_size or 32
    fit_kwargs = {
        "epochs": arguments.epochs,
        "batch_size": len(y_fits[0]) if batch_size == -1 else batch_size,
        "shuffle": arguments.shuffle,
        "verbose": arguments.verbose,
    }
    validation = watched["validations"]
    if stacked is not None:
        model, network, layers_per_copy, X_model = stacked
        watch = CopyStopping(
            copies,
            outputs=lambda x: _numpy(model(x, training=False)),
            weights_of=lambda i: copy_weights(network, layers_per_copy, i),
            inputs=validation.inputs(X_model),
            validations=validation.per_copy,
            callbacks=watched["callbacks"],
            refit=watched["refit"],
        )
        _train_stacked(copies, stacked, optimizer, y_fits, per_copy, fit_kwargs, watch)
        return watch
    watch = CopyStopping(
        copies,
        outputs=lambda x: _side_by_side_outputs(copies, x),
        weights_of=lambda i: copies[i].model_.get_weights(),
        inputs=validation.inputs(_by_copy(X_fit)),
        validations=validation.per_copy,
        callbacks=watched["callbacks"],
        refit=watched["refit"],
    )
    _train_side_by_side(copies, optimizer, X_fit, y_fits, per_copy, fit_kwargs, watch)
    return watch


class _Validation:
    """What the copies validate on: their own rows of X, or shared data.

    Rows of X are validated in one forward pass over every copy's validation
    rows (``inputs``); each copy reads its own among them (``per_copy``).
    """

    def __init__(self, copies, plans, y_fits, arguments, stops_early):
        given = None if stops_early else arguments.validation_data
        self.rows = None
        if given is not None:
            X_val, y_val, *weights = given
            self.shared = X_val
            # every fit validates on them, its targets encoded as it trains
            self.per_copy = [
                CopyValidation(
                    None, encoded_validation_targets(model, y_val), *weights[:1]
                )
                for model in copies
            ]
            return
        self.shared = None
        validating = [p.validation for p in plans if p.validation is not None]
        if not validating:
            self.per_copy = [None] * len(plans)
            return
        self.rows = np.unique(np.concatenate(validating))
        self.per_copy = [
            None
            if plan.validation is None
            else CopyValidation(
                np.searchsorted(self.rows, plan.validation),
                y_fit[plan.validation],
                plan.validation_weights,
            )
            for plan, y_fit in zip(plans, y_fits, strict=True)
        ]

    def inputs(self, X_model):
        """The validation inputs of the trained model, whose input is ``X_model``."""
        if self.shared is not None:
            return self.shared
        if self.rows is None:
            return None
        if isinstance(X_model, dict):
            return {name: values[self.rows] for name, values in X_model.items()}
        return X_model[self.rows]


def _keep_what_each_copy_ended_with(copies, watch, plans, stops_early) -> None:
    """Each copy's final weights, history and early-stopping attributes."""
    for index, model in enumerate(copies):
        if watch.final[index] is not None:
            model.model_.set_weights(watch.final[index])
        optimizer = model.model_.optimizer
        if optimizer is not None and not optimizer.built:
            # Built as a network trained alone ends (with fresh state: the
            # fused optimizer's stays with the fused network), so a pickled
            # copy loads without Keras's "Skipping variable loading" warning.
            optimizer.build(model.model_.trainable_variables)
        epochs = watch.epochs_trained.get(index)
        history = {
            name: values[:epochs] if epochs else values
            for name, values in model.history_.items()
        }
        model.history_ = {**history, **watch.histories[index]}
        if stops_early and index == watch.refit:
            model.set_params(epochs=watch.refit_epochs, early_stopping=False)
        elif stops_early:
            model.best_epoch_ = watch.best_epochs[index]
            model.validation_rows_ = plans[index].held_out


def _by_copy(X_fit):
    """Copies' own inputs (a list) as a dict, which validation rows slice alike."""
    if isinstance(X_fit, list):
        return {str(index): values for index, values in enumerate(X_fit)}
    return X_fit


def _side_by_side_outputs(copies, inputs) -> np.ndarray:
    """Every copy's outputs, ``(n_rows, n_copies, ...)``."""
    outputs = [
        _numpy(
            model.model_(
                inputs[str(index)] if isinstance(inputs, dict) else inputs,
                training=False,
            )
        )
        for index, model in enumerate(copies)
    ]
    return np.stack(outputs, axis=1)


def _numpy(tensor) -> np.ndarray:
    return keras.ops.convert_to_numpy(tensor)


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


def _jit_compile(model, network, steps) -> bool | str:
    """On TensorFlow, XLA only behind in-graph preprocessing and from
    XLA_MIN_STEPS steps (see fused_jit_compile for the other backends)."""
    return fused_jit_compile(
        model is not network and steps >= XLA_MIN_STEPS and xla_compilable(model)
    )


def _train_stacked(copies, stacked, optimizer, y_fits, per_copy, fit_kwargs, watch):
    """One vectorized network: about one network's operations per step.

    ``stacked`` is what :func:`_stacked_network` or ``CopyFeatures.in_graph``
    built: the model to train, the stacked network in it, each copy's layers
    in that, and the model's input.
    """
    model, network, layers_per_copy, X = stacked
    shared = all(y is y_fits[0] for y in y_fits)
    targets = [y.reshape(len(y), -1) for y in (y_fits[:1] if shared else y_fits)]
    loss = masked_loss(
        copies[0].model_.loss, len(copies), targets[0].shape[1], per_copy=not shared
    )
    steps = fit_kwargs["epochs"] * -(-len(y_fits[0]) // fit_kwargs["batch_size"])
    model.compile(
        optimizer,
        loss,
        steps_per_execution=steps_per_execution(),
        jit_compile=_jit_compile(model, network, steps),
    )
    packed = np.hstack([*targets, np.column_stack(per_copy)]).astype("float32")
    history = model.fit(X, packed, callbacks=_watching(watch), **fit_kwargs)
    copy_weights_back(network, layers_per_copy)
    for model in copies:
        model.history_ = {"fused_loss": list(history.history["loss"])}


def _train_side_by_side(copies, optimizer, X, y_fits, per_copy, fit_kwargs, watch):
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
        steps_per_execution=steps_per_execution(),
    )
    history = graph.fit(
        X,
        list(y_fits),
        sample_weight=per_copy,
        callbacks=_watching(watch),
        **fit_kwargs,
    )
    for i, model in enumerate(copies):
        model.history_ = {"loss": _copy_loss(history.history, i, len(copies))}


def _watching(watch) -> list:
    """The fused fit's callbacks: the copies' own stopping, when it has work."""
    return [watch] if watch.needed else []


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


def _refuse_norm_clipping(model) -> None:
    """Raise FoldFusionError for an optimizer that clips gradients by norm.

    A norm over a variable holding every copy's weights (or over all
    variables) would clip each copy's gradient by the others'.
    """
    optimizer = model.optimizer
    for name in ("clipnorm", "global_clipnorm"):
        if getattr(optimizer, name, None):
            raise FoldFusionError(
                f"its optimizer's {name} would clip every fused copy's gradients "
                "together"
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

    def fit_folds(
        self, X, y, splits, sample_weight=None, refit=True, heads=None, targets=None
    ):
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
        targets : list of array-like, default=None
            Each copy's own ``y`` over all rows (the splits' copies in order,
            then the refit's), e.g. a ``TransformedTargetRegressor``'s targets
            transformed by a transformer fitted on that copy's training rows.
            None: ``y`` for all.

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
        return fit_folds_fused(self, X, y, splits, sample_weight, refit, heads, targets)
