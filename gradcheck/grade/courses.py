"""What a submission is graded as: the course convention of its convolution layers and the
assignment (``gradcheck.plans``) of its other layers.

A :class:`Course` gives the grading code what it asks of a convention (``name``,
``shown_functions``, ``required``) for both parts together: the gradebook's function
columns, a submission's statuses and score. A run checks the convolution contract unless
its assignment has no convolution layers (the Deep Learning Specialization's C1W4: its
columns are the assignment's functions alone).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gradcheck.conventions import CONVENTIONS, Convention, convention
from gradcheck.specs.spec import Plan


@dataclass(frozen=True, eq=False)
class Course:
    """A convention and the assignment checked with it (None: the convolution notebook alone);
    two are the same course when their names are."""

    convention: Convention
    plan: Plan | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Course) and (self.name, self.assignment) == (other.name, other.assignment)

    def __hash__(self) -> int:
        return hash((self.name, self.assignment))

    @property
    def name(self) -> str:
        """The convention's name (the gradebook's ``convention`` column)."""
        return self.convention.name

    @property
    def assignment(self) -> str:
        """The assignment's name (the gradebook's ``assignment`` column; "" for none)."""
        return "" if self.plan is None else self.plan.name

    @property
    def title(self) -> str:
        return self.convention.title if self.plan is None else self.plan.title

    @property
    def convolution(self) -> bool:
        return self.plan is None or self.plan.convention is not None

    @property
    def shown_functions(self) -> tuple[str, ...]:
        """The functions graded, as the course names them: the convolution layers (when the
        run checks them), then the assignment's."""
        ours = self.convention.shown_functions if self.convolution else ()
        return (*ours, *(self.plan.names if self.plan is not None else ()))

    def required(self, required: Iterable[str]) -> tuple[str, ...]:
        """The required functions (contract names, or an assignment's) this course has (never one
        the course's starter code provides)."""
        wanted = set(required)
        ours = self.convention.required(wanted) if self.convolution else ()
        theirs = self.plan.required_names if self.plan is not None else ()
        return (*ours, *(name for name in theirs if name in wanted))

    def function(self, name: str) -> str:
        return self.convention.function(name)

    @property
    def order(self) -> tuple[int, int]:
        from gradcheck.plans import plans

        names = list(plans())
        return (list(CONVENTIONS).index(self.convention.name) if self.convolution else len(CONVENTIONS),
                -1 if self.plan is None else names.index(self.plan.name))


def course(convention_name: str | None, assignment: str | None) -> Course:
    """The course of a convention's name and an assignment's name ("" or None: none)."""
    from gradcheck.plans import plans

    return Course(convention(convention_name), plans().get(assignment or ""))


def course_of(report: dict[str, Any] | None, expected: Course | None = None) -> Course:
    """The course of a ``Report.to_dict()`` (``expected`` for a report that names no check: a
    submission that could not be graded)."""
    if report is None or not report.get("checks"):
        if expected is not None:
            return expected
        return course((report or {}).get("convention"), (report or {}).get("plan"))
    return course(report.get("convention"), report.get("plan"))
