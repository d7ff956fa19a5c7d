"""The dense-network meta-learner (``make_meta_learner(kind="dense")``)."""

from __future__ import annotations

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


def dense_meta_learner(task: str, params: dict):
    """A :func:`dense_model` wrapper for ``task``: the defaults, then ``params``."""
    wrappers = {"classification": KerasClassifier, "regression": KerasRegressor}
    return wrappers[task](dense_model, **{**_DENSE_DEFAULTS, **params})
