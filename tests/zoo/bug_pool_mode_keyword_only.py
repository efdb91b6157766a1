"""Bug: pool_backward takes its mode as a keyword-only argument (``*, mode="max"``).

The notebook calls ``pool_backward(dA, cache, mode="max")`` by keyword, so the student's own
test passes; the contract (and the course's grader) passes mode as the third positional
argument, and the call raises TypeError. Breaks: pool_backward (every case).
"""

from course_loops import *  # noqa: F403
from course_loops import pool_backward as _course_pool_backward


def pool_backward(dA, cache, *, mode="max"):
    return _course_pool_backward(dA, cache, mode)
