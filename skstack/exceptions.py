"""Warnings and errors raised by skstack, so users can filter or catch them."""

from __future__ import annotations

__all__ = [
    "ArchiveError",
    "SampleWeightIgnoredWarning",
    "SkstackWarning",
    "UnseenLabelWarning",
    "UntrustedTypesError",
    "VersionMismatchWarning",
]


class SkstackWarning(UserWarning):
    """Base class of every warning skstack emits."""


class SampleWeightIgnoredWarning(SkstackWarning):
    """A member was fitted without ``sample_weight`` because its ``fit`` has none."""


class UnseenLabelWarning(SkstackWarning):
    """``score`` was given labels the classifier never saw in ``fit``."""


class VersionMismatchWarning(SkstackWarning):
    """An archive was written with other library versions than the installed ones."""


class ArchiveError(ValueError):
    """A file is not a skstack archive, or was modified after it was written."""


class UntrustedTypesError(ArchiveError):
    """An archive needs types :func:`skstack.load` does not trust; they are listed."""
