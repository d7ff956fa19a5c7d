"""The default stack with Keras members written the ways Keras users write them.

Digits (1,347 training rows, 450 held out), 5-fold. Members: two
``KerasClassifier(dense_model)`` (hidden (64,) and (32, 32), otherwise the
wrapper's defaults) and ``LogisticRegression(max_iter=500)``. Each row writes
the Keras members one way: plain ``epochs=20``; Keras's ``EarlyStopping``
callback (``patience=3, restore_best_weights=True``) with
``validation_split=0.1`` and ``epochs=60``; skstack's ``early_stopping=True``
with ``epochs=60``; ``class_weight="balanced"`` with ``epochs=20``; Keras's
own ``keras.wrappers.SKLearnClassifier`` of the same networks (a builder
``model(X, y, hidden)``, ``fit_kwargs={"epochs": 20, "verbose": 0}``; in
scikit-learn's stack its clones train one epoch, as Keras's ``clone`` drops
``fit_kwargs``). For each, in one process: scikit-learn's
``StackingClassifier``, skstack's default stack (``fused_members_``,
``unfused_members_``) and skstack with ``fuse_folds=False``: fit time,
held-out accuracy, and each Keras member's
out-of-fold accuracy (its columns of ``oof_predictions_``) fused and not.
Then skstack's default stack with the plain-epochs networks written with
skstack's wrapper and with Keras's, fitted alternately ``--repeats`` times
each: their median fit times and ratio.

Run: ``python -m benchmarks.member_forms`` (``--quick`` for a small smoke
run). Writes ``benchmarks/results/member_forms.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
from keras.wrappers import SKLearnClassifier
from sklearn.datasets import load_digits
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split

from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier, dense_model

from .run import RESULTS, SEED, machine

NETWORKS = {"mlp_wide": (64,), "mlp_deep": (32, 32)}


def forms(epochs: int, long_epochs: int) -> dict:
    """Row label -> a function making the Keras members written that way."""

    def stopping():
        return keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)

    return {
        f"epochs={epochs}": lambda: skstack_networks(epochs=epochs),
        f"EarlyStopping callback, validation_split=0.1, epochs={long_epochs}": (
            lambda: skstack_networks(
                callbacks=[stopping()], validation_split=0.1, epochs=long_epochs
            )
        ),
        f"early_stopping=True, epochs={long_epochs}": lambda: skstack_networks(
            early_stopping=True, epochs=long_epochs
        ),
        f'class_weight="balanced", epochs={epochs}': lambda: skstack_networks(
            class_weight="balanced", epochs=epochs
        ),
        f"keras.wrappers.SKLearnClassifier, epochs={epochs}": (
            lambda: keras_wrapper_networks(epochs)
        ),
    }


def skstack_networks(**params) -> list:
    return [
        (name, KerasClassifier(dense_model, hidden=hidden, random_state=SEED, **params))
        for name, hidden in NETWORKS.items()
    ]


def keras_builder(X, y, hidden):
    """dense_model's network, written as Keras's wrappers document a builder."""
    inputs = keras.Input((X.shape[1],))
    features = inputs
    for units in hidden:
        features = keras.layers.Dense(units, activation="relu")(features)
    outputs = keras.layers.Dense(y.shape[1], activation="softmax")(features)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    return model


def keras_wrapper_networks(epochs: int) -> list:
    return [
        (
            name,
            SKLearnClassifier(
                model=keras_builder,
                model_kwargs={"hidden": hidden},
                fit_kwargs={"epochs": epochs, "verbose": 0},
            ),
        )
        for name, hidden in NETWORKS.items()
    ]


def members(networks: list) -> list:
    return [*networks, ("logreg", LogisticRegression(max_iter=500))]


def oof_accuracy(stack, y) -> dict:
    """Each Keras member's out-of-fold accuracy, from its probability columns."""
    names = stack.get_feature_names_out()
    scores = {}
    for member in NETWORKS:
        columns = [i for i, n in enumerate(names) if n.startswith(f"{member}_proba_")]
        predicted = stack.classes_[np.argmax(stack.oof_predictions_[:, columns], 1)]
        scores[member] = float(np.mean(predicted == y))
    return scores


def _timed_fit(stack, X, y) -> float:
    start = time.perf_counter()
    stack.fit(X, y)
    return time.perf_counter() - start


def measure(label, make_networks, X_train, y_train, X_test, y_test) -> dict:
    cv = StratifiedKFold(5, shuffle=True, random_state=SEED)
    final = LogisticRegression(max_iter=1000)
    peer = StackingClassifier(members(make_networks()), final_estimator=final, cv=cv)
    fused = KerasStackingClassifier(members(make_networks()), cv=cv, random_state=SEED)
    unfused = KerasStackingClassifier(
        members(make_networks()), cv=cv, random_state=SEED, fuse_folds=False
    )
    row = {"member form": label, "fit_s": {}, "accuracy": {}}
    for name, stack in (("sklearn", peer), ("skstack", fused), ("unfused", unfused)):
        row["fit_s"][name] = round(_timed_fit(stack, X_train, y_train), 2)
        row["accuracy"][name] = round(float(stack.score(X_test, y_test)), 4)
        print(
            json.dumps({"form": label, "stack": name, **_last(row, name)}), flush=True
        )
    row["ratio"] = round(row["fit_s"]["skstack"] / row["fit_s"]["sklearn"], 3)
    row["fused_members"] = list(fused.fused_members_)
    row["unfused_members"] = dict(fused.unfused_members_)
    row["oof_accuracy_fused"] = oof_accuracy(fused, y_train)
    row["oof_accuracy_unfused"] = oof_accuracy(unfused, y_train)
    return row


