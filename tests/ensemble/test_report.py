"""``StackReport`` and the members' correlation."""

import numpy as np

from skstack.ensemble._report import StackReport, member_correlation


def test_correlation_is_pearsons_and_nan_where_it_has_no_meaning():
    a = np.array([[0.0], [1.0], [2.0]])
    blocks = [a, 2 * a + 1, -a, np.ones((3, 1)), np.zeros((3, 2))]
    corr = member_correlation(blocks)
    np.testing.assert_allclose(corr[0, :3], [1.0, 1.0, -1.0])
    assert np.isnan(corr[0, 3])  # a constant member
    assert np.isnan(corr[0, 4])  # outputs of another width


def test_the_report_table_and_mean_scores():
    report = StackReport(
        members=["a", "b"],
        fold_scores={"a": np.array([[0.8, 0.9]]), "b": np.array([[0.5, 0.7]])},
        correlation=np.array([[1.0, 0.25], [0.25, 1.0]]),
        stack_score=0.95,
        scoring="accuracy",
    )
    np.testing.assert_allclose(list(report.mean_scores.values()), [0.85, 0.6])
    frame = report.to_frame()
    assert list(frame.index) == ["a", "b", "stack"]
    assert frame.loc["a", "corr_b"] == 0.25
    text = str(report)
    assert "accuracy" in text and "0.8500" in text and "0.9500" in text
