"""marco_report.json through RunReport: written and read by fields, old reports still load, newer or broken ones
fail on one line."""

import json

import pytest

from marco.errors import MarcoError
from marco.publish.report import SCHEMA_VERSION, RunReport


def test_a_trained_run_report_loads_with_every_field(trained_tiny_run):
    report = RunReport.load(trained_tiny_run)
    assert report.schema_version == SCHEMA_VERSION and report.base_model == "marco-tiny" and report.method == "lora"
    assert not report.encoder_decoder and report.gate["passed"] in (True, False)
    assert report.evaluation["probes"] == 72 and report.data["kept"] == 24
    assert set(report.versions) == {"marco", "torch", "transformers", "trl", "peft"}
    assert report.timings["train_seconds"] > 0 and report.timings["final_comparison_seconds"] > 0


def test_save_then_load_gives_the_same_report(tmp_path):
    report = RunReport(base_model="marco-tiny", method="full", gate={"passed": False, "reasons": ["x"], "checks": []},
                       stopped_early="step 6: template collapse")
    report.save(tmp_path)
    assert RunReport.load(tmp_path) == report


def test_a_report_written_before_the_schema_loads_with_defaults(tmp_path):
    (tmp_path / "marco_report.json").write_text(json.dumps({"base_model": "marco-tiny", "method": "lora",
                                                            "evaluation": {"probes": 1}}))
    report = RunReport.load(tmp_path)
    assert report.schema_version == 0 and report.evaluation == {"probes": 1} and report.gate is None
    assert report.during_training == [] and report.versions == {}


@pytest.mark.parametrize("content, message", [
    (None, "not a finished marco run (marco_report.json is missing)"),
    ("{", "marco_report.json: not valid JSON (line 1"),
    (json.dumps({"schema_version": SCHEMA_VERSION + 1, "base_model": "m", "method": "lora"}), "newer than this marco"),
    (json.dumps({"method": "lora"}), "field 'base_model' is missing"),
])
def test_unreadable_reports_are_one_clear_line(content, message, tmp_path):
    if content is not None:
        (tmp_path / "marco_report.json").write_text(content)
    with pytest.raises(MarcoError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RunReport.load(tmp_path)
