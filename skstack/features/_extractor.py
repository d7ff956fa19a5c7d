"""``KerasFeatureExtractor``: a Keras network's layer as a scikit-learn transformer."""

from __future__ import annotations

import numbers
import os

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._compat import Interval, StrOptions, _fit_context


def _load_network(model):
    """The Keras model behind ``model``: a fitted one, a saved file, or a wrapper's."""
    import keras

    from skstack.keras._models import load_member
    from skstack.keras._training import without_augmentation

    if isinstance(model, (str, os.PathLike, keras.Model)):
        return load_member(model, None, "KerasFeatureExtractor")
    return without_augmentation(model.model_)


class KerasFeatureExtractor(TransformerMixin, BaseEstimator):
    """Features from a layer of a Keras network, as a scikit-learn transformer.

    Two-stage training in one ``Pipeline``: the network (stage one) is trained
    in ``fit`` when ``model`` is an estimator (a
    :class:`~skstack.keras.KerasClassifier` with ``augmentation``, a chain...),
    or used as is when it is a fitted ``keras.Model`` or a saved file; a second
    estimator then learns from the extracted features.

    Parameters
    ----------
    model : estimator, keras.Model or str
        A skstack Keras estimator trained on ``(X, y)`` in ``fit``; a fitted
        ``keras.Model`` (copied); or the path of a saved ``.keras``/``.h5``
        model (loaded in Keras safe mode).
    layer : int or str, default=-2
        The layer whose output becomes the features: an index into the
        network's layers (the default is the penultimate) or a layer name.
    pooling : {None, "avg", "max"}, default=None
        For N-D layer outputs (feature maps): None flattens them; ``"avg"`` or
        ``"max"`` pools over every axis but the last (channels).
    batch_size : int, default=256
        Rows per forward pass; memory stays bounded by the batch, whatever the
        number of rows.

    Attributes
    ----------
    estimator_ : estimator
        The fitted stage-one estimator, when ``model`` is one.
    extractor_ : keras.Model
        The network cut at ``layer``.
    n_features_in_ : int
        Size of the second axis of X seen in ``fit``.
    n_features_out_ : int
        Number of features produced.

    Examples
    --------
    >>> import keras, numpy as np
    >>> from skstack.features import KerasFeatureExtractor
    >>> inputs = keras.Input((4,))
    >>> hidden = keras.layers.Dense(3, name="hidden")(inputs)
    >>> network = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    >>> KerasFeatureExtractor(network).fit_transform(np.ones((5, 4))).shape
    (5, 3)
    """

    _parameter_constraints: dict = {
        "model": "no_validation",  # a network, a path or an estimator: fit says
        "layer": [numbers.Integral, str],
        "pooling": [None, StrOptions({"avg", "max"})],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, model, *, layer=-2, pooling=None, batch_size=256):
        self.model = model
        self.layer = layer
        self.pooling = pooling
        self.batch_size = batch_size

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Train the network if ``model`` is an estimator, then cut it at ``layer``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Training samples.
        y : array-like of shape (n_samples,), default=None
            Targets of stage one (needed when ``model`` is an estimator).

        Returns
        -------
        self : object
            The fitted transformer.
        """
        import keras

        X = validate_data(self, X, allow_nd=True, dtype="numeric", reset=True)
        estimator = None
        if not isinstance(self.model, (str, os.PathLike, keras.Model)):
            if not hasattr(self.model, "fit"):
                raise TypeError(
                    "model must be a Keras estimator, a keras.Model or a path, got "
                    f"{type(self.model).__name__}."
                )
            if y is None:
                raise ValueError(
                    "KerasFeatureExtractor trains its network in fit, so it "
                    "requires y to be passed, but the target y is None."
                )
            estimator = clone(self.model).fit(X, y)
        network = _load_network(estimator if estimator is not None else self.model)
        from skstack.keras._models import cut_at_layer

        extractor = cut_at_layer(
            network, self.layer, "KerasFeatureExtractor: the network"
        )
        self._sample_shape = X.shape[1:]
        self.estimator_ = estimator
        self.extractor_ = extractor
        self.n_features_out_ = int(self._extract(X[:1]).shape[1])
        return self

    def _extract(self, X) -> np.ndarray:
        import keras

        outputs = []
        for start in range(0, X.shape[0], self.batch_size):
            batch = X[start : start + self.batch_size].astype(keras.backend.floatx())
            # Calling the model (not ``predict``) skips its per-call data
            # pipeline; training=False keeps dropout and augmentation off.
            features = keras.ops.convert_to_numpy(
                self.extractor_(batch, training=False)
            )
            if features.ndim > 2:
                if self.pooling == "avg":
                    features = features.mean(axis=tuple(range(1, features.ndim - 1)))
                elif self.pooling == "max":
                    features = features.max(axis=tuple(range(1, features.ndim - 1)))
                else:
                    features = features.reshape(features.shape[0], -1)
            outputs.append(features.astype(np.float64, copy=False))
        return np.concatenate(outputs)

    def transform(self, X):
        """Extract the features of X, batch by batch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Samples of the shape seen in ``fit``.

        Returns
        -------
        features : ndarray of shape (n_samples, `n_features_out_`)
            The layer's output (flattened or pooled), float64.
        """
        check_is_fitted(self, "extractor_")
        X = validate_data(self, X, allow_nd=True, dtype="numeric", reset=False)
        if X.shape[1:] != self._sample_shape:
            raise ValueError(
                f"X has samples of shape {X.shape[1:]}, but KerasFeatureExtractor "
                f"was fitted on samples of shape {self._sample_shape}."
            )
        return self._extract(X)

    def _keras_form(self, X):
        """The features of the graph's tensor ``X``, as ``transform`` gives them.

        The hook of ``skstack.to_keras``: a copy of the cut network, pooled or
        flattened, output in float64.
        """
        import copy
        import warnings

        import keras

        from skstack.keras._training import without_augmentation

        with warnings.catch_warnings():
            # A compiled model's copy warns that its optimizer is not copied.
            warnings.filterwarnings("ignore", "Skipping variable loading")
            network = copy.deepcopy(without_augmentation(self.extractor_))
        features = network(keras.layers.Identity(dtype=keras.backend.floatx())(X))
        axes = tuple(range(1, len(features.shape) - 1))
        if axes and self.pooling == "avg":
            features = keras.ops.mean(features, axis=axes)
        elif axes and self.pooling == "max":
            features = keras.ops.max(features, axis=axes)
        elif axes:
            features = keras.layers.Flatten()(features)
        return keras.layers.Identity(dtype="float64")(features)

    def get_feature_names_out(self, input_features=None):
        """Names ``<layer>_0, <layer>_1, ...`` of the extracted features.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per feature.
        """
        check_is_fitted(self, "extractor_")
        prefix = self.extractor_.layers[-1].name
        return np.asarray(
            [f"{prefix}_{i}" for i in range(self.n_features_out_)], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # An estimator as model is stage one, trained on y in fit.
        tags.target_tags.required = hasattr(self.model, "get_params")
        return tags


def from_keras_transformer(estimator) -> KerasFeatureExtractor:
    """skstack's equivalent of a Keras ``SKLearnTransformer``.

    Its network is trained on the step's ``(X, y)`` by skstack's regressor of
    the same builder and fit arguments (as Keras's transformer trains it),
    and its output gives the features.

    Parameters
    ----------
    estimator : keras.wrappers.SKLearnTransformer
        The transformer to convert; left unchanged.

    Returns
    -------
    extractor : KerasFeatureExtractor
        Unfitted, with ``layer=-1`` (the network's output).
    """
    from skstack.keras._keras_wrappers import skstack_wrapper

    return KerasFeatureExtractor(skstack_wrapper(estimator), layer=-1)
