"""Keras models inside an estimator: found for saving, put back on loading.

An archive stores each Keras model as its own ``.keras`` file and a
:class:`KerasModelSlot` in its place in the estimator.
"""

from __future__ import annotations

import inspect
import types

from sklearn.base import BaseEstimator

# Objects of these packages that are not models cannot be saved safely.
KERAS_PACKAGES = ("keras", "tensorflow", "tf_keras")


class KerasModelSlot:
    """Stands in the skops file for the Keras model saved as ``keras/<index>.keras``."""

    def __init__(self, index: int):
        self.index = index


def find_models(estimator, is_model) -> tuple[list, list]:
    """The Keras models reachable from ``estimator``, and its other Keras objects.

    Each comes with where it was found (``estimator.estimators_[1].model_``).
    """
    found: list[tuple[object, str]] = []
    others: list[tuple[object, str]] = []
    seen: set[int] = set()

    def visit(obj, where: str) -> None:
        if id(obj) in seen or isinstance(obj, (type, types.ModuleType)):
            return
        seen.add(id(obj))
        if is_model(obj):
            found.append((obj, where))
        elif type(obj).__module__.split(".")[0] in KERAS_PACKAGES and not (
            isinstance(obj, BaseEstimator)  # Keras's scikit-learn wrappers
        ):
            others.append((obj, where))
        elif isinstance(obj, dict):
            for key, value in obj.items():
                visit(value, f"{where}[{key!r}]")
        elif isinstance(obj, (list, tuple, set, frozenset)):
            for position, value in enumerate(obj):
                visit(value, f"{where}[{position}]")
        elif hasattr(obj, "__dict__") and not inspect.isroutine(obj):
            for name, value in vars(obj).items():
                visit(value, f"{where}.{name}")

    visit(estimator, "estimator")
    return found, others


def put_models_back(obj, models: list, done: dict[int, object]):
    """``obj`` with each :class:`KerasModelSlot` under it replaced by its model.

    Containers and objects are changed in place; a tuple holding a slot is
    rebuilt, and ``done`` maps each visited object to its result, so a tuple
    referenced twice is rebuilt once and both references get the new one.
    """
    if isinstance(obj, KerasModelSlot):
        return models[obj.index]
    if isinstance(obj, (type, types.ModuleType)):
        return obj
    if id(obj) in done:
        return done[id(obj)]
    done[id(obj)] = obj
    if isinstance(obj, dict):
        for key, value in obj.items():
            obj[key] = put_models_back(value, models, done)
    elif isinstance(obj, list):
        obj[:] = [put_models_back(value, models, done) for value in obj]
    elif isinstance(obj, tuple):
        items = [put_models_back(value, models, done) for value in obj]
        if any(new is not old for new, old in zip(items, obj, strict=True)):
            rebuilt = type(obj)(items) if type(obj) is tuple else type(obj)(*items)
            done[id(obj)] = rebuilt
            return rebuilt
    elif hasattr(obj, "__dict__") and not inspect.isroutine(obj):
        for name, value in vars(obj).items():
            setattr(obj, name, put_models_back(value, models, done))
    return obj
