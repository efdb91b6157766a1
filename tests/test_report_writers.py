"""Report writers: the HTML is self-contained, the Markdown carries the JSON's facts,
a saved report re-renders identically, and Gradescope's results.json is valid in
every case (pass, fail, crash, timeout, missing functions, load error)."""

from __future__ import annotations

import json
from functools import cache
from html.parser import HTMLParser

import jsonschema
import numpy as np
import pytest
from zoo.manifest import load

import gradcheck
import reference
from gradcheck.render.common import bare_warning, case_title, cause_title
from gradcheck.render.escape import md_inline
from gradcheck.render.report import (
    format_markdown,
    gradescope_results,
    main,
    render_saved,
    worst_rows,
    write_gradescope,
    write_report_dir,
)
from gradcheck.verdict.results import CheckResult, Detail, Report

EXAMPLES = 6


@cache
def checked(name: str) -> Report:
    target = reference if name == "reference" else load(name)
    return gradcheck.check(target, isolate=False, examples=EXAMPLES, seed=2)


def handmade() -> Report:
    """Every status, warnings, a diagnosis, and a detail with a known worst element."""
    analytic = np.zeros((1, 3, 3, 2))
    numeric = np.zeros((1, 3, 3, 2))
    numeric[0, 2, 1, 1] = 0.5
    numeric[0, 0, 0, 0] = -0.25
    tolerance = np.full(analytic.shape, 1e-12)
    failing = CheckResult(
        "conv_backward",
        "dA_prev",
        "fail",
        cases=4,
        max_error=0.5,
        tolerance=1e-12,
        counterexample={
            "m": 1,
            "n_H_prev": 3,
            "n_W_prev": 3,
            "n_C_prev": 2,
            "n_C": 1,
            "f": 2,
            "stride": 1,
            "pad": 1,
            "seed": 7,
        },
        worst_index=[0, 2, 1, 1],
        message="conv_backward: dA_prev does not match | a pipe\n```\nfenced inside\n```",
        warnings=["a warning with <html> & | pipes"],
        diagnosis={"id": "border_only", "cause": "the border <b>", "evidence": "rows 0 and 2"},
        detail=Detail(analytic, numeric, tolerance, step=2.0**-10),
        step_sweep={"steps": [1e-1, 1e-2, 1e-3, 1e-4], "errors": [0.5, 0.5, 0.5, 0.5]},
    )
    return Report(
        target="students/alice's <cnn>.py",
        seed=3,
        examples=EXAMPLES,
        duration_s=1.25,
        checks=[
            CheckResult(
                "zero_pad",
                "X_pad",
                "pass",
                cases=6,
                max_error=0.0,
                tolerance=1e-300,
                step_sweep={"steps": [1e-1, 1e-3, 1e-5], "errors": [1e-3, 1e-9, 1e-11]},
            ),
            failing,
            CheckResult(
                "conv_backward",
                "dW",
                "error",
                cases=1,
                message="ValueError: could not broadcast",
                counterexample={"m": 1, "pad": 0, "seed": 1},
            ),
            CheckResult(
                "pool_backward", "dA_prev[max]", "timeout", cases=1, message="pool_backward did not return within 10 s"
            ),
            CheckResult("pool_forward", "*", "missing", message="pool_forward is not defined"),
            CheckResult("create_mask_from_window", "mask", "pass", cases=6, warnings=["k-hot at ties"]),
        ],
    )


def load_error_report() -> Report:
    return Report(target="broken.py", load_error="SyntaxError: invalid syntax (broken.py, line 3)")


REPORTS = {
    "reference": lambda: checked("reference"),
    "bug_border_windows": lambda: checked("bug_border_windows"),
    "bug_mask_min": lambda: checked("bug_mask_min"),
    "bug_crop_pad_slice": lambda: checked("bug_crop_pad_slice"),
    "handmade": handmade,
    "load_error": load_error_report,
}


