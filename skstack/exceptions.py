"""Warnings and errors raised by skstack, so users can filter or catch them."""

from __future__ import annotations

__all__ = [
    "ArchiveError",
    "CacheEntryWarning",
    "FoldFusionError",
    "SampleWeightIgnoredWarning",
    "SkstackWarning",
    "UnseenLabelWarning",
    "UntrustedTypesError",
    "VersionMismatchWarning",
]


class SkstackWarning(UserWarning):
    """Base class of every warning skstack emits.

    Examples
    --------
    >>> import warnings
    >>> from skstack.exceptions import SkstackWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", SkstackWarning)  # all of skstack's
    """


class SampleWeightIgnoredWarning(SkstackWarning):
    """A member was fitted without ``sample_weight`` because its ``fit`` has none.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from skstack import KerasStackingClassifier
    >>> from skstack.exceptions import SampleWeightIgnoredWarning
    >>> X, y = load_iris(return_X_y=True)
    >>> stack = KerasStackingClassifier(
    ...     [("knn", KNeighborsClassifier())],
    ...     final_estimator=LogisticRegression(max_iter=500), cv=3)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = stack.fit(X, y, sample_weight=[1.0] * len(y))
    >>> any(w.category is SampleWeightIgnoredWarning for w in caught)
    True
    """


class CacheEntryWarning(SkstackWarning):
    """A stack's ``memory`` held a result that could not be read; it was refitted.

    A truncated, corrupt or foreign file in the cache directory: the fit it
    stood for runs again and its entry is replaced.

    Examples
    --------
    >>> import tempfile, warnings
    >>> from pathlib import Path
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skstack import KerasStackingClassifier
    >>> from skstack.exceptions import CacheEntryWarning
    >>> X, y = load_iris(return_X_y=True)
    >>> cache = tempfile.mkdtemp()
    >>> def stack():
    ...     return KerasStackingClassifier(
    ...         [("lr", LogisticRegression(max_iter=500))],
    ...         final_estimator=LogisticRegression(), cv=3, memory=cache)
    >>> _ = stack().fit(X, y)
    >>> entry = next(Path(cache).rglob("output.pkl"))
    >>> _ = entry.write_bytes(b"not a pickle")  # a damaged entry
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = stack().fit(X, y)
    >>> any(w.category is CacheEntryWarning for w in caught)
    True
    """


class UnseenLabelWarning(SkstackWarning):
    """``score`` was given labels the classifier never saw in ``fit``.

    Those samples can never be predicted right; they count as errors.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skstack import KerasStackingClassifier
    >>> from skstack.exceptions import UnseenLabelWarning
    >>> X, y = load_iris(return_X_y=True)
    >>> stack = KerasStackingClassifier(
    ...     [("lr", LogisticRegression(max_iter=500))],
    ...     final_estimator=LogisticRegression(), cv=3,
    ... ).fit(X[y < 2], y[y < 2])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     score = stack.score(X, y)  # class 2 was never seen
    >>> caught[0].category is UnseenLabelWarning, round(score, 3)
    (True, 0.667)
    """


class VersionMismatchWarning(SkstackWarning):
    """An archive was written with other library versions than the installed ones.

    The message names each package whose version differs; the estimator still
    loads.

    Examples
    --------
    >>> import warnings
    >>> from skstack.exceptions import VersionMismatchWarning
    >>> with warnings.catch_warnings():  # accept archives from other versions
    ...     warnings.simplefilter("ignore", VersionMismatchWarning)
    """


class ArchiveError(ValueError):
    """A file is not a skstack archive, or was modified after it was written.

    Examples
    --------
    >>> import os, tempfile
    >>> import skstack
    >>> from skstack.exceptions import ArchiveError
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with open(path, "w") as handle:
    ...     _ = handle.write("not an archive")
    >>> try:
    ...     skstack.load(path)
    ... except ArchiveError as error:
    ...     print("refused:", "not a skstack archive" in str(error))
    refused: True
    """


class UntrustedTypesError(ArchiveError):
    """An archive needs types :func:`skstack.load` does not trust; they are listed.

    Examples
    --------
    >>> from skstack.exceptions import ArchiveError, UntrustedTypesError
    >>> issubclass(UntrustedTypesError, ArchiveError)  # catch both as one
    True
    """


class FoldFusionError(ValueError):
    """A Keras member's fold models cannot be trained as one graph.

    Raised by ``fit_folds`` for a network that computes statistics of whole
    batches (``BatchNormalization``), which would mix the folds' rows; known
    only once the network is built. With ``fuse_folds="auto"`` (the default)
    the stack then fits that member fold by fold instead.

    Examples
    --------
    >>> from skstack.exceptions import FoldFusionError
    >>> issubclass(FoldFusionError, ValueError)
    True
    """
