"""Benchmark result files: plain files, and files holding one section per script or option."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import _common  # noqa: E402
from _common import read_results, write_results  # noqa: E402


@pytest.fixture(autouse=True)
def results_in(tmp_path, monkeypatch):
    monkeypatch.setattr(_common, "RESULTS", tmp_path)
    return tmp_path


def _payload(command, value):
    provenance = {
        "command": command,
        "commit": "abc",
        "machine": "m",
        "date": "d",
        "torch": "t",
        "torch_threads": 1,
    }
    return {"provenance": provenance, "value": value}


def test_sections_are_written_one_at_a_time_and_kept(results_in):
    write_results("costs#fit-time", _payload("python fit_time.py", 1), "| fit |")
    write_results("costs#step-time", _payload("python step_time.py", 2), "| step |")
    write_results("costs#fit-time", _payload("python fit_time.py --seeds 2", 3), "| fit 2 |")

    assert read_results("costs#fit-time")["value"] == 3
    assert read_results("costs#step-time")["value"] == 2
    assert list(json.loads((results_in / "costs.json").read_text())["sections"]) == [
        "fit-time",
        "step-time",
    ]
    markdown = (results_in / "costs.md").read_text()
    assert markdown.index("## fit-time") < markdown.index("## step-time")
    assert "`python fit_time.py --seeds 2`" in markdown and "| fit 2 |" in markdown
    assert "| fit |\n" not in markdown  # the replaced section's table is gone
    assert "`python step_time.py`" in markdown and "| step |" in markdown


def test_a_plain_file_reads_and_writes_as_before(results_in):
    write_results("speed", _payload("python speed.py", 5), "| speed |")
    assert read_results("speed")["value"] == 5
    markdown = (results_in / "speed.md").read_text()
    assert markdown == (
        "<!-- written by benchmarks; do not edit -->\n"
        "`python speed.py` at commit `abc` on m (d, torch t, 1 threads)\n\n| speed |\n"
    )


def test_plain_and_sectioned_files_are_never_mixed(results_in):
    write_results("speed", _payload("python speed.py", 5), "| speed |")
    write_results("costs#fit-time", _payload("python fit_time.py", 1), "| fit |")
    before = {p.name: p.read_text() for p in results_in.iterdir()}

    with pytest.raises(ValueError, match="speed.json holds one result, not sections"):
        write_results("speed#other", _payload("x", 0), "")
    with pytest.raises(ValueError, match=r"costs.json holds sections; write one as FILE#SECTION"):
        write_results("costs", _payload("x", 0), "")
    # a refused write leaves every file as it was
    assert {p.name: p.read_text() for p in results_in.iterdir()} == before


def test_reading_names_the_missing_section():
    write_results("costs#fit-time", _payload("python fit_time.py", 1), "| fit |")
    with pytest.raises(ValueError, match=r"holds sections \['fit-time'\]; name one"):
        read_results("costs")
    with pytest.raises(ValueError, match="costs.json has no section 'step-time'"):
        read_results("costs#step-time")
    with pytest.raises(ValueError, match="expected FILE or FILE#SECTION"):
        read_results("costs#")