# --------------------------------------------------------------------------- HTML


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.references: list[tuple[str, str, str]] = []
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in ("meta", "img", "br", "hr", "link", "input"):
            self.open.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "data", "poster", "background"):
                self.references.append((tag, name, value or ""))

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.parametrize("name", list(REPORTS))
def test_html_parses_and_references_nothing_outside(name, tmp_path):
    report = REPORTS[name]()
    written = write_report_dir(report, tmp_path)
    page = written["html"].read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(page)
    parser.close()
    assert parser.open == [], f"unclosed tags {parser.open}"
    assert parser.tags[0] == "html" and "body" in parser.tags
    for tag, attribute, value in parser.references:
        assert value.startswith(("data:image/png;base64,", "#")), (tag, attribute, value[:80])
    lowered = page.lower()
    for needle in ("http://", "https://", "<script", "<link", "<iframe", "url(", "@import", "//cdn"):
        assert needle not in lowered, needle
    images = [v for _, a, v in parser.references if a == "src"]
    assert len(images) == len([k for k in written if k.startswith("images/")])


def test_html_escapes_what_the_submission_controls(tmp_path):
    page = write_report_dir(handmade(), tmp_path)["html"].read_text(encoding="utf-8")
    assert "<cnn>" not in page and "&lt;cnn&gt;" in page
    assert "<html> &" not in page and "&lt;html&gt; &amp;" in page
    assert "the border &lt;b&gt;" in page


