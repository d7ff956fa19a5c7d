"""What a fitted stack offers: meta-features, feature names, report, Keras export."""

from __future__ import annotations

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from ..utils._errors import member_error
from ._crossfit import is_drop
from ._extension import keras_function
from ._graph import predict_by_graph
from ._report import StackReport, member_correlation


class _FittedStack:
    """The methods of a fitted stack; the fitting is ``_BaseStacking``'s."""

    def _transform(self, X):
        X_checked, X, _ = self._validate_input(X, reset=False)
        blocks = []
        for name, member, method in self._kept_members_and_methods():
            models = member if isinstance(member, list) else [member]
            outputs = []
            for model in models:
                try:
                    prediction = getattr(model, method)(X)
                except Exception as exc:
                    raise member_error(exc, name, "predicting", X) from exc
                outputs.append(self._columns(prediction, model, method, name))
            blocks.append(np.mean(outputs, axis=0))
        return self._stack_features(blocks, X_checked)

    def _predict_by_graph(self, X):
        """The stack's output for a few rows from one compiled graph, or None."""
        return predict_by_graph(self, X)

    def _kept_members(self):
        return [(n, m) for n, m in self.named_estimators_.items() if not is_drop(m)]

    def _kept_members_and_methods(self):
        """(name, fitted member, stack method), in the order of ``estimators_``."""
        return [
            (name, member, method)
            for (name, member), method in zip(
                self._kept_members(), self.stack_method_, strict=True
            )
        ]

    def transform(self, X):
        """Meta-features of X: each fitted member's predictions (and X if passthrough).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
(n_samples, ...)
            Input samples.

        Returns
        -------
        X_meta : ndarray of shape (n_samples, n_meta_features)
            What the meta-learner predicts from.
        """
        return self._transform(X)

    def fit_transform(self, X, y, **fit_params):
        """Fit the stack and return the out-of-fold meta-features.

        Unlike scikit-learn's stacking, these are the out-of-fold predictions the
        meta-learner was trained on (``oof_predictions_``), not the refitted
        members' predictions of their own training rows, which leak the target.
        Rows that no test part of ``cv`` holds (a ``TimeSeriesSplit``'s first
        rows, a holdout's training rows) have no out-of-fold prediction: their
        meta-feature columns are NaN (``oof_mask_`` is False there).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
(n_samples, ...)
            Training samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        **fit_params : dict
            Passed to ``fit`` (``sample_weight``).

        Returns
        -------
        X_meta : ndarray of shape (n_samples, n_meta_features)
            A copy of ``oof_predictions_``, NaN on rows without an
            out-of-fold prediction.
        """
        return self.fit(X, y, **fit_params).oof_predictions_.copy()

    def report(self, X=None, y=None) -> StackReport:
        """Members' out-of-fold scores and the correlation of their predictions.

        Parameters
        ----------
        X : array-like, default=None
            Held-out samples to score the whole stack on.
        y : array-like, default=None
            Their targets.

        Returns
        -------
        report : StackReport
            Printable table (``str(report)``), ``to_frame()`` (pandas) and
            ``plot()`` (matplotlib) of ``fold_scores_``, the members'
            correlation and the stack's score on (X, y).
        """
        check_is_fitted(self, "final_estimator_")
        if not self.fold_scores_:
            raise ValueError(
                "report() needs out-of-fold scores, which cv='prefit' does not make."
            )
        edges = np.cumsum([0, *self._member_widths])
        # The rows with out-of-fold predictions (all, for a k-fold cv).
        predicted = getattr(self, "oof_mask_", slice(None))
        blocks = [
            self.oof_predictions_[predicted, start:stop]
            for start, stop in zip(edges[:-1], edges[1:], strict=True)
        ]
        if self.scoring is None:
            scoring = "accuracy" if is_classifier(self) else "r2"
        else:
            scoring = self.scoring if isinstance(self.scoring, str) else "score"
        return StackReport(
            members=list(self.fold_scores_),
            fold_scores=dict(self.fold_scores_),
            correlation=member_correlation(blocks),
            stack_score=None if X is None else float(self.score(X, y)),
            scoring=scoring,
        )

    def plot_report(self, X=None, y=None, ax=None):
        """Draw :meth:`report` with matplotlib (``pip install skstack[plots]``).

        Parameters
        ----------
        X, y : array-like, default=None
            Held-out data to score the stack on.
        ax : sequence of two matplotlib Axes, default=None
            Where to draw.

        Returns
        -------
        axes : ndarray of matplotlib Axes
            Scores and correlation heatmap.
        """
        return self.report(X, y).plot(ax=ax)

    def to_keras(self):
        """The fitted stack as one Keras model: X in, the stack's output out.

        Each member, a Keras wrapper (a copy of its trained network; averaged
        fold models are averaged in the graph) or a linear scikit-learn model
        (``LogisticRegression``, ``Ridge``...: a ``Dense`` layer), feeds the
        meta-learner, itself Keras or linear. ``model.predict_on_batch(X)``
        runs it as one compiled graph (about a millisecond for a row of small
        networks), where the stack calls each member in turn. Save it with
        ``model.save("stack.keras")``.

        Returns
        -------
        model : keras.Model
            Outputs ``predict_proba`` (shape ``(n_samples, n_classes)``) for a
            classifier, the predictions (``(n_samples, n_outputs)``) for a
            regressor.

        Raises
        ------
        TypeError
            If a member or the meta-learner is neither a skstack Keras wrapper
            nor a linear model; the message names it.
        """
        check_is_fitted(self, "final_estimator_")
        return keras_function("stack_to_keras")(self)

    def get_feature_names_out(self, input_features=None):
        """Names of the meta-features, then of the passed-through features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Names of the input features, used with ``passthrough``. Defaults to
            ``feature_names_in_`` if fitted on a DataFrame, else
            ``x0, x1, ...`` over the flattened features.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``<estimator>_proba_<class>``, ``<estimator>_decision_<class>`` or
            ``<estimator>_predict[<output>]`` per column.
        """
        check_is_fitted(self, "final_estimator_")
        names = []
        for name, _, method in self._kept_members_and_methods():
            names.extend(self._columns.names(name, method))
        if self.passthrough:
            names.extend(self._input_feature_names(input_features))
        return np.asarray(names, dtype=object)

    def _input_feature_names(self, input_features) -> list[str]:
        n_flat = int(np.prod(self._sample_shape))
        known = getattr(self, "feature_names_in_", None)
        if input_features is None:
            if known is not None:
                return list(known)
            return [f"x{i}" for i in range(n_flat)]
        input_features = list(input_features)
        if known is not None and input_features != list(known):
            raise ValueError(
                "input_features is not equal to feature_names_in_: "
                f"{input_features} != {list(known)}."
            )
        if len(input_features) != n_flat:
            raise ValueError(
                f"input_features should have length {n_flat}, got "
                f"{len(input_features)}."
            )
        return input_features
