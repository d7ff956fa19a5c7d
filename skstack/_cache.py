"""The stacks' ``memory``: member fits and their out-of-fold results, on disk.

Each fit task (a member on one fold, on all rows, or its fused folds) is a call
of a module-level function; ``joblib.Memory`` keys its result by the function's
code and a hash of every argument: the member with its parameters (and the seed
``random_state`` gave it), X, y, the fit parameters (sample weights, routed
metadata), the fold's rows, how predictions become columns. A later fit with
the same member and data loads the result instead of training.
"""

from __future__ import annotations

import warnings

from .exceptions import CacheEntryWarning


def cached_call(memory, function, arguments: tuple):
    """``function(*arguments)``, from ``memory``'s cache when it holds it.

    A result that is cached but cannot be read (a truncated or foreign file)
    is computed again, replacing it, with a :class:`CacheEntryWarning`.
    """
    cached = memory.cache(function)
    if not cached.check_call_in_cache(*arguments):
        return cached.call(*arguments)[0]  # computed, and stored
    try:
        return cached.call_and_shelve(*arguments).get()
    except Exception as exc:  # noqa: BLE001 - any unreadable entry is refitted
        warnings.warn(
            f"skstack: a cached result of {function.__name__} in "
            f"{memory.location!r} could not be read ({type(exc).__name__}: "
            f"{str(exc)[:200]}); it is fitted again and the entry replaced.",
            CacheEntryWarning,
            stacklevel=2,
        )
        return cached.call(*arguments)[0]
