"""Each fused copy's separate fit: its rows, weights, validation and stopping.

A fused copy must train as its separate fit would. scikeras multiplies class
weights computed from the fit's own rows into the sample weights and drops
rows of weight 0; Keras holds out the last ``validation_split`` of the rows
it is given (skstack's ``early_stopping`` holds out its own sample); the fit's
``EarlyStopping`` callbacks stop it. :func:`copy_rows` works out those rows
for one copy; :class:`CopyStopping`, a callback of the fused training,
validates every copy at each epoch's end and drives that copy's own
callbacks, remembering the weights each copy ends with: a copy that stops
keeps them whatever the copies still training do.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
from sklearn.utils.class_weight import compute_sample_weight

from ._scikeras import fit_callbacks
from ._training import (
    Stopping,
    flattened_callbacks,
    stopping_callback,
    stopping_of,
    validation_rows,
)

# Keras's fit arguments a fused copy honours as its separate fit would.
FIT_ARGUMENTS = frozenset(
    {
        "epochs",
        "batch_size",
        "shuffle",
        "verbose",
        "validation_split",
        "validation_data",
        "validation_batch_size",
        "callbacks",
    }
)
# Callbacks a fused copy runs as its own: EarlyStopping is driven per copy;
# TerminateOnNaN stops a copy whose weights are no longer finite; History
# and progress bars only record, which the fused fit does for each copy.
_PER_COPY_CALLBACKS = (
    keras.callbacks.EarlyStopping,
    keras.callbacks.TerminateOnNaN,
    keras.callbacks.History,
    keras.callbacks.ProgbarLogger,
)
# Rows per forward pass when validating the copies at an epoch's end.
_VALIDATION_CHUNK_ROWS = 8192


@dataclass(frozen=True)
class FitArguments:
    """Keras's fit arguments of a wrapper, ``fit__`` settings applied;
    ``stopping`` says how its fit stops."""

    stopping: Stopping
    batch_size: int | None
    shuffle: bool
    verbose: int
    validation_split: float
    validation_data: tuple | None

    @property
    def epochs(self) -> int:
        """The most epochs the fit trains (``epochs="auto"`` resolved)."""
        return self.stopping.epochs


def fit_arguments(wrapper) -> FitArguments:
    """The arguments the wrapper's separate fit would give ``Model.fit``."""
    params = wrapper.get_params()

    def value(name, default=None):
        return params.get(f"fit__{name}", params.get(name, default))

    return FitArguments(
        stopping=stopping_of(wrapper),
        batch_size=value("batch_size"),
        shuffle=value("shuffle", True),
        verbose=value("verbose", 0),
        validation_split=value("validation_split", 0.0) or 0.0,
        validation_data=params.get("fit__validation_data"),
    )


def fit_arguments_blocker(wrapper) -> str | None:
    """Why the wrapper's fit arguments or callbacks keep it from fusion, or None."""
    params = wrapper.get_params(deep=False)
    others = sorted(
        key
        for key in params
        if key.startswith("fit__") and key[5:].split("__")[0] not in FIT_ARGUMENTS
    )
    if others:
        return f"fit parameters {others} are passed to separate fits"
    for name in ("callbacks", "fit__callbacks"):
        for callback in flattened_callbacks(params.get(name)):
            kind = callback if isinstance(callback, type) else type(callback)
            if issubclass(kind, keras.callbacks.ReduceLROnPlateau):
                return (
                    "ReduceLROnPlateau changes the learning rate, which fused "
                    "copies share"
                )
            if not issubclass(kind, _PER_COPY_CALLBACKS):
                return f"its callback {kind.__name__} acts on one model per fit"
    return None


@dataclass(frozen=True)
class CopyRows:
    """The rows of ``X`` one copy trains and validates on, with their weights.

    ``fit`` and ``validation`` are in the order its separate fit would see
    them; weights are None when every row weighs 1. ``held_out``: with
    skstack's ``early_stopping``, the validation rows' positions in the
    copy's training data (``validation_rows_``).
    """

    fit: np.ndarray
    fit_weights: np.ndarray | None = None
    validation: np.ndarray | None = None
    validation_weights: np.ndarray | None = None
    held_out: np.ndarray | None = None


