"""Causes the check itself states in its failure message, as fields of the diagnosis.

Some failures are explained where they are found, in the message: a call that raised the
TypeError numpy 2 gives for ``float()`` of an array, a pooling function called the way its
course calls it without taking that argument, an input modified in place, a result whose
shape is the other course's layout (NCHW for NHWC). A reader of the JSON (a gradebook, the
Gradescope output, an IDE) sees only ``diagnosis``: this rule copies such a note into it, as
``{"id", "cause", "evidence"}``, the evidence being the observed line of the message. It is
the last rule but one: a cause that a measured rule verified comes first.
"""

from __future__ import annotations

import re

from gradcheck.plans.convolution.diagnosis.common import Case, Evaluate
from gradcheck.plans.convolution.diagnosis.templates import Found

# (id, what the message says, the cause) in the order tried; the cause None: the message's own hint line
NOTES: tuple[tuple[str, re.Pattern[str], str | None], ...] = (
    ("numpy2_float", re.compile(r"^Hint: numpy 2 refuses float\(\)"), None),
    ("call_signature", re.compile(r"^Hint: the (course's notebook|contract) calls "), None),
    ("input_modified", re.compile(r" modified its input \S+ in place"), None),
    ("layout", re.compile(r"\(this looks like NCHW; the contract is NHWC\)"),
     "the result is laid out as NCHW, (m, n_C, n_H, n_W); the contract is NHWC, (m, n_H, n_W, n_C): "
     "keep the channels on the last axis"),
    ("layout", re.compile(r"\(this looks like NHWC; CS231n's arrays are NCHW"),
     "the result is laid out as NHWC, (N, H, W, C); CS231n's arrays are NCHW, (N, C, H, W): keep the "
     "channels on axis 1"),
)


def stated_note(case: Case, evaluate: Evaluate | None) -> Found:
    """The note the failure's message states, as a diagnosis (see the module's docstring)."""
    lines = [line.strip() for line in case.message.splitlines() if line.strip()]
    observed = next((line for line in lines[1:] if not line.startswith("Hint:")), lines[0] if lines else "")
    for ident, pattern, cause in NOTES:
        for line in lines:
            if pattern.search(line):
                text = cause if cause is not None else line.removeprefix("Hint:").strip()
                return ident, f"the failing case's message: {observed[:300]}", text
    return None
