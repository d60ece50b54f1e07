"""The benchmark harness's own arithmetic and table: what `make bench` prints must be right."""

from __future__ import annotations

from bench.harness import Report, percentile


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile(list(reversed(values)), 1) == 1.0


def test_report_marks_missed_targets_and_keeps_notes() -> None:
    report = Report()
    report.add("ingest", "rps at 16 connections", "2,000", "4,000", "50%", "≥ 50%", met=True)
    report.add("metrics", "scorecard p99", "80 ms", "", "", "< 50 ms", met=False)
    report.add("memory", "peak RSS survey", "150 MiB")
    report.notes.append("measured on a shared machine")
    lines = report.markdown().splitlines()
    assert lines[0].startswith("| section | measure | cxloop | floor | ratio | target | met |")
    assert lines[2] == "| ingest | rps at 16 connections | 2,000 | 4,000 | 50% | ≥ 50% | yes |"
    assert lines[3].endswith("| < 50 ms | **no** |")
    assert lines[4] == "| memory | peak RSS survey | 150 MiB |  |  |  |  |"
    assert lines[-1] == "- measured on a shared machine"