def test_failures_get_heatmaps_and_a_larger_example(tmp_path):
    written = write_report_dir(checked("bug_border_windows"), tmp_path)
    assert "images/conv_backward-dA_prev-example.png" in written
    assert written["images/conv_backward-dA_prev-example.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = written["markdown"].read_text(encoding="utf-8")
    assert "](images/conv_backward-dA_prev-example.png)" in markdown
    assert "The same failure on a larger input" in markdown


def test_a_passing_report_has_no_pictures(tmp_path):
    written = write_report_dir(checked("reference"), tmp_path)
    assert set(written) == {"json", "markdown", "html"}


def test_rewriting_a_directory_drops_pictures_of_the_earlier_report(tmp_path):
    first = write_report_dir(checked("bug_border_windows"), tmp_path)
    mine = tmp_path / "images" / "my-notes.png"
    mine.write_bytes(b"not ours")
    write_report_dir(checked("reference"), tmp_path)
    assert not first["images/conv_backward-dA_prev-example.png"].exists()
    assert mine.exists()


def test_step_sweeps_share_one_picture(tmp_path):
    written = write_report_dir(handmade(), tmp_path)
    assert "images/step-sweep.png" in written
    assert not [key for key in written if key.endswith("-steps.png")]
    markdown = written["markdown"].read_text(encoding="utf-8")
    assert "## Error against finite-difference step" in markdown
    assert "](images/step-sweep.png)" in markdown


# --------------------------------------------------------------------------- Markdown vs JSON


def _table_rows(markdown: str, header_start: str) -> list[list[str]]:
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


@pytest.mark.parametrize("name", list(REPORTS))
def test_markdown_carries_the_facts_of_the_json(name, tmp_path):
    written = write_report_dir(REPORTS[name](), tmp_path)
    data = json.loads(written["json"].read_text(encoding="utf-8"))
    markdown = written["markdown"].read_text(encoding="utf-8")
    assert data["target"] in markdown
    assert ("**PASS" in markdown) == data["passed"]
    if data["load_error"]:
        assert data["load_error"] in markdown
    if not data["checks"]:
        return
    rows = _table_rows(markdown, "| function | quantity | status")
    assert len(rows) == len(data["checks"])
    for row, check in zip(rows, data["checks"], strict=True):
        function, quantity, status, cases, error, warnings, cause = row
        assert function == check["function"]
        assert quantity.replace("\\|", "|") == check["quantity"]
        assert status.strip("*") == check["status"]
        assert int(cases) == check["cases"]
        if check["max_error"] is not None:
            assert error.startswith(f"{check['max_error']:.3g} / ")
        if check["tolerance"] is not None:
            assert error.endswith(f" / {check['tolerance']:.3g}")
        assert int(warnings) == len(check["warnings"])
        assert cause == cause_title(check["diagnosis"])  # in words, never the internal id
    for check in data["checks"]:
        if check["status"] in ("pass", "missing"):
            continue
        assert f"### {check['function']}: {check['quantity']} ({check['status']})" in markdown
        if check["counterexample"]:
            text = ", ".join(f"{k}={v}" for k, v in check["counterexample"].items())
            assert f"**{case_title(CheckResult.from_dict(check))}:** `{text}`" in markdown
        if check["diagnosis"]:
            assert f"**Likely cause: {cause_title(check['diagnosis'])}.**" in markdown
            assert md_inline(check["diagnosis"]["evidence"]) in markdown
        for line in check["message"].splitlines():
            assert line in markdown
        for warning in check["warnings"]:
            shown = bare_warning(CheckResult.from_dict(check), warning)
            assert md_inline(shown) in markdown  # a submission's text: escaped, no raw HTML
            assert f"{check['function']}: {check['function']}: " not in markdown  # no repeated prefix


def test_worst_elements_table_is_ordered_and_exact():
    report = handmade()
    failing = report.checks[1]
    rows = worst_rows(failing)
    assert [row.index for row in rows] == [[0, 2, 1, 1], [0, 0, 0, 0]]
    assert rows[0].numeric == 0.5 and rows[0].analytic == 0.0 and rows[0].difference == 0.5
    markdown = format_markdown(report)
    assert "| index [i, h, w, c] | analytic | numeric | \\|diff\\| | tolerance |" in markdown
    assert "| [0, 2, 1, 1] | 0 | 0.5 | 0.5 | 1e-12 |" in markdown


def test_message_with_backticks_keeps_its_fence():
    markdown = format_markdown(handmade())
    assert "````text\nconv_backward: dA_prev does not match | a pipe\n```\nfenced inside\n```\n````" in markdown


# --------------------------------------------------------------------------- re-rendering


@pytest.mark.parametrize("name", list(REPORTS))
def test_rerendering_a_saved_report_reproduces_it(name, tmp_path):
    first = write_report_dir(REPORTS[name](), tmp_path / "first")
    again = render_saved(first["json"], tmp_path / "again")
    for key in ("markdown", "html"):
        assert again[key].read_text(encoding="utf-8") == first[key].read_text(encoding="utf-8"), key
    assert {k for k in again if k.startswith("images/")} == {k for k in first if k.startswith("images/")}
    for key in again:
        if key.startswith("images/"):
            assert again[key].read_bytes() == first[key].read_bytes(), key


def test_render_saved_defaults_to_the_json_directory(tmp_path):
    written = write_report_dir(handmade(), tmp_path)
    written["markdown"].unlink()
    again = render_saved(written["json"])
    assert again["markdown"] == written["markdown"] and again["markdown"].is_file()


@pytest.mark.slow  # a timeout or a long run: CI runs it, `-m "not slow"` skips it
def test_command_line_rerender(tmp_path, capsys):
    written = write_report_dir(handmade(), tmp_path / "saved")
    assert main([str(written["json"]), str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "report.html").is_file()
    assert "report.md" in capsys.readouterr().out
    assert main([]) == 2
    assert main([str(tmp_path / "nope.json")]) == 2


# --------------------------------------------------------------------------- Gradescope

TEST_SCHEMA = {
    "type": "object",
    "required": ["name", "status", "score", "max_score", "output", "output_format"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "number": {"type": "string"},
        "status": {"enum": ["passed", "failed"]},
        "score": {"type": "number", "minimum": 0},
        "max_score": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "extra_data": {"type": "object"},
    },
    "additionalProperties": False,
}
GRADESCOPE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["score", "tests", "output", "visibility"],
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "execution_time": {"type": "integer", "minimum": 0},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "minItems": 1, "items": TEST_SCHEMA},
    },
    "additionalProperties": False,
}


