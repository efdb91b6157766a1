"""Judging a layer whose output is random (a mask drawn from a seed): what a count of kept
elements may be, and when two masks may be told apart. Generic: no layer is named here.

Binomial plausibility. A mask that keeps each of ``n`` elements with probability ``q``
keeps ``K ~ Binomial(n, q)`` of them. With ``k = K / n``, the Chernoff bound in its
Kullback-Leibler form (Hoeffding 1963, Theorem 1)::

    P(K >= k n) <= exp(-n KL(k || q))   for k >= q,      P(K <= k n) <= exp(-n KL(k || q))   for k <= q,
    KL(k || q) = k ln(k / q) + (1 - k) ln((1 - k) / (1 - q))

holds for every n (no normal approximation). A count is rejected when its side's bound is at
most ``alpha / 2``: the smallest rejected count on each side has a tail of at most
``alpha / 2``, so a correct mask is rejected with probability at most ``alpha`` per test.
``FALSE_ALARM = 1e-13`` per test keeps a whole check below ``1e-9`` (the union bound) for up
to 10,000 tests: a check of 200 cases makes two per case (two seeds), 400; the bar holds up
to 5,000 cases per quantity.

The bound needs about ``ln(2 / alpha) / KL`` elements to tell two keep probabilities apart:
``q = 0.3`` from ``0.7`` (``KL = 0.34``) from about 90 elements on; the cases draw arrays of
that size and more.

Two masks drawn independently with keep probability ``q`` are equal with probability
``(q^2 + (1 - q)^2)^n``: :func:`masks_distinguishable` says when that is at most
``FALSE_ALARM``, so that two equal masks from two seeds say the seed was not used.
"""

from __future__ import annotations

import math

FALSE_ALARM = 1e-13  # per test: a check stays below 1e-9 for up to 10,000 tests (union bound)


def _kl(k: float, q: float) -> float:
    """KL(k || q) of two Bernoulli distributions (k in [0, 1], q in (0, 1))."""
    total = 0.0
    if k > 0:
        total += k * math.log(k / q)
    if k < 1:
        total += (1 - k) * math.log((1 - k) / (1 - q))
    return total


def binomial_plausible(kept: int, n: int, q: float, alpha: float = FALSE_ALARM) -> bool:
    """Whether ``kept`` of ``n`` is a plausible count for keep probability ``q`` (0 < q < 1):
    False only when the Chernoff bound of its tail is at most ``alpha / 2``."""
    if n <= 0:
        return True
    return n * _kl(kept / n, q) < math.log(2.0 / alpha)


def plausible_range(n: int, q: float, alpha: float = FALSE_ALARM) -> tuple[int, int]:
    """The counts :func:`binomial_plausible` accepts (lowest, highest), for messages."""
    accepted = [k for k in range(n + 1) if binomial_plausible(k, n, q, alpha)]
    return (accepted[0], accepted[-1]) if accepted else (0, n)


def masks_distinguishable(n: int, q: float, alpha: float = FALSE_ALARM) -> bool:
    """Whether two independent masks of ``n`` elements with keep probability ``q`` are equal with
    probability at most ``alpha`` (so that equal masks from two seeds are evidence)."""
    same = q * q + (1 - q) * (1 - q)
    return n > 0 and n * math.log(same) <= math.log(alpha)
