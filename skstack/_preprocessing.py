"""``Flatten``: N-D samples to rows, so 2-D-only estimators can join a stack."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .utils._compat import _fit_context


class Flatten(TransformerMixin, BaseEstimator):
    """Reshape samples of any shape ``(n_samples, ...)`` to ``(n_samples, n_values)``.

    Put it in front of an estimator that takes only 2-D input to stack it with
    Keras networks fed images or sequences:
    ``make_pipeline(Flatten(), LogisticRegression())``.

    Attributes
    ----------
    n_features_in_ : int
        Size of the second axis of X seen in ``fit``.
    sample_shape_ : tuple of int
        Shape of one sample seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from skstack import Flatten
    >>> images = np.zeros((5, 8, 8, 1))
    >>> Flatten().fit_transform(images).shape
    (5, 64)
    """

    _parameter_constraints: dict = {}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the shape of one sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples.
        y : None
            Ignored.

        Returns
        -------
        self : object
            This transformer.
        """
        X = validate_data(self, X, allow_nd=True)
        self.sample_shape_ = X.shape[1:]
        return self

    def transform(self, X):
        """Flatten each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples of the shape seen in ``fit``.

        Returns
        -------
        X_flat : ndarray of shape (n_samples, n_values)
            One row per sample.
        """
        check_is_fitted(self)
        X = validate_data(self, X, allow_nd=True, reset=False)
        if X.shape[1:] != self.sample_shape_:
            raise ValueError(
                f"X has samples of shape {X.shape[1:]}, but Flatten was fitted on "
                f"samples of shape {self.sample_shape_}."
            )
        return X.reshape(X.shape[0], -1)

    def get_feature_names_out(self, input_features=None):
        """Names ``x0, x1, ...`` of the flattened values.

        Parameters
        ----------
        input_features : None
            Ignored; flattened values have no input names.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per value of a sample.
        """
        check_is_fitted(self)
        n_values = int(np.prod(self.sample_shape_))
        return np.asarray([f"x{i}" for i in range(n_values)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
