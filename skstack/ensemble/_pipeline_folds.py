"""Fold fusion of pipelines that end in a Keras wrapper.

A member written as ``make_pipeline(preprocessing..., KerasClassifier(...))``
trains its fold models as one graph too: each copy's preprocessing is fitted
on that copy's training rows alone (cheap scikit-learn fits), each copy of the
network receives its own transformed rows, and the refit copy uses all rows.
Copy k's transformers and weights never see fold k's held-out rows, as when
the pipeline is fitted fold by fold.
"""

from __future__ import annotations

from sklearn.base import clone
from sklearn.pipeline import Pipeline

from ..utils._compat import safe_indexing


def is_fusable_pipeline(member) -> bool:
    """Whether ``member`` is a Pipeline whose last step can train fused."""
    if not isinstance(member, Pipeline) or not member.steps:
        return False
    return callable(getattr(member.steps[-1][1], "fold_fusion_blocker", None))


def pipeline_fusion_blocker(pipeline: Pipeline, fit_params) -> str | None:
    """Why ``pipeline``'s fold models cannot train as one graph, or None."""
    step, wrapper = pipeline.steps[-1]
    weight_key = f"{step}__sample_weight"
    metadata = sorted(set(fit_params or {}) - {weight_key})
    if metadata:
        return f"it is given fit parameters {metadata}"
    reason = wrapper.fold_fusion_blocker()
    return None if reason is None else f"its step {step!r}: {reason}"


def fit_pipeline_folds(pipeline: Pipeline, X, y, splits, fit_params, refit):
    """Fit one copy of ``pipeline`` per split (and one on all rows), fused.

    Returns the fitted fold pipelines, in the order of ``splits``, and the
    pipeline fitted on all rows (None unless ``refit``).
    """
    step, wrapper = pipeline.steps[-1]
    rows = [train for train, _ in splits] + ([None] if refit else [])
    heads, copy_X = [], []
    for train in rows:
        head = clone(pipeline)[:-1]
        if not head.steps:  # the wrapper alone
            copy_X.append(X)
        elif train is None:
            copy_X.append(head.fit_transform(X, y))
        else:
            head.fit(safe_indexing(X, train), safe_indexing(y, train))
            # Every row, for the input's shape; the network's loss weighs
            # only the training rows, and the others are zeroed before use.
            copy_X.append(head.transform(X))
        heads.append(head)
    fold_models, full = wrapper.fit_folds(
        copy_X[0],
        y,
        splits,
        sample_weight=(fit_params or {}).get(f"{step}__sample_weight"),
        refit=refit,
        copy_X=copy_X,
    )
    networks = [*fold_models, full] if refit else list(fold_models)
    pipelines = [
        _fitted_pipeline(pipeline, head, step, network)
        for head, network in zip(heads, networks, strict=True)
    ]
    return (pipelines[:-1], pipelines[-1]) if refit else (pipelines, None)


def _fitted_pipeline(pipeline, head, step, network) -> Pipeline:
    """A clone of ``pipeline`` holding the fitted steps of one copy."""
    fitted = clone(pipeline)
    fitted.steps = [*head.steps, (step, network)]
    return fitted
