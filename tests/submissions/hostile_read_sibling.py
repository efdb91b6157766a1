"""Hostile submission: zero_pad reads a classmate's file and returns its start when it can.

Otherwise a correct implementation. Blocked, the read raises (FileNotFoundError, PermissionError).
"""

import os

from course_loops import *  # noqa: F403

SIBLING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "classmate.py")  # set by the tests


def zero_pad(X, pad):
    with open(SIBLING) as handle:
        return f"leaked: {handle.read(80)!r}"