@pytest.mark.parametrize("name", list(REPORTS))
def test_gradescope_results_are_valid(name, tmp_path):
    report = REPORTS[name]()
    path = write_gradescope(report, tmp_path / "results" / "results.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    assert data["score"] == pytest.approx(sum(test["score"] for test in data["tests"]))
    for test in data["tests"]:
        assert test["score"] == (test["max_score"] if test["status"] == "passed" else 0.0)
    if report.load_error is None and report.checks:
        names = [test["name"] for test in data["tests"]]
        assert names == [f"{c.function}: {c.quantity}" for c in report.checks]
        assert [t["status"] == "passed" for t in data["tests"]] == [c.passed for c in report.checks]


def test_gradescope_on_a_load_error_shows_the_error(tmp_path):
    data = gradescope_results(load_error_report())
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    (test,) = data["tests"]
    assert test["status"] == "failed" and test["score"] == 0.0
    assert "SyntaxError: invalid syntax (broken.py, line 3)" in test["output"]
    assert data["score"] == 0.0


def test_gradescope_on_crashes_timeouts_and_missing_functions():
    data = gradescope_results(handmade(), max_score_per_test=2.5)
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    by_name = {test["name"]: test for test in data["tests"]}
    assert by_name["conv_backward: dW"]["status"] == "failed"
    assert "ValueError: could not broadcast" in by_name["conv_backward: dW"]["output"]
    assert "did not return within 10 s" in by_name["pool_backward: dA_prev[max]"]["output"]
    assert by_name["pool_forward: *"]["status"] == "failed"
    assert "Likely cause: Padding border handled wrongly." in by_name["conv_backward: dA_prev"]["output"]
    assert data["score"] == 5.0 and all(t["max_score"] == 2.5 for t in data["tests"])
    assert data["execution_time"] == 2


def test_gradescope_without_any_function():
    data = gradescope_results(Report(target="empty.py"))
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    assert [t["status"] for t in data["tests"]] == ["failed"]


def test_one_ranking_of_worst_elements_for_message_terminal_markdown_and_html():
    from gradcheck.render.html import format_html
    from gradcheck.verdict.compare import Comparison

    # element 0: diff 1.0 over tol 1.0 (ratio 1); element 1: diff 0.5 over tol 1e-3 (ratio 500):
    # by |diff| - tol element 0 would come first; by |diff| / tol, element 1 is the worst
    analytic = np.array([[3.0, 0.5], [0.0, 0.0]])
    numeric = np.zeros((2, 2))
    tolerance = np.array([[0.5, 1e-3], [1.0, 1.0]])
    comparison = Comparison(analytic, numeric, tolerance)
    table_rows = [line.split(":")[0].strip() for line in comparison.table().splitlines() if line.startswith("  [")]
    assert table_rows == ["[0, 1]", "[0, 0]"]
    check = CheckResult("zero_pad", "X_pad", "fail", message=comparison.table(),
                        worst_index=[int(i) for i in comparison.worst],
                        detail=Detail(analytic, numeric, tolerance))
    assert [row.index for row in worst_rows(check)] == [[0, 1], [0, 0]]
    assert check.worst_index == [0, 1]
    report = Report(target="t", checks=[check])
    markdown, page = format_markdown(report), format_html(report)
    assert markdown.index("| [0, 1] |") < markdown.index("| [0, 0] |")
    assert page.index("<code>[0, 1]</code>") < page.index("<code>[0, 0]</code>")


def test_a_timeout_is_not_titled_smallest_failing_case():
    from gradcheck.render.html import format_html

    check = CheckResult("conv_backward", "dW", "timeout", cases=3, message="conv_backward: dW timed out after 2 s",
                        counterexample={"m": 1, "f": 2, "stride": 1, "pad": 0})
    report = Report(target="t", checks=[check])
    markdown, page = format_markdown(report), format_html(report)
    assert "**Case that ran out of time:** `m=1, f=2, stride=1, pad=0`" in markdown
    assert "<b>Case that ran out of time:</b>" in page
    assert "Smallest failing case" not in markdown + page
    results = gradescope_results(report)
    assert "Case that ran out of time: `m=1, f=2, stride=1, pad=0`" in results["tests"][0]["output"]


def test_plot_text_is_readable_when_the_page_shrinks_the_figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    from gradcheck.render import plots

    rng = np.random.default_rng(0)
    analytic = rng.standard_normal((1, 4, 4, 2))
    detail = Detail(analytic, analytic + 0.1, np.full(analytic.shape, 1e-9))
    heatmap = plots.heatmaps_figure(detail, "dA_prev", title="conv_backward: dA_prev")
    sweep = plots.step_sweep_figure([plots.Sweep("conv_backward: dW", [1e-3, 1e-2], [1e-15, 1e-14])], title="sweep")
    for figure in (heatmap, sweep):
        FigureCanvasAgg(figure).draw()  # tick labels exist once drawn
        sizes = [t.get_fontsize() for t in figure.findobj(Text) if t.get_text().strip() and t.get_visible()]
        assert sizes and min(sizes) >= 9, sorted(set(sizes))
