"""The wrappers' hooks, and their training-time features as mixins.

:class:`KerasWrapperHooks` declares the hooks every feature of the wrappers
plugs into. Two features are here:
augmentation puts Keras preprocessing layers in front of the model trained
(``_model_for_training``), early stopping trains on part of the rows and
stops on the others (``_train_keras_model``). :func:`stopping_of` says how a
wrapper's settings (``epochs="auto"``, ``early_stopping``, its own
validation and callbacks) stop its training, for separate and fused fits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from skstack.utils._compat import _safe_indexing


@dataclass(frozen=True)
class KerasFit:
    """One training call: scikeras's encoded arrays and Keras's fit arguments.

    ``callbacks`` are added to the ones scikeras builds, for this call only.
    """

    X: object
    y: object
    sample_weight: object = None
    warm_start: bool = False
    epochs: int = 1
    initial_epoch: int = 0
    kwargs: dict = field(default_factory=dict)
    callbacks: tuple = ()


class KerasWrapperHooks:
    """The four hooks the wrappers' features plug into, and their last link.

    Each feature is a ``...Mixin`` deriving from this class whose hooks do
    their part and call ``super()``; the method resolution order puts this
    class after every mixin, so every feature runs, in any order the bases
    list them. This class must come before scikeras's wrapper in the order:
    a wrapper class listing them the other way round is refused when it is
    defined. Only the fixes of :mod:`skstack.keras._scikeras` touch scikeras's
    private names.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        names = [klass.__name__ for klass in cls.__mro__]
        if "BaseWrapper" in names and names.index("BaseWrapper") < names.index(
            "KerasWrapperHooks"
        ):
            raise TypeError(
                f"{cls.__name__}: skstack's wrapper mixins and fixes must come "
                "before scikeras's wrapper in the bases; scikeras's methods "
                "would otherwise run instead of them."
            )

    def _model_for_training(self, model):
        """Hook: the model ``fit`` trains, from the one built (augmentation)."""
        return model

    def _train_keras_model(self, fit: KerasFit) -> None:
        """Hook: train ``model_`` on the encoded arrays (early stopping).

        The last link is scikeras's training (``_run_keras_fit``, one of the
        fixes of :mod:`skstack.keras._scikeras`).
        """
        self._run_keras_fit(fit)

    def _predict_encoded(self, encoded):
        """Hook: ``model_``'s outputs for encoded input, or None for Keras's path."""
        return None

    def _target_encoder_for(self, encoder, y):
        """Hook: the fitted target encoder to train with, given scikeras's
        ``encoder`` fitted on ``y`` and the network built (target scaling)."""
        return encoder


AUGMENTATION_NAME = "augmentation"


def with_augmentation(model: keras.Model, layers: Sequence) -> keras.Model:
    """Return ``model`` behind fresh copies of ``layers``, compiled alike.

    Keras's random preprocessing layers (``RandomFlip``, ``RandomRotation``,
    ``RandomZoom``, ``RandomTranslation``...) transform their input only when
    called with ``training=True``, so the augmentation acts in ``fit`` and is
    the identity in ``predict`` and feature extraction.
    """
    copies = []
    for layer in layers:
        if not isinstance(layer, keras.layers.Layer):
            raise TypeError(
                f"augmentation must be a list of Keras layers, got {layer!r}."
            )
        # A fresh layer per fit: the given objects are parameters, never built.
        copies.append(type(layer).from_config(layer.get_config()))
    inputs = keras.Input(shape=model.inputs[0].shape[1:])
    augment = keras.Sequential(copies, name=AUGMENTATION_NAME)
    augmented = keras.Model(
        inputs, model(augment(inputs)), name=f"augmented_{model.name}"
    )
    if model.compiled:
        augmented.compile_from_config(model.get_compile_config())
    return augmented


def without_augmentation(model: keras.Model) -> keras.Model:
    """The network inside a model built by :func:`with_augmentation`, else itself."""
    names = [layer.name for layer in model.layers]
    if AUGMENTATION_NAME in names:
        return model.layers[-1]
    return model


