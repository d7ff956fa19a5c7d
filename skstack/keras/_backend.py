"""What differs between Keras's backends (TensorFlow, JAX, torch), in one place.

The rest of :mod:`skstack.keras` goes through ``keras.ops`` and Keras's own
API; it asks this module where a backend needs something of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras

__all__ = [
    "computes_float64",
    "fused_jit_compile",
    "generator_restored",
    "steps_per_execution",
    "string_tensors",
]

# Training steps run per call into TensorFlow or JAX. Small networks spend
# most of a step in the call's overhead; running many steps per call gives the
# same weights bit for bit (same batches, same order, same seeds) in about
# half the time. Callbacks see the batches in groups of this size.
STEPS_PER_EXECUTION = 64


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


def steps_per_execution() -> int:
    """Training steps per call into the backend for fused training:
    STEPS_PER_EXECUTION, or 1 on torch, whose trainer takes no more."""
    return 1 if keras.backend.backend() == "torch" else STEPS_PER_EXECUTION


@contextlib.contextmanager
def generator_restored() -> Iterator[None]:
    """The backend's own global generator as it was, on exit: torch's, which
    ``keras.utils.set_random_seed`` seeds on torch. (TensorFlow's global seed
    is restored with Keras's in ``keras_seed``; JAX has none.)"""
    if keras.backend.backend() != "torch":
        yield
        return
    import torch

    state = torch.random.get_rng_state()
    try:
        yield
    finally:
        torch.random.set_rng_state(state)
