"""The fit tasks of stacking: one (member, fold) fit each, and the folds.

Module-level functions, so loky and dask workers can unpickle them.
"""

from __future__ import annotations

import copy
import inspect
import numbers
from typing import NamedTuple

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

from ..exceptions import FoldFusionError
from ..utils._compat import params_of_rows, safe_indexing
from ..utils._errors import member_error
from ._pipeline_folds import (
    fit_pipeline_folds,
    is_fusable_pipeline,
    pipeline_fusion_blocker,
)

DROP = "drop"


def is_prefit(cv) -> bool:
    """Whether ``cv`` says the members are used as already fitted."""
    return isinstance(cv, str) and cv == "prefit"


def is_drop(member) -> bool:
    return isinstance(member, str) and member == DROP


def weight_kwargs(member, sample_weight) -> dict | None:
    """``fit`` keyword arguments that pass sample_weight, or None if it cannot."""
    if sample_weight is None:
        return {}
    if has_fit_parameter(member, "sample_weight"):
        return {"sample_weight": sample_weight}
    if isinstance(member, Pipeline):
        step_name, last = member.steps[-1]
        if not is_drop(last) and last not in (None, "passthrough"):
            if has_fit_parameter(last, "sample_weight"):
                return {f"{step_name}__sample_weight": sample_weight}
    return None


def fit_on(member, X, y, fit_params, rows=None):
    """Fit ``member`` on the given rows (all if None) with its fit parameters.

    ``fit_params`` are the member's own (``sample_weight``, routed metadata),
    for all rows: those aligned with the samples are cut to ``rows``.
    """
    if rows is not None:
        fit_params = params_of_rows(X, fit_params, rows)
        X = safe_indexing(X, rows)
        y = safe_indexing(y, rows)
    # The fitted object itself: a ``fit`` that forgets ``return self`` still fits.
    member.fit(X, y, **fit_params)
    return member


def fit_full(member, X, y, fit_params, name):
    """Fit a clone of ``member`` on all rows: the model used for prediction."""
    try:
        return fit_on(clone(member), X, y, fit_params)
    except Exception as exc:
        where = f"on the full training data ({len(y)} samples)"
        raise member_error(exc, name, where, X) from exc


def fit_predict_fold(
    member,
    X,
    y,
    fit_params,
    train,
    test,
    method,
    columns,
    name,
    where,
    keep,
    scorer,
):
    """Fit a clone on ``train``; predict and score ``test``.

    Returns the meta-feature columns of ``test``, the fold's score, the fold
    model (None unless ``keep``) and its best epoch if it stopped early.
    """
    try:
        fold_model = fit_on(clone(member), X, y, fit_params, train)
        arguments = (X, y, test, method, columns, name, scorer, keep)
        return held_out_result(fold_model, *arguments)
    except Exception as exc:
        raise member_error(exc, name, where, X) from exc


def held_out_result(fold_model, X, y, test, method, columns, name, scorer, keep):
    """A fold model's meta-feature columns and score on its held-out rows."""
    X_test = safe_indexing(X, test)
    prediction = getattr(fold_model, method)(X_test)
    return FoldResult(
        columns(prediction, fold_model, method, name),
        float(scorer(fold_model, X_test, safe_indexing(y, test))),
        fold_model if keep else None,
        best_epoch(fold_model),
    )


def fold_label(fold, n_splits, repeat, n_repeats) -> str:
    """Where a fit happened, for error messages: "on fold 2 of 5, repeat 1"."""
    label = f"on fold {fold} of {n_splits}"
    return label + (f", repeat {repeat}" if n_repeats > 1 else "")


def fusion_blocker(member, fit_params=None) -> str | None:
    """Why ``member``'s fold models cannot train as one Keras graph, or None.

    The one place the stack asks. The member decides what depends on it
    (``fold_fusion_blocker`` of skstack's Keras wrappers: their parameters,
    and, once built, ``FoldFusionError`` from ``fit_folds``); fused training
    takes no fit parameter but ``sample_weight``; any other estimator has no
    fused training.
    """
    if is_fusable_pipeline(member):
        return pipeline_fusion_blocker(member, fit_params)
    blocker = getattr(member, "fold_fusion_blocker", None)
    if not callable(blocker):
        return (
            "it is neither a skstack KerasClassifier/KerasRegressor nor a "
            "Pipeline ending in one"
        )
    metadata = sorted(set(fit_params or {}) - {"sample_weight"})
    if metadata:
        return f"it is given fit metadata {metadata}"
    return blocker()


def is_keras_wrapper(member) -> bool:
    """Whether ``member`` is one of skstack's Keras wrappers (it can be fused)."""
    return callable(getattr(member, "fold_fusion_blocker", None))


def has_fused_training(member) -> bool:
    """Whether ``member`` is a Keras wrapper or a Pipeline ending in one."""
    return is_keras_wrapper(member) or is_fusable_pipeline(member)


