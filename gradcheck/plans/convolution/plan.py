"""The convolution notebook's plan: one spec per checked function and quantity, and what the
engine (``gradcheck.engine``) reads of them.

:data:`PLAN` lists every (function, quantity) the engine reports, in order;
:data:`SPECS` maps each to its :class:`Spec`: the hypothesis strategy of its
geometry, a representative case (always run first, per element), the case
function of ``gradcheck.plans.convolution.checks``, the oracle named in messages, how its
cases are drawn and shrunk (``gradcheck.plans.convolution.sampling``) and the per-function
facts the engine asks of a spec (``swept``, ``screened_twice``, :meth:`Spec.notes`).
:data:`CS231N_SPECS` are the same layers drawn from CS231n's contract; :data:`JOINT_SCREENS`
the functions whose quantities are screened together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from gradcheck.engine.checks.case import CaseVerdict, Steps
from gradcheck.plans.convolution import sampling
from gradcheck.plans.convolution.checks.conv import (
    conv_backward_case,
    conv_forward_case,
    conv_single_step_case,
    zero_pad_case,
)
from gradcheck.plans.convolution.checks.notes import case_notes
from gradcheck.plans.convolution.checks.pool import pool_backward_case, pool_forward_case, pool_ties_case
from gradcheck.plans.convolution.checks.window import WindowCase, distribute_case, mask_case, mask_ties_case
from gradcheck.strategies import (
    ConvGeometry,
    CS231nConvGeometry,
    CS231nPoolGeometry,
    PoolGeometry,
    conv_geometries,
    cs231n_conv_geometries,
    cs231n_pool_geometries,
    pool_geometries,
)

PLAN: tuple[tuple[str, str], ...] = (
    ("zero_pad", "X_pad"),
    ("conv_single_step", "Z"),
    ("conv_forward", "Z"),
    ("conv_backward", "dA_prev"),
    ("conv_backward", "dW"),
    ("conv_backward", "db"),
    ("pool_forward", "A[max]"),
    ("pool_forward", "A[average]"),
    ("pool_backward", "dA_prev[max]"),
    ("pool_backward", "dA_prev[average]"),
    ("pool_backward", "ties[max]"),
    ("create_mask_from_window", "mask"),
    ("create_mask_from_window", "mask_ties"),
    ("distribute_value", "distributed"),
)

REPRESENTATIVE_CONV = ConvGeometry(m=2, n_H_prev=5, n_W_prev=4, n_C_prev=2, n_C=3, f=3, stride=1, pad=1)


def mode_of(quantity: str) -> str | None:
    """The pooling mode in a quantity name: ``"dA_prev[max]"`` -> ``"max"``; None without one."""
    return quantity[quantity.index("[") + 1 : -1] if "[" in quantity else None


# The backwards: their gradients are compared with a finite difference of a step, screened along a
# random direction (``<G, J u>`` numeric vs ``<J^T G, u>`` analytic), so the error against the step
# can be swept (``gradcheck.engine.runner.step_sweep``) and the representative is also screened
# (both modes of checking run on it).
SWEPT = ("conv_backward", "pool_backward")
SCREENED_TWICE = ("conv_backward", "pool_backward")


@dataclass(frozen=True)
class Spec:
    """How to draw and evaluate cases of one (function, quantity)."""

    function: str
    quantity: str
    strategy: Any
    representative: Any
    evaluate: Callable[..., Steps[CaseVerdict]]
    oracle: str  # what the quantity is compared with, for messages
    cases: Callable[[np.random.Generator], Iterator[Any]]  # the engine's cheap draws (sampling)
    smallest_window: int = 1  # lower bound of a window side when shrinking (ties need 2)

    @property
    def position(self) -> int:
        """Its row in :data:`PLAN` (what seeds its draws, with the run's seed)."""
        return PLAN.index((self.function, self.quantity))

    @property
    def swept(self) -> bool:
        """Whether its gradients are screened along a random direction (:data:`SWEPT`; the
        subgradient rule at ties has no step)."""
        return self.function in SWEPT and not self.quantity.startswith("ties")

    @property
    def screened_twice(self) -> bool:
        """Whether its representative is also screened (:data:`SCREENED_TWICE`, but the rule at ties)."""
        return self.function in SCREENED_TWICE and not self.quantity.startswith("ties")

    def drawn(self, seed: int, count: int) -> list[tuple[Any, int]]:
        """``count`` (geometry, array seed) cases after its representative: the smallest one
        first (seed 0), then draws from a Generator seeded by ``seed`` and the plan position."""
        if count <= 0:
            return []
        rng = np.random.default_rng([seed, self.position])
        first = (sampling.smallest_case(self.representative, self.smallest_window), 0)
        return [first, *sampling.draw_cases(self.cases(rng), rng, count - 1)]

    def shrink(self, geometry: Any, seed: int) -> list[tuple[Any, int]]:
        """The cases one step smaller than ``(geometry, seed)``, smallest first (``sampling.shrink_candidates``)."""
        return sampling.shrink_candidates(geometry, seed, self.smallest_window)

    def geometry(self, fields: dict[str, Any]) -> Any:
        """The geometry object of this spec's kind from a counterexample-like dict (``seed`` ignored)."""
        fields = {key: value for key, value in fields.items() if key != "seed"}
        kind = type(self.representative)
        if issubclass(kind, PoolGeometry):
            fields.setdefault("mode", mode_of(self.quantity) or "max")
        return kind(**fields)

    def notes(self, seed: int, convention: str = "article") -> list[str]:
        """How a case with this seed called the function, when not as most cases do (``checks.notes``)."""
        return case_notes(seed, self.function, self.quantity, convention)


@dataclass(frozen=True)
class Geometries:
    """Where a convention's conv and pool cases come from: the inputs its contract allows."""

    conv_strategy: Any
    conv_cases: Callable[[np.random.Generator], Iterator[Any]]
    conv_representative: Any
    pool_strategy: Callable[..., Any]  # (modes=..., max_filter=...) -> strategy
    pool_cases: Callable[[np.random.Generator, str], Iterator[Any]]
    pool_representative: Callable[[str], Any]  # mode -> geometry
    ties_representative: Any


ARTICLE = Geometries(
    conv_geometries(),
    sampling.conv_cases,
    REPRESENTATIVE_CONV,
    pool_geometries,
    sampling.pool_cases,
    lambda mode: PoolGeometry(m=2, n_H_prev=5, n_W_prev=6, n_C=2, f=2, stride=1, mode=mode),
    PoolGeometry(m=2, n_H_prev=5, n_W_prev=6, n_C=2, f=2, stride=2, mode="max"),
)
CS231N = Geometries(
    cs231n_conv_geometries(),
    sampling.cs231n_conv_cases,
    # representatives that show most at once: a rectangular kernel, stride 2 with overlapping
    # windows (3 > 2) and padding; a rectangular pool window overlapping in height only
    CS231nConvGeometry(m=2, n_H_prev=5, n_W_prev=6, n_C_prev=2, n_C=3, f=3, stride=2, pad=1, f_W=2),
    lambda modes=("max",), max_filter=3: cs231n_pool_geometries(max_filter=max_filter),
    sampling.cs231n_pool_cases,
    lambda mode: CS231nPoolGeometry(m=2, n_H_prev=7, n_W_prev=6, n_C=2, f=3, stride=2, mode=mode, f_W=2),
    CS231nPoolGeometry(m=2, n_H_prev=6, n_W_prev=7, n_C=2, f=2, stride=2, mode="max", f_W=3),
)


def _spec(function: str, quantity: str, geometries: Geometries = ARTICLE) -> Spec:
    mode = mode_of(quantity)
    conv = (geometries.conv_strategy, geometries.conv_representative)
    if function in ("zero_pad", "conv_single_step", "conv_forward"):
        evaluate = {"zero_pad": zero_pad_case, "conv_single_step": conv_single_step_case,
                    "conv_forward": conv_forward_case}[function]
        return Spec(function, quantity, *conv, evaluate, "the reference", geometries.conv_cases)
    if function == "conv_backward":
        def evaluate(ctx, geometry, seed, **options):
            return conv_backward_case(ctx, geometry, seed, quantity, **options)
        return Spec(function, quantity, *conv, evaluate, "the central finite difference of conv_forward",
                    geometries.conv_cases)
    if function in ("pool_forward", "pool_backward"):
        strategy = geometries.pool_strategy(modes=(mode,))
        pool_cases = lambda rng, mode=mode or "max": geometries.pool_cases(rng, mode)  # noqa: E731
        representative = geometries.pool_representative(mode)
        if quantity.startswith("ties"):
            strategy = geometries.pool_strategy(modes=("max",), max_filter=3)
            return Spec(function, quantity, strategy, geometries.ties_representative, pool_ties_case,
                        "the subgradient rule of max at ties", pool_cases)
        if function == "pool_forward":
            return Spec(function, quantity, strategy, representative, pool_forward_case, "the reference", pool_cases)
        return Spec(function, quantity, strategy, representative, pool_backward_case,
                    f"the central finite difference of pool_forward ({mode})", pool_cases)
    windows = st.builds(WindowCase, st.integers(1, 4), st.integers(1, 4))
    if function == "create_mask_from_window":
        if quantity == "mask_ties":
            return Spec(function, quantity, st.builds(WindowCase, st.integers(1, 4), st.integers(2, 4)),
                        WindowCase(3, 3), mask_ties_case, "the subgradient rule of max at ties",
                        lambda rng: sampling.window_cases(rng, smallest=2), smallest_window=2)
        return Spec(function, quantity, windows, WindowCase(3, 3), mask_case,
                    "the central finite difference of max(x)", sampling.window_cases)
    if function == "distribute_value":
        return Spec(function, quantity, windows, WindowCase(2, 3), distribute_case,
                    "dz times the central finite difference of mean(a)", sampling.window_cases)
    raise ValueError(f"no check for {function}/{quantity}")


SPECS: dict[tuple[str, str], Spec] = {key: _spec(*key) for key in PLAN}
# CS231n's layers (conv_*_naive, max_pool_*_naive), drawn from CS231n's own contract
CS231N_SPECS: dict[tuple[str, str], Spec] = {
    (function, quantity): _spec(function, quantity, CS231N)
    for function, quantity in PLAN
    if function in ("conv_forward", "conv_backward", "pool_forward", "pool_backward") and mode_of(quantity) != "average"
}


def specs_for(convention: str | None) -> dict[tuple[str, str], Spec]:
    """The specs of a convention (``"cs231n"``; anything else: the article's course)."""
    return CS231N_SPECS if convention == "cs231n" else SPECS


# Functions whose quantities can be screened together: the case function takes a tuple
# of quantities and checks one random direction over all their inputs at once.
JOINT_SCREENS: dict[str, Callable[..., Steps[CaseVerdict]]] = {"conv_backward": conv_backward_case}
