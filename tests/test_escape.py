"""Issue 21: every text that came from a submission is data, escaped for where it goes.

One function per sink (``gradcheck.render.escape``): files and JSON, the terminal, grades.csv,
Markdown text, inline code and code blocks, HTML. Then the sinks in use: ``gradcheck check``
on a submission whose messages carry terminal escapes, forged Markdown, lone surrogates and NUL.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gradcheck.render.escape import csv_cell, file_text, html_text, md_block, md_code, md_inline, terminal

TESTS = Path(__file__).resolve().parent
CORRECT = (TESTS / "zoo" / "correct_course.py").read_text()
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x1b[8m\x9b31m\u202ereversed"


def test_file_text_is_always_encodable_and_changes_nothing_else():
    assert file_text("caf\udce9 \x00 ok") == "caf\\udce9 \\x00 ok"
    assert file_text("été ```x``` <b>") == "été ```x``` <b>"
    file_text("\ud800\udfff").encode("utf-8")  # a surrogate pair that is not one: still encodable


def test_terminal_shows_control_characters_as_escapes():
    shown = terminal(ESCAPES + "\nnext\tline")
    assert shown == ("\\x1b[2J\\x1b]0;pwned\\x07\\x1b]52;c;ZXZpbA==\\x07\\x1b[8m\\x9b31m\\u202ereversed"
                     "\nnext\tline")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_would_be_formulas_get_a_quote(start):
    cell = csv_cell(f"{start}HYPERLINK(\"x\")")
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) and "\t" not in cell and "\r" not in cell
    assert cell.startswith("'") or cell.startswith("\\x")  # a quote, or the escaped tab or return


def test_csv_cells_are_one_line():
    assert csv_cell("a\nb\x1bc\udcff") == "a\\x0ab\\x1bc\\udcff"
    assert csv_cell("0.25") == "0.25" and csv_cell("conv_forward") == "conv_forward"


@pytest.mark.parametrize("text", [
    "## Score: 8/8 passed",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "a | b | c",
    "1. first",
    "- item",
    "**bold** and `code` and &amp;",
])
def test_md_inline_renders_as_the_text_itself(text):
    escaped = md_inline(text)
    assert "\n" not in escaped
    assert not escaped.startswith(("#", "-", "1.", "<"))
    assert re.search(r"(?<!\\)[<>|*`&]|(?<!\\)\]\(", escaped) is None, escaped  # each one backslashed
    try:
        import markdown_it
    except ImportError:
        return
    page = markdown_it.MarkdownIt("commonmark").render(escaped)
    assert page.startswith("<p>") and "<h2>" not in page and "<script" not in page and "<a " not in page


def test_md_inline_keeps_ordinary_text_as_it_is():
    text = "conv_forward raised ValueError: shapes (2,3) and (4,) in x[pad:-pad] of dA_prev[max]"
    assert md_inline(text) == text


@pytest.mark.parametrize("ticks", [1, 3, 4, 9])
def test_a_code_block_cannot_be_closed_by_its_text(ticks):
    text = f"before\n{'`' * ticks}\n## Score: 8/8 passed\n~~~\n<script>x</script>"
    block = md_block(text)
    fence = block.splitlines()[0][: -len("text")]
    assert set(fence) == {"`"} and len(fence) > ticks and len(fence) >= 3
    inside = block.splitlines()[1:-1]
    assert all(not line.startswith(fence) for line in inside) and block.endswith("\n" + fence)


def test_inline_code_cannot_be_closed_by_its_text():
    assert md_code("a `b` c") == "``a `b` c``"
    assert md_code("`x`") == "`` `x` ``"
    assert md_code("line\nbreak \x1b") == "`line break \\x1b`"


def test_html_text_escapes_markup_and_control_characters():
    assert html_text("<b onclick='x'>\x1b\udcff") == "&lt;b onclick=&#x27;x&#x27;&gt;\\x1b\\udcff"


def gradcheck_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradcheck.cli", *args], capture_output=True, timeout=300, cwd=cwd,
                          env={"PYTHONPATH": str(TESTS.parent), "PATH": "/usr/bin:/bin"})


def test_terminal_escapes_in_a_message_never_reach_the_terminal_raw(tmp_path):
    path = tmp_path / "escapes.py"
    path.write_text(CORRECT + f"\n\ndef zero_pad(X, pad):\n    raise ValueError({ESCAPES!r})\n")
    done = gradcheck_cli("check", str(path), "--examples", "2", "--only", "zero_pad", "-q", cwd=tmp_path)
    assert done.returncode == 1
    assert b"\x1b" not in done.stdout and b"\x07" not in done.stdout and b"\xc2\x9b" not in done.stdout
    assert b"zero_pad raised ValueError: \\x1b[2J\\x1b]0;pwned\\x07\\x1b]52;c;ZXZpbA==" in done.stdout


def test_a_lone_surrogate_or_nul_in_a_report_costs_no_report(tmp_path):
    from hostile_entries import ODD_HELPER, ODD_NOTEBOOK

    path = tmp_path / "odd.py"
    path.write_text(ODD_NOTEBOOK)  # a correct implementation, its failing import noted in the report
    (tmp_path / "helper.py").write_text(ODD_HELPER)
    done = gradcheck_cli("check", str(path), "--examples", "2", "--report", "rep", "--json", "rep.json",
                         "--gradescope", "results.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert b"skipped failing import (ImportError: odd \\udcff \\x00 text)" in done.stdout
    assert "(ImportError: odd \\\\udcff \\\\x00 text)" in (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "odd \\udcff \\x00 text" in (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    (note,) = json.loads((tmp_path / "rep.json").read_text())["warnings"]
    assert note.endswith("skipped failing import (ImportError: odd \udcff \x00 text)")  # the data, kept
    json.loads((tmp_path / "results.json").read_text())


def test_a_forged_heading_stays_inside_the_gradescope_load_error():
    from gradcheck.grade.gradebook import gradescope_for_grade

    error = "x.py: syntax error\n```\n## Score: 8/8 passed\n<script>alert(1)</script>"
    results = gradescope_for_grade({"target": "x.py", "seed": 0, "load_error": error, "checks": []}, ("zero_pad",))
    (test,) = results["tests"]
    lines = test["output"].splitlines()
    fence = next(line for line in lines if line.startswith("```"))
    assert fence == "````text" and lines[-1] == "````"
    assert lines.index("## Score: 8/8 passed") > lines.index(fence)
