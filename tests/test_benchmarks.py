"""The benchmark harness runs end to end (small settings) and records every peer."""

import json

import pytest

from benchmarks.run import main


@pytest.mark.slow
def test_harness_quick_run_measures_every_configuration(tmp_path):
    main(["--quick", "--out", str(tmp_path)])
    record = json.loads((tmp_path / "harness.json").read_text())
    rows = record["digits_stack"]
    assert [row.get("error") for row in rows] == [None] * len(rows)
    names = {row["configuration"] for row in rows}
    assert {"sklearn StackingClassifier", "mlxtend StackingCVClassifier"} <= names
    assert {"skstack", "skstack fuse_folds", "skstack fuse_folds n_jobs=2"} <= names
    for row in rows:
        assert row["fit_s"] > 0
        assert 0 <= row["accuracy"] <= 1
    fused = next(r for r in rows if r["configuration"] == "skstack fuse_folds")
    assert fused["to_keras_max_abs_diff"] < 1e-5
    assert record["headline"]["fit_time_fused_over_sklearn"] > 0
    assert (tmp_path / "harness.md").read_text().startswith("Measured with")
    assert (tmp_path / "harness.png").stat().st_size > 0
