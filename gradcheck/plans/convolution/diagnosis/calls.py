"""What a failure depends on in how the function was called.

Some cases call a function in a less usual way, said by a flag bit of their array seed
(``gradcheck.engine.numeric.CALL_KINDS``): max pooling without its ``mode``, ``hparameters``
with its keys in the course's order, an upstream gradient with exact zeros, arrays in Fortran
order or as strided views, a second call before the first result is read again. Such a bit does
not change the values (``numeric.value_seed``): the failing case re-run with the bit cleared has
the same inputs, called the usual way. The rule names the way of calling only when that re-run
passes, and so do a second seed and a larger case called the usual way (``common.passes``).
"""

from __future__ import annotations

import dataclasses

from gradcheck.engine import numeric as fd
from gradcheck.plans.convolution.diagnosis.common import Case, Evaluate, fails, fmt_geometry, passes
from gradcheck.plans.convolution.diagnosis.templates import Found

# (bit, diagnosis id, how the failing case called the function), tried in this order
KINDS: tuple[tuple[int, str, str], ...] = (
    (fd.DEFAULT_MODE, "default_mode", "when called without mode"),
    (fd.COURSE_KEY_ORDER, "key_order", "with the keys of hparameters in the course's order"),
    (fd.SPARSE_UPSTREAM, "zero_upstream", "when some entries of the upstream gradient are exactly 0"),
    (fd.STRIDED_LAYOUT, "memory_layout", "when its arrays are strided views, neither C- nor F-contiguous"),
    (fd.OTHER_LAYOUT, "memory_layout", "when its arrays are in Fortran order"),
    (fd.CALLED_AGAIN, "reused_buffer", "when it is called a second time before its first result is read again"),
)


def call_kind(case: Case, evaluate: Evaluate | None) -> Found:
    g = case.geometry
    if evaluate is None or g is None or case.status not in ("fail", "error"):
        return None
    for bit, cause, how in KINDS:
        if not case.seed & bit:
            continue
        usual = dataclasses.replace(case, seed=case.seed & ~bit)
        if not passes(evaluate, usual, g) or not fails(evaluate, case, g):
            continue
        return cause, (
            f"fails {how} ({fmt_geometry(g)}, seed={case.seed}) and passes on the same inputs called the usual "
            f"way (seed={usual.seed}), and on a second seed and a larger case called that way"
        )
    return None
