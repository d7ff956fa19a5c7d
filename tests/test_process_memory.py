"""Resident memory over 30 stack fits in one process.

TensorFlow keeps a few MiB of graph functions for every Keras model it trains,
even once the model is gone and after ``keras.backend.clear_session()``
(tensorflow/tensorflow#61791). So the bound tested is: a stack adds nothing to
what its members' own fits cost, fold models are released, and the figures are
printed (in the warnings summary, where ``pytest -n 2`` shows them).
"""

import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

N_STACKS = 30
FOLDS = 2  # each stack trains FOLDS + 1 Keras models: the fold models and the refit

SCRIPT = textwrap.dedent(
    """
    import gc, json, os, sys
    import keras
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from skstack import KerasStackingClassifier
    from skstack.keras import KerasClassifier, dense_model

    def rss_mib():
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    def live_models():
        # Networks holding weights of their own: a model over another live
        # model's graph (a classifier's body, which its float64 output layer
        # reads) owns none of its weights and is not counted.
        models = [obj for obj in gc.get_objects() if isinstance(obj, keras.Model)]
        weights = [frozenset(id(w) for w in model.weights) for model in models]
        return sum(
            not any(mine < others for others in weights) for mine in weights
        )

    mode, repeats, folds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    X, y = load_iris(return_X_y=True)
    rss, alive_after_fit = [], []
    for seed in range(repeats):
        net = KerasClassifier(
            dense_model, hidden=(16,), epochs=1, verbose=0, random_state=seed
        )
        if mode == "stack":
            estimator = KerasStackingClassifier(
                [("net", net), ("lr", LogisticRegression(max_iter=500))],
                final_estimator=LogisticRegression(), cv=folds, random_state=seed,
            ).fit(X, y)
        else:  # the same Keras fits, outside a stack
            for _ in range(folds + 1):
                estimator = net.fit(X, y)
        estimator.predict(X)
        gc.collect()
        alive_after_fit.append(live_models())
        del estimator, net
        gc.collect()
        rss.append(rss_mib())
    print(json.dumps(
        {"rss": rss, "alive_after_fit": alive_after_fit, "alive_at_end": live_models()}
    ))
    """
)


class MemoryFigures(UserWarning):
    """Carries the measured figures to the warnings summary of the test run."""


def _measure(mode: str, repeats: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, str(repeats), str(FOLDS)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _slope(rss: list, skip: int = 5) -> float:
    """MiB per iteration, least squares after the first warm-up iterations."""
    steps = np.arange(len(rss))[skip:]
    return float(np.polyfit(steps, np.asarray(rss)[skip:], 1)[0])


@pytest.mark.slow
def test_thirty_stacks_cost_no_more_memory_than_their_keras_fits():
    stacks = _measure("stack", N_STACKS)
    members = _measure("members", N_STACKS // 2)

    # Only the refit member is kept, and the graph the stack predicts with
    # (built at its first prediction, holding a copy of the member's
    # network): fold models are released after each fold.
    assert stacks["alive_after_fit"] == [2] * N_STACKS
    assert stacks["alive_at_end"] == 0

    per_stack = _slope(stacks["rss"])
    per_member_fits = _slope(members["rss"])
    figures = (
        f"RSS over {N_STACKS} stack fits ({FOLDS + 1} Keras fits each): "
        f"{stacks['rss'][0]:.0f} -> {stacks['rss'][-1]:.0f} MiB, "
        f"{per_stack:.2f} MiB per stack; the same {FOLDS + 1} Keras fits outside "
        f"a stack: {per_member_fits:.2f} MiB per repeat "
        f"({members['rss'][0]:.0f} -> {members['rss'][-1]:.0f} MiB over "
        f"{N_STACKS // 2})"
    )
    print(figures)
    warnings.warn(figures, MemoryFigures, stacklevel=1)
    assert per_stack <= 1.25 * per_member_fits + 1.0, figures
    growth = stacks["rss"][-1] - stacks["rss"][0]
    assert growth <= N_STACKS * (1.25 * per_member_fits + 1.0), figures
