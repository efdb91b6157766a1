"""Bad submission: floods stdout and stderr, at import time and in every call, also on the raw fds."""

import os
import sys

from course_loops import *  # noqa: F403
from course_loops import conv_forward as _conv_forward

print("debug " * 100000)
os.write(1, b"raw fd 1 at import\n" * 1000)
os.write(2, b"raw fd 2 at import\n" * 1000)


def conv_forward(A_prev, W, b, hparameters):
    for i in range(2000):
        print("conv_forward step", i, "of many")
    print("to stderr" * 1000, file=sys.stderr)
    os.write(1, b"raw fd 1 in a call\n" * 100)
    return _conv_forward(A_prev, W, b, hparameters)