def paired_fit_times(epochs, repeats, X, y) -> dict:
    """The default stack's fit with skstack's wrappers and with Keras's of the
    same networks and epochs, timed alternately ``repeats`` times each (so
    drift in the machine's speed hits both alike)."""
    cv = StratifiedKFold(5, shuffle=True, random_state=SEED)
    ways = {
        "skstack": lambda: skstack_networks(epochs=epochs),
        "keras.wrappers": lambda: keras_wrapper_networks(epochs),
    }
    times = {name: [] for name in ways}
    for repeat in range(repeats):
        order = list(ways) if repeat % 2 == 0 else list(reversed(ways))
        for name in order:
            stack = KerasStackingClassifier(
                members(ways[name]()), cv=cv, random_state=SEED
            )
            times[name].append(round(_timed_fit(stack, X, y), 3))
    medians = {name: float(np.median(values)) for name, values in times.items()}
    return {
        "epochs": epochs,
        "fit_s": times,
        "median_fit_s": medians,
        "ratio": round(medians["keras.wrappers"] / medians["skstack"], 3),
    }


def _last(row, name) -> dict:
    return {"fit_s": row["fit_s"][name], "accuracy": row["accuracy"][name]}


def write_markdown(path, command, rows, paired) -> None:
    lines = [
        f"Measured with `{command}`",
        "",
        "Digits, 5-fold; members: two `KerasClassifier(dense_model)` (hidden (64,), "
        "(32, 32)) written as in the first column, and "
        "`LogisticRegression(max_iter=500)`. Fit seconds in one process; "
        "ratio = skstack's default / scikit-learn's `StackingClassifier`.",
        "",
        "| how the Keras members are written | sklearn fit (s) | skstack fit (s) "
        "| ratio | sklearn acc | skstack acc | fused_members_ "
        "| OOF acc fused (wide / deep) | OOF acc fuse_folds=False | "
        "fuse_folds=False fit (s) |",
        "|" + " --- |" * 10,
    ]
    for row in rows:
        fit, acc = row["fit_s"], row["accuracy"]
        fused, unfused = row["oof_accuracy_fused"], row["oof_accuracy_unfused"]
        cells = [
            row["member form"],
            f"{fit['sklearn']:.1f}",
            f"{fit['skstack']:.1f}",
            f"{row['ratio']:.2f}",
            f"{acc['sklearn']:.4f}",
            f"{acc['skstack']:.4f}",
            ", ".join(row["fused_members"]) or "none",
            " / ".join(f"{fused[m]:.4f}" for m in NETWORKS),
            " / ".join(f"{unfused[m]:.4f}" for m in NETWORKS),
            f"{fit['unfused']:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    medians = paired["median_fit_s"]
    lines += [
        "",
        f"The default stack, its networks written with skstack's wrapper and with "
        f"`keras.wrappers.SKLearnClassifier` ({paired['epochs']} epochs), fitted "
        "alternately:",
        "",
        "| networks written with | fit times (s) | median fit (s) | ratio to skstack |",
        "|" + " --- |" * 4,
    ]
    for name, times in paired["fit_s"].items():
        ratio = medians[name] / medians["skstack"]
        lines.append(
            f"| {name} | {', '.join(f'{t:.2f}' for t in times)} "
            f"| {medians[name]:.2f} | {ratio:.2f} |"
        )
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--repeats", type=int, default=5, help="alternate timed fits of each form"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = 1
    command = "python -m benchmarks.member_forms" + (
        " --quick" if args.quick else f" --repeats {args.repeats}"
    )
    epochs, long_epochs = (1, 2) if args.quick else (20, 60)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.25, random_state=SEED, stratify=y
    )
    if args.quick:
        X_train, y_train = X_train[:300], y_train[:300]
    rows = [
        measure(label, make, X_train, y_train, X_test, y_test)
        for label, make in forms(epochs, long_epochs).items()
    ]
    paired = paired_fit_times(epochs, args.repeats, X_train, y_train)
    record = {
        "command": command,
        "machine": machine(),
        "rows": rows,
        "keras_wrappers_paired": paired,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "member_forms.json").write_text(json.dumps(record, indent=2))
    write_markdown(args.out / "member_forms.md", command, rows, paired)
    print(f"wrote {args.out}/member_forms.json, member_forms.md")
    return record


if __name__ == "__main__":
    main()
