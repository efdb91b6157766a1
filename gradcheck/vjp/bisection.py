"""Localising a failed directional screen by bisection: which elements of the input are wrong.

The screen of an input failed: ``<g, u>`` differs from the central difference of
``<G, F(x + t u)>`` beyond its tolerance. Restricting the direction to a block B of
elements (``u`` times the indicator of B) gives the same test for ``<g_B, u_B>``; an error
confined to some elements moves the blocks that hold them and no other. The search splits
a failing block in two halves, screens both (their tolerances are computed afresh) and
goes on into each half that fails, depth first, until the blocks have at most
``leaf_size`` elements: those are handed back, and the caller checks their elements one by
one (``gradcheck.vjp.elements``), which decides.

Cost: two block screens per level, about ``2 log2(n / leaf_size)`` screens to reach one
wrong element, instead of ``2 n`` forward calls for every element. A block can pass although
it holds a wrong element only when errors inside it cancel along ``u`` (random signs make
that unlikely) or are below the block's tolerance; a failing block whose halves both pass
is counted in ``unresolved`` (the error is spread thinly over many elements).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

LEAF_SIZE = 8  # a block this small is checked element by element (2 forward calls each)
MAX_SCREENS = 160  # block screens one search may spend (4 forward calls each)

BlockScreens = Callable[[Sequence[np.ndarray]], list[bool]]  # blocks -> whether each fails


@dataclass
class Bisection:
    """A search over the flat indices ``0 .. n - 1`` of an input whose screen failed.

    Iterating yields failing leaf blocks (arrays of flat indices, ascending), depth first
    from the lowest index; stop iterating when enough elements are found. ``fails`` screens
    a list of blocks at once (one batch of forward calls) and says which fail."""

    n: int
    fails: BlockScreens
    leaf_size: int = LEAF_SIZE
    max_screens: int = MAX_SCREENS
    screens: int = 0
    unresolved: int = 0
    exhausted: bool = False  # the budget ran out before the search was complete
    _stack: list[np.ndarray] = field(default_factory=list, repr=False)

    def __iter__(self) -> Iterator[np.ndarray]:
        self._stack = [np.arange(self.n)]
        while self._stack:
            block = self._stack.pop()
            if block.size <= self.leaf_size:
                yield block
                continue
            if self.screens + 2 > self.max_screens:
                self.exhausted = True
                return
            halves = [block[: block.size // 2], block[block.size // 2 :]]
            failing = self.fails(halves)
            self.screens += 2
            if not any(failing):
                self.unresolved += 1
            # the lower half is searched first: pushed last
            self._stack.extend(half for half, bad in reversed(list(zip(halves, failing, strict=True))) if bad)
