"""scikeras's wrappers, made correct scikit-learn estimators.

The fixes live in :mod:`skstack.keras._scikeras`, the features in their own
modules (early stopping, augmentation, fast prediction, fold fusion); this
module puts them together as the public classes and documents them.
"""

from __future__ import annotations

import numbers

from skstack.utils._compat import Interval, StrOptions

from ._fast_predict import FastPredictMixin
from ._fused import FoldFusionMixin
from ._scikeras import (
    ScikerasClassifierFixes,
    ScikerasRegressorFixes,
    scikeras_wrappers,
    store_builder_params,
)
from ._strategies import FitStrategyMixin
from ._targets import TargetScalingMixin
from ._training import AugmentationMixin, EarlyStoppingMixin

_ScikerasClassifier, _ScikerasRegressor = scikeras_wrappers()


def _batch_sizes():
    """None, -1 (all rows) or a positive number of rows."""
    return [
        None,
        Interval(numbers.Integral, -1, 0, closed="left"),  # the integer -1
        Interval(numbers.Integral, 1, None, closed="left"),
    ]


# The wrappers' own parameters; a model builder's (``hidden=...``) and routed
# ones (``fit__...``) are the builder's and Keras's to check.
_PARAMETER_CONSTRAINTS: dict = {
    "epochs": [
        Interval(numbers.Integral, 0, None, closed="left"),
        StrOptions({"auto"}),
    ],
    "batch_size": _batch_sizes(),
    "validation_batch_size": _batch_sizes(),
    "validation_split": [Interval(numbers.Real, 0, 1, closed="left")],
    "shuffle": ["boolean"],
    "warm_start": ["boolean"],
    "verbose": ["verbose"],
    "random_state": ["random_state"],
    "run_eagerly": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
    "validation_rows": [StrOptions({"random", "last"})],
    "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
}


_SHARED_PARAMETERS = """\
    model : callable or keras.Model, default=None
        A function that builds and returns a compiled ``keras.Model`` (it may take
        ``meta``, ``compile_kwargs`` and any parameter given to the wrapper, such
        as ``hidden`` for :func:`~skstack.keras.dense_model`), or a
        ``keras.Model``. A given model is copied at each ``fit``, so the object
        you passed is never trained and every fit starts from its weights.
    optimizer : str, keras.optimizers.Optimizer or its class, default="adam"
        Optimizer for models the wrapper compiles; ``optimizer__learning_rate``
        and other ``optimizer__`` parameters configure it. (scikeras's default
        is "rmsprop".)
    loss : str, keras.losses.Loss or callable, default=None
        Loss for models the wrapper compiles. None lets the builder choose
        (:func:`~skstack.keras.dense_model` picks one from the task).
    metrics : list, default=None
        Keras metrics recorded in ``history_``.
    epochs : int or "auto", default="auto"
        Passes over the training data in ``fit``. "auto" trains until the
        validation loss has not improved for ``n_iter_no_change`` epochs, at
        most 200, keeping the best epoch's weights: it stops on the validation
        of your ``validation_split`` or ``fit__validation_data`` if given (on
        your own ``EarlyStopping`` callback if you pass one), else it holds out
        rows as ``early_stopping`` does. An int trains exactly that many
        epochs, as scikeras (whose default is 1), unless ``early_stopping``.
    batch_size : int, default=None
        Rows per gradient step and per prediction batch (Keras's default, 32,
        when None); -1 uses all rows. ``fit__batch_size`` and
        ``predict__batch_size`` set one of the two.
    validation_batch_size : int, default=None
        Rows per validation batch.
    validation_split : float, default=0.0
        Fraction of the training rows Keras holds out for validation metrics.
    shuffle : bool, default=True
        Shuffle the rows before each epoch.
    callbacks : list of keras.callbacks.Callback, default=None
        Callbacks for ``fit`` and ``predict``.
    warm_start : bool, default=False
        Keep the trained model and continue from it on the next ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and dropout for each ``fit``.
        An int makes a fit bit-reproducible on CPU; nothing outside the fit
        (TensorFlow's op determinism, NumPy's or Python's global generators) is
        left changed.
    verbose : int, default=0
        Keras's progress output during ``fit`` and ``predict``; 0 is silent.
    run_eagerly : bool, default=False
        Run the model eagerly (slow; for debugging).
    augmentation : list of keras.layers.Layer, default=None
        Keras preprocessing layers (``RandomFlip``, ``RandomRotation``,
        ``RandomZoom``, ``RandomTranslation``...) put in front of the model.
        They transform the training batches only: ``predict`` and feature
        extraction see the inputs unchanged.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training rows (stratified for
        classifiers, seeded by ``random_state``) and stop when their loss has not
        improved for ``n_iter_no_change`` epochs, keeping the best epoch's
        weights; ``epochs`` is then the most epochs to train (``epochs="auto"``
        without validation of your own does the same). In a stack, each
        fold model holds out rows of its own training fold, never the held-out
        fold, and the refit on all rows trains for the folds' mean best epoch.
    validation_fraction : float, default=0.1
        Fraction of the training rows held out for early stopping.
    validation_rows : {"random", "last"}, default="random"
        Which rows early stopping holds out: a random sample (stratified for
        classifiers), or the last rows, for time-ordered data (a stack with a
        time-ordered ``cv`` sets it on its members' clones).
    n_iter_no_change : int, default=5
        Epochs without improvement of the validation loss before stopping.
"""

