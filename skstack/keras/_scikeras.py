"""The one module that touches scikeras's and Keras's private APIs.

scikeras 0.13.0 is the last release and is unmaintained. Each fix below says what
is broken and why it is fixed here. The wrappers' own features are mixins on the
hooks of :class:`~skstack.keras._training.KerasWrapperHooks` and need no
private name themselves.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import numbers
import random
import threading
import warnings
from collections.abc import Iterator

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, is_regressor
from sklearn.utils import ClassifierTags, RegressorTags, check_random_state
from sklearn.utils.validation import column_or_1d

from skstack.utils._compat import _fit_context
from skstack.utils._validation import state_restored_on_error

from ._backend import generator_restored
from ._outputs import as_probabilities, check_probability_output, logits_link
from ._training import KerasFit, KerasWrapperHooks

__all__ = [
    "ScikerasClassifierFixes",
    "ScikerasRegressorFixes",
    "encoded_training_data",
    "encoded_validation_targets",
    "keras_seed",
    "regressor_target_encoder",
    "scikeras_wrappers",
    "store_builder_params",
]


def scikeras_wrappers() -> tuple[type, type]:
    """Import scikeras's ``KerasClassifier`` and ``KerasRegressor``.

    Fix: ``import scikeras`` replaces ``__reduce__`` (and ``Model.__deepcopy__``)
    on Keras classes for the whole process with versions that reload models in
    safe mode, so a model with a ``Lambda`` layer no longer unpickles, in any
    library. Keras 3 pickles its own objects (``KerasSaveable.__reduce__``), so
    the replacements are removed again and the process keeps Keras's behaviour.
    """
    import keras
    from scikeras import _saving_utils, wrappers

    for owner in (
        keras.Model,
        keras.losses.Loss,
        keras.metrics.Metric,
        keras.optimizers.Optimizer,
    ):
        for name in ("__reduce__", "__deepcopy__"):
            patched = owner.__dict__.get(name)
            if getattr(patched, "__module__", None) == _saving_utils.__name__:
                delattr(owner, name)
    return wrappers.KerasClassifier, wrappers.KerasRegressor


def store_builder_params(estimator, params: dict) -> None:
    """Store parameters the wrapper's ``__init__`` does not name, as scikeras does.

    Parameters of the model-building function (``hidden=...``) and routed ones
    (``fit__batch_size=...``) become attributes, so ``get_params``,
    ``set_params`` and ``clone`` see them; scikeras passes the names listed in its
    private ``_user_params`` on to the builder.
    """
    vars(estimator).update(params)
    # ``build_fn`` (scikeras's deprecated ``model``) is not the builder's.
    estimator._user_params = set(params) - {"build_fn"}


def _seed_from(random_state: int | np.random.RandomState) -> int:
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


@contextlib.contextmanager
def keras_seed(random_state: int | np.random.RandomState | None) -> Iterator[None]:
    """Seed Keras, TensorFlow, NumPy and Python for one block, then restore them.

    ``None`` seeds nothing. An int always gives the same seed; a ``RandomState``
    gives a new one on each call, as in scikit-learn.

    Fix: scikeras seeds through ``TF_DETERMINISTIC_OPS`` and op determinism, which
    TensorFlow keeps on for the whole process, so any later unseeded random op
    fails with "Random ops require a seed". ``keras.utils.set_random_seed`` alone
    makes a CPU fit bit-reproducible; the previous random states are restored on
    exit so nothing outside the block sees a change. The generators are global,
    so the seeded blocks of different threads (a Dask worker's) take turns: one
    at a time holds them, and each sees its own seed only.
    """
    if random_state is None:
        yield
        return
    with _SEEDED_BLOCK, generator_restored(), _seeded(random_state):
        yield


# One seeded block at a time in a process; re-entrant, since a seeded fit
# builds its model in a seeded block of its own.
_SEEDED_BLOCK = threading.RLock()


@contextlib.contextmanager
def _seeded(random_state: int | np.random.RandomState) -> Iterator[None]:
    """The seeding and restoring of :func:`keras_seed`, for the lock's holder."""
    import keras
    import tensorflow as tf
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils
    from tensorflow.python.eager import context

    keras_names = (rng_utils.GLOBAL_RANDOM_SEED, seed_generator.GLOBAL_SEED_GENERATOR)
    saved_keras = {
        name: global_state.get_global_attribute(name) for name in keras_names
    }
    saved_python = random.getstate()
    # The legacy global generator is what Keras seeds, so it is what to restore.
    saved_numpy = np.random.get_state()  # noqa: NPY002
    saved_tf = context.global_seed()
    seed = _seed_from(random_state)
    keras.utils.set_random_seed(seed)
    try:
        with _KERAS_DEFAULT_SEEDS.seeded(seed):
            yield
    finally:
        for name, value in saved_keras.items():
            global_state.set_global_attribute(name, value)
        random.setstate(saved_python)
        np.random.set_state(saved_numpy)  # noqa: NPY002
        tf.random.set_seed(saved_tf)


class _PerThreadRandom:
    """Keras's module-level ``random``, with a generator of its own per seeded thread.

    Fix: Keras draws the seed of every unseeded initializer and seed generator
    from Python's global ``random`` (``seed_generator.make_default_seed``), so
    a layer made in any other thread (a fitted stack building its prediction
    graph, a Dask worker's event loop drawing from ``random``) took draws from
    a seeded fit's sequence and changed its initial weights. A thread in a
    seeded block draws from its own ``random.Random(seed)`` (the numbers the
    seeded global generator gives); every other thread draws from the global
    one, as before.
    """

    def __init__(self):
        self._local = threading.local()

    def __getattr__(self, name):
        generator = getattr(self._local, "generator", None)
        return getattr(random if generator is None else generator, name)

    @contextlib.contextmanager
    def seeded(self, seed: int) -> Iterator[None]:
        from keras.src.random import seed_generator

        if seed_generator.python_random is not self:
            seed_generator.python_random = self
        outer = getattr(self._local, "generator", None)
        self._local.generator = random.Random(seed)
        try:
            yield
        finally:
            self._local.generator = outer


_KERAS_DEFAULT_SEEDS = _PerThreadRandom()


def _as_model_dtype(X, fitted_dtype: np.dtype | None):
    """Cast floating input (or numbers, for a model fit on floats) to Keras floatx.

    Fix: scikeras refuses float64 at predict time after a float32 fit ("casting
    ... is not safe"). Keras computes in floatx anyway, so casting loses nothing
    the model would have seen.
    """
    import keras

    if sparse.issparse(X):
        # Fix: Keras builds an invalid SparseTensor from a column-major
        # ``csc_array`` (a deep TensorFlow "RowPartition" error); scikeras only
        # converts the older ``spmatrix`` classes. Row-major CSR works for all.
        X = X.tocsr()
    else:
        X = np.asarray(X)
    kind = X.dtype.kind
    fitted_on_floats = fitted_dtype is not None and fitted_dtype.kind == "f"
    if kind == "f" or (kind in "biu" and fitted_on_floats):
        return X.astype(keras.backend.floatx(), copy=False)
    return X


def _passes_as_fitted(wrapper, X) -> bool:
    """Whether ``X`` is rows of finite floats of the fitted shape, in a dtype
    that casts to the fitted one: input scikeras's check passes unchanged."""
    shape = getattr(wrapper, "X_shape_", None)
    fitted = getattr(wrapper, "X_dtype_", None)
    return (
        type(X) is np.ndarray
        and shape is not None
        and X.dtype.kind == "f"
        and X.ndim == len(shape) > 1
        and X.shape[0] > 0
        and X.shape[1:] == tuple(shape[1:])
        and np.can_cast(X.dtype, fitted)
        and bool(np.isfinite(X).all())
    )


@contextlib.contextmanager
def _weights_restored_on_error(wrapper, reused: bool) -> Iterator[None]:
    """Put back the values of ``wrapper.model_``'s variables if the block fails.

    Weights and optimizer state of a model trained on in place; variables the
    failed fit created (an optimizer built by it) are left to the old state's
    restore, which keeps the model object and drops nothing else.
    """
    model = getattr(wrapper, "model_", None) if reused else None
    if model is None:
        yield
        return
    optimizer = getattr(model, "optimizer", None)
    variables = list(model.variables)
    if optimizer is not None:
        variables += list(optimizer.variables)
    saved = [variable.numpy() for variable in variables]
    try:
        yield
    except BaseException:
        for variable, value in zip(variables, saved, strict=True):
            variable.assign(value)
        raise


class _ScikerasFixes(KerasWrapperHooks):
    """Overrides that make a scikeras wrapper a correct scikit-learn estimator."""

    # scikeras replaces scikit-learn's repr with a one-line-per-parameter one.
    __repr__ = BaseEstimator.__repr__

    # scikeras's deprecated alias of ``model``: a parameter only when given.
    build_fn = None

    def __sklearn_tags__(self):
        # Fix: scikeras declares its tags in ``_more_tags``, which scikit-learn >= 1.7
        # no longer reads, and lists ``ClassifierMixin`` after ``BaseEstimator`` (an
        # MRO error to reorder), so ``is_classifier`` is False and CV is not
        # stratified. Tags are built here from ``BaseEstimator``'s instead.
        # scikit-learn 1.6 still prefers ``_more_tags`` when any class in the MRO
        # has it and then crashes in ``ClassifierMixin``; hence ">=1.7".
        tags = BaseEstimator.__sklearn_tags__(self)
        tags.estimator_type = self._estimator_type
        tags.target_tags.required = True
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = True
        return tags

    # Fix: scikeras wraps model building and training in its own seeding context
    # whenever ``_random_state`` is set, and that context switches TensorFlow op
    # determinism on process-wide. Reporting None disables it; ``keras_seed``
    # seeds each fit instead.
    @property
    def _random_state(self) -> None:
        return None

    @_random_state.setter
    def _random_state(self, value) -> None:
        pass

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None, **kwargs):
        # Fix: scikeras fails deep inside ``check_X_y`` without naming the estimator.
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, "
                "but the target y is None."
            )
        # Fix: scikeras sets its fitted attributes one by one (``classes_``,
        # encoders, ``model_``), so a fit failing half-way left a mix of the new
        # and the previous fit. The previous state (or none) is restored instead;
        # a model trained on in place (``warm_start``) gets its weights back.
        reused = self.warm_start and getattr(self, "model_", None) is not None
        with state_restored_on_error(self), _weights_restored_on_error(self, reused):
            return super().fit(X, y, sample_weight=sample_weight, **kwargs)

    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, *args, **kwargs):
        with state_restored_on_error(self), _weights_restored_on_error(self, True):
            return super().partial_fit(X, y, *args, **kwargs)

    def _fit(self, X, y, **kwargs):
        with keras_seed(self.random_state):
            return super()._fit(X, y, **kwargs)

    def _initialize(self, X, y=None):
        # The data a builder written for Keras's own wrappers, ``model(X, y)``,
        # is given; held only while the network is built.
        self._builder_data = (X, y)
        try:
            X, y = super()._initialize(X, y)
        finally:
            del self._builder_data
        if y is not None:
            self.target_encoder_ = self._target_encoder_for(self.target_encoder_, y)
        return X, y

    def _check_model_param(self):
        build = super()._check_model_param()
        data = getattr(self, "_builder_data", None)
        if data is None or not (has_param(build, "X") and has_param(build, "y")):
            return build
        # Keras's wrappers give the builder its training data: X as an array,
        # y as the network's targets (a classifier's labels one-hot).
        X, y = data
        X = X if sparse.issparse(X) else np.asarray(X)
        return functools.partial(build, X=X, y=self._targets_for_builder(y))

    def _targets_for_builder(self, y):
        if y is None:
            return None
        y = np.asarray(y)
        return y.reshape(len(y), -1) if y.ndim == 1 else y

    def initialize(self, X, y=None):
        with state_restored_on_error(self), keras_seed(self.random_state):
            return super().initialize(X, y)

    def _build_keras_model(self):
        model = super()._build_keras_model()
        if model is self.model:
            # Fix: scikeras trains the user's own ``keras.Model`` in place, so the
            # ``model`` parameter changes during ``fit`` and a second fit goes on
            # from the first one's weights. Each fit starts from a copy instead.
            # Copying a compiled, never-trained model makes Keras warn that the
            # unbuilt optimizer has no state to restore, which is expected here.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Skipping variable loading")
                model = copy.deepcopy(model)
        return self._model_for_training(model)

    def _fit_keras_model(self, X, y, **arguments):
        # scikeras's training call (all keywords), through the features'
        # ``_train_keras_model`` hook, whose last link is ``_run_keras_fit``.
        named = ("sample_weight", "warm_start", "epochs", "initial_epoch")
        fit_arguments = {name: arguments.pop(name) for name in named}
        self._train_keras_model(KerasFit(X, y, **fit_arguments, kwargs=arguments))

    def _run_keras_fit(self, fit: KerasFit) -> None:
        """scikeras's training, with ``fit.callbacks`` added to the ones it
        builds for this call only (scikeras drops ``callbacks`` given to ``fit``)."""
        own_callbacks = self._fit_callbacks
        self._fit_callbacks = [*own_callbacks, *fit.callbacks]
        try:
            super()._fit_keras_model(
                fit.X,
                fit.y,
                sample_weight=fit.sample_weight,
                warm_start=fit.warm_start,
                epochs=fit.epochs,
                initial_epoch=fit.initial_epoch,
                **fit.kwargs,
            )
        finally:
            self._fit_callbacks = own_callbacks

    def _predict_raw(self, X, **kwargs):
        # Calls with predict arguments or callbacks acting on prediction take
        # scikeras's path; others give the encoded input to the
        # ``_predict_encoded`` hook first.
        if (
            kwargs
            or not getattr(self, "initialized_", False)
            or any(map(_acts_on_prediction, self._predict_callbacks))
        ):
            return super()._predict_raw(X, **kwargs)
        X_checked, _ = self._validate_data(X=X, y=None)
        outputs = self._predict_encoded(self.feature_encoder_.transform(X_checked))
        return super()._predict_raw(X) if outputs is None else outputs

    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        if X is not None:
            fitted_dtype = None if reset else getattr(self, "X_dtype_", None)
            X = _as_model_dtype(X, fitted_dtype)
            n_features = getattr(self, "n_features_in_", None)
            if not reset and X.ndim == 2 and n_features not in (None, X.shape[1]):
                # Fix: scikit-learn's wording, which its checks and users expect.
                raise ValueError(
                    f"X has {X.shape[1]} features, but {type(self).__name__} "
                    f"is expecting {n_features} features as input."
                )
            if not reset and y is None and _passes_as_fitted(self, X):
                # What scikeras's check would return unchanged (a tenth of a
                # one-row prediction).
                return X, None
        return super()._validate_data(X, y, reset=reset, y_numeric=y_numeric)


