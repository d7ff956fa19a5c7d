"""skstack next to scikit-learn's and mlxtend's stacking, measured in one process.

The same members everywhere: two Keras MLPs (skstack's wrapper, so
scikit-learn's stacking can use them) and a logistic regression, 5-fold, with a
logistic-regression meta-learner, and skstack with its defaults (folds fused,
its linear Keras meta-learner); then scikit-learn's stack and skstack's
default with each member written as ``make_pipeline(StandardScaler(), model)``.
Recorded per configuration: fit time, predict latency on 1 row and on 10,000
rows, peak resident memory of this process during the fit, and held-out
accuracy; then the fit time of skstack and scikit-learn on synthetic data from
10,000 rows up.

Run: ``python -m benchmarks`` (``--quick`` for a small smoke run). Writes
``benchmarks/results/harness.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import load_digits, make_classification
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier, dense_model

RESULTS = Path(__file__).parent / "results"
SEED = 0
PIPELINE_PEER = "sklearn StackingClassifier, pipeline members"
PIPELINE_DEFAULT = "skstack defaults, pipeline members"


def members(epochs: int, batch_size: int, scaled: bool = False):
    """The three members; ``scaled``: each ``make_pipeline(StandardScaler(), m)``."""

    def mlp(hidden, seed):
        return KerasClassifier(
            dense_model,
            hidden=hidden,
            epochs=epochs,
            batch_size=batch_size,
            optimizer="adam",
            random_state=seed,
        )

    plain = [
        ("mlp_wide", mlp((64,), SEED)),
        ("mlp_deep", mlp((32, 32), SEED + 1)),
        ("logreg", LogisticRegression(max_iter=1000)),
    ]
    if not scaled:
        return plain
    return [(name, make_pipeline(StandardScaler(), model)) for name, model in plain]


def scikeras_members(epochs: int, batch_size: int):
    """The same members with scikeras's own wrapper: what users stack today.

    Unseeded: scikeras's ``random_state`` would switch TensorFlow's op
    determinism on for the rest of this process.
    """
    from scikeras.wrappers import KerasClassifier as ScikerasClassifier

    def mlp(hidden):
        return ScikerasClassifier(
            dense_model,
            hidden=hidden,
            epochs=epochs,
            batch_size=batch_size,
            optimizer="adam",
            verbose=0,
        )

    return [
        ("mlp_wide", mlp((64,))),
        ("mlp_deep", mlp((32, 32))),
        ("logreg", LogisticRegression(max_iter=1000)),
    ]


def configurations(epochs: int, batch_size: int) -> dict:
    """Name -> a function making the unfitted stack (a new one per call)."""
    cv = StratifiedKFold(5, shuffle=True, random_state=SEED)

    def sklearn_stack(n_jobs, scaled=False):
        return lambda: StackingClassifier(
            members(epochs, batch_size, scaled),
            final_estimator=LogisticRegression(max_iter=1000),
            cv=cv,
            n_jobs=n_jobs,
        )

    def mlxtend_stack():
        from mlxtend.classifier import StackingCVClassifier

        return StackingCVClassifier(
            [member for _, member in members(epochs, batch_size)],
            meta_classifier=LogisticRegression(max_iter=1000),
            cv=cv,
            use_probas=True,
            random_state=SEED,
        )

    def skstack(n_jobs=None, logistic_meta=True, scaled=False, **params):
        # logistic_meta: scikit-learn's meta-learner; else skstack's default.
        final = LogisticRegression(max_iter=1000) if logistic_meta else None
        return lambda: KerasStackingClassifier(
            members(epochs, batch_size, scaled),
            final_estimator=final,
            cv=cv,
            n_jobs=n_jobs,
            random_state=SEED,
            **params,
        )

    def sklearn_scikeras_stack():
        return StackingClassifier(
            scikeras_members(epochs, batch_size),
            final_estimator=LogisticRegression(max_iter=1000),
            cv=cv,
        )

    return {
        "sklearn StackingClassifier, scikeras members": sklearn_scikeras_stack,
        "sklearn StackingClassifier": sklearn_stack(None),
        "sklearn StackingClassifier n_jobs=2": sklearn_stack(2),
        "mlxtend StackingCVClassifier": mlxtend_stack,
        "skstack defaults": skstack(logistic_meta=False),
        "skstack defaults n_jobs=2": skstack(2, logistic_meta=False),
        "skstack, LogisticRegression meta": skstack(),
        "skstack fuse_folds=False, LogisticRegression meta": skstack(fuse_folds=False),
        "skstack fuse_folds=False n_jobs=2, LogisticRegression meta": skstack(
            2, fuse_folds=False
        ),
        # Each member its own make_pipeline(StandardScaler(), model).
        PIPELINE_PEER: sklearn_stack(None, scaled=True),
        PIPELINE_DEFAULT: skstack(logistic_meta=False, scaled=True),
    }


class PeakMemory:
    """Peak resident memory of this process above its level at the start (MB).

    Sampled every 10 ms from /proc; memory of joblib worker processes is not
    counted.
    """

    def __enter__(self):
        self.start = self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())
        self.mb = self.peak - self.start


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def latency_ms(predict, X, repeats: int) -> float:
    """Median wall time of ``predict(X)`` over ``repeats`` calls, after one warm-up."""
    predict(X)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(X)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure(name, make, X_train, y_train, X_test, y_test, X_10k, repeats):
    row = {"configuration": name}
    try:
        stack = make()
        with PeakMemory() as memory:
            start = time.perf_counter()
            stack.fit(X_train, y_train)
            row["fit_s"] = time.perf_counter() - start
        row["peak_memory_mb"] = memory.mb
        row["accuracy"] = float(np.mean(stack.predict(X_test) == y_test))
        try:
            row["predict_1_row_ms"] = latency_ms(
                stack.predict_proba, X_test[:1], repeats
            )
        except Exception as exc:  # scikeras's one-row output shape breaks sklearn
            row["predict_1_row_error"] = f"{type(exc).__name__}: {exc}"[:200]
            row["predict_2_rows_ms"] = latency_ms(
                stack.predict_proba, X_test[:2], repeats
            )
        row["predict_10k_rows_ms"] = latency_ms(stack.predict_proba, X_10k, 3)
        if isinstance(stack, KerasStackingClassifier):
            row["fused_members"] = list(stack.fused_members_)
            model = stack.to_keras()
            one = X_test[:1].astype("float32")
            # predict_on_batch runs the compiled graph; calling the model runs
            # it eagerly, op by op.
            row["to_keras_1_row_ms"] = latency_ms(model.predict_on_batch, one, repeats)
            row["to_keras_eager_call_1_row_ms"] = latency_ms(model, one, repeats)
            exported = np.asarray(model(X_test.astype("float32")))
            row["to_keras_max_abs_diff"] = float(
                np.abs(exported - stack.predict_proba(X_test)).max()
            )
    except Exception as exc:  # a peer that breaks is reported, not hidden
        row["error"] = f"{type(exc).__name__}: {exc}"[:300]
    print(json.dumps(row), flush=True)
    return row


def scaling(sizes, epochs, batch_size) -> list[dict]:
    """Fit time of skstack's default stack and scikit-learn's by number of rows."""
    rows = []
    for n_rows in sizes:
        X, y = make_classification(
            n_samples=n_rows + 2000,
            n_features=20,
            n_informative=10,
            n_classes=3,
            random_state=SEED,
        )
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=2000, random_state=SEED, stratify=y
        )
        makers = configurations(epochs, batch_size)
        for name in ("skstack defaults", "sklearn StackingClassifier"):
            stack = makers[name]()
            start = time.perf_counter()
            stack.fit(X_train, y_train)
            row = {
                "configuration": name,
                "rows": n_rows,
                "fit_s": time.perf_counter() - start,
                "accuracy": float(np.mean(stack.predict(X_test) == y_test)),
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def headline(rows: list[dict]) -> dict:
    """Ratios of skstack's figures to scikit-learn's, from this run."""
    by_name = {row["configuration"]: row for row in rows if "error" not in row}
    peer = by_name.get("sklearn StackingClassifier")
    default = by_name.get("skstack defaults")
    if not peer or not default:
        return {}
    ratios = {
        "fit_time_default_over_sklearn": default["fit_s"] / peer["fit_s"],
        "accuracy_default_minus_sklearn": default["accuracy"] - peer["accuracy"],
        "predict_1_row_default_ms": default["predict_1_row_ms"],
        "predict_1_row_default_over_sklearn": default["predict_1_row_ms"]
        / peer["predict_1_row_ms"],
    }
    today = by_name.get("sklearn StackingClassifier, scikeras members", {})
    if "fit_s" in today:
        ratios["fit_time_default_over_sklearn_scikeras"] = (
            default["fit_s"] / today["fit_s"]
        )
    pipeline_peer = by_name.get(PIPELINE_PEER)
    pipeline_default = by_name.get(PIPELINE_DEFAULT)
    if pipeline_peer and pipeline_default:
        ratios["fit_time_default_over_sklearn, pipeline members"] = (
            pipeline_default["fit_s"] / pipeline_peer["fit_s"]
        )
        ratios["predict_1_row_default_ms, pipeline members"] = pipeline_default[
            "predict_1_row_ms"
        ]
        ratios["predict_1_row_default_over_sklearn, pipeline members"] = (
            pipeline_default["predict_1_row_ms"] / pipeline_peer["predict_1_row_ms"]
        )
        ratios["accuracy_default_minus_sklearn, pipeline members"] = (
            pipeline_default["accuracy"] - pipeline_peer["accuracy"]
        )
    unfused = by_name.get("skstack fuse_folds=False, LogisticRegression meta")
    same_meta = by_name.get("skstack, LogisticRegression meta")
    if unfused and same_meta:
        ratios["fit_time_fused_over_fold_by_fold"] = (
            same_meta["fit_s"] / unfused["fit_s"]
        )
    for name in ("skstack defaults", "skstack fuse_folds=False"):
        suffix = "" if name == "skstack defaults" else ", LogisticRegression meta"
        sequential = by_name.get(name + suffix)
        parallel = by_name.get(f"{name} n_jobs=2{suffix}")
        if sequential and parallel:
            ratios[f"speedup_n_jobs_2 ({name})"] = (
                sequential["fit_s"] / parallel["fit_s"]
            )
    return ratios


def write_markdown(path, command, rows, curve, ratios) -> None:
    columns = [
        ("configuration", "configuration", "{}"),
        ("fit_s", "fit (s)", "{:.1f}"),
        ("predict_1_row_ms", "predict 1 row (ms)", "{:.1f}"),
        ("predict_2_rows_ms", "predict 2 rows (ms)", "{:.1f}"),
        ("predict_10k_rows_ms", "predict 10k rows (ms)", "{:.0f}"),
        ("to_keras_1_row_ms", "to_keras predict_on_batch 1 row (ms)", "{:.2f}"),
        ("to_keras_eager_call_1_row_ms", "to_keras model(x) 1 row (ms)", "{:.1f}"),
        ("peak_memory_mb", "peak memory (MB)", "{:.0f}"),
        ("accuracy", "accuracy", "{:.4f}"),
    ]
    lines = [f"Measured with `{command}`", ""]
    lines.append("| " + " | ".join(title for _, title, _ in columns) + " |")
    lines.append("|" + " --- |" * len(columns))
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['configuration']} | failed: {row['error']} |")
            continue
        cells = [fmt.format(row[key]) if key in row else "" for key, _, fmt in columns]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| ratio | value |", "| --- | --- |"]
    lines += [f"| {key} | {value:.3f} |" for key, value in ratios.items()]
    lines += [
        "",
        "| configuration | rows | fit (s) | accuracy |",
        "| --- | --- | --- | --- |",
    ]
    for r in curve:
        cells = [
            r["configuration"],
            r["rows"],
            f"{r['fit_s']:.1f}",
            f"{r['accuracy']:.4f}",
        ]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    path.write_text("\n".join(lines) + "\n")


def plot(path, rows, curve) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (bars, lines) = plt.subplots(1, 2, figsize=(13, 4.5))
    fitted = [row for row in rows if "error" not in row]
    bars.barh([row["configuration"] for row in fitted], [r["fit_s"] for r in fitted])
    bars.set_xlabel("fit time on digits (s)")
    bars.invert_yaxis()
    for name in sorted({r["configuration"] for r in curve}):
        points = [r for r in curve if r["configuration"] == name]
        lines.plot(
            [r["rows"] for r in points], [r["fit_s"] for r in points], "o-", label=name
        )
    lines.set_xlabel("training rows (synthetic)")
    lines.set_ylabel("fit time (s)")
    lines.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def machine() -> dict:
    """What the figures were measured on, for a benchmark's JSON record."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "scikit-learn": sklearn.__version__,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    command = "python -m benchmarks" + (" --quick" if args.quick else "")
    if args.quick:
        epochs, repeats, sizes, scale_epochs = 1, 3, [2000], 1
    else:
        epochs, repeats, sizes, scale_epochs = 20, 20, [10_000, 30_000, 100_000], 5

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.25, random_state=SEED, stratify=y
    )
    X_10k = np.resize(X_test, (10_000, X_test.shape[1]))
    rows = [
        measure(name, make, X_train, y_train, X_test, y_test, X_10k, repeats)
        for name, make in configurations(epochs, 32).items()
    ]
    curve = scaling(sizes, scale_epochs, 256)
    ratios = headline(rows)
    print(json.dumps(ratios, indent=2))

    args.out.mkdir(parents=True, exist_ok=True)
    record = {
        "command": command,
        "machine": machine(),
        "digits_stack": rows,
        "scaling": curve,
        "headline": ratios,
    }
    (args.out / "harness.json").write_text(json.dumps(record, indent=2))
    write_markdown(args.out / "harness.md", command, rows, curve, ratios)
    plot(args.out / "harness.png", rows, curve)
    print(f"wrote {args.out}/harness.json, harness.md, harness.png")


if __name__ == "__main__":
    main()
