"""The Keras functions the engine asks for by name, provided by skstack._keras."""

import subprocess
import sys

import pytest

import skstack._keras
from skstack.ensemble import _extension
from skstack.ensemble._extension import keras_function


def test_the_plug_provides_the_engines_keras_functions():
    for name in (
        "linear_meta_model",
        "dense_meta_learner",
        "stack_to_keras",
        "prediction_graph",
    ):
        assert keras_function(name) is getattr(skstack._keras, name)


def test_an_unknown_function_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(_extension, "_PROVIDED", {})
    with pytest.raises(RuntimeError, match="no Keras function 'stack_to_keras'"):
        keras_function("stack_to_keras")


def test_no_prediction_graph_and_no_keras_without_a_keras_member():
    code = (
        "import sys\n"
        "from sklearn.datasets import load_iris\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from skstack import KerasStackingClassifier\n"
        "from skstack.ensemble._extension import keras_function\n"
        "X, y = load_iris(return_X_y=True)\n"
        "stack = KerasStackingClassifier([('lr', LogisticRegression())], cv=3)\n"
        "assert keras_function('prediction_graph')(stack.fit(X, y)) is None\n"
        "assert 'keras' not in sys.modules\n"
        "stack.final_estimator_.model_  # the linear meta-learner's Keras form\n"
        "assert 'keras' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
