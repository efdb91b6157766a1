"""Bad submission: conv_forward never returns (an infinite loop that swallows exceptions)."""

from course_loops import *  # noqa: F403


def conv_forward(A_prev, W, b, hparameters):
    while True:
        try:
            while True:
                pass
        except BaseException:  # noqa: BLE001 - swallows the checker's alarm too
            continue