def copy_rows(wrapper, y, y_encoded, rows, sample_weight, arguments, *, validates):
    """What the separate fit of ``wrapper`` on ``rows`` trains and validates on.

    ``y`` are the labels (class weights are computed from them), ``y_encoded``
    what Keras trains on; ``validates`` is False for a copy that holds out
    nothing (the refit of an early-stopped member, trained for the folds'
    epochs).
    """
    weights = None if sample_weight is None else np.asarray(sample_weight)[rows]
    class_weight = getattr(wrapper, "class_weight", None)
    if class_weight is not None:
        balance = compute_sample_weight(class_weight, np.asarray(y)[rows])
        weights = balance if weights is None else weights * balance
    if weights is not None:
        weights = weights.astype(keras.backend.floatx())
        if not np.any(weights):
            raise ValueError(
                "No training samples had any weight; only zeros were passed in "
                "sample_weight."
            )
        kept = weights != 0  # scikeras drops rows of weight 0
        rows, weights = rows[kept], weights[kept]
    if not validates:
        return CopyRows(rows, weights)
    holds_out = arguments.stopping.holds_out
    if holds_out:
        fit, held_out = validation_rows(wrapper, y_encoded[rows])
    elif arguments.validation_split and arguments.validation_data is None:
        split_at = math.floor(len(rows) * (1.0 - arguments.validation_split))
        if split_at in (0, len(rows)):
            raise ValueError(
                f"validation_split={arguments.validation_split} leaves no rows to "
                f"train or to validate on among {len(rows)} training rows."
            )
        fit, held_out = np.arange(split_at), np.arange(split_at, len(rows))
    else:
        return CopyRows(rows, weights)
    return CopyRows(
        rows[fit],
        None if weights is None else weights[fit],
        rows[held_out],
        None if weights is None else weights[held_out],
        held_out if holds_out else None,
    )


def training_weights(n_rows, rows: CopyRows) -> np.ndarray:
    """A copy's row weights in the fused loss: 0 on rows it does not train on.

    Scaled so the mean over all rows is its separate fit's mean over its own:
    its loss, and so its step sizes, are those of training on its rows alone.
    """
    weights = np.zeros(n_rows)
    own = 1.0 if rows.fit_weights is None else rows.fit_weights
    weights[rows.fit] = own * (n_rows / len(rows.fit))
    return weights


def copy_callbacks(model, wrapper, arguments, validates) -> list:
    """The callbacks a copy's separate fit would run, for it alone.

    ``model`` is the initialized copy (scikeras made its callbacks from the
    ``callbacks`` parameters); skstack's stopping (``early_stopping``,
    ``epochs="auto"``) adds its own.
    """
    acting = (keras.callbacks.EarlyStopping, keras.callbacks.TerminateOnNaN)
    callbacks = [
        c for c in flattened_callbacks(fit_callbacks(model)) if isinstance(c, acting)
    ]
    if validates and arguments.stopping.on_validation:
        callbacks.append(stopping_callback(wrapper))
    return callbacks


def refit_epochs(best_epochs) -> int:
    """The mean of the fold models' best epochs, at least 1."""
    return max(1, int(round(np.mean(best_epochs))))


class _CopyModel:
    """What a copy's callbacks see as their model: that copy alone."""

    def __init__(self, stopping, index):
        self._stopping, self._index = stopping, index
        self.stop_training = False
        self.restored = None

    @property
    def metrics(self):  # EarlyStopping's mode="auto" reads the metrics' direction
        return self._stopping.copies[self._index].model_.metrics

    def get_weights(self):
        return self._stopping.weights_of(self._index)

    def set_weights(self, weights):
        self.restored = [np.array(w) for w in weights]


@dataclass
class CopyValidation:
    """A copy's validation: positions in the validation inputs, targets, weights."""

    positions: np.ndarray | None  # None: every row of the validation inputs
    y: np.ndarray
    weights: np.ndarray | None = None


