"""Members written with only their builder, against scikit-learn's MLP defaults.

The table of issue 42, re-measured: held-out scores (25% held out, seeded
split) of skstack's wrappers given nothing but ``dense_model`` (and of the
same with ``epochs=20``), next to ``MLPClassifier()`` / ``MLPRegressor()``
with scikit-learn's defaults, on the same features:

- digits (pixels / 16): ``KerasClassifier(dense_model)``, accuracy;
- diabetes as it ships (target mean 152, standard deviation 77), features
  standardized in a pipeline: ``KerasRegressor(dense_model)`` with its
  default ``scale_target="auto"`` and with ``scale_target=False``
  (scikeras's behaviour), and inside
  ``TransformedTargetRegressor(..., transformer=StandardScaler())``; R².

Scores only (seeded fits: the same on any load); fit times are left to the
other benchmarks. Run: ``python -m benchmarks.member_defaults`` (``--quick``:
digits only, 1 and 2 epochs). Writes
``benchmarks/results/member_defaults.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .run import RESULTS, SEED, machine


def _rows(quick: bool):
    """(data set, member, make) for every row of the table."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skstack.keras import KerasClassifier, KerasRegressor, dense_model

    more = 2 if quick else 20
    yield "digits", "MLPClassifier()", lambda: MLPClassifier(random_state=SEED)
    yield (
        "digits",
        "KerasClassifier(dense_model)",
        lambda: KerasClassifier(dense_model, random_state=SEED),
    )
    yield (
        "digits",
        f"KerasClassifier(dense_model, epochs={more})",
        lambda: KerasClassifier(dense_model, epochs=more, random_state=SEED),
    )
    if quick:
        return

    def scaled(regressor):
        return make_pipeline(StandardScaler(), regressor)

    yield (
        "diabetes",
        "MLPRegressor()",
        lambda: scaled(MLPRegressor(random_state=SEED)),
    )
    for epochs in (1, more):
        for scale_target in ("auto", False):
            yield (
                "diabetes",
                f"KerasRegressor(dense_model, epochs={epochs}, "
                f"scale_target={scale_target!r})",
                lambda e=epochs, s=scale_target: scaled(
                    KerasRegressor(
                        dense_model, epochs=e, scale_target=s, random_state=SEED
                    )
                ),
            )
    yield (
        "diabetes",
        f"TransformedTargetRegressor(KerasRegressor(dense_model, epochs={more}, "
        "scale_target=False), transformer=StandardScaler())",
        lambda: TransformedTargetRegressor(
            scaled(
                KerasRegressor(
                    dense_model, epochs=more, scale_target=False, random_state=SEED
                )
            ),
            transformer=StandardScaler(),
        ),
    )


def measure(quick: bool) -> list[dict]:
    from sklearn.datasets import load_diabetes, load_digits
    from sklearn.model_selection import train_test_split

    X_digits, y_digits = load_digits(return_X_y=True)
    data = {
        "digits": train_test_split(
            X_digits / 16, y_digits, random_state=SEED, stratify=y_digits
        ),
        "diabetes": train_test_split(
            *load_diabetes(return_X_y=True), random_state=SEED
        ),
    }
    rows = []
    for name, member, make in _rows(quick):
        X_train, X_test, y_train, y_test = data[name]
        score = make().fit(X_train, y_train).score(X_test, y_test)
        rows.append({"data": name, "member": member, "score": round(float(score), 4)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def write_markdown(path, command, rows) -> None:
    lines = [
        f"Measured with `{command}`",
        "",
        "Held-out accuracy (digits) and R² (diabetes as it ships, features "
        "standardized) of members given only their builder, next to "
        "scikit-learn's MLP defaults.",
        "",
        "| data | member | score |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {r['data']} | `{r['member']}` | {r['score']:.4f} |" for r in rows]
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
    record = {"command": command, "machine": machine(), "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "member_defaults.json").write_text(json.dumps(record, indent=2))
    write_markdown(args.out / "member_defaults.md", command, rows)
    print(f"wrote {args.out}/member_defaults.json, member_defaults.md")
    return record


if __name__ == "__main__":
    main()
