"""Members written with only their builder, against scikit-learn's MLP defaults.

Issue 42's table, re-measured, and the measurement its defaults were chosen
by. Held-out scores (25% held out, seeded split) on digits (pixels / 16),
diabetes as it ships (target mean 152, standard deviation 77; features
standardized) and ``python -m benchmarks.realdata``'s eight tables (its
preprocessing, its log-standardized regression targets):

- members alone: ``MLPClassifier()`` / ``MLPRegressor()`` with scikit-learn's
  defaults; ``KerasClassifier(dense_model)`` / ``KerasRegressor(dense_model)``
  with skstack's defaults (``epochs="auto"``, Adam); with RMSprop; with
  scikeras's defaults (``epochs=1, optimizer="rmsprop"``); on digits 20 epochs, on
  diabetes the targets unscaled and in ``TransformedTargetRegressor``;
- stacks: ``KerasStackingClassifier`` / ``Regressor`` with its defaults and
  scikit-learn's ``StackingClassifier`` / ``Regressor`` with its defaults, of
  the same members: the Keras member with skstack's defaults,
  ``HistGradientBoosting`` and a linear model.

Accuracy (classification) or R^2, and fit seconds, in one process. Run:
``python -m benchmarks.member_defaults`` (``--quick``: members only, on 600
digits).
Writes ``benchmarks/results/member_defaults.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from .run import RESULTS, SEED, machine

SKSTACK_DEFAULT = "skstack defaults"
MLP_DEFAULT = "scikit-learn MLP defaults"


def _datasets(quick: bool):
    """(name, task, train/test parts, preprocessing factory or None)."""
    from sklearn.datasets import load_diabetes, load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from .realdata import DATASETS, load, preprocessing

    X, y = load_digits(return_X_y=True)
    yield (
        "digits",
        "classification",
        train_test_split(X / 16, y, random_state=SEED, stratify=y),
        None,
    )
    if quick:
        return
    X, y = load_diabetes(return_X_y=True)
    yield (
        "diabetes",
        "regression",
        train_test_split(X, y, random_state=SEED),
        StandardScaler,
    )
    for spec in DATASETS:
        X, y = load(*spec)
        task = spec[3]
        X_train, X_test, y_train, y_test = train_test_split(
            X,
            y,
            test_size=0.25,
            random_state=SEED,
            stratify=y if task == "classification" else None,
        )
        if task == "regression":
            mean, std = y_train.mean(), y_train.std()
            y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
        parts = (X_train, X_test, y_train, y_test)
        yield f"{spec[0]}/{spec[1]}", task, parts, preprocessing


def _members(name, task):
    """(label, make) of every member measured alone on one dataset."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.preprocessing import StandardScaler

    from skstack.keras import KerasClassifier, KerasRegressor, dense_model

    classifier = task == "classification"
    mlp = MLPClassifier if classifier else MLPRegressor
    wrapper = KerasClassifier if classifier else KerasRegressor
    kind = wrapper.__name__
    yield MLP_DEFAULT, f"{mlp.__name__}()", lambda: mlp(random_state=SEED)
    yield (
        SKSTACK_DEFAULT,
        f"{kind}(dense_model)",
        lambda: wrapper(dense_model, random_state=SEED),
    )
    yield (
        "auto epochs, rmsprop",
        f"{kind}(dense_model, optimizer='rmsprop')",
        lambda: wrapper(dense_model, optimizer="rmsprop", random_state=SEED),
    )
    yield (
        "scikeras defaults",
        f"{kind}(dense_model, epochs=1, optimizer='rmsprop')",
        (
            lambda: wrapper(
                dense_model, epochs=1, optimizer="rmsprop", random_state=SEED
            )
        ),
    )
    if name == "digits":
        yield (
            "20 epochs",
            f"{kind}(dense_model, epochs=20)",
            lambda: wrapper(dense_model, epochs=20, random_state=SEED),
        )
    if name == "diabetes":
        yield (
            "target unscaled",
            f"{kind}(dense_model, scale_target=False)",
            (lambda: wrapper(dense_model, scale_target=False, random_state=SEED)),
        )
        yield (
            "target scaled outside",
            "TransformedTargetRegressor(KerasRegressor(dense_model, "
            "scale_target=False), transformer=StandardScaler())",
            lambda: TransformedTargetRegressor(
                wrapper(dense_model, scale_target=False, random_state=SEED),
                transformer=StandardScaler(),
            ),
        )


