"""The ``skstack`` command line: ``skstack demo``."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

_DATASETS = ("digits", "iris", "wine", "breast_cancer")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="fit a Keras classifier on a dataset bundled with scikit-learn",
        description="Fit skstack.keras.KerasClassifier on a dataset bundled with "
        "scikit-learn and print its held-out accuracy and timings.",
    )
    demo.add_argument("--dataset", choices=_DATASETS, default="digits")
    demo.add_argument("--epochs", type=int, default=20)
    demo.add_argument("--hidden", type=int, nargs="+", default=[64])
    demo.add_argument("--random-state", type=int, default=0)
    return parser


def demo(
    dataset: str = "digits",
    epochs: int = 20,
    hidden: Sequence[int] = (64,),
    random_state: int = 0,
) -> dict[str, float]:
    """Fit a wrapped Keras classifier on a bundled dataset; print and return scores.

    Parameters
    ----------
    dataset : {"digits", "iris", "wine", "breast_cancer"}, default="digits"
        Which of scikit-learn's bundled datasets to use.
    epochs : int, default=20
        Training epochs.
    hidden : sequence of int, default=(64,)
        Hidden layer sizes of the dense network.
    random_state : int, default=0
        Seed of the train/test split and of the network.

    Returns
    -------
    result : dict
        ``accuracy`` on the held-out quarter, ``fit_seconds``,
        ``predict_seconds`` (all held-out rows) and ``n_train``/``n_test``.
    """
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skstack.keras import KerasClassifier, dense_model

    X, y = getattr(datasets, f"load_{dataset}")(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=random_state
    )
    model = make_pipeline(
        StandardScaler(),
        KerasClassifier(
            dense_model,
            hidden=tuple(hidden),
            epochs=epochs,
            batch_size=32,
            optimizer="adam",
            random_state=random_state,
        ),
    )
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    accuracy = model.score(X_test, y_test)
    predict_seconds = time.perf_counter() - start

    print(
        f"dataset: {dataset} ({len(X_train)} train / {len(X_test)} test rows, "
        f"{X.shape[1]} features, {len(set(y))} classes)"
    )
    print(
        f"model: KerasClassifier(dense_model, hidden={tuple(hidden)}), {epochs} epochs"
    )
    print(f"held-out accuracy: {accuracy:.4f}")
    print(f"fit time: {fit_seconds:.2f} s; predict time: {predict_seconds:.3f} s")
    return {
        "accuracy": accuracy,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "n_train": len(X_train),
        "n_test": len(X_test),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # This is the program's own process, so quieting TensorFlow's C++ start-up
    # log here changes nothing for a library user.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.command == "demo":
        demo(args.dataset, args.epochs, args.hidden, args.random_state)
    return 0
