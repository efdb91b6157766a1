"""Where the test fixtures' correct code comes from: ``course_loops.py``.

A submission cannot import the reference (the answer key is not in the sandbox), so the bug zoo
and the test submissions build on ``course_loops.py``, a copy of the article's loops
(``reference/naive.py``, kept byte-identical by ``tests/test_verdict_integrity.py``) that lies
beside them, as a student's own helper module would. :func:`place` puts a fixture in another
folder with that module beside it when the fixture imports it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

TESTS = Path(__file__).resolve().parent
COURSE_LOOPS = TESTS / "zoo" / "course_loops.py"
COPIES = (TESTS / "zoo" / "course_loops.py", TESTS / "submissions" / "course_loops.py")


def uses_course_loops(text: str) -> bool:
    return "from course_loops import" in text or "import course_loops" in text


def place(folder: Path, name: str, *, source: Path | None = None, text: str | None = None) -> Path:
    """Write ``text`` (or copy ``source``) to ``folder/name``, with ``course_loops.py`` beside it
    when it imports it; returns the file."""
    folder.mkdir(parents=True, exist_ok=True)
    if text is None:
        assert source is not None
        text = source.read_text()
    path = folder / name
    path.write_text(text)
    if uses_course_loops(text):
        shutil.copy(COURSE_LOOPS, folder / "course_loops.py")
    return path
