"""The same random_state gives bit-identical predictions in fresh processes.

Each run is a new Python process (nothing shared with this one or the other
run), fitting a stack with Keras members and the Keras meta-learner, once
sequentially and once with ``n_jobs=2``, and printing a hash of the
probabilities; afterwards an unseeded random op must still run and
``TF_DETERMINISTIC_OPS`` must be unset (scikeras's seeding sets it).
"""

import subprocess
import sys

import pytest

_RUN = """
import hashlib
import os
import numpy as np
import tensorflow as tf
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier, dense_model, make_meta_learner

X, y = load_iris(return_X_y=True)
members = [
    ("mlp", KerasClassifier(dense_model, hidden=(8,), epochs=3)),
    ("lr", LogisticRegression()),
]
stack = KerasStackingClassifier(
    members, make_meta_learner(kind="dense", epochs=5), cv=3, n_jobs={n_jobs},
    random_state=7,
)
probabilities = stack.fit(X, y).predict_proba(X)
print(hashlib.sha256(np.ascontiguousarray(probabilities).tobytes()).hexdigest())
# scikeras's seeding left op determinism on, and unseeded random ops then failed.
tf.random.uniform((1,))
print(os.environ.get("TF_DETERMINISTIC_OPS", "unset"))
"""


@pytest.mark.slow
def test_same_predictions_bit_for_bit_in_fresh_processes():
    outputs = []
    for n_jobs in (None, None, 2):
        result = subprocess.run(
            [sys.executable, "-c", _RUN.format(n_jobs=n_jobs)],
            capture_output=True,
            text=True,
            check=True,
        )
        digest, determinism = result.stdout.split()[-2:]
        assert determinism == "unset"  # no process-wide TensorFlow switch left on
        outputs.append(digest)
    assert outputs[0] == outputs[1] == outputs[2]
