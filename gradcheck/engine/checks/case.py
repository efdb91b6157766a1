"""What one generated case of a check produces, and the context it runs in.

A case ends with a :class:`CaseVerdict`; code inside a case raises
:class:`CaseProblem` to end it early with a status and a message (a crash of the
submission, a wrong return structure, a modified input...).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from gradcheck.boundary.backend import EARLIER, KEEP_RESULT, READ_KEPT, Backend, Call, Outcome
from gradcheck.boundary.values import CacheRef, FortranOrder, StridedView, wire_equal
from gradcheck.contract import FATAL_STATUSES
from gradcheck.conventions import convention as convention_named
from gradcheck.engine import numeric as fd
from gradcheck.verdict.compare import NORMWISE, NORMWISE_NOTE, Comparison, unpack, validate_array

FATAL = FATAL_STATUSES

T = TypeVar("T")
# A case (and every step of it that calls the implementation) is a generator: it yields a
# list of calls, receives their outcomes, and returns its result. The engine's driver
# (gradcheck.engine.driver) runs many cases in lockstep, so that the calls of a whole
# batch of cases cross to a worker in one round trip.
Steps = Generator[list[Call], list[Outcome], T]


@dataclass
class CaseVerdict:
    """Outcome of one generated case of one (function, quantity)."""

    status: str  # pass | fail | error | timeout | memory | crashed
    message: str = ""
    comparison: Comparison | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    forward_calls: int = 0
    sweep: dict[str, list[float]] | None = None  # {"steps": [...], "errors": [...]}
    reproducible: bool = True  # False: the same call gave two different results
    oracle_name: str = ""  # what the comparison's expected values are called in its table
    # the geometry the case ran on when it is not the one asked for (fitted to the convention's contract)
    geometry: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    # Fields the diagnosis module reads.
    @property
    def analytic(self) -> np.ndarray | None:
        return None if self.comparison is None else self.comparison.analytic

    @property
    def numeric(self) -> np.ndarray | None:
        return None if self.comparison is None else self.comparison.expected

    @property
    def tolerance(self) -> np.ndarray | None:
        return None if self.comparison is None else self.comparison.tolerance


class CaseProblem(Exception):
    """Raised inside a case to end it with a verdict (status and message)."""

    def __init__(self, status: str, message: str, *, reproducible: bool = True):
        super().__init__(message)
        self.status = status
        self.message = message
        self.reproducible = reproducible  # False: the same call gave two different results


NUMPY2_FLOAT_HINT = (
    "\nHint: numpy 2 refuses float() of an array with more than 0 dimensions, such as b of "
    "shape (1, 1, 1) (the course's `float(b)`); use b.item() or float(b[0, 0, 0]) instead "
    "(or np.squeeze(b) to add it)."
)


Hint = Callable[[str, str], str]  # (function as shown, message) -> a hint to add after it, or ""


def explain_call(name: str, outcome: Outcome, hint: Hint | None = None) -> str:
    """Message for a call that did not return normally; ``hint``: what the function's plan adds
    to an error of it (a signature the course's notebook relies on)."""
    text = outcome.message or outcome.status
    if outcome.status == "error":
        text = f"{name} raised {text}"
        if "TypeError" in text and ("converted to Python scalars" in text or "0-dimensional" in text):
            text += NUMPY2_FLOAT_HINT
        elif hint is not None:
            text += hint(name, text)
    if outcome.output:
        shown = outcome.output if len(outcome.output) <= 400 else outcome.output[:400] + " ..."
        text += f"\nIts printed output began: {shown!r}"
    return text


def _changed_cache_items(names: Sequence[str], before: Any, after: Any) -> list[tuple[str, int]]:
    """(name, index) of the cache items changed (``names``: the items' names, in order), when both are
    sequences of one length."""
    if not isinstance(before, tuple | list) or not isinstance(after, tuple | list) or len(before) != len(after):
        return []
    return [
        (names[k] if k < len(names) else "item", k)
        for k in range(len(before))
        if not wire_equal(before[k], after[k])
    ]


class Context:
    """What a case needs besides its geometry: the backend, which forwards are trusted, and the
    convention whose names and layouts its messages use (the backend's, ``gradcheck.conventions``)."""

    def __init__(self, backend: Backend, trusted_forwards: set[str] | None = None):
        self.backend = backend
        self.trusted_forwards = trusted_forwards if trusted_forwards is not None else set()
        self.forward_calls = 0
        self.convention = convention_named(getattr(backend, "convention", None))
        self.hint: Hint | None = None  # set by a case whose function's errors its plan explains (explain_call)

    def call(self, name: str, args: tuple, *, keep: Sequence[int] = ()) -> Steps[Outcome]:
        """Call ``name(*args)``; end the case when the call does not return normally."""
        (outcome,) = yield [Call(name, args, tuple(keep))]
        if not outcome.ok:
            raise CaseProblem(
                "error" if outcome.status in ("error", "missing") else outcome.status,
                explain_call(self.convention.function(name), outcome, self.hint),
            )
        return outcome

    def validate(self, value: Any, name: str, shape: tuple[int, ...]) -> tuple[np.ndarray | None, str | None]:
        """``validate_array`` of the array called ``name`` (Z, dA_prev, dW, ...); a problem is
        told in the convention's names and layout (CS231n: ``dx`` of shape (N, C, H, W))."""
        array, problem = validate_array(value, name, shape)
        if problem is None or self.convention.name == "article":
            return array, problem
        layout = self.convention.layout(name)
        shown = layout.array(value) if isinstance(value, np.ndarray) and value.ndim == len(shape) else value
        expected = layout.array(np.empty(shape, dtype=np.int8)).shape
        _, problem = validate_array(shown, self.convention.array(name), expected, channels_first=True)
        return None, problem

    def unpack(self, value: Any, function: str, names: tuple[str, ...]) -> tuple[tuple | None, str | None]:
        """``unpack`` told in the convention's names."""
        return unpack(value, self.convention.function(function), tuple(map(self.convention.array, names)))

    def check_unmodified(self, name: str, outcome: Outcome, originals: dict[int, tuple[str, Any]],
                         cache_items: Sequence[str] = ()) -> None:
        """Fail when the call changed an argument (``originals``: index -> (name, wire value before);
        ``cache_items``: the names of the items of an argument called ``cache``, in order)."""
        if outcome.args_after is None:
            return
        for index, (arg_name, before) in originals.items():
            after = outcome.args_after[index]
            if not wire_equal(before, after):
                which, fix = "", f"work on a copy (e.g. {arg_name}.copy()) or build new arrays"
                if arg_name == "cache":
                    changed = _changed_cache_items(cache_items, before, after) or [("A_prev", 0)]
                    which = " (" + ", ".join(f"{item} = cache[{k}]" for item, k in changed) + ")"
                    item, k = changed[0]
                    example = f"{item} = cache[{k}].copy()"
                    fix = f"copy the arrays you take from the cache before changing them (e.g. {example})"
                raise CaseProblem(
                    "fail",
                    f"{name} modified its input {arg_name} in place{which}; the checker needs inputs unchanged: {fix}",
                )

    def reference_forward(
        self, function: Callable[[np.ndarray], np.ndarray], inputs: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        self.forward_calls += len(inputs)
        return [function(x) for x in inputs]


def laid_out(seed: int, *arrays: Any) -> tuple[Any, ...]:
    """The arrays as the submission receives them: in Fortran order for a case whose seed asks
    for the other layout (``numeric.other_layout``), as strided views that are neither C- nor
    F-contiguous for one that asks for those (``numeric.strided_layout``), else as they are."""
    if fd.other_layout(seed):
        wrap: Callable[[np.ndarray], Any] = FortranOrder
    elif fd.strided_layout(seed):
        wrap = StridedView
    else:
        return arrays
    return tuple(wrap(array) if isinstance(array, np.ndarray) else array for array in arrays)


def hparameters_of(geometry: Any, seed: int) -> dict[str, Any]:
    """The geometry's ``hparameters`` as the case passes them: in the course's own key order
    (``{"pad", "stride"}``, ``{"stride", "f"}``: the reverse of the geometry's) when the seed asks
    for it (``numeric.course_key_order``). The same values either way."""
    hp = geometry.hparameters
    return dict(reversed(list(hp.items()))) if fd.course_key_order(seed) else hp


def call_twice(
    ctx: Context, name: str, args: tuple, again: tuple, *, keep: Sequence[int] = (), watch: Sequence[int] = (0,),
    watched: Sequence[str] = (),
) -> Steps[tuple[Outcome, str | None]]:
    """Call ``name(*args)`` with its outputs at ``watch`` (indices, or ``KEEP_RESULT`` for the
    whole result) kept on the implementation's side, then ``name(*again)`` (other inputs of the
    same shapes), then read the kept outputs back. Returns the first call's outcome, its watched
    outputs replaced by the snapshots taken when it returned (so it is judged as any call is),
    and a failure message when the second call changed one of them (a reused buffer), else None.
    ``watched``: the names of the watched outputs, for the message."""
    shown = ctx.convention.function(name)
    # the two calls and the reading back of the first one's kept outputs in one round trip (the
    # worker runs a batch in order; READ_KEPT finds what the call two places before it kept); then
    # the first call's values written into the second call's arrays, in place, and a fourth call
    # with those same objects: as a training step's W -= lr * dW hands a layer its arrays again
    outcome, second, read, refilled = yield [
        Call(name, args, (*keep, *watch)),
        Call(name, again, tuple(keep), collect_args=False),
        Call(READ_KEPT, (EARLIER, 2), collect_args=False),
        Call(name, args, tuple(keep), collect_args=False, refill=2),
    ]
    if not outcome.ok:
        raise CaseProblem("error" if outcome.status in ("error", "missing") else outcome.status,
                          explain_call(shown, outcome, ctx.hint))
    value = outcome.value
    if KEEP_RESULT in watch:
        refs = [(KEEP_RESULT, value)] if isinstance(value, CacheRef) else []
    elif isinstance(value, tuple | list):
        refs = [(index, value[index]) for index in watch if index < len(value) and isinstance(value[index], CacheRef)]
    else:
        refs = []
    if not refs:  # a wrong structure: judged by the caller
        return outcome, None
    if KEEP_RESULT in watch:
        outcome.value = outcome.kept.get(KEEP_RESULT)
    else:
        outcome.value = type(value)(outcome.kept.get(i, item) if i in watch else item for i, item in enumerate(value))
    if not second.ok:
        status = "error" if second.status in ("error", "missing") else second.status
        raise CaseProblem(status, "called again on other inputs of the same shapes: "
                          f"{explain_call(shown, second, ctx.hint)}")
    now = {pair[0].key: pair[1] for pair in read.value if isinstance(pair, tuple) and len(pair) == 2
           and isinstance(pair[0], CacheRef)} if read.ok and isinstance(read.value, tuple) else {}
    if any(ref.key not in now for _, ref in refs):
        raise CaseProblem("error", f"{shown}'s first result could not be read again: {read.message}")
    names = dict(zip(watch, watched, strict=False))
    changed = [names.get(index, "its result") for index, ref in refs
               if not wire_equal(now[ref.key], outcome.kept.get(index))]
    if not changed:
        return outcome, _stale(shown, refilled, {index: outcome.kept.get(index) for index, _ in refs}, names)
    what = ", ".join(ctx.convention.array(name) for name in changed)
    return outcome, (
        f"{shown}'s result ({what}) changed when {shown} was called again on other inputs of the same shapes: "
        f"it returns an array it reuses between calls (a buffer kept in a global, a default argument or a "
        f"cache), so an earlier result is overwritten; return a new array from every call (np.zeros(...), "
        f".copy())"
    )


STALE_RTOL = 1e-9  # a result from an earlier call's values differs by far more; rounding (another alignment) far less


def _stale(shown: str, refilled: Outcome, first: dict[int, Any], names: dict[int, str]) -> str | None:
    """A failure message when the call with the first call's values written, in place, into the
    arrays of the second (``Call.refill``) returned other watched outputs than the first call
    (beyond rounding): the function keeps something computed from an earlier call's values and
    finds it by the arrays' identity; None when it agrees, or when that call did not return
    (an ``error`` there is the function's on new objects too, judged by the other cases)."""
    if not refilled.ok:
        return None
    value = refilled.value
    got = {KEEP_RESULT: value} if KEEP_RESULT in first else (
        {index: value[index] for index in first if index < len(value)} if isinstance(value, tuple | list) else {})
    differs = [names.get(index, "its result") for index, expected in first.items()
               if index not in got or not _close(got[index], expected)]
    if not differs:
        return None
    return (
        f"{shown} gave another result ({', '.join(differs)}) for the same values when they came in arrays an "
        f"earlier call was given, changed in place (as a training step's W -= lr * dW hands them back): it keeps "
        f"something computed from an earlier call's values and finds it by the arrays' identity (id(), `is`, a "
        f"weakref, a cache keyed by the array); compute from the values of every call"
    )


def _close(got: Any, expected: Any) -> bool:
    try:
        a, b = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return wire_equal(got, expected)
    if a.shape != b.shape:
        return False
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    return bool(np.all(np.abs(a - b) <= STALE_RTOL * max(scale, np.finfo(np.float64).tiny)))


def deterministic(ctx: Context, name: str, args: tuple, first: Outcome, keep: Sequence[int] = ()) -> Steps[None]:
    again = yield from ctx.call(name, args, keep=keep)
    left, right = first.value, again.value
    if keep and isinstance(left, tuple | list) and isinstance(right, tuple | list):
        # kept outputs (caches) come back as handles that differ per call: left out
        left = tuple(v for i, v in enumerate(left) if i not in keep)
        right = tuple(v for i, v in enumerate(right) if i not in keep)
    if not wire_equal(left, right):
        raise CaseProblem(
            "fail",
            f"{name} is not deterministic: two calls with the same inputs returned different results",
            reproducible=False,
        )


def forward_tolerance(magnitude: np.ndarray, n_terms: int) -> np.ndarray:
    # both results carry rounding error <= gamma_n * M
    return fd.SAFETY * 2.0 * fd.gamma(n_terms) * magnitude


def make_verdict(comparison: Comparison, inputs: dict[str, Any], oracle: str) -> CaseVerdict:
    verdict = CaseVerdict(
        "pass" if comparison.passed else "fail", comparison=comparison, inputs=inputs, oracle_name=oracle
    )
    if not comparison.passed:
        verdict.message = comparison.table(oracle)
    elif comparison.bound == NORMWISE:
        verdict.warnings.append(NORMWISE_NOTE)
    return verdict


def call_layer_forward(
    ctx: Context,
    name: str,
    args: tuple,
    arg_names: Sequence[str | None],
    output_name: str,
    output_shape: tuple[int, ...],
    *,
    first: bool,
    originals: tuple | None = None,
    again: tuple | None = None,
) -> Steps[np.ndarray]:
    """Call a layer forward returning ``(output, cache)``; return the validated output.

    Ends the case when the call fails, modifies an argument named in ``arg_names``
    (None: not compared), returns the wrong structure, shape or dtype, or (on the
    ``first`` case) is not deterministic. The cache stays on the submission's side.
    ``originals``: the arguments as plain values, when ``args`` wraps some (``laid_out``).
    ``again``: arguments of a second call (other inputs of the same shapes) after which the
    first output must be unchanged (:func:`call_twice`).
    """
    changed = None
    if again is None:
        outcome = yield from ctx.call(name, args, keep=(1,))
    else:
        outcome, changed = yield from call_twice(ctx, name, args, again, keep=(1,), watch=(0,),
                                                 watched=(output_name,))
    plain = args if originals is None else originals
    originals = {
        index: (arg_name, arg) for index, (arg_name, arg) in enumerate(zip(arg_names, plain, strict=True)) if arg_name
    }
    ctx.check_unmodified(name, outcome, originals)
    values, problem = ctx.unpack(outcome.value, name, (output_name, "cache"))
    if problem:
        raise CaseProblem("fail", problem)
    output, problem = ctx.validate(values[0], output_name, output_shape)
    if problem:
        raise CaseProblem("fail", problem)
    if changed:
        raise CaseProblem("fail", changed)
    if first:
        yield from deterministic(ctx, name, args, outcome, keep=(1,))
    return output
