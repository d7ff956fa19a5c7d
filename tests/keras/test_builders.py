import keras
import numpy as np
import pytest

from skstack.keras import KerasClassifier, KerasRegressor, dense_model


def _output_layer(estimator):
    return estimator.model_.layers[-1]


def _layers(estimator):
    return [
        layer
        for layer in estimator.model_.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]


@pytest.mark.parametrize(
    ("labels", "units", "activation", "loss"),
    [
        (np.arange(40) % 2, 1, "sigmoid", "binary_crossentropy"),
        (np.arange(40) % 4, 4, "softmax", "sparse_categorical_crossentropy"),
        # one-hot rows are a multi-label indicator to scikit-learn and scikeras
        (np.eye(3)[np.arange(40) % 3], 3, "sigmoid", "binary_crossentropy"),
        (
            np.column_stack([np.arange(40) % 2, np.arange(40) // 20]),
            2,
            "sigmoid",
            "binary_crossentropy",
        ),
    ],
    ids=["binary", "multiclass", "onehot", "multilabel"],
)
def test_classifier_head_matches_the_labels(labels, units, activation, loss):
    X = np.random.RandomState(0).normal(size=(40, 5))
    clf = KerasClassifier(dense_model, hidden=(4,), epochs=1).fit(X, labels)
    head = _output_layer(clf)
    assert head.units == units
    assert head.activation.__name__ == activation
    assert clf.model_.loss == loss


@pytest.mark.parametrize("n_targets", [1, 3])
def test_regressor_head_is_linear_with_one_unit_per_target(n_targets):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 5)), rng.normal(size=(40, n_targets)).squeeze()
    reg = KerasRegressor(dense_model, hidden=(4,), epochs=1).fit(X, y)
    assert _output_layer(reg).units == n_targets
    assert _output_layer(reg).activation.__name__ == "linear"
    assert reg.model_.loss == "mean_squared_error"


def test_hidden_layers_activation_and_dropout():
    X, y = np.random.RandomState(0).normal(size=(30, 4)), np.arange(30) % 3
    clf = KerasClassifier(
        dense_model, hidden=(6, 5), activation="tanh", dropout=0.25, epochs=1
    ).fit(X, y)
    dense = [x for x in clf.model_.layers if isinstance(x, keras.layers.Dense)]
    dropout = [x for x in clf.model_.layers if isinstance(x, keras.layers.Dropout)]
    assert [x.units for x in dense] == [6, 5, 3]
    assert [x.activation.__name__ for x in dense[:-1]] == ["tanh", "tanh"]
    assert [x.rate for x in dropout] == [0.25, 0.25]


def test_no_hidden_layers_is_a_linear_model():
    X, y = np.random.RandomState(0).normal(size=(30, 4)), np.arange(30) % 2
    clf = KerasClassifier(dense_model, hidden=(), epochs=1).fit(X, y)
    assert [type(x) for x in _layers(clf)] == [keras.layers.Dense]


def test_image_shaped_input_is_flattened():
    X, y = np.random.RandomState(0).normal(size=(30, 4, 4, 1)), np.arange(30) % 3
    clf = KerasClassifier(dense_model, hidden=(8,), epochs=1).fit(X, y)
    assert isinstance(_layers(clf)[0], keras.layers.Flatten)
    assert clf.predict_proba(X[:2]).shape == (2, 3)


def test_a_given_loss_is_kept():
    X, y = np.random.RandomState(0).normal(size=(30, 4)), np.arange(30) % 3
    clf = KerasClassifier(
        dense_model, loss="categorical_crossentropy", hidden=(4,), epochs=1
    ).fit(X, y)
    assert clf.model_.loss.__name__ == "categorical_crossentropy"
    assert clf.predict(X).shape == (30,)


def test_invalid_dropout_is_refused():
    X, y = np.zeros((10, 2)), np.arange(10) % 2
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        KerasClassifier(dense_model, dropout=1.0).fit(X, y)


def test_unsupported_target_type_names_it():
    X, y = np.zeros((12, 2)), np.column_stack([np.arange(12) % 3, np.arange(12) % 4])
    with pytest.raises(ValueError, match="'multiclass-multioutput'"):
        KerasClassifier(dense_model).fit(X, y)
