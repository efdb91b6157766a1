"""Text that came from a submission, escaped for where it goes: one function per sink.

Anything a submission can influence (its file names, exception messages, printed output,
the display names and warnings its worker reports) is data. Before it is written, it goes
through the function of its sink:

- :func:`file_text`: any file or JSON string. Guaranteed encodable as strict UTF-8: lone
  surrogates (undecodable bytes of a file name or an output) become ``\\udcff``, NUL
  becomes ``\\x00``. Nothing else changes.
- :func:`terminal`: a terminal line. Also every control character but newline and tab
  (ESC, BEL, backspace, carriage return, C1 controls such as CSI, DEL) and the Unicode
  bidirectional overrides are shown as ``\\x1b``/``\\u202e`` escapes, never sent raw: a
  message cannot clear the screen, set the window title, write the clipboard (OSC 52),
  hide text or reorder it.
- :func:`csv_cell`: a cell of ``grades.csv``. One line (every control character escaped,
  newlines and tabs included), and a cell that would start with ``= + - @`` gets a ``'``
  in front (OWASP's rule against CSV injection, CWE-1236), so that no spreadsheet reads
  it as a formula.
- :func:`md_inline`: running Markdown text (a table cell, a list item, a heading's tail).
  One line; HTML and Markdown punctuation escaped with a backslash (``<`` ``>`` ``&``
  ``|`` ``*`` `````` ``~``, ``_`` at a word's edge, ``]`` before ``(``), and a character
  that would open a block at the start (``#`` ``-`` ``+`` ``=`` ``1.``) escaped too: the
  text renders as itself, never as raw HTML, a link, a table column or a heading.
- :func:`md_code`: inline code (a path, a case); :func:`md_block`: a fenced code block.
  The fence is longer than any run of backticks in the text, so the text cannot close it
  and whatever follows it (``## Score: 8/8``) stays inside the block.

HTML pages use :func:`html_text`: ``html.escape`` of :func:`terminal`.
"""

from __future__ import annotations

import html
import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_ALL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MD_PUNCTUATION = re.compile(r"[\\`*<>|&~]|\](?=\()|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_BLOCK_START = re.compile(r"^(\s*)(#|-|\+|=|(\d+)([.)]))")


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def file_text(text: object) -> str:
    """``text`` as a string that every file and JSON writer can encode (strict UTF-8):
    lone surrogates as ``\\udcXX``, NUL as ``\\x00``; nothing else changes."""
    value = str(text)
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def terminal(text: object) -> str:
    """``text`` for a terminal: control characters (but newline and tab) shown as escapes."""
    return _CONTROL.sub(_escape_char, file_text(text))


def one_line(text: object) -> str:
    """``text`` on one line: every control character, newline and tab included, escaped."""
    return _CONTROL_ALL.sub(_escape_char, file_text(text))


def csv_cell(text: object) -> str:
    """A ``grades.csv`` cell: one line, and never read as a formula (OWASP: a leading ``'``)."""
    value = one_line(text)
    return "'" + value if value.startswith(_FORMULA_START) else value


def md_inline(text: object) -> str:
    """Running Markdown text: renders as the text itself (no HTML, link, column or heading)."""
    value = terminal(" ".join(file_text(text).split()))
    value = _MD_PUNCTUATION.sub(lambda m: "\\" + m.group(0), value)
    return _MD_BLOCK_START.sub(_escape_block_start, value, count=1)


def _escape_block_start(match: re.Match[str]) -> str:
    space, marker, digits, dot = match.group(1), match.group(2), match.group(3), match.group(4)
    if digits is not None:
        return f"{space}{digits}\\{dot}"
    return f"{space}\\{marker}"


def md_code(text: object) -> str:
    """Inline code holding ``text`` (one line), delimited by more backticks than it holds."""
    value = " ".join(terminal(text).split())
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def md_block(text: object, info: str = "text") -> str:
    """A fenced code block holding ``text``; its fence is longer than any backtick run in it."""
    value = terminal(text).rstrip()
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{value}\n{fence}"


def html_text(text: object) -> str:
    """``text`` for HTML (attribute or element): escaped, control characters shown as escapes,
    encodable as UTF-8."""
    return html.escape(terminal(text), quote=True)
