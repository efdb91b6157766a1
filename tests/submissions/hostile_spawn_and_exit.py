"""Hostile submission: zero_pad starts ``sleep SECONDS`` in a new session, then ends its own process
(``os._exit``), so the process it started is orphaned. Blocked, the start raises BlockingIOError.
"""

import os
import subprocess

from course_loops import *  # noqa: F403

SECONDS = "300"  # set by the tests


def zero_pad(X, pad):
    subprocess.Popen(["sleep", SECONDS], start_new_session=True, stdout=subprocess.DEVNULL)
    os._exit(3)
