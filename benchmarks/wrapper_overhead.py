"""What skstack's wrapper fixes cost next to scikeras 0.13, on scikit-learn's digits.

Run from the repository root: ``make bench`` or
``.venv/bin/python benchmarks/wrapper_overhead.py [--repeats 3 --epochs 20]``.
Prints a markdown table and writes ``benchmarks/results/wrapper_overhead.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skstack.keras import KerasClassifier, dense_model  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def _seconds(func, repeats: int) -> float:
    """Median wall time of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _measure(name, make_estimator, data, repeats):
    X_train, X_test, y_train, y_test = data
    fitted = []

    def fit():
        fitted.append(make_estimator().fit(X_train, y_train))

    fit_s = _seconds(fit, repeats)
    est = fitted[-1]
    one_row = X_test[:1]
    row_ms = 1000 * _seconds(lambda: est.predict_proba(one_row), 20)
    all_ms = 1000 * _seconds(lambda: est.predict_proba(X_test), 5)
    return {
        "wrapper": name,
        "fit_s": round(fit_s, 3),
        "predict_proba_1_row_ms": round(row_ms, 2),
        f"predict_proba_{len(X_test)}_rows_ms": round(all_ms, 2),
        "one_row_proba_shape": list(np.shape(est.predict_proba(one_row))),
        "accuracy": round(float(est.score(X_test, y_test)), 4),
        "_model": est.model_,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype("float32")
    data = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    params = {"hidden": (64,), "epochs": args.epochs, "batch_size": 32}
    params.update(optimizer="adam", random_state=0, verbose=0)

    rows = [
        _measure(
            "skstack.keras.KerasClassifier",
            lambda: KerasClassifier(dense_model, **params),
            data,
            args.repeats,
        )
    ]
    # scikeras last: its random_state turns TensorFlow op determinism on for the
    # rest of the process, which would change what is measured after it.
    from scikeras.wrappers import KerasClassifier as ScikerasClassifier

    rows.append(
        _measure(
            "scikeras.wrappers.KerasClassifier",
            lambda: ScikerasClassifier(dense_model, **params),
            data,
            args.repeats,
        )
    )
    # Reference for later work: the compiled model called directly on one row.
    model = rows[0].pop("_model")
    rows[1].pop("_model")
    one_row = data[1][:1]
    direct_ms = 1000 * _seconds(lambda: np.asarray(model(one_row)), 20)

    command = " ".join([Path(sys.executable).name, *sys.argv])
    environment = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "scikit-learn": sklearn.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    print(f"command: {command}")
    print(f"environment: {environment}")
    print(f"digits: {len(data[0])} train / {len(data[1])} test rows; {params}")
    print(f"fit time is the median of {args.repeats} fits; predict times of 20 / 5\n")
    keys = [k for k in rows[0] if k != "wrapper"]
    print("| wrapper | " + " | ".join(keys) + " |")
    print("| --- " * (len(keys) + 1) + "|")
    for row in rows:
        print(f"| {row['wrapper']} | " + " | ".join(str(row[k]) for k in keys) + " |")
    print(f"\ncompiled model called directly on one row: {direct_ms:.2f} ms")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "wrapper_overhead.json"
    out.write_text(
        json.dumps(
            {
                "command": command,
                "environment": environment,
                "params": {k: str(v) for k, v in params.items()},
                "rows": rows,
                "direct_call_1_row_ms": round(direct_ms, 2),
            },
            indent=2,
        )
    )
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