class AugmentationMixin(KerasWrapperHooks):
    """The wrappers' ``augmentation``: the layers in front of the trained model."""

    def _model_for_training(self, model):
        model = super()._model_for_training(model)
        if getattr(self, "augmentation", None):
            model = with_augmentation(model, self.augmentation)
        return model


# The most epochs ``epochs="auto"`` trains, as scikit-learn's MLP's max_iter.
AUTO_MAX_EPOCHS = 200


@dataclass(frozen=True)
class Stopping:
    """How one fit of a wrapper ends.

    ``epochs``: the most epochs it trains; ``holds_out``: skstack holds out
    ``validation_fraction`` of the rows and stops on them (``early_stopping``,
    or ``epochs="auto"`` without validation of the user's own); ``on_validation``:
    skstack's stopping callback watches the validation loss (held out by
    skstack, or the user's ``validation_split`` / ``validation_data``).
    """

    epochs: int
    holds_out: bool = False
    on_validation: bool = False


def stopping_of(estimator, epochs=None, *, validation_given=None) -> Stopping:
    """How the settings of ``estimator`` stop a fit of ``epochs`` (its own
    ``epochs`` when None).

    ``epochs="auto"`` trains until the validation loss stops improving, at
    most :data:`AUTO_MAX_EPOCHS`: on the user's own ``EarlyStopping`` callback
    when there is one, else on the user's validation (``validation_split``,
    ``validation_data``) when given, else on rows skstack holds out.
    ``validation_given`` is None to read the estimator's parameters.
    """
    params = estimator.get_params(deep=False)
    if epochs is None:
        epochs = params.get("fit__epochs", params["epochs"])
    early_stopping = bool(params.get("early_stopping", False))
    if not (isinstance(epochs, str) and epochs == "auto"):
        return Stopping(int(epochs), early_stopping, early_stopping)
    if early_stopping:
        return Stopping(AUTO_MAX_EPOCHS, True, True)
    if _stops_itself(params):
        return Stopping(AUTO_MAX_EPOCHS)
    if validation_given is None:
        validation_given = bool(
            params.get("fit__validation_split", params.get("validation_split"))
        ) or (params.get("fit__validation_data") is not None)
    if validation_given:
        return Stopping(AUTO_MAX_EPOCHS, on_validation=True)
    return Stopping(AUTO_MAX_EPOCHS, True, True)


def _stops_itself(params) -> bool:
    """Whether the user's callbacks stop the fit (a Keras ``EarlyStopping``)."""
    return any(
        issubclass(
            callback if isinstance(callback, type) else type(callback),
            keras.callbacks.EarlyStopping,
        )
        for name in ("callbacks", "fit__callbacks")
        for callback in flattened_callbacks(params.get(name))
    )


def flattened_callbacks(callbacks) -> list:
    """The callbacks (or callback classes) of a ``callbacks`` parameter."""
    if callbacks is None:
        return []
    if isinstance(callbacks, dict):
        callbacks = list(callbacks.values())
    if not isinstance(callbacks, list | tuple):
        return [callbacks]
    return [item for entry in callbacks for item in flattened_callbacks(entry)]