SCALE_TARGET_PARAMETER = """\
    scale_target : "auto" or bool, default="auto"
        Train the network on each target standardized by its training rows'
        mean and standard deviation, and map its outputs back in ``predict``,
        ``to_keras`` and exported files. A network's weights start near zero,
        so one given a target far from that (diabetes: mean 152, spread 77)
        learns little in any number of epochs a user would try. "auto":
        for a network compiled with mean squared or absolute error, Huber or
        log-cosh loss (whose meaning no scale changes); True: always; False:
        never, as scikeras.
"""

_BUILDER_PARAMETERS = """\
    **kwargs
        Parameters of the model-building function (``hidden=(64,)``) and routed
        parameters: ``model__``, ``fit__``, ``predict__``, ``compile__``,
        ``optimizer__``, ``loss__`` and ``metrics__`` prefixes send a parameter
        to one destination.
"""

_SHARED_ATTRIBUTES = """\
    model_ : keras.Model
        The trained Keras model.
    history_ : dict
        Per-epoch training metrics, ``{"loss": [...], ...}``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    X_shape_ : tuple of int
        Shape of the ``X`` seen during ``fit``.
    best_epoch_ : int
        When rows were held out (``early_stopping``, ``epochs="auto"``): epochs
        trained until the lowest validation loss, whose weights the model keeps.
    validation_rows_ : ndarray of int
        When rows were held out: their positions in the training data.
"""


