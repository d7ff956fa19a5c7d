"""What the Keras-free engine does only with Keras, provided from outside it.

A linear meta-learner's ``model_``, a stack's ``to_keras`` and its compiled
prediction graph, and the dense meta-learner need Keras; the engine asks for
them here by name, and the plug :mod:`skstack._keras` (imported with
``skstack``) provides them, importing :mod:`skstack.keras` when one is first
called. So the engine imports nothing of Keras, and ``skstack.keras`` builds
on the engine without an import circle.
"""

from __future__ import annotations

from collections.abc import Callable

_PROVIDED: dict[str, Callable] = {}


def provide(**functions: Callable) -> None:
    """Make Keras functions known to the engine by name."""
    _PROVIDED.update(functions)


def keras_function(name: str) -> Callable:
    """The Keras function provided as ``name``."""
    try:
        return _PROVIDED[name]
    except KeyError:
        raise RuntimeError(
            f"skstack: no Keras function {name!r} was provided to the engine; "
            "import skstack, whose skstack._keras provides them."
        ) from None
