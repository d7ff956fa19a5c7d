"""The stacking engine, Keras-free, and ensemble selection.

Read in the order of a fit: ``_classifier`` / ``_regressor`` (the public
stacks, exported by :mod:`skstack`) -> ``_base`` (validation, the
meta-learner of ``_meta_learner``) -> ``_crossfit`` (the plan: splits, seeds,
each member's fitting strategy from ``_strategy``) -> ``_tasks`` and
``_pool`` (the fits workers run, and the pool running them). Public here:
ensemble selection, a meta-learner of its own.
"""

from ._selection import EnsembleSelectionClassifier, EnsembleSelectionRegressor

__all__ = ["EnsembleSelectionClassifier", "EnsembleSelectionRegressor"]
