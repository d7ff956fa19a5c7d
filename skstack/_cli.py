"""The ``skstack`` command line: ``skstack demo``, ``skstack export``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence

_DATASETS = ("digits", "iris", "wine", "breast_cancer")
_BACKENDS = ("tensorflow", "jax", "torch")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skstack", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's start-up log (hidden by default)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="stack two Keras networks and a scikit-learn model on a bundled dataset",
        description="Fit a KerasStackingClassifier (two Keras networks and a "
        "logistic regression under the linear meta-learner) on a dataset bundled "
        "with scikit-learn; print each member's out-of-fold and held-out "
        "accuracy, the stack's, and the timings.",
    )
    demo.add_argument("--dataset", choices=_DATASETS, default="digits")
    demo.add_argument("--epochs", type=int, default=20)
    demo.add_argument("--cv", type=int, default=5)
    demo.add_argument("--n-jobs", type=int, default=None)
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument(
        "--backend",
        choices=_BACKENDS,
        default=None,
        help="Keras backend to run on (default: the one Keras is configured "
        "with, KERAS_BACKEND or ~/.keras/keras.json); jax and torch need "
        "skstack[jax] or skstack[torch]",
    )
    export = commands.add_parser(
        "export",
        parents=[common],
        help="write a saved estimator as a .keras file, a SavedModel or ONNX",
        description="Load an estimator written by skstack.save, write its graph "
        "in a serving format, load that back in its own runtime and check it "
        "against the estimator (skstack.export).",
    )
    export.add_argument("model", help="the archive written by skstack.save")
    export.add_argument("out", help="the file or folder to write")
    export.add_argument(
        "--format", choices=("keras", "tf_saved_model", "onnx"), default="onnx"
    )
    export.add_argument(
        "--check-data",
        help="rows to check the export on: a .csv file (columns by name) or a "
        ".npy array; default: 256 drawn rows",
    )
    export.add_argument(
        "--trust",
        action="append",
        default=None,
        metavar="TYPE",
        help="a type the archive may build beyond skstack's and scikit-learn's "
        "(skstack.load's trusted); repeat for more",
    )
    return parser


def _read_rows(path: str, estimator):
    """Check rows from a .csv (a DataFrame) or .npy file."""
    import numpy as np

    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    import pandas as pd

    frame = pd.read_csv(path)
    if hasattr(estimator, "feature_names_in_"):
        return frame
    return frame.to_numpy(dtype=np.float64)


def export(model: str, out: str, format: str = "onnx", check_data=None, trust=None):
    """Export an estimator saved with ``skstack.save``; print what was written.

    Parameters
    ----------
    model : str
        Path of the archive.
    out : str
        Where to write (see :func:`skstack.export`).
    format : {"keras", "tf_saved_model", "onnx"}, default="onnx"
        The serving format.
    check_data : str, default=None
        A .csv or .npy file of rows to check the export on.
    trust : list of str, default=None
        Further types the archive may build (``skstack.load``'s ``trusted``).

    Returns
    -------
    result : skstack.ExportResult
        What was written and the largest difference seen.
    """
    import skstack

    estimator = skstack.load(model, trusted=trust)
    rows = None if check_data is None else _read_rows(check_data, estimator)
    result = skstack.export(estimator, out, format=format, X_check=rows)
    inputs = ", ".join(f"{name}: {dtype}" for name, dtype in result.inputs.items())
    print(f"wrote {result.path} ({result.format})")
    print(f"inputs: {inputs}")
    print(f"output: the estimator's {result.output}")
    print(
        f"checked on {result.n_checked} rows"
        + (" (drawn)" if check_data is None else f" of {check_data}")
        + f": max abs difference {result.max_abs_difference:.3g}"
    )
    return result


def _member_oof_accuracy(stack, name: str, y_train) -> float:
    """Accuracy of one member's out-of-fold probabilities (all classes kept)."""
    import numpy as np

    names = stack.get_feature_names_out()
    columns = [i for i, n in enumerate(names) if n.startswith(f"{name}_proba_")]
    proba = stack.oof_predictions_[:, columns]
    if len(columns) == 1:  # binary: the positive class's probability
        predicted = (proba[:, 0] > 0.5).astype(int)
    else:
        predicted = proba.argmax(axis=1)
    return float(np.mean(stack.classes_[predicted] == y_train))


def demo(
    dataset: str = "digits",
    epochs: int = 20,
    cv: int = 5,
    n_jobs: int | None = None,
    random_state: int = 0,
    progress: bool = False,
) -> dict:
    """Stack two Keras networks and a logistic regression; print and return scores.

    Parameters
    ----------
    dataset : {"digits", "iris", "wine", "breast_cancer"}, default="digits"
        Which of scikit-learn's bundled datasets to use; a quarter is held out.
    epochs : int, default=20
        Training epochs of each Keras member.
    cv : int, default=5
        Folds for the out-of-fold predictions.
    n_jobs : int, default=None
        Parallel (estimator, fold) fits.
    random_state : int, default=0
        Seed of the split, the members and the meta-learner.
    progress : bool, default=False
        Show a progress bar over the fits (the stack's ``verbose=1``).

    Returns
    -------
    result : dict
        ``members``: name -> (out-of-fold accuracy, held-out accuracy);
        ``accuracy`` of the stack on the held-out rows; ``fit_seconds``,
        ``predict_seconds`` (all held-out rows), ``n_train``, ``n_test``.
    """
    from sklearn import datasets
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from skstack import KerasStackingClassifier
    from skstack.keras import KerasClassifier, dense_model

    X, y = getattr(datasets, f"load_{dataset}")(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=random_state
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    network = {"epochs": epochs, "batch_size": 32, "optimizer": "adam"}
    stack = KerasStackingClassifier(
        [
            ("mlp_wide", KerasClassifier(dense_model, hidden=(64,), **network)),
            (
                "mlp_deep",
                KerasClassifier(dense_model, hidden=(32, 32), dropout=0.1, **network),
            ),
            ("logreg", LogisticRegression(max_iter=1000)),
        ],
        cv=cv,
        n_jobs=n_jobs,
        verbose=int(progress),
        random_state=random_state,
    )
    start = time.perf_counter()
    stack.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    accuracy = stack.score(X_test, y_test)
    predict_seconds = time.perf_counter() - start

    members = {
        name: (
            _member_oof_accuracy(stack, name, y_train),
            float(member.score(X_test, y_test)),
        )
        for name, member in stack.named_estimators_.items()
    }
    print(
        f"dataset: {dataset} ({len(X_train)} train / {len(X_test)} test rows, "
        f"{X.shape[1]} features, {len(set(y))} classes)"
    )
    import keras

    print(
        f"KerasStackingClassifier on Keras's {keras.backend.backend()} backend: "
        f"{len(members)} members, cv={cv}, defaults "
        f"(fused folds: {stack.fused_members_}, linear meta-learner); "
        f"members trained {epochs} epochs"
    )
    print(f"{'model':<10} {'out-of-fold acc':>16} {'held-out acc':>13}")
    for name, (oof, held_out) in members.items():
        print(f"{name:<10} {oof:>16.4f} {held_out:>13.4f}")
    print(f"{'stack':<10} {'':>16} {accuracy:>13.4f}")
    best = max(held_out for _, held_out in members.values())
    print(f"stack - best member (held-out): {accuracy - best:+.4f}")
    print(f"fit time: {fit_seconds:.1f} s; predict time: {predict_seconds:.3f} s")
    return {
        "members": members,
        "accuracy": accuracy,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "n_train": len(X_train),
        "n_test": len(X_test),
    }


@contextlib.contextmanager
def _quiet_tensorflow_start() -> Iterator[None]:
    """Start TensorFlow with its C++ start-up log hidden.

    TensorFlow writes its start-up lines (oneDNN, CUDA drivers, an ``E0000
    ... cuInit`` line on a machine without a GPU) from C++ to the process's
    standard error, some before ``TF_CPP_MIN_LOG_LEVEL`` is read, so the
    command points file descriptor 2 at the null device while TensorFlow
    imports and looks for devices, then puts it back. Python errors raised
    meanwhile still reach the user: they print after it is restored.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    yield


def _choose_backend(parser: argparse.ArgumentParser, backend: str | None) -> None:
    """Run this command's Keras on ``backend`` (the user's choice on the command
    line), which has to happen before Keras is imported."""
    if backend is None:
        return
    import importlib.util

    if "keras" in sys.modules:
        running = sys.modules["keras"].backend.backend()
        if running != backend:
            parser.error(
                f"--backend {backend}: Keras already runs on {running} in this "
                "process; a backend is chosen before Keras is imported"
            )
        return
    if importlib.util.find_spec(backend) is None:
        parser.error(
            f"--backend {backend}: {backend} is not installed; "
            f"pip install 'skstack[{backend}]'"
        )
    os.environ["KERAS_BACKEND"] = backend


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        _choose_backend(parser, args.backend)
    # The command's own process: what it quiets changes nothing for a library
    # user, who keeps TensorFlow's log as TensorFlow sets it.
    quiet = not args.verbose and "tensorflow" not in sys.modules
    with _quiet_tensorflow_start() if quiet else contextlib.nullcontext():
        if args.command == "demo":
            demo(
                args.dataset,
                args.epochs,
                args.cv,
                args.n_jobs,
                args.random_state,
                progress=True,
            )
        elif args.command == "export":
            export(args.model, args.out, args.format, args.check_data, args.trust)
    return 0