def fit_predict_fused(
    member,
    X,
    y,
    fit_params,
    folds,
    refit,
    method,
    columns,
    name,
    keep,
    scorer,
    fold_wheres,
    fall_back,
):
    """Train all fold models of ``member`` (and its refit) as one Keras graph.

    Returns the fold results, in the order of ``folds``, the refit model and
    whether the folds were fused. A network found unfit for fusion once built
    (``FoldFusionError``) is fitted fold by fold instead when ``fall_back``.
    """
    where = f"in fused training of its {len(folds)} fold models"
    try:
        if is_fusable_pipeline(member):
            fold_models, full = fit_pipeline_folds(
                member, X, y, folds, fit_params, refit
            )
        else:
            weights = fit_params.get("sample_weight")  # its only fit parameter
            fold_models, full = member.fit_folds(
                X, y, folds, sample_weight=weights, refit=refit
            )
        results = [
            held_out_result(model, X, y, test, method, columns, name, scorer, keep)
            for (_, test), model in zip(folds, fold_models, strict=True)
        ]
        return results, full, True
    except FoldFusionError as exc:
        if not fall_back:
            raise member_error(exc, name, where, X) from exc
    except Exception as exc:
        raise member_error(exc, name, where, X) from exc
    results = [
        fit_predict_fold(
            member,
            X,
            y,
            fit_params,
            train,
            test,
            method,
            columns,
            name,
            fold_where,
            keep,
            scorer,
        )
        for (train, test), fold_where in zip(folds, fold_wheres, strict=True)
    ]
    full = fit_full(member, X, y, fit_params, name) if refit else None
    return results, full, False


class FoldResult(NamedTuple):
    """What one fold fit sends back: small, unless the model is kept."""

    columns: np.ndarray
    score: float
    model: object
    best_epoch: int | None


def early_stopping_prefix(member) -> str | None:
    """The parameter prefix of the Keras model in ``member`` that stops early.

    ``""`` for the member itself, ``"<step>__"`` for a pipeline's last step,
    None when nothing stops early (scikit-learn estimators with an
    ``early_stopping`` parameter stop within their own fit and have no
    ``epochs``).
    """
    candidates = [("", member)]
    if isinstance(member, Pipeline):
        step, last = member.steps[-1]
        candidates.append((f"{step}__", last))
    for prefix, estimator in candidates:
        params = getattr(estimator, "get_params", dict)(deep=False)
        if params.get("early_stopping") is True and "epochs" in params:
            return prefix
    return None


def time_ordered(repeats) -> bool:
    """Whether every split trains on rows before the ones it tests (in order)."""
    return all(
        np.max(train) < np.min(test) for splits in repeats for train, test in splits
    )


def validate_on_last_rows(member) -> None:
    """Make a member that stops early hold out the last rows of its training
    window, not a random sample: on time-ordered folds, a random sample would
    validate on rows interleaved with the ones it trains on."""
    prefix = early_stopping_prefix(member)
    if prefix is None:
        return
    key = f"{prefix}validation_rows"
    if member.get_params(deep=bool(prefix)).get(key) == "random":
        member.set_params(**{key: "last"})


def best_epoch(model) -> int | None:
    """A fitted member's best epoch when its Keras model stopped early."""
    last = model.steps[-1][1] if isinstance(model, Pipeline) else model
    return getattr(last, "best_epoch_", None)


def refit_without_stopping(member, prefix, epochs, X, y, fit_params, name):
    """Fit ``member`` on all rows for ``epochs``, early stopping switched off."""
    member = clone(member).set_params(
        **{f"{prefix}epochs": epochs, f"{prefix}early_stopping": False}
    )
    return fit_full(member, X, y, fit_params, name)


def repeated_splits(owner, cv, X, y, groups, n_repeats: int, rng) -> list[list]:
    """The (train, test) pairs of each repeat, drawn once for every member.

    One repeat uses ``cv`` as given (seeded from ``rng`` if it shuffles without
    a seed); more repeats reshuffle a copy of it with a new seed each.
    """
    # A splitter without a ``shuffle`` parameter (TimeSeriesSplit, a holdout,
    # a list of splits) would give every repeat the same splits.
    reshuffles = "shuffle" in inspect.signature(type(cv).__init__).parameters
    if n_repeats > 1 and not reshuffles:
        raise ValueError(
            f"{type(owner).__name__}: n_repeats={n_repeats} needs a splitter that "
            f"shuffles (KFold, StratifiedKFold, GroupKFold), got {cv!r}, whose "
            "splits cannot be redrawn."
        )
    repeats = []
    for repeat in range(n_repeats):
        splitter = cv
        unseeded = getattr(cv, "shuffle", False) and cv.random_state is None
        if n_repeats > 1 or (unseeded and rng is not None):
            splitter = copy.deepcopy(cv)
            splitter.shuffle = True
            if rng is not None:
                splitter.random_state = int(rng.randint(np.iinfo(np.int32).max))
            elif isinstance(cv.random_state, numbers.Integral):
                splitter.random_state = int(cv.random_state) + repeat
            elif isinstance(cv.random_state, np.random.RandomState):
                # Drawn from the user's generator: a copy of it would give
                # every repeat the same shuffle.
                seed = cv.random_state.randint(np.iinfo(np.int32).max)
                splitter.random_state = int(seed)
        try:
            repeats.append(list(splitter.split(X, y, groups)))
        except ValueError as exc:
            raise ValueError(
                f"{type(owner).__name__}: cv={cv!r} cannot split the {len(y)} "
                f"training samples: {exc}"
            ) from exc
    return repeats


def seed_estimator(estimator, rng) -> None:
    """Give every unset ``random_state`` in ``estimator`` (nested too) a seed."""
    params = estimator.get_params(deep=True)
    seeds = {
        key: int(rng.randint(np.iinfo(np.int32).max))
        for key in sorted(params)
        if (key == "random_state" or key.endswith("__random_state"))
        and params[key] is None
    }
    if seeds:
        estimator.set_params(**seeds)
