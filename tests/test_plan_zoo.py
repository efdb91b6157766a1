"""Every file of the assignments' zoos (``tests/zoo_plans/<assignment>/``, written apart from
the engine): each bug fails exactly the (function, quantity) pairs its manifest lists, every
other pair passes, and the correct files (loops, vectorized, einsum, graph-style) pass.

``gradcheck.check(module, isolate=False)`` with half the CLI's default number of cases (the
default's verdicts are the same: measured on the whole zoo); the pairs of functions no plan
checks yet are left out.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

import pytest

import gradcheck
from gradcheck.plans import plan_named

ZOO = Path(__file__).parent / "zoo_plans"
EXAMPLES = 100  # half the CLI's default: every manifest pair is decided there too, in half the suite's time
PLANS = {  # zoo folder -> the assignment its files are checked as
    "cs231n_a2": "cs231n-a2", "cs231n_a2_spatial": "cs231n-a2", "cs231n_a2_dropout": "cs231n-a2",
    "cs231n_a1": "cs231n-a1", "cs231n_a3": "cs231n-a3",
    "dls_c1w4": "dls-c1w4", "dls_c5w1": "dls-c5w1",
}


def _entries() -> list[tuple[str, dict]]:
    return [(folder, entry) for folder in PLANS if (ZOO / folder / "manifest.json").is_file()
            for entry in json.loads((ZOO / folder / "manifest.json").read_text())]


@cache
def _report(folder: str, file: str) -> gradcheck.Report:
    spec = importlib.util.spec_from_file_location(f"zoo_{folder}_{file[:-3]}", ZOO / folder / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return gradcheck.check(module, isolate=False, assignment=PLANS[folder], examples=EXAMPLES)


def expected_failures(folder: str, entry: dict) -> set[tuple[str, str]]:
    """The manifest's pairs in the plan's names (a forward's ``out`` is its first return)."""
    plan = plan_named(PLANS[folder])
    pairs = set()
    for function, quantity in entry["fails"]:
        if function in plan.names:
            layer = plan.layer(function)
            pairs.add((function, layer.returns[0] if quantity == "out" else quantity))
    return pairs


@pytest.mark.slow
@pytest.mark.parametrize(("folder", "entry"), [pytest.param(f, e, id=f"{f}/{e['file']}") for f, e in _entries()])
def test_zoo_file_fails_exactly_its_manifest_pairs(folder: str, entry: dict) -> None:
    report = _report(folder, entry["file"])
    assert report.plan == PLANS[folder] and report.load_error is None
    failed = {(c.function, c.quantity) for c in report.checks if c.status not in ("pass", "missing")}
    want = expected_failures(folder, entry)
    assert failed == want, "\n".join(c.message for c in report.checks if (c.function, c.quantity) in failed ^ want)
    assert report.passed == (not want)


QUICK = {  # one correct file and one bug per assignment: the inner loop's share of the zoo
    "cs231n_a2": ("correct_graph_einsum.py", "bug_bn_dgamma_from_x.py"),
    "cs231n_a1": ("correct_half_reg_2016.py", "bug_svm_vec_half_loss_2reg_grad.py"),
    "dls_c1w4": ("correct_loops.py", "bug_linear_backward_dW_no_1_over_m.py"),
}


@pytest.mark.parametrize(("folder", "file"), [(f, name) for f, names in QUICK.items() for name in names])
def test_quick_zoo_sample(folder: str, file: str) -> None:
    entry = next(e for f, e in _entries() if f == folder and e["file"] == file)
    report = _report(folder, file)
    failed = {(c.function, c.quantity) for c in report.checks if c.status not in ("pass", "missing")}
    assert failed == expected_failures(folder, entry)


def test_every_backward_has_three_bugs_in_the_zoo() -> None:
    """The issue's bar: at least three realistic bugs failing each backward (and loss) students
    write, in every plan."""
    for name in dict.fromkeys(PLANS.values()):
        plan = plan_named(name)
        counts = {layer.name: 0 for layer in plan.layers if layer.kind != "forward" and not layer.provided}
        for folder, entry in _entries():
            if PLANS[folder] == name:
                for function in {f for f, _ in entry["fails"]} & set(counts):
                    counts[function] += 1
        thin = {function: count for function, count in counts.items() if count < 3}
        assert not thin, f"{name}: fewer than three bugs fail {thin}"
