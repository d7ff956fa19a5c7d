"""A classifier network's outputs as probabilities: softmax, sigmoid or logits."""

import keras
import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.linear_model import LogisticRegression

import skstack
from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier
from skstack.keras._backend import computes_float64
from skstack.keras._outputs import logits_link, output_activation

MIXED_PRECISION_ENDING = [
    keras.layers.Activation("softmax"),
    keras.layers.Activation("linear", dtype="float32"),
]


def network(meta, ending=None, loss="sparse_categorical_crossentropy", units=None):
    """A dense network ending in ``ending`` (a Keras activation name, or a
    list of layers to add after a linear output)."""
    units = units or meta["n_classes_"]
    layers = [keras.Input((meta["n_features_in_"],)), keras.layers.Dense(8, "relu")]
    if isinstance(ending, list):
        layers += [keras.layers.Dense(units), *ending]
    else:
        layers.append(keras.layers.Dense(units, activation=ending))
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss=loss)
    return model


def _fitted(X, y, **params):
    params = {"epochs": 3, "verbose": 0, "random_state": 0, **params}
    return KerasClassifier(network, **params).fit(X, y)


def test_logits_become_probabilities_by_the_losss_link(iris):
    X, y = iris
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    clf = _fitted(X, y, model__loss=loss)
    logits = np.asarray(clf.model_(X.astype("float32")), dtype=np.float64)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba, softmax(logits, axis=1), rtol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[logits.argmax(1)])


def test_one_logit_unit_gives_both_class_columns(binary):
    X, y = binary
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    clf = _fitted(X, y, model__loss=loss, model__units=1)
    logit = np.asarray(clf.model_(X.astype("float32")), dtype=np.float64)[:, 0]
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], expit(logit), rtol=1e-6)
    np.testing.assert_allclose(proba[:, 0], 1 - expit(logit), rtol=1e-6)
    # The class is the one of positive logits, not of logits above 0.5.
    np.testing.assert_array_equal(clf.predict(X), (logit > 0).astype(int))


def test_outputs_that_are_not_probabilities_are_refused_by_name(iris):
    X, y = iris
    clf = _fitted(X, y, epochs=1)  # linear output, loss without logits
    with pytest.raises(ValueError, match="ends in a 'linear' activation.*from_logits"):
        clf.predict_proba(X)
    assert clf.predict(X).shape == y.shape  # labels need no probabilities
    members = [("net", clf), ("lr", LogisticRegression())]
    stack = KerasStackingClassifier(members, cv=2, random_state=0)
    with pytest.raises(ValueError, match="'net'.*not probabilities"):
        stack.fit(X, y)


@pytest.mark.parametrize(
    "ending, expected",
    [
        ("softmax", "softmax"),
        ([keras.layers.Softmax()], "softmax"),
        # Keras's mixed-precision guide: a float32 linear Activation at the end.
        (
            [keras.layers.Activation("softmax"), keras.layers.Activation("linear")],
            "softmax",
        ),
        ([keras.layers.Identity()], "linear"),
        ("relu", "relu"),
        ([keras.layers.Reshape((3,))], None),
    ],
)
def test_the_activation_a_network_ends_in(ending, expected):
    meta = {"n_features_in_": 4, "n_classes_": 3}
    assert output_activation(network(meta, ending)) == expected


def test_the_link_follows_the_loss():
    meta = {"n_features_in_": 4, "n_classes_": 3}
    losses = keras.losses
    links = {
        "categorical_crossentropy": None,
        losses.CategoricalCrossentropy(from_logits=True): "softmax",
        losses.BinaryCrossentropy(from_logits=True): "sigmoid",
        losses.BinaryFocalCrossentropy(from_logits=True): "sigmoid",
        losses.CategoricalHinge(): None,
    }
    for loss, link in links.items():
        assert logits_link(network(meta, loss=loss)) == link, loss


def test_a_stack_of_a_logits_member_exports_its_probabilities(iris):
    X, y = iris
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    member = KerasClassifier(network, model__loss=loss, epochs=3, random_state=0)
    stack = KerasStackingClassifier(
        [("net", member), ("lr", LogisticRegression())], cv=2, random_state=0
    ).fit(X, y)
    assert stack.stack_method_ == ["predict_proba", "predict_proba"]
    proba = stack.named_estimators_["net"].predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    graph = skstack.to_keras(stack)
    # Without float64 (JAX by default), the graph's float64 parts run in float32.
    atol = 1e-7 if computes_float64() else 1e-5
    np.testing.assert_allclose(
        np.asarray(graph.predict(X, verbose=0)), stack.predict_proba(X), atol=atol
    )