def _stacks(task):
    """(label, make) of skstack's and scikit-learn's stack of the same members."""
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        StackingClassifier,
        StackingRegressor,
    )
    from sklearn.linear_model import LogisticRegression, RidgeCV

    from skstack import KerasStackingClassifier, KerasStackingRegressor
    from skstack.keras import KerasClassifier, KerasRegressor, dense_model

    def members():
        if task == "classification":
            return [
                ("mlp", KerasClassifier(dense_model, random_state=SEED)),
                ("hgb", HistGradientBoostingClassifier(random_state=SEED)),
                ("linear", LogisticRegression(max_iter=2000)),
            ]
        return [
            ("mlp", KerasRegressor(dense_model, random_state=SEED)),
            ("hgb", HistGradientBoostingRegressor(random_state=SEED)),
            ("linear", RidgeCV()),
        ]

    classifier = task == "classification"
    ours = KerasStackingClassifier if classifier else KerasStackingRegressor
    theirs = StackingClassifier if classifier else StackingRegressor
    yield "skstack stack", lambda: ours(members())
    yield "scikit-learn stack", lambda: theirs(members())


def _fit_and_score(make, parts, preprocess):
    from sklearn.pipeline import make_pipeline

    X_train, X_test, y_train, y_test = parts
    model = make()
    if preprocess is not None:
        model = make_pipeline(preprocess(), model)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    return round(float(model.score(X_test, y_test)), 4), round(fit_s, 2)


def measure(quick: bool) -> list[dict]:
    rows = []
    for name, task, parts, preprocess in _datasets(quick):
        made = [(label, member, make) for label, member, make in _members(name, task)]
        if not quick:
            made += [(label, label, make) for label, make in _stacks(task)]
        for label, member, make in made:
            score, fit_s = _fit_and_score(make, parts, preprocess)
            row = {
                "data": name,
                "task": task,
                "model": label,
                "member": member,
                "score": score,
                "fit_s": fit_s,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def summary(rows) -> dict:
    """skstack's default member against the MLP, skstack's stack against
    scikit-learn's, per dataset: the median and the lowest difference."""
    by = {(row["data"], row["model"]): row for row in rows}
    names = list(dict.fromkeys(row["data"] for row in rows))
    result = {}
    pairs = {
        "member_minus_mlp": (SKSTACK_DEFAULT, MLP_DEFAULT),
        "stack_minus_sklearn_stack": ("skstack stack", "scikit-learn stack"),
    }
    for key, (ours, theirs) in pairs.items():
        differences = [
            by[name, ours]["score"] - by[name, theirs]["score"]
            for name in names
            if (name, ours) in by and (name, theirs) in by
        ]
        if differences:
            result[f"{key}_median"] = round(statistics.median(differences), 4)
            result[f"{key}_lowest"] = round(min(differences), 4)
    ratios = [
        by[name, "skstack stack"]["fit_s"] / by[name, "scikit-learn stack"]["fit_s"]
        for name in names
        if (name, "skstack stack") in by
    ]
    if ratios:
        result["stack_fit_time_ratio_median"] = round(statistics.median(ratios), 3)
    return result


def write_markdown(path, command, rows, totals) -> None:
    lines = [
        f"Measured with `{command}`",
        "",
        "Held-out accuracy (classification) or R² (regression) and fit time of "
        "members given only their builder, next to scikit-learn's MLP defaults, "
        "and of skstack's and scikit-learn's stacks of the same members.",
        "",
        "| data | model | member | score | fit (s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['data']} | {r['model']} | `{r['member']}` | {r['score']:.4f} "
        f"| {r['fit_s']:.1f} |"
        for r in rows
    ]
    lines += ["", "| summary | value |", "| --- | --- |"]
    lines += [f"| {key} | {value} |" for key, value in totals.items()]
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    command = "python -m benchmarks.member_defaults" + (
        " --quick" if args.quick else ""
    )
    rows = measure(args.quick)
    totals = summary(rows)
    record = {
        "command": command,
        "machine": machine(),
        "rows": rows,
        "summary": totals,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "member_defaults.json").write_text(json.dumps(record, indent=2))
    write_markdown(args.out / "member_defaults.md", command, rows, totals)
    print(json.dumps(totals, indent=2))
    print(f"wrote {args.out}/member_defaults.json, member_defaults.md")
    return record


if __name__ == "__main__":
    main()
