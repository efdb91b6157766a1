"""``check_vjp`` / ``assert_vjp``: any numpy function against its hand-written backward.

One concept per module:

- ``check``: the entry points and the order of the calls (forward, backward once, then the
  screens and the per-element checks);
- ``directional``: the random-direction screen and its rounding and truncation estimates;
- ``elements``: per-element central differences, and kinks;
- ``bisection``: localising a failed screen to blocks of a few elements;
- ``result``: :class:`VjpResult` and the figure of each input.
"""

from gradcheck.vjp.check import assert_vjp, check_vjp
from gradcheck.vjp.result import InputFigure, VjpResult

__all__ = ["check_vjp", "assert_vjp", "VjpResult", "InputFigure"]