class KerasClassifier(
    FitStrategyMixin,
    FoldFusionMixin,
    EarlyStoppingMixin,
    AugmentationMixin,
    FastPredictMixin,
    ScikerasClassifierFixes,
    _ScikerasClassifier,
):
    __doc__ = f"""A Keras model as a scikit-learn classifier.

    scikeras's ``KerasClassifier``, fixed for current scikit-learn: it reports
    itself as a classifier (stratified cross-validation, accepted by
    ``StackingClassifier``, ``VotingClassifier``), ``random_state`` changes no
    process-wide TensorFlow setting, float32 and float64 inputs can be mixed
    between ``fit`` and ``predict``, and ``predict_proba`` of one row has shape
    ``(1, n_classes)``.

    Parameters
    ----------
{_SHARED_PARAMETERS}    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``.
{_BUILDER_PARAMETERS}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_classes_ : int
        Number of classes.
{_SHARED_ATTRIBUTES}
    See Also
    --------
    KerasRegressor : The regression counterpart.
    dense_model : A builder of dense networks for ``model``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skstack.keras import KerasClassifier, dense_model
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = KerasClassifier(dense_model, hidden=(16,), epochs=2, random_state=0)
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    """

    # Set on these classes only: a subclass may train in its own way, so its
    # folds are not fused (FoldFusionMixin.fold_fusion_blocker).
    _parameter_constraints: dict = {
        **_PARAMETER_CONSTRAINTS,
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }
    _trains_as_built = True

    def __init__(
        self,
        model=None,
        *,
        optimizer="adam",
        loss=None,
        metrics=None,
        epochs="auto",
        batch_size=None,
        validation_batch_size=None,
        validation_split=0.0,
        shuffle=True,
        callbacks=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        run_eagerly=False,
        class_weight=None,
        augmentation=None,
        early_stopping=False,
        validation_fraction=0.1,
        validation_rows="random",
        n_iter_no_change=5,
        **kwargs,
    ):
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_batch_size = validation_batch_size
        self.validation_split = validation_split
        self.shuffle = shuffle
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.run_eagerly = run_eagerly
        self.class_weight = class_weight
        self.augmentation = augmentation
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.validation_rows = validation_rows
        self.n_iter_no_change = n_iter_no_change
        store_builder_params(self, kwargs)


class KerasRegressor(
    FitStrategyMixin,
    FoldFusionMixin,
    EarlyStoppingMixin,
    AugmentationMixin,
    FastPredictMixin,
    TargetScalingMixin,
    ScikerasRegressorFixes,
    _ScikerasRegressor,
):
    __doc__ = f"""A Keras model as a scikit-learn regressor.

    scikeras's ``KerasRegressor``, fixed for current scikit-learn: it reports
    itself as a regressor (accepted by ``StackingRegressor``), ``random_state``
    changes no process-wide TensorFlow setting, and float32 and float64 inputs
    can be mixed between ``fit`` and ``predict``. Multi-output targets are
    supported.

    Parameters
    ----------
{_SHARED_PARAMETERS}{SCALE_TARGET_PARAMETER}{_BUILDER_PARAMETERS}    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    target_encoder_ : transformer
        The targets' encoding for the network: with ``scale_target``, a
        ``StandardTargetEncoder`` whose ``mean_`` and ``scale_`` standardize
        each target.
{_SHARED_ATTRIBUTES}
    See Also
    --------
    KerasClassifier : The classification counterpart.
    dense_model : A builder of dense networks for ``model``.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skstack.keras import KerasRegressor, dense_model
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = KerasRegressor(dense_model, hidden=(16,), epochs=2, random_state=0)
    >>> reg.fit(X, y).predict(X[:3]).shape
    (3,)
    """

    # Set on these classes only: a subclass may train in its own way, so its
    # folds are not fused (FoldFusionMixin.fold_fusion_blocker).
    _parameter_constraints: dict = {
        **_PARAMETER_CONSTRAINTS,
        "scale_target": [StrOptions({"auto"}), "boolean"],
    }
    _trains_as_built = True

    def __init__(
        self,
        model=None,
        *,
        optimizer="adam",
        loss=None,
        metrics=None,
        epochs="auto",
        batch_size=None,
        validation_batch_size=None,
        validation_split=0.0,
        shuffle=True,
        callbacks=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        run_eagerly=False,
        augmentation=None,
        early_stopping=False,
        validation_fraction=0.1,
        validation_rows="random",
        n_iter_no_change=5,
        scale_target="auto",
        **kwargs,
    ):
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_batch_size = validation_batch_size
        self.validation_split = validation_split
        self.shuffle = shuffle
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.run_eagerly = run_eagerly
        self.augmentation = augmentation
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.validation_rows = validation_rows
        self.n_iter_no_change = n_iter_no_change
        self.scale_target = scale_target
        store_builder_params(self, kwargs)
