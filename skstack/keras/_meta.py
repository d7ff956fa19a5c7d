"""The Keras meta-learner the stacking estimators use by default."""

from __future__ import annotations

from ._builders import dense_model
from ._wrappers import KerasClassifier, KerasRegressor

_DEFAULTS = {
    "hidden": (16,),
    "epochs": 50,
    "batch_size": 64,
    "optimizer": "adam",
    "optimizer__learning_rate": 0.01,
}


def make_meta_learner(task: str = "classification", **params):
    """Build the small dense network that stacking uses as its default meta-learner.

    ``KerasStackingClassifier(final_estimator=None)`` fits
    ``make_meta_learner("classification")`` and ``KerasStackingRegressor`` fits
    ``make_meta_learner("regression")``. Pass one explicitly to tune it
    (``final_estimator__epochs``) or change it.

    Parameters
    ----------
    task : {"classification", "regression"}, default="classification"
        Softmax (multi-class) or sigmoid (binary) output, or linear outputs.
    **params : dict
        Wrapper or :func:`dense_model` parameters overriding the defaults:
        ``hidden=(16,)``, ``epochs=50``, ``batch_size=64``, ``optimizer="adam"``,
        ``optimizer__learning_rate=0.01``.

    Returns
    -------
    meta_learner : KerasClassifier or KerasRegressor
        Unfitted wrapper around :func:`dense_model`.

    Examples
    --------
    >>> from skstack.keras import make_meta_learner
    >>> make_meta_learner("regression", epochs=10).epochs
    10
    """
    wrappers = {"classification": KerasClassifier, "regression": KerasRegressor}
    if task not in wrappers:
        raise ValueError(
            f"task must be 'classification' or 'regression', got {task!r}."
        )
    return wrappers[task](dense_model, **{**_DEFAULTS, **params})
