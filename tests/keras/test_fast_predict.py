"""The last layer in float64: probabilities whose logits hold in any runtime."""

import keras
import numpy as np
import pytest

from skstack.keras import KerasClassifier, dense_model
from skstack.keras._fast_predict import hidden_and_head, output_dense


@pytest.fixture(scope="module")
def confident(iris):
    """A network sure of most rows: 1 - p down to ~1e-6 and below."""
    X, y = iris
    model = KerasClassifier(
        dense_model,
        hidden=(32,),
        epochs=60,
        optimizer="adam",
        optimizer__learning_rate=0.05,
        random_state=0,
    ).fit(X, y)
    return model, X


def test_probabilities_near_one_keep_their_float64_digits(confident):
    model, X = confident
    proba = model.predict_proba(X)
    assert proba.dtype == np.float64
    rest = 1.0 - proba.max(axis=1)
    assert rest.min() < 1e-5  # the case: a float32 softmax rounds these
    # A float32 probability near 1 is a multiple of 2**-24; these are not.
    steps = rest[rest < 1e-4] * 2**24
    assert not np.allclose(steps, np.round(steps))
    # The float32 network's own output, to float32 rounding.
    np.testing.assert_allclose(
        proba, keras.ops.convert_to_numpy(model.model_(X)), rtol=0, atol=2e-7
    )


def test_every_path_gives_the_same_probabilities(confident):
    model, X = confident
    rows = np.vstack([X] * 8)  # eager path: more than 64 rows
    one = np.vstack([model.predict_proba(X[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(model.predict_proba(rows)[:5], one, rtol=0, atol=1e-12)
    big = model.predict_proba(np.vstack([X] * 2000))  # Keras's batched predict
    np.testing.assert_allclose(big[:5], one, rtol=0, atol=1e-12)


def test_predictions_follow_further_training(iris):
    X, y = iris
    model = KerasClassifier(dense_model, hidden=(8,), epochs=1, random_state=0)
    model.fit(X, y)
    before = model.predict_proba(X[:3])
    model.partial_fit(X, y)
    after = model.predict_proba(X[:3])
    assert not np.allclose(before, after)
    np.testing.assert_allclose(
        after, keras.ops.convert_to_numpy(model.model_(X[:3])), atol=2e-7
    )


def test_other_networks_keep_their_own_output():
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4)(inputs)
    softmax_layer = keras.Model(inputs, keras.layers.Softmax()(hidden))
    linear = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    for network in (softmax_layer, linear):
        assert output_dense(network) is None
        assert hidden_and_head(network) is None


def test_nothing_outlives_a_network_it_predicted_with(iris):
    # The cache entry and the body die with the network: fold models of a
    # stack must be released (tests/test_process_memory.py counts them).
    import gc
    import weakref

    X, y = iris
    model = KerasClassifier(dense_model, hidden=(4,), epochs=1, random_state=0)
    model.fit(X, y).predict_proba(X)  # eager path
    model.predict_proba(X[:2])  # compiled path
    network = weakref.ref(model.model_)
    body = weakref.ref(hidden_and_head(model.model_)[0])
    del model
    gc.collect()
    assert network() is None and body() is None


class _CountingPredictions(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_predict_batch_end(self, batch, logs=None):
        self.batches += 1


def test_only_callbacks_that_watch_prediction_leave_the_fast_path(iris):
    X, y = iris

    def fitted(callbacks):
        params = {"hidden": (8,), "epochs": 3, "random_state": 0}
        return KerasClassifier(dense_model, callbacks=callbacks, **params).fit(X, y)

    plain = fitted(None).predict_proba(X[:5])
    # EarlyStopping never acts on prediction: the fast path's very values.
    stopping = keras.callbacks.EarlyStopping(monitor="loss", patience=10)
    assert np.array_equal(fitted([stopping]).predict_proba(X[:5]), plain)
    counting = _CountingPredictions()
    watched = fitted([counting]).predict_proba(X[:5])
    assert counting.batches > 0  # Keras's predict ran, with the callback
    np.testing.assert_allclose(watched, plain, rtol=0, atol=2e-7)
