"""How a member's predictions become meta-feature columns (``MetaColumns``)."""

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import Ridge

from skstack.ensemble._columns import MetaColumns, positive_probabilities


class _Fitted:
    """A fitted member's classes, all the columns need of it."""

    def __init__(self, classes):
        self.classes_ = np.asarray(classes)


def test_probabilities_are_aligned_to_the_stacks_classes():
    columns = MetaColumns(classes=np.arange(3), labels=np.array(["a", "b", "c"]))
    # A member whose training fold lacked class 1: its column is zeros.
    proba = np.array([[0.2, 0.8], [0.6, 0.4]])
    aligned = columns(proba, _Fitted([0, 2]), "predict_proba", "m")
    np.testing.assert_array_equal(aligned, [[0.2, 0.0, 0.8], [0.6, 0.0, 0.4]])
    assert columns.names("m", "predict_proba") == [
        "m_proba_a",
        "m_proba_b",
        "m_proba_c",
    ]


def test_two_classes_and_drop_first_keep_fewer_columns():
    binary = MetaColumns(classes=np.arange(2), labels=np.array([0, 1]))
    proba = np.array([[0.3, 0.7]])
    np.testing.assert_array_equal(
        binary(proba, _Fitted([0, 1]), "predict_proba", "m"), [[0.7]]
    )
    dropped = MetaColumns(classes=np.arange(3), labels=np.arange(3), drop_first=True)
    proba = np.array([[0.2, 0.3, 0.5]])
    np.testing.assert_array_equal(
        dropped(proba, _Fitted([0, 1, 2]), "predict_proba", "m"), [[0.3, 0.5]]
    )
    assert dropped.names("m", "predict_proba") == ["m_proba_1", "m_proba_2"]


def test_a_decision_function_missing_a_class_is_refused_by_name():
    columns = MetaColumns(classes=np.arange(3), labels=np.array(["a", "b", "c"]))
    scores = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"no column for classes \['b'\]"):
        columns(scores, _Fitted([0, 2]), "decision_function", "m")


def test_predicted_labels_become_class_positions_and_unknown_ones_an_error():
    columns = MetaColumns(classes=np.array([3, 5, 7]), labels=np.array([3, 5, 7]))
    member = DummyClassifier()
    np.testing.assert_array_equal(
        columns(np.array([7, 3]), member, "predict", "m"), [[2.0], [0.0]]
    )
    with pytest.raises(ValueError, match=r"'m': predicted \[4\] are not among"):
        columns(np.array([4]), member, "predict", "m")
    # A regressor's predictions in a classifier stack stay numbers.
    np.testing.assert_array_equal(
        columns(np.array([0.5]), Ridge(), "predict", "r"), [[0.5]]
    )


def test_regression_columns_and_their_names():
    columns = MetaColumns(n_outputs=2)
    out = columns(np.array([[1, 2], [3, 4]]), Ridge(), "predict", "r")
    assert out.dtype == np.float64 and out.shape == (2, 2)
    assert columns.names("r", "predict") == ["r_predict0", "r_predict1"]
    assert MetaColumns().names("r", "predict") == ["r_predict"]


def test_multilabel_probabilities_are_each_labels_probability_of_one():
    per_label = [np.array([[0.9, 0.1]]), np.array([[1.0]]), np.array([[0.4, 0.6]])]
    classes = [np.array([0, 1]), np.array([0]), np.array([0, 1])]
    np.testing.assert_array_equal(
        positive_probabilities(per_label, classes), [[0.1, 0.0, 0.6]]
    )
    columns = MetaColumns(n_labels=2)
    with pytest.raises(ValueError, match="gives 3 columns for a multilabel target"):
        columns(np.zeros((1, 3)), Ridge(), "predict", "m")
