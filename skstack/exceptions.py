"""Warnings and errors raised by skstack, so users can filter or catch them."""

from __future__ import annotations

__all__ = ["SampleWeightIgnoredWarning", "SkstackWarning"]


class SkstackWarning(UserWarning):
    """Base class of every warning skstack emits."""


class SampleWeightIgnoredWarning(SkstackWarning):
    """A member was fitted without ``sample_weight`` because its ``fit`` has none."""
