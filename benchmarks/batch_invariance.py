"""One prediction per input: a row's bits in any batch, and what it costs.

On scikit-learn's digits (pixels / 16, float64), a ``KerasClassifier`` of
``dense_model`` (3 epochs) and a ``KerasStackingClassifier`` of such an MLP and
a logistic regression (default meta-learner), both seeded. For each:

- the largest difference between a row's ``predict_proba`` alone and inside
  batches of 5, 63, 64, 65, 200, 1,000 and all 1,797 rows, and among 1,000
  copies of one row in one batch (0.0 is the promise);
- the median wall time of ``predict_proba`` on 1 row (300 calls), on the
  1,797 rows (20 calls) and on 21,564 rows (the digits 12 times, 5 calls).

Run: ``python -m benchmarks.batch_invariance`` (``--isa AVX2`` holds oneDNN to
AVX2 kernels, as on CPUs without AVX-512). To time another commit's code,
run this file with that commit's tree first on ``PYTHONPATH``.
Writes ``benchmarks/results/batch_invariance.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
BATCHES = (5, 63, 64, 65, 200, 1000)


def _median_ms(call, repeats: int) -> float:
    call()  # traced or warmed once
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def measure(name, estimator, X) -> dict:
    import numpy as np

    full = estimator.predict_proba(X)
    differences = {
        str(n): float(np.abs(estimator.predict_proba(X[:n]) - full[:n]).max())
        for n in BATCHES
    }
    differences["one row vs 1797"] = float(
        np.abs(estimator.predict_proba(X[:1]) - full[:1]).max()
    )
    copies = estimator.predict_proba(np.repeat(X[:1], 1000, axis=0))
    differences["1000 copies"] = float(np.abs(copies - copies[0]).max())
    big = np.tile(X, (12, 1))
    return {
        "estimator": name,
        "max_abs_difference": differences,
        "ms_1_row": _median_ms(lambda: estimator.predict_proba(X[:1]), 300),
        "ms_1797_rows": _median_ms(lambda: estimator.predict_proba(X), 20),
        "ms_21564_rows": _median_ms(lambda: estimator.predict_proba(big), 5),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--isa", help="ONEDNN_MAX_CPU_ISA, e.g. AVX2")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.isa:  # read when TensorFlow starts
        os.environ["ONEDNN_MAX_CPU_ISA"] = args.isa
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    import skstack
    from skstack import KerasStackingClassifier
    from skstack.keras import KerasClassifier, dense_model

    X, y = load_digits(return_X_y=True)
    X = X / 16
    network = KerasClassifier(dense_model, epochs=3, random_state=0).fit(X, y)
    members = [
        ("mlp", KerasClassifier(dense_model, epochs=3)),
        ("lr", LogisticRegression(max_iter=300)),
    ]
    stack = KerasStackingClassifier(members, random_state=0).fit(X, y)
    rows = [measure("KerasClassifier", network, X), measure("stack", stack, X)]
    command = "python -m benchmarks.batch_invariance" + (
        f" --isa {args.isa}" if args.isa else ""
    )
    from benchmarks.run import machine

    record = {
        "command": command,
        "skstack": str(Path(skstack.__file__).parent),
        "isa": args.isa or "native",
        "machine": machine(),
        "results": rows,
    }
    print(f"# {command}  (skstack from {record['skstack']}, {record['isa']})")
    for row in rows:
        worst = max(row["max_abs_difference"].values())
        print(
            f"{row['estimator']:<16} largest difference in any batch {worst:.1e}; "
            f"1 row {row['ms_1_row']:.2f} ms, 1,797 rows "
            f"{row['ms_1797_rows']:.1f} ms, 21,564 rows {row['ms_21564_rows']:.0f} ms"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = f"_{args.isa.lower()}" if args.isa else ""
    path = args.out / f"batch_invariance{suffix}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return record


if __name__ == "__main__":
    main()
