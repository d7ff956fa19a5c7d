"""Checks of the stacking estimators' parameters and inputs, with clear messages."""

from __future__ import annotations

import contextlib
import copy
import numbers
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
from sklearn.model_selection import StratifiedKFold

from ..exceptions import UnseenLabelWarning

__all__ = [
    "check_estimators",
    "check_folds",
    "check_sample_weight",
    "check_stack_method",
    "numeric_target",
    "state_restored_on_error",
    "warn_unseen_labels",
]

STACK_METHODS = ("predict_proba", "decision_function", "predict")


@contextlib.contextmanager
def state_restored_on_error(estimator) -> Iterator[None]:
    """Put the estimator's attributes back as they were if the block raises.

    A fit sets its fitted attributes one by one; one that fails half-way would
    leave new ones beside the previous fit. Restoring the whole ``__dict__``
    gives back the previous fit, or nothing fitted.
    """
    state = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(state)
        raise


def check_named_pairs(owner_name: str, pairs, parameter: str, what: str) -> list[str]:
    """Refuse anything but a non-empty list of (unique name, object) pairs.

    Returns the names. ``owner_name``, ``parameter`` and ``what`` word the
    error (``"KerasStackingClassifier"``, ``"estimators"``, ``"estimator"``).
    """
    if (
        not isinstance(pairs, (list, tuple))
        or len(pairs) == 0
        or not all(
            isinstance(item, (list, tuple))
            and len(item) == 2
            and isinstance(item[0], str)
            for item in pairs
        )
    ):
        # Starts with scikit-learn's wording, which code moved over may match.
        raise ValueError(
            f"Invalid {parameter!r} attribute, {parameter!r} should be a "
            f"non-empty list of (string, {what}) tuples ({owner_name} got "
            f"{pairs!r})."
        )
    names = [name for name, _ in pairs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{owner_name}: {what} names must be unique: {duplicates}.")
    return names


def check_estimators(owner, estimators) -> tuple[list[str], list]:
    """Validate ``estimators``; return the names and members, ``"drop"`` included."""
    owner_name = type(owner).__name__
    names = check_named_pairs(owner_name, estimators, "estimators", "estimator")
    members = [member for _, member in estimators]
    for name in names:
        if "__" in name:
            raise ValueError(
                f"{owner_name}: estimator name {name!r} must not contain '__' "
                "(it separates nested parameter names)."
            )
        if name in owner.get_params(deep=False):
            raise ValueError(
                f"{owner_name}: estimator name {name!r} conflicts with the "
                f"parameter of the same name."
            )
    for name, member in zip(names, members, strict=True):
        if isinstance(member, str) and member == "drop":
            continue
        if not (hasattr(member, "fit") and hasattr(member, "get_params")):
            raise TypeError(
                f"{owner_name}: estimator {name!r} is not a scikit-learn estimator "
                f"(it needs fit and get_params), got {type(member).__name__}: "
                f"{member!r}."
            )
    if all(isinstance(member, str) for member in members):
        raise ValueError(
            f"{owner_name}: all estimators are dropped; at least one is required."
        )
    return names, members


def check_stack_method(
    owner, stack_method, names: Sequence[str], members: Sequence, is_classifier: bool
) -> dict[str, str]:
    """Resolve ``stack_method`` to one method name per kept member."""
    owner_name = type(owner).__name__
    allowed = ("auto", *STACK_METHODS)
    if isinstance(stack_method, dict):
        unknown = sorted(set(stack_method) - set(names))
        if unknown:
            raise ValueError(
                f"{owner_name}: stack_method names unknown estimators {unknown}; "
                f"the estimators are {list(names)}."
            )
        requested = {name: stack_method.get(name, "auto") for name in names}
    else:
        requested = dict.fromkeys(names, stack_method)

    methods = {}
    for name, member in zip(names, members, strict=True):
        if isinstance(member, str):
            continue
        method = requested[name]
        if method not in allowed:
            raise ValueError(
                f"{owner_name}: stack_method for {name!r} must be one of "
                f"{allowed}, got {method!r}."
            )
        candidates = STACK_METHODS if is_classifier else ("predict",)
        if method != "auto":
            candidates = (method,)
        available = [m for m in candidates if hasattr(member, m)]
        if not available:
            # scikit-learn's wording, naming the stack and the member's type.
            raise ValueError(
                f"{owner_name}: underlying estimator {name!r} "
                f"({type(member).__name__}) does not implement the method "
                f"{' or '.join(candidates)} (stack_method={method!r})."
            )
        methods[name] = available[0]
    return methods


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray | None:
    """Return ``sample_weight`` as a finite 1-D float array of length n_samples."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        return np.full(n_samples, float(sample_weight))
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},) to match X, "
            f"got {weights.shape}."
        )
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight contains NaN or infinity.")
    if np.any(weights < 0):
        raise ValueError("sample_weight must be non-negative.")
    return weights


def row_weights(sample_weight, X) -> np.ndarray:
    """The rows' weights for a fit: ``sample_weight`` checked, or ones."""
    weights = check_sample_weight(sample_weight, X.shape[0])
    weights = np.ones(X.shape[0]) if weights is None else weights
    if weights.sum() <= 0:
        raise ValueError("sample_weight is all zero: no row to fit on.")
    return weights


def numeric_target(owner, y: np.ndarray) -> np.ndarray:
    """``y`` as floats, or an error that says a regressor got labels."""
    if y.dtype.kind in "biuf":
        return y
    try:
        return y.astype(np.float64)
    except (TypeError, ValueError) as exc:
        example = next(
            (v for v in y.ravel() if not isinstance(v, numbers.Number)), y.flat[0]
        )
        raise ValueError(
            f"{type(owner).__name__} needs a numeric target y; got dtype "
            f"{y.dtype} holding {example!r}. For class labels use "
            "KerasStackingClassifier."
        ) from exc


def warn_unseen_labels(owner, y) -> None:
    """Warn when ``y`` holds labels that ``owner`` never saw in ``fit``."""
    known = set(owner.classes_.tolist())
    labels = np.asarray(y).ravel().tolist()
    unseen = [label for label in labels if label not in known]
    if unseen:
        shown = sorted(set(unseen), key=str)[:10]
        warnings.warn(
            f"{type(owner).__name__}: y holds labels never seen in fit: {shown} "
            f"({len(unseen)} of {len(labels)} samples); the stack knows "
            f"{sorted(known, key=str)} and counts those samples as errors.",
            UnseenLabelWarning,
            stacklevel=3,
        )


def check_min_class_count(owner, cv, y_encoded: np.ndarray, classes) -> None:
    """Refuse a stratified ``cv`` with more folds than the smallest class has rows."""
    n_splits = getattr(cv, "n_splits", None)
    if not isinstance(cv, StratifiedKFold) or n_splits is None:
        return
    counts = np.bincount(y_encoded, minlength=len(classes))
    smallest = int(np.argmin(counts))
    label = classes[smallest]
    label = label.item() if isinstance(label, np.generic) else label
    if counts[smallest] < n_splits:
        raise ValueError(
            f"{type(owner).__name__}: cv={n_splits} folds but class "
            f"{label!r} has only {counts[smallest]} sample"
            f"{'s' if counts[smallest] != 1 else ''}; every class needs a sample "
            f"in each fold. Lower cv to at most {counts[smallest]} or gather more "
            f"samples of that class."
        )


def check_folds(owner, splits: list, n_samples: int) -> np.ndarray:
    """Check one repeat's splits; return which samples its test parts predict.

    The test parts must be disjoint; they need not cover every sample (a
    time-ordered split or a holdout leaves some rows unpredicted).
    """
    name = type(owner).__name__
    if len(splits) < 1:
        raise ValueError(f"{name}: cv gave no split.")
    counts = np.zeros(n_samples, dtype=np.int64)
    for fold, (train, test) in enumerate(splits):
        if len(train) == 0 or len(test) == 0:
            raise ValueError(
                f"{name}: fold {fold} of cv has an empty "
                f"{'training' if len(train) == 0 else 'test'} part."
            )
        np.add.at(counts, test, 1)
    repeated = int(np.sum(counts > 1))
    if repeated:
        raise ValueError(
            f"{name}: the test parts of cv overlap: {repeated} samples are in "
            "more than one, so they would get two out-of-fold predictions. Use "
            "a splitter whose test parts are disjoint (KFold, TimeSeriesSplit, "
            "a holdout...)."
        )
    return counts == 1


def check_predicted_rows(owner, predicted: np.ndarray, y, classes=None) -> None:
    """Refuse out-of-fold rows too few for the meta-learner, before any fit.

    ``classes``: a classifier's encoded classes, each of which must be among
    the predicted rows (the meta-learner learns only the classes it sees).
    """
    name = type(owner).__name__
    n_predicted = int(predicted.sum())
    where = (
        f"cv predicts {n_predicted} of the {len(predicted)} samples out of fold "
        "(the meta-learner's training rows)"
    )
    if n_predicted < 2:
        raise ValueError(f"{name}: {where}; the meta-learner needs at least 2.")
    if classes is None:
        return
    missing = np.setdiff1d(np.arange(len(classes)), np.unique(y[predicted]))
    if missing.size:
        raise ValueError(
            f"{name}: {where}, and they hold no sample of classes "
            f"{np.asarray(classes)[missing].tolist()}, which the meta-learner "
            "would then never predict. Use test parts that cover every class."
        )


def text_columns(X) -> list[str]:
    """The names of a DataFrame's columns that do not hold numbers (else [])."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return []
    return [str(name) for name, dtype in dtypes.items() if dtype.kind not in "biuf"]


def float32_inputs(X, X_checked) -> list[str]:
    """The inputs a served graph takes in float32, as X came: ``["X"]`` for a
    float32 array, a DataFrame's float32 columns by name, else []."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):
        return [str(name) for name, dtype in dtypes.items() if dtype == np.float32]
    return ["X"] if getattr(X_checked, "dtype", None) == np.float32 else []


def restore_dropped_parameters(original, cloned) -> None:
    """Give ``cloned`` back the parameters its ``clone`` dropped, recursively.

    An estimator whose ``__sklearn_clone__`` leaves a parameter None that the
    original set (Keras's wrappers leave ``fit_kwargs``) gets a deep copy of
    the original's value, as scikit-learn's own ``clone`` copies parameters;
    nested estimators (a stack's members, a pipeline's steps) likewise.
    """
    if not (hasattr(original, "get_params") and hasattr(cloned, "get_params")):
        return
    params = original.get_params(deep=False)
    now = cloned.get_params(deep=False)
    dropped = {
        name: copy.deepcopy(value)
        for name, value in params.items()
        if value is not None and now.get(name) is None
    }
    if dropped:
        cloned.set_params(**dropped)
    for name, value in params.items():
        for inner, inner_clone in _nested_estimators(value, now.get(name)):
            restore_dropped_parameters(inner, inner_clone)


def _nested_estimators(value, cloned_value):
    """(original, clone) pairs of the estimators in a parameter's value."""
    if hasattr(value, "get_params"):
        return [(value, cloned_value)]
    if isinstance(value, list | tuple) and isinstance(cloned_value, list | tuple):
        pairs = []
        for item, cloned_item in zip(value, cloned_value, strict=False):
            if isinstance(item, tuple) and isinstance(cloned_item, tuple):
                item, cloned_item = item[-1], cloned_item[-1]  # (name, estimator)
            if hasattr(item, "get_params"):
                pairs.append((item, cloned_item))
        return pairs
    return []
