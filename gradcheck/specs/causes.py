"""What can be said of a failing gradient of any layer, measured, never guessed: a constant
factor between the returned values and the expected ones.

A gradient that is everywhere ``c`` times the expected one (a missing or extra ``1/N``, a
sign, a doubled term) is the one mistake a black box shows plainly. :func:`constant_factor`
measures the ratio on the per-element comparison of the smallest failing case and on larger
failing cases (the screen's other draws, re-run per element), and names it only when every
element of every case agrees with it within its tolerance: then the cause says the factor, and
which dimension of the case it equals when it equals one (``N``, ``m``, ``1/T``) on every case.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.verdict.compare import Comparison

MIN_ELEMENTS = 2  # elements whose expected value is clear of 0, over the cases, before a factor is named


def _ratio(comparison: Comparison) -> float | None:
    """The factor c with analytic == c * expected at every element within its tolerance, or None."""
    expected, analytic, tolerance = comparison.expected, comparison.analytic, comparison.tolerance
    clear = np.abs(expected) > 4 * tolerance
    if not clear.any():
        return None
    ratios = analytic[clear] / expected[clear]
    c = float(np.median(ratios))
    if not np.isfinite(c) or abs(c - 1.0) < 1e-9:
        return None
    if abs(c) < 1e-12:
        c = 0.0
    return c if bool(np.all(np.abs(analytic - c * expected) <= tolerance * (1 + abs(c)))) else None


def _named(c: float, dims: dict[str, int]) -> list[str]:
    """The dimensions (or their inverses, or the sign) the factor equals on this case."""
    names = []
    for name, value in dims.items():
        if name == "seed" or value in (0, 1):
            continue
        if abs(c - value) <= 1e-9 * value:
            names.append(name)
        elif abs(c - 1.0 / value) <= 1e-9 / value:
            names.append(f"1/{name}")
    if abs(c + 1.0) <= 1e-9:
        names.append("-1")
    return names


def constant_factor(quantity: str, cases: list[tuple[dict[str, int], Comparison]]) -> dict[str, Any] | None:
    """The cause when every case shows one factor (or one dimension's value): a diagnosis dict
    (``id``, ``cause``, ``evidence``), else None."""
    factors, clear = [], 0
    for dims, comparison in cases:
        c = _ratio(comparison)
        if c is None:
            return None
        factors.append((dims, c))
        clear += int(np.count_nonzero(np.abs(comparison.expected) > 4 * comparison.tolerance))
    if len(factors) < 2 or clear < MIN_ELEMENTS:
        return None
    shared = set(_named(factors[0][1], factors[0][0]))
    for dims, c in factors[1:]:
        shared &= set(_named(c, dims))
    cases_text = "; ".join(f"{_case(dims)}: {c:.6g}" for dims, c in factors)
    evidence = (f"every element of {len(factors)} failing cases is the expected value times the same factor "
                f"({cases_text})")
    if shared:
        name = sorted(shared, key=len)[0]
        if name == "-1":
            cause = f"{quantity} has the wrong sign: every element is the negative of the expected one"
        elif name.startswith("1/"):
            cause = (f"{quantity} is {name} times the expected gradient on every case: an extra division by "
                     f"{name[2:]} (or one where the course's formula has none)")
        else:
            cause = (f"{quantity} is {name} times the expected gradient on every case: a missing 1/{name} "
                     "(an average taken as a sum, or the course's factor left out)")
        return {"id": "constant_factor", "cause": cause, "evidence": evidence}
    values = {round(c, 9) for _, c in factors}
    if values == {0.0}:
        return {"id": "constant_factor", "cause": f"{quantity} is zero everywhere, where the expected gradient is "
                "not: nothing reaches it (a `+=` missing, or a value overwritten after it was added)",
                "evidence": evidence}
    if len(values) == 1:
        c = factors[0][1]
        return {"id": "constant_factor", "cause": f"{quantity} is {c:.6g} times the expected gradient on every "
                f"case (a constant factor, the same whatever the shapes)", "evidence": evidence}
    return None


def _case(dims: dict[str, int]) -> str:
    return ", ".join(f"{key}={value}" for key, value in dims.items() if key != "seed")
