"""No wall times in the report (design rule 14): it neither reads nor shows them, and says
where they are instead."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from test_report import N_EXAMPLES, _stage, _stage_argv, parse_table, write_inputs

from latentlab.report.build import build_report, load_inputs
from latentlab.report.inputs import ReportInputs, ReportPaths

SRC = Path(__file__).resolve().parents[2] / "src/latentlab/report"
WHERE = ("Wall times are logged to each stage's MLflow run (`fit_seconds`) and to the "
         "git-ignored `timings/` folder; they are not results.")


def test_the_report_takes_no_timings():
    for cls in (ReportPaths, ReportInputs):
        assert not [f.name for f in dataclasses.fields(cls)
                    if "seconds" in f.name or "timing" in f.name]
    for module in SRC.glob("*.py"):  # no timings file is named, let alone read
        text = module.read_text()
        assert "fit_seconds.json" not in text and "timings/" not in text.replace(
            "`timings/` folder", ""), module.name


def test_the_stage_has_no_fit_seconds_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    paths = write_inputs(tmp_path)
    argv = _stage_argv(paths, tmp_path / "reports")
    with pytest.raises(SystemExit) as err:
        _stage().main(argv + ["--fit-seconds", str(tmp_path / "metrics/fit_seconds.json")])
    assert err.value.code == 2  # argparse: unrecognized arguments


def test_no_wall_time_is_shown_and_the_report_says_where_they_are(tmp_path):
    out = tmp_path / "out"
    build_report(load_inputs(write_inputs(tmp_path)), out, N_EXAMPLES)
    html, md = (out / "report.html").read_text(), (out / "report.md").read_text()
    assert not any("second" in h for h in parse_table(html).headers)
    assert "fit seconds" not in md and "fit_seconds.json" not in md
    comparison = md.split("## 10. Comparison of all methods")[1].split("\n## ")[0]
    assert WHERE in comparison
