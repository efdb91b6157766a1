"""The assignments gradcheck checks: one plan (a tuple of layer specs, ``gradcheck.specs``) per
assignment, found by the names a file defines; and the convolution notebook (``convolution``),
whose table of specs the engine of ``gradcheck.engine`` reads, checked whenever a file defines
its functions (it is not among :func:`plans`)."""

from __future__ import annotations

from collections.abc import Iterable

from gradcheck.specs.spec import Plan


def plans() -> dict[str, Plan]:
    """Every plan, by name (imported on first use: each plan imports its references)."""
    from gradcheck.plans import cs231n_a1, cs231n_a2, cs231n_a3, dls_c1w4, dls_c5w1

    return {plan.name: plan for plan in (cs231n_a2.PLAN, cs231n_a1.PLAN, cs231n_a3.PLAN, dls_c1w4.PLAN,
                                          dls_c5w1.PLAN)}


def plan_named(name: str) -> Plan:
    """The plan called ``name`` (a KeyError names the choices)."""
    found = plans()
    if name not in found:
        raise KeyError(f"no assignment called {name!r}; choose from {', '.join(found)}")
    return found[name]


def detect(names: Iterable[str]) -> Plan | None:
    """The plan whose signature names ``names`` holds the most of (None: none of any)."""
    names = set(names)
    best, count = None, 0
    for plan in plans().values():
        hits = len(names.intersection(plan.signature))
        if hits > count:
            best, count = plan, hits
    return best


ASSIGNMENT_CHOICES = ("auto", "none")  # besides the plans' names


def plan_for(requested: str | Plan | None, names: Iterable[str]) -> Plan | None:
    """The plan a run checks: ``requested`` (a Plan of one's own, or a plan's name), none for
    ``"none"``, else (None or ``"auto"``) the one the names a file defines show (:func:`detect`)."""
    if isinstance(requested, Plan):
        return requested
    if requested in (None, "auto"):
        return detect(names)
    if requested == "none":
        return None
    return plan_named(requested)
