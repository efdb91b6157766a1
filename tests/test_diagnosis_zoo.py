"""Diagnosis on the bug zoo through the real engine: every class is triggered by a zoo
member, members whose bug fits no class get no hint, correct members get none.

``tests/test_zoo_verdicts.py`` checks each member's own diagnosis; this file checks the
classes (each one reachable), the silence on unclassified bugs, and the evidence text.
"""

from __future__ import annotations

import pytest
from zoo.manifest import CORRECT, DIAGNOSES, ZOO, checked

from gradcheck import Report
from gradcheck.plans.convolution.diagnosis import CAUSES

pytestmark = [
    pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
]


def report(name: str) -> Report:
    return checked(name)


def hints(name: str) -> dict[str, dict]:
    """The likely causes of a member's checks (root causes across functions left out)."""
    return {
        f"{c.function}: {c.quantity}": c.diagnosis
        for c in report(name).checks
        if c.diagnosis and c.diagnosis["id"] != "root_cause"
    }


# classes whose cause text names what was measured (the factor, the channel axis, ...)
SPECIFIC_CAUSE = {
    "channels_only": "channel index is wrong",
    "constant_factor": "times the right one",
    "equals_other_tensor": "is used for every output channel c",
    "wrong_shape": "rounded up (ceil) where the formula floors",  # bug_pool_ceil, the class's first member
    "call_signature": "with mode as the third positional argument",
    "input_modified": "pool_backward modified its input dA in place",
    "layout": "laid out as NCHW",
    "numpy2_float": "numpy 2 refuses float()",
}


def test_every_class_has_a_cause_and_a_zoo_member():
    assert set(CAUSES) == set(DIAGNOSES) | {"verified_fix"}
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


def test_at_least_90_percent_of_the_zoo_gets_a_right_cause():
    """Each member's cause is pinned by test_zoo_verdicts (its hint id, or the callee named as the
    root cause, and nothing else); here the share of members that get one."""
    explained = [name for name, e in ZOO.items() if e.diagnosis is not None or e.root_cause is not None]
    assert len(ZOO) >= 40
    assert len(explained) / len(ZOO) >= 0.9, sorted(set(ZOO) - set(explained))


def test_one_example_cause_fits_the_quantity():
    """dW and db sum over the batch: keeping one example's share means a missing `+=` over i.
    dA_prev[i] is each example's own: keeping one means its store runs outside the loop over i,
    and `+=` would not fix it."""
    dW_hints = [h for q, h in hints("bug_dw_reset_per_example").items() if "dW" in q]
    assert dW_hints and all(h["cause"] == CAUSES["one_example"] for h in dW_hints), dW_hints
    dA_hints = [h for q, h in hints("bug_crop_outside_example_loop").items() if "dA_prev" in q]
    assert dA_hints and all(h["id"] == "one_example" for h in dA_hints), dA_hints
    assert all("inside the loop over i" in h["cause"] and "+=" not in h["cause"] for h in dA_hints), dA_hints
