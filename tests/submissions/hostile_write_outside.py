"""Hostile submission: zero_pad writes into its working directory (its scratch: allowed), then into
OUTSIDE (the grader's output folder in the tests) and returns what it wrote when it can.

Otherwise a correct implementation. Blocked, the write raises (PermissionError, OSError: read-only).
"""

import os

from course_loops import *  # noqa: F403

OUTSIDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pwned.txt")  # set by the tests


def zero_pad(X, pad):
    with open("scratch_note.txt", "w") as handle:
        handle.write("the working directory is writable")
    with open(OUTSIDE, "w") as handle:
        handle.write("overwritten by a submission")
    return f"wrote {OUTSIDE}"
