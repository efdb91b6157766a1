"""The result model: one :class:`CheckResult` per (function, quantity), a :class:`Report` per target.

``Report.to_dict()`` is the JSON contract of DESIGN.md (``gradcheck check --json``);
fields are only ever added (``examples``, ``diagnosis``, ``detail``, ``summary``), never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradcheck.contract import STATUSES, Status  # noqa: F401 - re-exported


@dataclass
class Detail:
    """Arrays of the (minimal) failing case, for mismatch tables, heatmaps and diagnosis.

    ``analytic``, ``numeric`` and ``tolerance`` share the shape of the checked
    quantity; ``inputs`` holds the case's input arrays and parameters by name.
    """

    analytic: np.ndarray
    numeric: np.ndarray
    tolerance: np.ndarray
    inputs: dict[str, Any] = field(default_factory=dict)
    step: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": list(self.analytic.shape),
            "analytic": self.analytic.tolist(),
            "numeric": self.numeric.tolist(),
            "tolerance": self.tolerance.tolist(),
            "step": self.step,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Detail:
        return cls(
            analytic=np.asarray(data["analytic"], dtype=np.float64),
            numeric=np.asarray(data["numeric"], dtype=np.float64),
            tolerance=np.asarray(data["tolerance"], dtype=np.float64),
            step=data.get("step"),
        )


@dataclass
class CheckResult:
    """The verdict on one quantity of one function (a row of the JSON ``checks`` list)."""

    function: str
    quantity: str
    status: Status
    cases: int = 0
    max_error: float | None = None
    tolerance: float | None = None
    counterexample: dict[str, Any] | None = None
    worst_index: list[int] | None = None
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    diagnosis: dict[str, Any] | None = None  # {"id": str, "cause": str, "evidence": str}
    detail: Detail | None = None
    step_sweep: dict[str, list[float]] | None = None  # {"steps": [...], "errors": [...]}
    # which rounding bound decided a compared verdict: "element-wise", or "norm-wise" when a
    # transform algorithm (FFT, Winograd) needed the fallback bound (gradcheck.engine.numeric)
    bound: str | None = None
    # {"function", "callee", "text", "evidence"}: this function passes with the callee replaced
    # by the reference, so the callee is the one to fix first (gradcheck.plans.convolution.diagnosis)
    root_cause: dict[str, Any] | None = None
    # {"quantities": [...], "cases": int, "max_error": float | None, "tolerance": float | None}: the
    # cases this quantity shared with others in one screen (one random direction over all their
    # inputs, gradcheck.engine.screening.screen_jointly) and their figure together; max_error and
    # tolerance above are this quantity's own (its per-element case and any case screened alone)
    joint_screen: dict[str, Any] | None = None
    # (geometry, array seed) of the counterexample, for the fix search's re-runs; not serialized
    case: Any = field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def name(self) -> str:
        return f"{self.function}: {self.quantity}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "quantity": self.quantity,
            "status": self.status,
            "cases": int(self.cases),
            "max_error": _finite_or_none(self.max_error),
            "tolerance": _finite_or_none(self.tolerance),
            "counterexample": self.counterexample,
            "worst_index": None if self.worst_index is None else [int(i) for i in self.worst_index],
            "message": self.message,
            "warnings": list(self.warnings),
            "diagnosis": self.diagnosis,
            "detail": None if self.detail is None else self.detail.to_dict(),
            "step_sweep": self.step_sweep,
            "bound": self.bound,
            "root_cause": self.root_cause,
            "joint_screen": None if self.joint_screen is None else {
                **self.joint_screen,
                "max_error": _finite_or_none(self.joint_screen.get("max_error")),
                "tolerance": _finite_or_none(self.joint_screen.get("tolerance")),
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        detail = data.get("detail")
        return cls(
            function=data["function"],
            quantity=data["quantity"],
            status=data["status"],
            cases=data.get("cases", 0),
            max_error=data.get("max_error"),
            tolerance=data.get("tolerance"),
            counterexample=data.get("counterexample"),
            worst_index=data.get("worst_index"),
            message=data.get("message", ""),
            warnings=list(data.get("warnings", [])),
            diagnosis=data.get("diagnosis"),
            detail=None if detail is None else Detail.from_dict(detail),
            step_sweep=data.get("step_sweep"),
            bound=data.get("bound"),
            root_cause=data.get("root_cause"),
            joint_screen=data.get("joint_screen"),
        )


def case_text(counterexample: dict[str, Any] | None) -> str:
    """A case as messages and reports show it: ``m=1, n_H_prev=2, ..., seed=0`` ("" for none)."""
    if not counterexample:
        return ""
    return ", ".join(f"{key}={value}" for key, value in counterexample.items())


def json_safe(value: Any) -> Any:
    """A strict-JSON copy of ``value``: NaN and infinities become null (JSON has neither)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def _finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