class EarlyStoppingMixin(KerasWrapperHooks):
    """How a fit stops: ``epochs="auto"`` and ``early_stopping``.

    Rows held out for validation are taken from the encoded training arrays,
    and Keras's ``EarlyStopping`` callback joins the ones scikeras builds for
    this fit.
    """

    def _train_keras_model(self, fit: KerasFit) -> None:
        given = bool(
            fit.kwargs.get("validation_split") or fit.kwargs.get("validation_data")
        )
        stopping = stopping_of(self, fit.epochs, validation_given=given or None)
        fit = dataclasses.replace(fit, epochs=stopping.epochs)
        if not stopping.holds_out:
            # A refit without early stopping must not keep the last one's results.
            for name in ("best_epoch_", "validation_rows_"):
                vars(self).pop(name, None)
            if stopping.on_validation:
                fit = dataclasses.replace(
                    fit, callbacks=(*fit.callbacks, stopping_callback(self))
                )
            return super()._train_keras_model(fit)
        check_early_stopping(self)
        fit_rows, held_out = validation_rows(self, fit.y)
        validation = [_safe_indexing(fit.X, held_out), fit.y[held_out]]
        sample_weight = fit.sample_weight
        if sample_weight is not None:
            validation.append(sample_weight[held_out])
            sample_weight = sample_weight[fit_rows]
        callback = stopping_callback(self)
        super()._train_keras_model(
            dataclasses.replace(
                fit,
                X=_safe_indexing(fit.X, fit_rows),
                y=fit.y[fit_rows],
                sample_weight=sample_weight,
                kwargs={**fit.kwargs, "validation_data": tuple(validation)},
                callbacks=(*fit.callbacks, callback),
            )
        )
        self.best_epoch_ = callback.best_epoch - fit.initial_epoch + 1
        self.validation_rows_ = held_out
        return None


def check_early_stopping(estimator) -> None:
    """Refuse settings that cannot stop early, naming the estimator."""
    # validation_fraction and n_iter_no_change are checked with the other
    # parameters, by the wrapper's _fit_context.
    name = type(estimator).__name__
    if estimator.validation_split:
        raise ValueError(
            f"{name}: early_stopping=True holds out validation_fraction of the "
            f"training rows itself; set validation_split=0.0 (got "
            f"{estimator.validation_split!r})."
        )


def validation_rows(estimator, y) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the rows to train on and of the rows to validate on.

    ``y`` is the encoded target Keras trains on. With ``validation_rows="last"``
    the last rows are held out (time-ordered data). Classifiers split stratified
    when every class can give a row to both parts; the split is seeded by the
    estimator's ``random_state``.
    """
    if not isinstance(y, np.ndarray):
        raise TypeError(
            f"{type(estimator).__name__}: {_stops_by(estimator)} holds out rows of "
            f"the target, which must be one array, got {type(y).__name__}; "
            f"{_instead(estimator)}."
        )
    n_rows = len(y)
    if n_rows < 2:
        raise ValueError(
            f"{type(estimator).__name__}: {_stops_by(estimator)} needs at least 2 "
            f"training samples to hold some out, got {n_rows} sample; "
            f"{_instead(estimator)}."
        )
    rows = np.arange(n_rows)
    n_validation = max(1, int(round(estimator.validation_fraction * n_rows)))
    n_validation = min(n_validation, n_rows - 1)
    if getattr(estimator, "validation_rows", "random") == "last":
        # Time-ordered rows: validate on the most recent, train on the earlier.
        return rows[:-n_validation], rows[-n_validation:]
    seed = check_random_state(estimator.random_state).randint(np.iinfo(np.int32).max)
    stratify = None
    if estimator._estimator_type == "classifier":
        labels = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.ravel()
        counts = np.unique(labels, return_counts=True)[1]
        smaller_part = min(n_validation, n_rows - n_validation)
        fits = counts.min() >= 2 and len(counts) <= smaller_part
        stratify = labels if fits else None
    fit_rows, held_out = train_test_split(
        rows, test_size=n_validation, random_state=seed, stratify=stratify
    )
    return np.sort(fit_rows), np.sort(held_out)


def _stops_by(estimator) -> str:
    """The setting that makes the estimator hold out rows, as the user wrote it."""
    if getattr(estimator, "early_stopping", False):
        return "early_stopping=True"
    return "epochs='auto' (stopping on held-out rows)"


def _instead(estimator) -> str:
    """What to set so that the estimator holds out no rows."""
    if getattr(estimator, "early_stopping", False):
        return "set early_stopping=False"
    return "give epochs a number of epochs instead"


def stopping_callback(estimator):
    """Keras's ``EarlyStopping`` on validation loss, keeping the best weights."""
    return keras.callbacks.EarlyStopping(
        monitor="val_loss",
        patience=estimator.n_iter_no_change,
        restore_best_weights=True,
    )
