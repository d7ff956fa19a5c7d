"""Held-out scores of skstack's stacking variants next to scikit-learn's stacking.

Same members everywhere (a small Keras MLP, a logistic regression, k-nearest
neighbours), same split, on three classification datasets bundled with
scikit-learn. Prints a table and writes benchmarks/results/stacking_variants.json.

Run: ``.venv/bin/python benchmarks/stacking_variants.py``
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import sklearn
from sklearn import datasets
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skstack import KerasStackingClassifier
from skstack.ensemble import EnsembleSelectionClassifier
from skstack.keras import KerasClassifier, dense_model

SEED = 0


def members():
    return [
        (
            "mlp",
            KerasClassifier(
                dense_model,
                hidden=(32,),
                epochs=20,
                optimizer="adam",
                random_state=SEED,
            ),
        ),
        ("logreg", LogisticRegression(max_iter=1000)),
        ("knn", KNeighborsClassifier(7)),
    ]


def variants():
    return {
        "skstack defaults": KerasStackingClassifier(members(), random_state=SEED),
        "skstack average + n_repeats=2": KerasStackingClassifier(
            members(), fold_models="average", n_repeats=2, random_state=SEED
        ),
        "skstack two layers": make_pipeline(
            KerasStackingClassifier(members(), passthrough=True, random_state=SEED),
            KerasStackingClassifier(
                [
                    ("logreg2", LogisticRegression(max_iter=1000)),
                    ("knn2", KNeighborsClassifier(7)),
                ],
                final_estimator=LogisticRegression(max_iter=1000),
                random_state=SEED,
            ),
        ),
        "skstack EnsembleSelection": KerasStackingClassifier(
            members(), final_estimator=EnsembleSelectionClassifier(), random_state=SEED
        ),
        "sklearn StackingClassifier": StackingClassifier(
            members(), final_estimator=LogisticRegression(max_iter=1000)
        ),
    }


def main() -> dict:
    results = {}
    for name in ("breast_cancer", "wine", "digits"):
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=SEED
        )
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        row = {}
        singles = {
            n: m.fit(X_train, y_train).score(X_test, y_test) for n, m in members()
        }
        best = max(singles, key=singles.get)
        row[f"best single member ({best})"] = {"accuracy": singles[best]}
        for label, model in variants().items():
            start = time.perf_counter()
            model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            row[label] = {"accuracy": model.score(X_test, y_test), "fit_s": seconds}
        results[name] = row
        print(f"\n{name} ({len(X_train)} train / {len(X_test)} test)")
        for label, values in row.items():
            fit = f"{values['fit_s']:7.1f} s" if "fit_s" in values else " " * 9
            print(f"  {label:<36} accuracy {values['accuracy']:.4f}  fit {fit}")
    record = {
        "command": "python benchmarks/stacking_variants.py",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "sklearn": sklearn.__version__,
        "results": results,
    }
    out = Path(__file__).parent / "results" / "stacking_variants.json"
    out.write_text(json.dumps(record, indent=2))
    print(f"\nwrote {out}")
    return record


if __name__ == "__main__":
    main()
