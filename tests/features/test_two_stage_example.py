"""The two-stage example of the docs runs offline and prints its scores."""

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "plot_two_stage_digits.py"


def test_two_stage_example_runs_and_scores(capsys):
    spec = importlib.util.spec_from_file_location("two_stage_digits", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    scores = example.main(epochs=3)
    out = capsys.readouterr().out
    assert len(scores) == 3
    for name, score in scores.items():
        assert f"{name:<36} held-out accuracy {score:.4f}" in out
    assert scores["cnn features + LogisticRegression"] > 0.8
