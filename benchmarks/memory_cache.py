"""Tuning the meta-learner of the harness's stack with and without ``memory=``.

The digits stack of ``python -m benchmarks`` (two Keras MLPs and a logistic
regression, 5-fold, seeded) with ``LinearMetaClassifier`` as meta-learner,
tuned by ``GridSearchCV(cv=3)`` over six values of ``final_estimator__C``.
Measured in one process, sequentially: the search over ONE value (what a
single candidate costs), the six-value search with ``memory=`` (a fresh cache
directory) and without it; then whether the cached search's ``cv_results_``
equal the uncached one's.

Run: ``python -m benchmarks.memory_cache`` (``--quick`` for a small smoke
run). Writes ``benchmarks/results/memory_cache.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

from skstack import KerasStackingClassifier
from skstack.keras import LinearMetaClassifier

from .run import RESULTS, SEED, machine, members

C_VALUES = [0.001, 0.01, 0.1, 1.0, 10.0, "auto"]
COMPARED = ("mean_test_score", "std_test_score", "rank_test_score", "params")


def _search(X, y, grid, epochs, memory) -> tuple[float, GridSearchCV]:
    stack = KerasStackingClassifier(
        members(epochs, 32),
        final_estimator=LinearMetaClassifier(),
        cv=StratifiedKFold(5, shuffle=True, random_state=SEED),
        memory=memory,
        random_state=SEED,
    )
    search = GridSearchCV(stack, {"final_estimator__C": grid}, cv=3)
    start = time.perf_counter()
    search.fit(X, y)
    return time.perf_counter() - start, search


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    command = "python -m benchmarks.memory_cache" + (" --quick" if args.quick else "")
    epochs = 1 if args.quick else 20

    X, y = load_digits(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(
        X / 16, y, test_size=0.25, random_state=SEED, stratify=y
    )
    one_s, _ = _search(X_train, y_train, C_VALUES[-1:], epochs, None)
    with tempfile.TemporaryDirectory() as cache:
        cached_s, cached = _search(X_train, y_train, C_VALUES, epochs, cache)
    plain_s, plain = _search(X_train, y_train, C_VALUES, epochs, None)
    identical = all(
        np.array_equal(cached.cv_results_[key], plain.cv_results_[key])
        if key != "params"
        else cached.cv_results_[key] == plain.cv_results_[key]
        for key in COMPARED
    )
    record = {
        "command": command,
        "machine": machine(),
        "n_candidates": len(C_VALUES),
        "one_candidate_search_s": round(one_s, 2),
        "six_candidates_with_memory_s": round(cached_s, 2),
        "six_candidates_without_memory_s": round(plain_s, 2),
        "with_memory_over_one_candidate": round(cached_s / one_s, 2),
        "without_memory_over_one_candidate": round(plain_s / one_s, 2),
        "cv_results_identical": identical,
        "best_C": cached.best_params_["final_estimator__C"],
    }
    print(json.dumps(record, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "memory_cache.json").write_text(json.dumps(record, indent=2))
    print(f"wrote {args.out}/memory_cache.json")
    return record


if __name__ == "__main__":
    main()
