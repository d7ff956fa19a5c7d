"""Meta-learners for stacking: ensemble selection.

The stacking engine lives here too, read in the order of a fit:
``_classifier`` / ``_regressor`` (the public stacks, exported by
:mod:`skstack`) -> ``_base`` (validation, the plan, the meta-learner) ->
``_tasks`` (the fits workers run, and the pool running them).
"""

from ._selection import EnsembleSelectionClassifier, EnsembleSelectionRegressor

__all__ = ["EnsembleSelectionClassifier", "EnsembleSelectionRegressor"]
