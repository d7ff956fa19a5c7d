"""How a member's predictions become meta-feature columns."""

from __future__ import annotations

import numpy as np
from sklearn.base import is_regressor


class MetaColumns:
    """Turns one member's predictions into meta-feature columns.

    Small and picklable, so fold tasks in worker processes carry it.

    Parameters
    ----------
    classes : ndarray or None
        The labels the members were fitted on (None for regression). Columns of
        ``predict_proba``/``decision_function`` are aligned to these, so a class
        missing from a member's training fold gets a column of zeros.
    labels : ndarray or None
        The user's class labels, used in feature names.
    n_outputs : int
        Number of regression targets.
    drop_first : bool
        Drop the first class's probability column of multi-class members.
    n_labels : int or None
        Number of labels of a multilabel-indicator target (None otherwise):
        each member gives one column per label.
    """

    def __init__(
        self, classes=None, labels=None, n_outputs=1, drop_first=False, n_labels=None
    ):
        self.classes = classes
        self.labels = labels
        self.n_outputs = n_outputs
        self.drop_first = drop_first
        self.n_labels = n_labels

    def names(self, name: str, method: str) -> list[str]:
        """Feature names of the columns this member contributes."""
        if self.n_labels is not None:
            kind = _KINDS[method]
            return [f"{name}_{kind}_{j}" for j in range(self.n_labels)]
        if self.classes is None:
            if self.n_outputs == 1:
                return [f"{name}_predict"]
            return [f"{name}_predict{j}" for j in range(self.n_outputs)]
        if method == "predict":
            return [f"{name}_predict"]
        kind = _KINDS[method]
        labels = list(self.labels)
        if method == "predict_proba":
            labels = labels[kept_probability_columns(len(labels), self.drop_first)]
        elif len(labels) == 2:
            labels = labels[1:]  # one score, the positive class's
        return [f"{name}_{kind}_{label}" for label in labels]

    def __call__(self, prediction, member, method: str, name: str) -> np.ndarray:
        if self.n_labels is not None:
            return self._multilabel(prediction, member, method, name)
        prediction = np.asarray(prediction)
        n_rows = prediction.shape[0]
        if self.classes is None:
            return prediction.reshape(n_rows, -1).astype(np.float64)
        if method == "predict":
            if is_regressor(member):
                # A regressor in a classifier stack: its predictions are numbers.
                return prediction.reshape(n_rows, -1).astype(np.float64)
            positions = self._positions(prediction.reshape(n_rows), name, "predicted")
            return positions.reshape(n_rows, 1).astype(np.float64)

        member_classes = np.asarray(member.classes_)
        positions = self._positions(member_classes, name, "classes_")
        n_classes = len(self.classes)
        if method == "decision_function":
            if len(member_classes) != n_classes:
                missing = sorted(set(range(n_classes)) - set(positions.tolist()))
                raise ValueError(
                    f"its decision_function has no column for classes "
                    f"{np.asarray(self.labels)[missing].tolist()}, absent from its "
                    "training data. Use a stratified cv so each training fold "
                    "holds every class, or stack_method='predict_proba'."
                )
            scores = prediction.reshape(n_rows, -1).astype(np.float64)
            return scores if n_classes > 2 else scores[:, -1:]

        proba = prediction.reshape(n_rows, -1).astype(np.float64)
        aligned = np.zeros((n_rows, n_classes))
        aligned[:, positions] = proba
        return aligned[:, kept_probability_columns(n_classes, self.drop_first)]

    def _multilabel(self, prediction, member, method: str, name: str) -> np.ndarray:
        """One column per label: its probability, score or predicted value."""
        if method == "predict_proba" and isinstance(prediction, list):
            prediction = positive_probabilities(
                prediction, getattr(member, "classes_", None)
            )
        prediction = np.asarray(prediction, dtype=np.float64)
        n_rows = prediction.shape[0]
        columns = prediction.reshape(n_rows, -1)
        if columns.shape[1] != self.n_labels:
            raise ValueError(
                f"Estimator {name!r}: its {method} gives {columns.shape[1]} "
                f"columns for a multilabel target of {self.n_labels} labels."
            )
        return columns

    def _positions(self, values, name: str, what: str) -> np.ndarray:
        positions = np.searchsorted(self.classes, values)
        clipped = np.minimum(positions, len(self.classes) - 1)
        unknown = self.classes[clipped] != values
        if np.any(unknown):
            raise ValueError(
                f"Estimator {name!r}: {what} {np.unique(values[unknown]).tolist()} "
                f"are not among the stack's classes {list(self.labels)}."
            )
        return positions


def kept_probability_columns(n_classes: int, drop_first: bool) -> slice:
    """The probability columns a member contributes, of ``n_classes``.

    The positive class's only for two classes (the other is one minus it);
    all but the first with ``drop_first``; all otherwise.
    """
    return slice(1, None) if n_classes == 2 or drop_first else slice(None)


_KINDS = {
    "predict_proba": "proba",
    "decision_function": "decision",
    "predict": "predict",
}


def positive_probabilities(per_label, classes=None) -> np.ndarray:
    """(n_samples, n_labels) probabilities of 1 from one array per label.

    Multilabel ``predict_proba`` of most scikit-learn classifiers is a list with
    an (n_samples, n_classes) array per label, in the order of that label's
    ``classes_``; a label seen with one value only has one column.
    """
    columns = []
    for j, proba in enumerate(per_label):
        proba = np.asarray(proba, dtype=np.float64)
        label_classes = None if classes is None else np.asarray(classes[j])
        if label_classes is None:
            columns.append(proba[:, -1])
        elif np.any(label_classes == 1):
            columns.append(proba[:, int(np.flatnonzero(label_classes == 1)[0])])
        else:  # only 0 was seen for this label
            columns.append(np.zeros(proba.shape[0]))
    return np.column_stack(columns)