class CopyStopping(keras.callbacks.Callback):
    """Each fused copy validated, and stopped, as its separate fit would be.

    At each epoch's end every copy still training is evaluated on its own
    validation rows with its own compiled loss and metrics (``val_loss``,
    ``val_<metric>``), and its own callbacks see those logs and a model
    standing for the copy alone: an ``EarlyStopping`` that stops or restores
    acts on that copy's weights only, which are kept from then on. The fused
    training ends when every copy has stopped.

    Parameters
    ----------
    copies : list of wrappers
        The initialized copies.
    outputs : callable
        ``outputs(inputs)``: every copy's predictions, shape
        ``(n_rows, n_copies, ...)``.
    weights_of : callable
        ``weights_of(i)``: copy i's current weights, as its model lists them.
    inputs : array-like or None
        What the copies validate on (None: no copy validates).
    validations : list of CopyValidation or None
        Each copy's validation (None: it does not validate).
    callbacks : list of list
        Each copy's callbacks.
    refit : int or None
        The copy trained on all rows for the fold copies' mean best epoch
        (skstack's ``early_stopping``); its weights are kept at that epoch.
    """

    def __init__(
        self, copies, outputs, weights_of, inputs, validations, callbacks, refit=None
    ):
        super().__init__()
        self.copies, self.outputs, self.weights_of = copies, outputs, weights_of
        self.inputs, self.validations, self.callbacks = inputs, validations, callbacks
        self.refit = refit
        self.histories = [defaultdict(list) for _ in copies]
        self.final = [None] * len(copies)  # weights each stopped copy ends with
        self.done = [False] * len(copies)
        self.best_epochs: dict[int, int] = {}
        self.epochs_trained: dict[int, int] = {}
        self.refit_epochs: int | None = None
        self._epochs_run = 0
        self._snapshots: dict[int, list] = {}
        self._models = [_CopyModel(self, i) for i in range(len(copies))]
        self._nan_checked = [
            any(isinstance(c, keras.callbacks.TerminateOnNaN) for c in own)
            for own in callbacks
        ]
        self._stoppers = [
            [c for c in own if isinstance(c, keras.callbacks.EarlyStopping)]
            for own in callbacks
        ]

    @property
    def needed(self) -> bool:
        """Whether any copy validates, stops or needs its weights watched."""
        return (
            any(v is not None for v in self.validations)
            or any(self._stoppers)
            or any(self._nan_checked)
            or self.refit is not None
        )

    def on_train_begin(self, logs=None):
        for index, stoppers in enumerate(self._stoppers):
            for stopper in stoppers:
                stopper.set_model(self._models[index])
                stopper.on_train_begin()

    def on_epoch_end(self, epoch, logs=None):
        self._epochs_run = epoch + 1
        predictions = None
        if self.inputs is not None and not all(self.done):
            predictions = _predict_in_chunks(self.outputs, self.inputs)
        for index, validation in enumerate(self.validations):
            if self.done[index] or index == self.refit:
                continue
            own = {}
            if validation is not None:
                own = self._evaluate(index, validation, predictions)
            for name, value in own.items():
                self.histories[index][name].append(value)
            for stopper in self._stoppers[index]:
                stopper.on_epoch_end(epoch, own)
            model = self._models[index]
            if self._nan_checked[index] and not _finite(self.weights_of(index)):
                model.stop_training = True
            if model.stop_training:
                self._finish(index, own)
        self._watch_refit(epoch)
        if all(self.done):
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        for index in range(len(self.copies)):
            if not self.done[index] and index != self.refit:
                self._finish(index, {})
        self._watch_refit(None)

    def _evaluate(self, index, validation, predictions) -> dict:
        """The copy's ``val_`` logs, computed as Keras's evaluation would."""
        model = self.copies[index].model_
        rows = validation.positions
        y_pred = predictions[:, index] if rows is None else predictions[rows, index]
        loss = model.compute_loss(
            x=None,
            y=validation.y,
            y_pred=y_pred,
            sample_weight=validation.weights,
            training=False,
        )
        model.reset_metrics()
        results = model.compute_metrics(None, validation.y, y_pred, validation.weights)
        own = {f"val_{name}": float(v) for name, v in results.items() if name != "loss"}
        return {"val_loss": float(keras.ops.convert_to_numpy(loss)), **own}

    def _finish(self, index, logs) -> None:
        """End a copy's training: its callbacks' last word, its weights kept."""
        model = self._models[index]
        stoppers = self._stoppers[index]
        for stopper in stoppers:
            stopper.on_train_end(logs)
        if stoppers:  # skstack's early stopping is the last one
            self.best_epochs[index] = stoppers[-1].best_epoch + 1
        if model.restored is not None:
            self.final[index] = model.restored
        elif model.stop_training:
            self.final[index] = self.weights_of(index)
        self.epochs_trained[index] = self._epochs_run
        self.done[index] = True

    def _watch_refit(self, epoch) -> None:
        """Keep the refit copy's weights of each epoch it may end at.

        Its epochs are the fold copies' mean best epoch; a copy's best epoch
        only grows, so epochs before the mean of the best epochs so far are
        never needed. ``epoch`` None: training ended.
        """
        if self.refit is None or self.done[self.refit]:
            return
        folds = [i for i in range(len(self.copies)) if i != self.refit]
        bests = [self._best_so_far(i) for i in folds]
        if epoch is not None:
            self._snapshots[epoch + 1] = self.weights_of(self.refit)
            lowest = refit_epochs(bests)
            self._snapshots = {e: w for e, w in self._snapshots.items() if e >= lowest}
        if all(self.done[i] for i in folds):
            self.refit_epochs = refit_epochs(bests)
            self.final[self.refit] = self._snapshots[self.refit_epochs]
            self.epochs_trained[self.refit] = self.refit_epochs
            self._snapshots = {}
            self.done[self.refit] = True

    def _best_so_far(self, index) -> int:
        if index in self.best_epochs:
            return self.best_epochs[index]
        stoppers = self._stoppers[index]
        return stoppers[-1].best_epoch + 1 if stoppers else 1


def _predict_in_chunks(outputs: Callable, inputs) -> np.ndarray:
    """``outputs`` on ``inputs`` (an array or a dict of arrays), in chunks."""
    first = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs
    parts = []
    for start in range(0, len(first), _VALIDATION_CHUNK_ROWS):
        chunk = slice(start, start + _VALIDATION_CHUNK_ROWS)
        part = (
            {name: values[chunk] for name, values in inputs.items()}
            if isinstance(inputs, dict)
            else inputs[chunk]
        )
        parts.append(outputs(part))
    return np.concatenate(parts)


def _finite(weights) -> bool:
    return all(np.all(np.isfinite(w)) for w in weights)