_PREDICTION_HOOKS = (
    "on_predict_begin",
    "on_predict_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)


def _acts_on_prediction(callback) -> bool:
    """Whether a callback overrides a prediction hook (EarlyStopping does not)."""
    import keras

    return any(
        getattr(type(callback), hook) is not getattr(keras.callbacks.Callback, hook)
        for hook in _PREDICTION_HOOKS
    )


def xla_compilable(model) -> bool:
    """Whether Keras's own test lets XLA compile ``model`` (its layers allow
    it, TensorFlow's op determinism is off), leaving out its rule that a
    machine without accelerators never uses XLA."""
    from keras.src.trainers.trainer import model_supports_jit

    return model_supports_jit(model)


def fit_callbacks(wrapper) -> list:
    """The callbacks scikeras made for an initialized wrapper's ``fit``."""
    return list(wrapper._fit_callbacks)


def encoded_training_data(wrapper, X, y, sample_weight=None):
    """The arrays scikeras's ``fit`` gives ``Model.fit``, for an initialized wrapper.

    Fold fusion trains several initialized wrappers' networks in one graph, so it
    needs the inputs and targets as scikeras would encode them; this repeats the
    steps of scikeras's private ``_fit`` up to the Keras call.
    """
    X, y = wrapper._validate_data(X, y)
    wrapper._ensure_compiled_model()
    if sample_weight is not None:
        X, y, sample_weight = wrapper._validate_sample_weight(X, y, sample_weight)
    y = wrapper.target_encoder_.transform(y)
    X = wrapper.feature_encoder_.transform(X)
    wrapper._check_model_compatibility(y)
    return X, y, sample_weight


class ScikerasClassifierFixes(_ScikerasFixes):
    """Fixes for ``scikeras.wrappers.KerasClassifier``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags = ClassifierTags(multi_label=True, poor_score=True)
        return tags

    def fit(self, X, y=None, sample_weight=None, **kwargs):
        # Fix: scikeras takes a column vector of labels silently; scikit-learn's
        # classifiers ravel it with a DataConversionWarning so the mistake shows.
        if y is not None and not sparse.issparse(y):
            y = np.asarray(y)
            if y.ndim == 2 and y.shape[1] == 1:
                y = column_or_1d(y, warn=True)
        return super().fit(X, y, sample_weight=sample_weight, **kwargs)

    def _initialize(self, X, y=None):
        X, y = super()._initialize(X, y)
        # Fix: scikeras one-hot encodes the labels only when the wrapper's own
        # ``loss`` is categorical crossentropy, and never for two classes; a
        # network compiled with it in its builder (as Keras users write one,
        # ``Dense(n_classes, "softmax")``) was given label indices and failed
        # deep in Keras. Its compiled loss now decides, two classes included.
        if y is not None and self._wants_one_hot_labels():
            loss = self.loss if self.loss is not None else self.model_.loss
            categories = "auto" if self.classes_ is None else [self.classes_]
            encoder = OneHotLabelEncoder(loss=loss, categories=categories)
            self.target_encoder_ = encoder.fit(y)
            vars(self).update(self.target_encoder_.get_metadata())
        return X, y

    def _targets_for_builder(self, y):
        y = None if y is None else np.asarray(y)
        if y is None or y.ndim != 1 or self.classes_ is None:
            return super()._targets_for_builder(y)
        return (y[:, None] == self.classes_).astype(np.float32)

    def _wants_one_hot_labels(self) -> bool:
        """Whether the network, compiled with categorical crossentropy, has one
        output of a unit per class, and scikeras's labels are indices."""
        loss = self.loss if self.loss is not None else self.model_.loss
        target_type = getattr(self, "target_type_", None)
        if not _is_categorical_crossentropy(loss) or target_type not in (
            "binary",
            "multiclass",
        ):
            return False
        if target_type == "multiclass" and _is_categorical_crossentropy(self.loss):
            return False  # scikeras one-hot encodes these itself
        outputs = getattr(self.model_, "outputs", None) or []
        return len(outputs) == 1 and outputs[0].shape[-1] == self.n_classes_

    def _predict_raw(self, X, **kwargs):
        outputs = super()._predict_raw(X, **kwargs)
        link = logits_link(self.model_)
        return outputs if link is None else as_probabilities(outputs, link)

    def predict_proba(self, X, **kwargs):
        if getattr(self, "model_", None) is not None:
            check_probability_output(self.model_, type(self).__name__)
        encoder = getattr(self, "target_encoder_", None)
        if _decodes_as_scikeras(encoder):
            # scikeras's encoder also decodes the class labels, then drops them
            # (a fifth of a one-row call); the probabilities are made as it does.
            proba = _as_class_columns(self._predict_raw(X, **kwargs), encoder)
        else:
            proba = super().predict_proba(X, **kwargs)
        n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
        # classes_ is None after initialize() and a warm fit, as in scikeras.
        if self.classes_ is not None and len(self.classes_) == 1:
            # Fix: fitted on a single class (a stacking fold can be), scikeras
            # returns the untrained sigmoid's output as that class's probability.
            # A one-class classifier is certain, as scikit-learn's are.
            return np.ones((n_rows, 1))
        # Fix: scikeras ``np.squeeze``s the probabilities, so one row came back
        # as ``(n_classes,)``.
        return proba.reshape(n_rows, -1)


def _decodes_as_scikeras(encoder) -> bool:
    """Whether ``encoder`` turns outputs into probabilities as scikeras's does."""
    inverse = getattr(type(encoder), "inverse_transform", None)
    return inverse is _scikeras_transformers().ClassifierLabelEncoder.inverse_transform


def _as_class_columns(outputs: np.ndarray, encoder) -> np.ndarray:
    """A network's outputs as a column per class: scikeras's
    ``ClassifierLabelEncoder.inverse_transform(..., return_proba=True)``."""
    single_sigmoid = outputs.ndim == 1 or (
        outputs.shape[1] == 1 and encoder.n_classes_ == 2
    )
    if encoder._target_type == "binary" and single_sigmoid:
        return np.column_stack([1 - outputs, outputs])
    return outputs


def has_param(function, name: str) -> bool:
    """Whether ``function`` takes a parameter ``name`` (scikeras's own test)."""
    from scikeras._utils import has_param as scikeras_has_param

    return scikeras_has_param(function, name)


def _scikeras_transformers():
    """scikeras's target and feature transformers (scikeras imported once, its
    process-wide patches undone)."""
    scikeras_wrappers()
    from scikeras.utils import transformers

    return transformers


_transformers = _scikeras_transformers()


def regressor_target_encoder() -> type:
    """scikeras's ``RegressorTargetEncoder`` class."""
    return _transformers.RegressorTargetEncoder


def encoded_validation_targets(wrapper, y):
    """``y`` of a regressor's ``validation_data`` as its network trains on it."""
    y = np.asarray(y)
    return wrapper.target_encoder_.transform(y) if is_regressor(wrapper) else y


_is_categorical_crossentropy = _transformers._is_categorical_crossentropy


class OneHotLabelEncoder(_transformers.ClassifierLabelEncoder):
    """scikeras's label encoder, one-hot for two classes as for more."""

    def _type_of_target(self, y):
        target_type = super()._type_of_target(y)
        return "multiclass" if target_type == "binary" else target_type


class ScikerasRegressorFixes(_ScikerasFixes):
    """Fixes for ``scikeras.wrappers.KerasRegressor``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags = RegressorTags(poor_score=True)
        tags.target_tags.multi_output = True
        return tags

    def _fit_keras_model(self, X, y, **arguments):
        # Fix: scikeras gives ``validation_data`` to Keras as it came, so its
        # targets were compared with outputs the target encoder made.
        given = arguments.get(
            "validation_data", getattr(self, "fit__validation_data", None)
        )
        if given is not None:
            X_val, y_val, *weights = given
            y_val = encoded_validation_targets(self, y_val)
            arguments["validation_data"] = (X_val, y_val, *weights)
        return super()._fit_keras_model(X, y, **arguments)

    def predict(self, X, **kwargs):
        # Fix: scikeras returns the model's float32; scikit-learn's regressors and
        # its checks give float64.
        return np.asarray(super().predict(X, **kwargs), dtype=np.float64)
