"""Hostile submission: zero_pad connects to 127.0.0.1:PORT and says so when it could.

Otherwise a correct implementation. Blocked, the connection raises (ConnectionRefusedError,
OSError: network unreachable).
"""

import socket

from course_loops import *  # noqa: F403

PORT = 9  # set by the tests


def zero_pad(X, pad):
    with socket.create_connection(("127.0.0.1", PORT), timeout=2):
        return f"connected to 127.0.0.1:{PORT}"
