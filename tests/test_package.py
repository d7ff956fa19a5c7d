import subprocess
import sys

import skstack
from skstack import _cli


def test_core_imports_without_keras():
    code = (
        "import sys, skstack, skstack._compat; "
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_version_is_exported():
    assert "__version__" in skstack.__all__
    assert skstack.__version__.count(".") >= 2


def test_keras_keeps_its_own_pickling_after_import():
    import keras
    from keras.src.saving.keras_saveable import KerasSaveable

    import skstack.keras  # noqa: F401

    assert keras.Model.__reduce__ is KerasSaveable.__reduce__
    assert "__deepcopy__" not in vars(keras.Model)


def test_demo_prints_and_returns_its_scores(capsys):
    result = _cli.demo("breast_cancer", epochs=5, cv=3, random_state=0)
    out = capsys.readouterr().out
    assert set(result["members"]) == {"mlp_wide", "mlp_deep", "logreg"}
    for name, (oof, held_out) in result["members"].items():
        assert f"{name:<10} {oof:>16.4f} {held_out:>13.4f}" in out
        assert 0.8 < oof <= 1 and 0.8 < held_out <= 1
    assert f"{result['accuracy']:>13.4f}" in out
    assert result["accuracy"] > 0.9
    assert result["n_train"] + result["n_test"] == 569
    assert result["fit_seconds"] > 0


def test_command_line_entry_point_runs_the_demo(capsys):
    assert _cli.main(["demo", "--dataset", "wine", "--epochs", "2", "--cv", "2"]) == 0
    assert "dataset: wine" in capsys.readouterr().out
