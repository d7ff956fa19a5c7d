"""Wall time of one stack fitted on a local Dask cluster with 1 and with 2 workers.

The digits stack of the harness (two Keras MLPs + a logistic regression, 5-fold,
logistic-regression meta-learner), fitted under ``joblib.parallel_backend("dask")``
on a ``LocalCluster`` of worker processes (one thread each) on this machine.
Each cluster gets one warm-up fit first, so worker start-up and TensorFlow's
import are not counted. Writes benchmarks/results/dask_workers.json.

Run: ``python benchmarks/dask_workers.py`` (needs the ``dask`` extra).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import joblib
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split

from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier, dense_model

SEED = 0


def make_stack():
    def mlp(hidden, seed):
        return KerasClassifier(
            dense_model, hidden=hidden, epochs=20, optimizer="adam", random_state=seed
        )

    members = [
        ("mlp_wide", mlp((64,), SEED)),
        ("mlp_deep", mlp((32, 32), SEED + 1)),
        ("logreg", LogisticRegression(max_iter=1000)),
    ]
    return KerasStackingClassifier(
        members,
        final_estimator=LogisticRegression(max_iter=1000),
        cv=StratifiedKFold(5, shuffle=True, random_state=SEED),
        random_state=SEED,
    )


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.25, random_state=SEED, stratify=y
    )
    rows = []
    for n_workers in (1, 2):
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        )
        with Client(cluster), joblib.parallel_backend("dask"):
            make_stack().fit(X_train, y_train)  # warm-up
            start = time.perf_counter()
            stack = make_stack().fit(X_train, y_train)
            seconds = time.perf_counter() - start
        cluster.close()
        row = {
            "workers": n_workers,
            "fit_s": seconds,
            "accuracy": float(np.mean(stack.predict(X_test) == y_test)),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    speedup = rows[0]["fit_s"] / rows[1]["fit_s"]
    print(f"speed-up with 2 workers: {speedup:.2f}x")
    record = {
        "command": "python benchmarks/dask_workers.py",
        "cpu_count": os.cpu_count(),
        "rows": rows,
        "speedup_2_workers": speedup,
    }
    out = Path(__file__).parent / "results" / "dask_workers.json"
    out.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
