"""What differs between Keras's backends (TensorFlow, JAX, torch), in one place.

The rest of :mod:`skstack.keras` goes through ``keras.ops`` and Keras's own
API; it asks this module where a backend needs something of its own.
"""

from __future__ import annotations

import keras

__all__ = ["computes_float64", "fused_jit_compile", "string_tensors"]


def computes_float64() -> bool:
    """Whether float64 layers compute in float64 on the current backend.

    JAX computes them in float32 (with a warning) unless ``jax_enable_x64``
    is set, which skstack never sets: the process's configuration is the
    user's.
    """
    if keras.backend.backend() != "jax":
        return True
    import jax

    return bool(jax.config.read("jax_enable_x64"))


def fused_jit_compile(default: bool) -> bool | str:
    """``jit_compile`` for a fused training model: ``default`` (skstack's
    measured choice) on TensorFlow; elsewhere as Keras compiles by default
    ("auto"): jitted on JAX, which runs an unjitted step op by op (~400x
    slower for six small copies), eager on torch."""
    if keras.backend.backend() == "tensorflow":
        return default
    return "auto"


def string_tensors() -> bool:
    """Whether graphs can take text (string tensors): TensorFlow's alone."""
    return keras.backend.backend() == "tensorflow"
