"""The fitting the two linear meta-learners share: scaling, L-BFGS, Keras model.

The losses are the rows' weighted means with exact NumPy gradients, for scipy's
L-BFGS; the fitted weights become one Keras ``Dense`` layer (``model_``).
"""

from __future__ import annotations

import keras
import numpy as np
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from skstack.utils._validation import check_sample_weight

from ._layers import LOGIT_EPSILON, ProbabilityLogit


class LinearMetaBase(BaseEstimator):
    """Shared fitting of the two linear meta-learners."""

    def _scaled_features(self, X, weights=None, logit=False) -> np.ndarray:
        """Logits of the probability columns, then standardized columns.

        With ``weights`` (in ``fit``), the probability columns and the
        standardization are learnt from the rows, weighted.
        """
        # A copy, since columns are replaced below; sparse input (a stack's
        # passthrough of sparse X) is made dense, as standardizing would.
        Z = X.toarray() if sparse.issparse(X) else np.array(X, dtype=np.float64)
        if weights is not None:
            counted = Z[weights > 0]
            within = np.all((counted >= 0.0) & (counted <= 1.0), axis=0)
            self.proba_columns_ = within & bool(logit)
        columns = self.proba_columns_
        if columns.any():
            clipped = np.clip(Z[:, columns], LOGIT_EPSILON, 1.0 - LOGIT_EPSILON)
            # As ProbabilityLogit computes it in the exported graph.
            Z[:, columns] = np.log(clipped) - np.log(1.0 - clipped)
        if weights is not None:
            self.mean_ = np.average(Z, axis=0, weights=weights)
            scale = np.sqrt(np.average((Z - self.mean_) ** 2, axis=0, weights=weights))
            self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        return (Z - self.mean_) / self.scale_

    def _minimize(
        self, loss_and_gradient, n_features, n_units, penalty, start=None, tol=None
    ):
        """Weights minimizing ``loss + penalty / 2 * ||coef||^2`` (intercept free).

        Returns the weights, the intercepts and the iterations run.
        """
        size = n_units * n_features

        def objective(flat):
            coef = flat[:size].reshape(n_units, n_features)
            loss, grad_coef, grad_intercept = loss_and_gradient(coef, flat[size:])
            loss += 0.5 * penalty * np.sum(coef * coef)
            grad_coef = grad_coef + penalty * coef
            return loss, np.concatenate([grad_coef.ravel(), grad_intercept])

        if start is None:
            start = np.zeros(size + n_units)
        else:
            start = np.concatenate([start[0].ravel(), start[1]])
        result = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            options={
                "maxiter": self.max_iter,
                "gtol": self.tol if tol is None else tol,
                "ftol": 1e-12 if tol is None else tol * 1e-3,
            },
        )
        coef = result.x[:size].reshape(n_units, n_features)
        return coef, result.x[size:], int(result.nit)

    def _keras_model(self, n_features, activation, dtype="float32"):
        """The logit layer and one ``Dense`` with the scaling folded in.

        ``model_`` in float32; ``stack.to_keras()`` builds it in float64, as
        ``predict`` computes.
        """
        kernel = (self.coef_ / self.scale_).T
        bias = self.intercept_ - self.coef_ @ (self.mean_ / self.scale_)
        inputs = keras.Input(shape=(n_features,), name="meta_features", dtype=dtype)
        x = inputs
        if self.proba_columns_.any():
            x = ProbabilityLogit(
                self.proba_columns_.tolist(), name="logit", dtype=dtype
            )(x)
        dense = keras.layers.Dense(
            kernel.shape[1], activation=activation, name="linear", dtype=dtype
        )
        outputs = dense(x)
        dense.set_weights([kernel.astype(dtype), bias.astype(dtype)])
        return keras.Model(inputs, outputs, name="linear_meta_learner")

    def _decision(self, X) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64, accept_sparse=True)
        return self._scaled_features(X) @ self.coef_.T + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def squared_error(Z, target, weights):
    """The rows' weighted mean squared error and its gradient, of (coef, intercept)."""
    total = weights.sum()

    def loss_and_gradient(coef, intercept):
        residual = Z @ coef.T + intercept - target
        weighted = weights[:, None] * residual
        loss = np.sum(weighted * residual)
        return loss / total, 2.0 * weighted.T @ Z / total, 2.0 * weighted.sum(0) / total

    return loss_and_gradient


def cross_entropy(Z, targets, weights, n_units):
    """The rows' mean weighted cross-entropy and its gradient, of (coef, intercept).

    ``targets`` of shape (n_rows, n_units), 0s and 1s: independent sigmoid
    units (two classes, or a multilabel indicator), the cross-entropies summed
    over units; ``targets`` of class indices (1-D): a softmax over ``n_units``.
    """
    total = weights.sum()
    if targets.ndim == 2:

        def loss_and_gradient(coef, intercept):
            z = Z @ coef.T + intercept
            # log(1 + e^z) - y z, stable for large |z|
            loss = weights @ np.sum(-log_expit(z) + (1.0 - targets) * z, axis=1)
            residual = weights[:, None] * (expit(z) - targets)
            return loss / total, residual.T @ Z / total, residual.sum(axis=0) / total

        return loss_and_gradient
    encoded = targets
    one_hot = np.eye(n_units)[encoded]
    rows = np.arange(len(encoded))

    def loss_and_gradient(coef, intercept):
        logits = Z @ coef.T + intercept
        logits -= logits.max(axis=1, keepdims=True)  # exp cannot overflow
        exp = np.exp(logits)
        norm = exp.sum(axis=1)
        loss = weights @ (np.log(norm) - logits[rows, encoded])
        residual = weights[:, None] * (exp / norm[:, None] - one_hot)
        return loss / total, residual.T @ Z / total, residual.sum(axis=0) / total

    return loss_and_gradient


def row_weights(sample_weight, X) -> np.ndarray:
    weights = check_sample_weight(sample_weight, X.shape[0])
    weights = np.ones(X.shape[0]) if weights is None else weights
    if weights.sum() <= 0:
        raise ValueError("sample_weight is all zero: no row to fit on.")
    return weights
