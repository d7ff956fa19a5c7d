"""A stack's members as parameters: ``name__param``, ``name="drop"``."""

from __future__ import annotations

from sklearn.utils import Bunch

from ._compat import BaseComposition


class _NamedMembers(BaseComposition):
    """``get_params``/``set_params`` over the ``estimators`` list, by name."""

    @property
    def named_estimators(self) -> Bunch:
        """The ``estimators`` parameter as a Bunch, by name."""
        return Bunch(**dict(self.estimators))

    def get_params(self, deep=True):
        """Get parameters, with each member's as ``name__param`` when ``deep``.

        Parameters
        ----------
        deep : bool, default=True
            Include the members and their parameters.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        """Set parameters; ``name=estimator`` or ``name="drop"`` replaces a member.

        Parameters
        ----------
        **params : dict
            Stack parameters, members by name, and ``name__param`` of members.

        Returns
        -------
        self : object
            This estimator.
        """
        self._set_params("estimators", **params)
        return self
