"""The meta-learners the stacking estimators use by default, and how to make them."""

from __future__ import annotations

from skstack.ensemble._linear_meta import LinearMetaClassifier
from skstack.ensemble._regressor import LinearMetaRegressor

from ._dense import dense_model
from ._wrappers import KerasClassifier, KerasRegressor

# kind="dense": a small network trained by mini-batch steps (~2 s on digits,
# where the linear default takes tens of milliseconds).
_DENSE_DEFAULTS = {
    "hidden": (16,),
    "epochs": 50,
    "batch_size": 64,
    "optimizer": "adam",
    "optimizer__learning_rate": 0.01,
}


def make_meta_learner(task: str = "classification", kind: str = "linear", **params):
    """Build a meta-learner for stacking; ``kind="linear"`` is the stacks' default.

    ``KerasStackingClassifier(final_estimator=None)`` fits
    ``make_meta_learner("classification")`` and ``KerasStackingRegressor`` fits
    ``make_meta_learner("regression")``: scikit-learn's ``LogisticRegression``
    or ``Ridge`` on standardized meta-features (logits of the members'
    probabilities), whose Keras form is one ``Dense`` layer
    (:class:`LinearMetaClassifier`, :class:`LinearMetaRegressor`).
    ``kind="dense"`` gives a small dense network trained by mini-batch steps
    instead. Pass one explicitly to tune it
    (``final_estimator__C``) or change it.

    Parameters
    ----------
    task : {"classification", "regression"}, default="classification"
        Which target the stack predicts.
    kind : {"linear", "dense"}, default="linear"
        ``"linear"``: :class:`LinearMetaClassifier` / :class:`LinearMetaRegressor`.
        ``"dense"``: a :class:`KerasClassifier` / :class:`KerasRegressor` around
        :func:`dense_model` with ``hidden=(16,)``, ``epochs=50``,
        ``batch_size=64``, ``optimizer="adam"``, ``optimizer__learning_rate=0.01``.
    **params : dict
        Parameters overriding those defaults (``C=0.1`` or ``alpha=10`` for the
        linear kind; ``epochs=100`` or ``hidden=(32,)`` for the dense one).

    Returns
    -------
    meta_learner : estimator
        Unfitted.

    Examples
    --------
    >>> from skstack.keras import make_meta_learner
    >>> make_meta_learner("regression", alpha=10.0).alpha
    10.0
    >>> make_meta_learner("classification", kind="dense", epochs=10).epochs
    10
    """
    linear = {"classification": LinearMetaClassifier, "regression": LinearMetaRegressor}
    if task not in linear:
        raise ValueError(
            f"task must be 'classification' or 'regression', got {task!r}."
        )
    if kind == "linear":
        return linear[task](**params)
    if kind == "dense":
        wrappers = {"classification": KerasClassifier, "regression": KerasRegressor}
        return wrappers[task](dense_model, **{**_DENSE_DEFAULTS, **params})
    raise ValueError(f"kind must be 'linear' or 'dense', got {kind!r}.")
