"""Fusion merges on probability outputs and on penultimate features.

Digits (pixels / 16; 1,347 training rows, 450 held out, stratified). A
``KerasFusionClassifier`` of three dense networks ending in a 10-way softmax
(hidden (64,), (32, 64) and (128, 64): penultimate layers of one width),
trained end to end (20 epochs, Adam,
batch 32, seeded), merged by each of ``concat``, ``add``, ``average``,
``maximum``, ``multiply``, ``weighted`` and ``attention``, from the members'
probability outputs (``layer=-1``) and from their penultimate layers
(``layer=-2``). Held-out accuracy of each, and the gap of each probability
merge to ``concat`` of the probabilities.

Run: ``python -m benchmarks.fusion_merges`` (``--quick``: 2 epochs, two merges).
Writes ``benchmarks/results/fusion_merges.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .run import RESULTS, SEED, machine

MERGES = ("concat", "add", "average", "maximum", "multiply", "weighted", "attention")
HIDDEN = ((64,), (32, 64), (128, 64))


def _member(hidden):
    def build(input_shape):
        import keras

        inputs = keras.Input(input_shape)
        x = inputs
        for width in hidden:
            x = keras.layers.Dense(width, activation="relu")(x)
        outputs = keras.layers.Dense(10, activation="softmax")(x)
        return keras.Model(inputs, outputs)

    return build


def measure(quick: bool) -> list[dict]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from skstack.compose import KerasFusionClassifier

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.25, random_state=SEED, stratify=y
    )
    merges = MERGES[:1] + MERGES[4:5] if quick else MERGES
    rows = []
    for layer in (-1, -2):
        for merge in merges:
            fusion = KerasFusionClassifier(
                [(f"net{i}", _member(h)) for i, h in enumerate(HIDDEN)],
                layer=layer,
                merge=merge,
                epochs=2 if quick else 20,
                batch_size=32,
                optimizer="adam",
                random_state=SEED,
            )
            start = time.perf_counter()
            fusion.fit(X_train, y_train)
            rows.append(
                {
                    "layer": layer,
                    "merge": merge,
                    "accuracy": round(float(fusion.score(X_test, y_test)), 4),
                    "fit_s": round(time.perf_counter() - start, 2),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def write_markdown(path, command, rows) -> None:
    concat = next(
        r["accuracy"] for r in rows if r["layer"] == -1 and r["merge"] == "concat"
    )
    lines = [
        f"Measured with `{command}`",
        "",
        "Digits, a fusion of three softmax networks trained end to end; held-out "
        "accuracy by merge, of the probability outputs (`layer=-1`, merged as "
        "log-probabilities except by `concat`) and of the penultimate layers "
        "(`layer=-2`).",
        "",
        "| merge | probabilities (layer=-1) | - concat | penultimate (layer=-2) |",
        "| --- | --- | --- | --- |",
    ]
    for merge in dict.fromkeys(r["merge"] for r in rows):
        by_layer = {r["layer"]: r for r in rows if r["merge"] == merge}
        last, penultimate = by_layer[-1]["accuracy"], by_layer[-2]["accuracy"]
        lines.append(
            f"| {merge} | {last:.4f} | {last - concat:+.4f} | {penultimate:.4f} |"
        )
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    command = "python -m benchmarks.fusion_merges" + (" --quick" if args.quick else "")
    rows = measure(args.quick)
    record = {"command": command, "machine": machine(), "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fusion_merges.json").write_text(json.dumps(record, indent=2))
    write_markdown(args.out / "fusion_merges.md", command, rows)
    print(f"wrote {args.out}/fusion_merges.json, fusion_merges.md")
    return record


if __name__ == "__main__":
    main()
