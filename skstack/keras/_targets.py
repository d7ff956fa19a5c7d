"""The regressor's ``scale_target``: its network trains on standardized targets.

A network's last ``Dense`` layer starts near zero and its optimizer takes
steps of about its learning rate, so a target of mean 150 and spread 80
(diabetes) takes thousands of epochs to reach; practitioners standardize it
by hand. The wrapper does it for losses that mean the same on any scale.
"""

from __future__ import annotations

import numpy as np

from ._scikeras import regressor_target_encoder
from ._training import KerasWrapperHooks

__all__ = ["StandardTargetEncoder", "TargetScalingMixin", "scales_targets"]

# Losses whose minimizer does not change when the target is shifted and
# scaled (Huber's and log-cosh's threshold moves to standardized units).
# Others (Poisson, MSLE, MAPE...) need the target as it is.
_SCALE_FREE_LOSSES = frozenset(
    {"mean_squared_error", "mean_absolute_error", "huber", "log_cosh"}
)

_RegressorTargetEncoder = regressor_target_encoder()


class StandardTargetEncoder(_RegressorTargetEncoder):
    """scikeras's regressor target encoder, standardizing each output.

    ``transform`` gives ``(y - mean_) / scale_`` (a constant output keeps a
    scale of 1); ``inverse_transform`` maps the network's outputs back, in
    float64.

    Attributes
    ----------
    mean_ : ndarray of shape (n_outputs,)
        Mean of each target.
    scale_ : ndarray of shape (n_outputs,)
        Standard deviation of each target (1 where it is 0).
    """

    def fit(self, y):
        super().fit(y)
        columns = self._columns(y)
        self.mean_ = columns.mean(axis=0)
        scale = columns.std(axis=0)
        # As StandardScaler: a (near) constant target is only centred.
        tiny = 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(self.mean_))
        scale[scale <= tiny] = 1.0
        self.scale_ = scale
        return self

    def transform(self, y):
        y = super().transform(y)
        standardized = (self._columns(y) - self.mean_) / self.scale_
        return standardized.reshape(np.shape(y))

    def inverse_transform(self, y):
        y = np.asarray(y, dtype=np.float64).reshape(-1, len(self.mean_))
        return super().inverse_transform(y * self.scale_ + self.mean_)

    @staticmethod
    def _columns(y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        return y.reshape(len(y), -1)


def scales_targets(wrapper) -> bool:
    """Whether ``wrapper``, its network compiled, trains on standardized targets."""
    from scikeras.utils import loss_name

    setting = getattr(wrapper, "scale_target", False)
    if setting != "auto":
        return bool(setting)
    loss = wrapper.loss if wrapper.loss is not None else wrapper.model_.loss
    try:
        return loss_name(loss) in _SCALE_FREE_LOSSES
    except (TypeError, ValueError):  # a loss of one's own
        return False


class TargetScalingMixin(KerasWrapperHooks):
    """The regressor's ``scale_target``: scikeras's target encoder standardizes.

    Predictions, ``to_keras`` graphs and exported files map the network's
    outputs back (:attr:`StandardTargetEncoder.scale_` and ``mean_``); fused
    fold copies each standardize by their own training rows, as separate
    fits do.
    """

    def _target_encoder_for(self, encoder, y):
        encoder = super()._target_encoder_for(encoder, y)
        if type(encoder) is not _RegressorTargetEncoder or not scales_targets(self):
            return encoder
        return StandardTargetEncoder().fit(y)
