"""Saving and loading fitted estimators: :func:`skstack.save`, :func:`skstack.load`."""

from ._archive import load, save

__all__ = ["load", "save"]
