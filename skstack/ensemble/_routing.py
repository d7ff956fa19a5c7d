"""Where a stack's metadata goes: scikit-learn's metadata routing, or not.

With routing on, every member, the meta-learner and the splitter get what they
requested; off, ``sample_weight`` goes to everything that accepts it (a warning
names the others), ``groups`` to the splitter, and nothing else is accepted.
"""

from __future__ import annotations

import warnings

from sklearn.base import is_classifier
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch
from sklearn.utils.metadata_routing import (
    MetadataRequest,
    MetadataRouter,
    MethodMapping,
    get_routing_for_object,
    process_routing,
)
from sklearn.utils.validation import has_fit_parameter

from ..exceptions import SampleWeightIgnoredWarning
from ..utils._compat import _raise_for_params, _routing_enabled
from ._crossfit import is_drop, is_prefit


def refuse_unroutable(stack, fit_params) -> None:
    """With routing off, metadata other than sample_weight/groups is an error.

    Checked first, as scikit-learn's stacking does.
    """
    if not _routing_enabled():
        _raise_for_params(fit_params, stack, "fit")


def routed_fit_params(stack, kept, final, weights, groups, fit_params) -> Bunch:
    """Each member's and the meta-learner's fit parameters, and the splitter's.

    With metadata routing on, every object gets what it requested (and
    scikit-learn's errors name what was passed but not requested); off,
    ``sample_weight`` goes to everything that accepts it (a warning names
    the others), ``groups`` to the splitter, nothing else is accepted.
    """
    if _routing_enabled():
        metadata = {"sample_weight": weights, "groups": groups, **fit_params}
        metadata = {key: value for key, value in metadata.items() if value is not None}
        routed = process_routing(stack, "fit", **metadata)
        return Bunch(
            members={name: routed[name].fit for name, _ in kept},
            final=routed.final_estimator.get("fit", {}),
            split=routed.get("cv", Bunch(split={})).split,  # no cv: prefit
        )
    warn_ignored_weights(stack, kept, final, weights)
    return Bunch(
        members={name: weight_kwargs(m, weights) or {} for name, m in kept},
        final=weight_kwargs(final, weights) or {},
        split={} if groups is None else {"groups": groups},
    )


def metadata_router(stack):
    """The stack's ``get_metadata_routing``: members, meta-learner, splitter."""
    router = MetadataRouter(owner=stack)
    fit = MethodMapping().add(caller="fit", callee="fit")
    for name, member in stack.estimators:
        if not is_drop(member):
            router.add(**{name: member}, method_mapping=fit)
    final = getattr(stack, "final_estimator_", stack.final_estimator)
    if final is None:
        final = stack._default_final_estimator().set_fit_request(sample_weight=True)
    final_mapping = MethodMapping().add(caller="predict", callee="predict")
    if _asks_for_fit_metadata(final):
        final_mapping.add(caller="fit", callee="fit")
    router.add(final_estimator=final, method_mapping=final_mapping)
    if not is_prefit(stack.cv):
        splitter = check_cv(stack.cv, classifier=is_classifier(stack))
        router.add(
            cv=splitter,
            method_mapping=MethodMapping().add(caller="fit", callee="split"),
        )
    return router


def _asks_for_fit_metadata(final) -> bool:
    """Whether the meta-learner's ``fit`` takes part in routing.

    It does when it set a request for any fit metadata (``set_fit_request``,
    to ask for it or to refuse it) or routes metadata itself; one that set
    nothing is fitted without metadata rather than refused with
    ``UnsetMetadataPassedError``, since scikit-learn's stacking never routes
    ``fit``'s metadata to its meta-learner.
    """
    routing = get_routing_for_object(final)
    if not isinstance(routing, MetadataRequest):
        return True  # a router (a Pipeline): its steps say what they take
    return any(value is not None for value in routing.fit.requests.values())


def routed_predict_params(stack, predict_params) -> dict:
    """The meta-learner's ``predict`` parameters (routed, when routing is on)."""
    if predict_params and _routing_enabled():
        routed = process_routing(stack, "predict", **predict_params)
        return routed.final_estimator.predict
    return predict_params


def warn_ignored_weights(stack, kept, final, weights) -> None:
    if weights is None:
        return
    ignoring = [n for n, m in kept if weight_kwargs(m, weights) is None]
    if weight_kwargs(final, weights) is None:
        ignoring.append("final_estimator")
    if ignoring:
        warnings.warn(
            f"{type(stack).__name__}: {ignoring} do not accept sample_weight in "
            "fit and are fitted without it.",
            SampleWeightIgnoredWarning,
            stacklevel=7,  # the caller of fit (through _fit_context, _fit_stack)
        )


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
