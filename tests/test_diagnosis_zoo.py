"""Diagnosis on the bug zoo through the real engine: every class is triggered by a zoo
member, members whose bug fits no class get no hint, correct members get none.

``tests/test_zoo_verdicts.py`` checks each member's own diagnosis; this file checks the
classes (each one reachable), the silence on unclassified bugs, and the evidence text.
"""

from __future__ import annotations

from functools import cache

import pytest
from zoo.manifest import CORRECT, DIAGNOSES, ZOO, load

import gradcheck
from gradcheck import Report
from gradcheck.verdict.diagnosis import CAUSES

EXAMPLES = 8

pytestmark = [
    pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
]


@cache
def report(name: str) -> Report:
    return gradcheck.check(load(name), isolate=False, examples=EXAMPLES, seed=1)


def hints(name: str) -> dict[str, dict]:
    return {f"{c.function}: {c.quantity}": c.diagnosis for c in report(name).checks if c.diagnosis}


# classes whose cause text names what was measured (the factor, the channel axis, ...)
SPECIFIC_CAUSE = {"channels_only": "channel index is wrong", "constant_factor": "times the right one"}


def test_every_class_has_a_cause_and_a_zoo_member():
    assert set(CAUSES) == set(DIAGNOSES)
    covered = {e.diagnosis for e in ZOO.values() if e.diagnosis is not None}
    assert covered == set(DIAGNOSES)


def first_member(class_id: str) -> str:
    return next(name for name, e in ZOO.items() if e.diagnosis == class_id)


@pytest.mark.parametrize("class_id", sorted(DIAGNOSES))
def test_class_is_triggered_by_its_zoo_member(class_id):
    name = first_member(class_id)
    found = hints(name)
    assert found, f"{name}: no hint"
    assert {hint["id"] for hint in found.values()} == {class_id}, found
    for hint in found.values():
        if class_id in SPECIFIC_CAUSE:  # the rule words its cause from what it measured
            assert SPECIFIC_CAUSE[class_id] in hint["cause"], hint["cause"]
        else:
            assert hint["cause"] == CAUSES[class_id]
        assert len(hint["evidence"]) > 20


@pytest.mark.parametrize(
    "name", [name for name, e in ZOO.items() if e.diagnosis is None] + list(CORRECT)
)
def test_no_hint_without_a_class(name):
    assert hints(name) == {}