@dataclass
class Report:
    """All verdicts on one target. ``passed``: every function present passes, and every
    function in ``required`` is present.

    ``warnings``: notes on the run as a whole (imports skipped in a notebook, code run
    in process because its source could not be recovered). ``str(report)`` is the
    terminal text; in a notebook a report displays itself as HTML (``_repr_html_``).
    """

    target: str
    seed: int = 0
    checks: list[CheckResult] = field(default_factory=list)
    load_error: str | None = None
    examples: int | None = None
    duration_s: float | None = None
    required: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)
    isolation: str | None = None  # the worker's isolation level (gradcheck.boundary.sandbox.LEVELS) or "in-process"
    isolation_reason: str | None = None  # why that level (gradcheck.boundary.sandbox.level_reason)
    convention: str = "article"  # whose contract judged it: "article" or "cs231n" (gradcheck.conventions)
    # how the isolated worker was used (round trips, restarts): for the closing note, not in the JSON
    worker: dict[str, int] | None = field(default=None, repr=False, compare=False)
    # each resource limit of the worker: {"held": bool, "by": how} (gradcheck.boundary.confine.limits)
    limits: dict[str, dict[str, Any]] | None = None
    bound: list[str] = field(default_factory=list)  # files shown to the worker beside the target
    # the assignment whose layers were checked (gradcheck.plans: "cs231n-a2", ...), None for the
    # convolution notebook alone
    plan: str | None = None
    # what in the submission's source looks at the process it runs in (gradcheck.load.inspection),
    # one line each: no verdict depends on it, a person should review it (a grader's review column)
    review: list[str] = field(default_factory=list)

    def required_missing(self) -> list[CheckResult]:
        """The ``missing`` checks of required functions (they fail the run)."""
        return [check for check in self.checks if check.status == "missing" and _is_required(check, self.required)]

    @property
    def passed(self) -> bool:
        if self.load_error is not None or self.required_missing():
            return False
        present = [check for check in self.checks if check.status != "missing"]
        return bool(present) and all(check.passed for check in present)

    def failures(self) -> list[CheckResult]:
        """Checks that do not pass: every status but pass and missing, and required missing ones."""
        return [
            check
            for check in self.checks
            if check.status not in ("pass", "missing")
            or (check.status == "missing" and _is_required(check, self.required))
        ]

    def summary(self) -> dict[str, int]:
        counts = {status: 0 for status in STATUSES}
        for check in self.checks:
            counts[check.status] += 1
        return counts

    def __repr__(self) -> str:  # short: a notebook's text/plain, a debugger, a log line
        counts = ", ".join(f"{n} {status}" for status, n in self.summary().items() if n)
        state = "load error" if self.load_error is not None else counts or "no checks"
        return f"<Report {self.target!r}: {'PASSED' if self.passed else 'FAILED'} ({state})>"

    def __str__(self) -> str:
        from gradcheck.render.terminal import format_report

        return format_report(self)

    def _repr_html_(self) -> str:
        from gradcheck.render.notebook import format_notebook_html

        return format_notebook_html(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "passed": self.passed,
            "seed": int(self.seed),
            "load_error": self.load_error,
            "checks": [check.to_dict() for check in self.checks],
            "examples": self.examples,
            "duration_s": self.duration_s,
            "summary": self.summary(),
            "required": list(self.required),
            "warnings": list(self.warnings),
            "isolation": self.isolation,
            "isolation_reason": self.isolation_reason,
            "convention": self.convention,
            "limits": self.limits,
            "bound": list(self.bound),
            "plan": self.plan,
            "review": list(self.review),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(
            target=data["target"],
            seed=data.get("seed", 0),
            checks=[CheckResult.from_dict(check) for check in data.get("checks", [])],
            load_error=data.get("load_error"),
            examples=data.get("examples"),
            duration_s=data.get("duration_s"),
            required=tuple(data.get("required") or ()),
            warnings=list(data.get("warnings") or []),
            isolation=data.get("isolation"),
            isolation_reason=data.get("isolation_reason"),
            convention=data.get("convention") or "article",
            limits=data.get("limits"),
            bound=list(data.get("bound") or []),
            plan=data.get("plan"),
            review=list(data.get("review") or []),
        )


def _is_required(check: CheckResult, required: tuple[str, ...]) -> bool:
    """``check.function`` may be a convention's display name (``conv_forward_naive``)."""
    if not required:
        return False
    from gradcheck.conventions import contract_name

    return contract_name(check.function) in required
