"""What ``skstack.load`` trusts by name: plain data types, and the classes and
functions of skstack and scikeras themselves, never found by importing what an
archive names."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path

# Packages whose own classes and functions the loader trusts by name.
TRUSTED_PACKAGES = ("skstack", "scikeras")
# scikit-learn's splitters, a stack's ``cv``: plain data (counts, seeds,
# group labels), which skops does not trust by default as they are not
# estimators.
_SPLITTERS = (
    "GroupKFold",
    "GroupShuffleSplit",
    "KFold",
    "LeaveOneGroupOut",
    "LeaveOneOut",
    "LeavePGroupsOut",
    "LeavePOut",
    "PredefinedSplit",
    "RepeatedKFold",
    "RepeatedStratifiedKFold",
    "ShuffleSplit",
    "StratifiedGroupKFold",
    "StratifiedKFold",
    "StratifiedShuffleSplit",
    "TimeSeriesSplit",
)
# Types skops does not trust by default that fitted stacks hold; plain data.
TRUSTED_TYPES = (
    "numpy.dtype",
    "sklearn.utils._bunch.Bunch",
    *(f"sklearn.model_selection._split.{name}" for name in _SPLITTERS),
    # Keras's own scikit-learn wrappers: parameters only, like scikit-learn's.
    *(
        f"keras.src.wrappers.sklearn_wrapper.SKLearn{kind}"
        for kind in ("Classifier", "Regressor", "Transformer")
    ),
)


def _is_module_file(module_name: str) -> bool:
    """Whether ``module_name`` is a module of a trusted package, found on disk.

    Nothing is imported to decide it: an archive naming a module must not run
    it. ``__main__`` modules, which run a program when imported, never count.
    """
    parts = module_name.split(".")
    if parts[0] not in TRUSTED_PACKAGES or "__main__" in parts:
        return False
    spec = importlib.util.find_spec(parts[0])  # a top-level name: imports nothing
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location, *parts[1:])
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            return True
    return False


def is_trusted(type_name: str) -> bool:
    """Whether ``type_name`` names a class or function defined in a trusted package.

    The name must resolve to an object whose own module and qualified name are
    ``type_name``, so a name that reaches something else (a module imported by
    a trusted module, say) is not trusted.
    """
    if type_name in TRUSTED_TYPES:
        return True
    if type_name.split(".")[0] not in TRUSTED_PACKAGES:
        return False
    parts = type_name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        if not _is_module_file(module_name):
            continue  # never import what the archive names unless it is one
        try:
            obj = importlib.import_module(module_name)
        except ImportError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute, None)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            return False
        own_name = f"{obj.__module__}.{obj.__qualname__}"
        return own_name == type_name
    return False
