"""``StackReport``: how each member did out of fold, and how alike they are."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class StackReport:
    """A fitted stack's members: out-of-fold scores and diversity.

    Attributes
    ----------
    members : list of str
        Names of the kept members.
    fold_scores : dict of ndarray of shape (n_repeats, n_splits)
        Each member's score on each held-out fold.
    correlation : ndarray of shape (n_members, n_members)
        Pearson correlation of the members' out-of-fold predictions (NaN for
        members whose outputs have different widths). Low means diverse.
    stack_score : float or None
        The stack's score on the data given to ``report``, if any.
    scoring : str
        What the scores measure.
    """

    members: list
    fold_scores: dict
    correlation: np.ndarray
    stack_score: float | None
    scoring: str

    @property
    def mean_scores(self) -> dict:
        """Each member's mean out-of-fold score."""
        return {name: float(np.mean(s)) for name, s in self.fold_scores.items()}

    def to_frame(self):
        """The table as a pandas DataFrame (one row per member, then the stack)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is optional
            raise ImportError("StackReport.to_frame needs pandas installed.") from exc
        rows = {
            name: {
                "oof_score": float(np.mean(scores)),
                "oof_score_std": float(np.std(scores)),
                **{
                    f"corr_{other}": c
                    for other, c in zip(self.members, corr, strict=True)
                },
            }
            for (name, scores), corr in zip(
                self.fold_scores.items(), self.correlation, strict=True
            )
        }
        frame = pd.DataFrame.from_dict(rows, orient="index")
        if self.stack_score is not None:
            frame.loc["stack", "oof_score"] = np.nan
            frame.loc["stack", "held_out_score"] = self.stack_score
        return frame

    def __str__(self) -> str:
        width = max(len(name) for name in [*self.members, "stack"])
        header = f"{'member':<{width}}  {'oof ' + self.scoring:>16}  {'± std':>7}"
        header += "".join(f"  {name[:8]:>8}" for name in self.members)
        lines = [header]
        for (name, scores), corr in zip(
            self.fold_scores.items(), self.correlation, strict=True
        ):
            line = f"{name:<{width}}  {np.mean(scores):>16.4f}  {np.std(scores):>7.4f}"
            line += "".join(f"  {c:>8.3f}" for c in corr)
            lines.append(line)
        if self.stack_score is not None:
            lines.append(
                f"{'stack':<{width}}  {'held-out':>16}  {self.stack_score:.4f}"
            )
        return "\n".join(lines)

    def plot(self, ax=None):
        """Draw the members' out-of-fold scores and their correlation matrix.

        Parameters
        ----------
        ax : sequence of two matplotlib Axes, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        axes : ndarray of matplotlib Axes
            The score bar chart and the correlation heatmap.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(1, 2, figsize=(10, 4))
        bars, heat = ax
        means = [np.mean(self.fold_scores[n]) for n in self.members]
        stds = [np.std(self.fold_scores[n]) for n in self.members]
        bars.bar(self.members, means, yerr=stds, color="tab:blue")
        if self.stack_score is not None:
            bars.axhline(self.stack_score, color="tab:red", label="stack (held-out)")
            bars.legend()
        bars.set_ylabel(f"out-of-fold {self.scoring}")
        image = heat.imshow(self.correlation, vmin=-1, vmax=1, cmap="coolwarm")
        heat.set_xticks(range(len(self.members)), self.members, rotation=45)
        heat.set_yticks(range(len(self.members)), self.members)
        heat.set_title("correlation of out-of-fold predictions")
        heat.figure.colorbar(image, ax=heat)
        return np.asarray(ax)


def member_correlation(blocks: list) -> np.ndarray:
    """Pearson correlation between members' flattened out-of-fold blocks."""
    n = len(blocks)
    corr = np.full((n, n), np.nan)
    for i in range(n):
        for j in range(n):
            if blocks[i].shape == blocks[j].shape:
                a, b = blocks[i].ravel(), blocks[j].ravel()
                if np.std(a) > 0 and np.std(b) > 0:
                    corr[i, j] = np.corrcoef(a, b)[0, 1]
    return corr
