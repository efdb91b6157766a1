"""One case of a layer spec: draw its inputs, call the submission once, judge its quantities.

A case is a generator (``gradcheck.engine.checks.case.Steps``) run by the engine's driver, so
the calls of many cases cross to the worker together. One case judges every quantity asked
of the layer from one call (a backward's ``dx``, ``dgamma`` and ``dbeta`` from one call of it
on one cache), each with its own verdict (:class:`LayerVerdict`'s ``parts``):

- forward: ``out`` against the reference's within ``SAFETY * (k + n) u (|out_ref| +
  max |out_ref| + M)`` (k = ``layer.operations``, n the output's size, M the layer's
  ``magnitude``: the size of its intermediate values); an argument in ``mutable`` against the
  reference's update of it, within the same bound;
- backward and loss: each gradient along a random direction against central differences of
  the **reference** forward (or loss), by Richardson extrapolation with a measured truncation
  and rounding error (``gradcheck.vjp.directional.screen``); with ``full`` every element along
  its own unit vector, for the mismatch table. A gradient with a factor (``layer.scale``, the
  1/m of the Deep Learning Specialization) is divided by it before the comparison and shown
  with it.

A submission is called with its arrays in Fortran order on every 8th case (``other_layout``),
as the convolution engine does: code that assumes C order fails there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradcheck.boundary.backend import Call
from gradcheck.boundary.values import CacheRef, FortranOrder
from gradcheck.engine import numeric as fd
from gradcheck.engine.checks.case import CaseProblem, CaseVerdict, Context, Steps, explain_call, make_verdict
from gradcheck.specs.draw import arguments, call_reference, draw_inputs, entry, fresh, with_entry
from gradcheck.specs.spec import Dims, Inputs, Layer, Plan
from gradcheck.verdict.compare import Comparison, describe, unpack, validate_array
from gradcheck.vjp import directional

MAX_ELEMENTS = 400  # elements of a per-element comparison (a shrunk case has far fewer)
AUDIT_EVERY = 4  # a backward's arguments are checked unchanged on the first case and every 4th
OTHER_LAYOUT_EVERY = 8


@dataclass
class LayerVerdict(CaseVerdict):
    """A case's verdict on each quantity it judged (``parts``); its own status is the first
    part that did not pass (or pass)."""

    parts: dict[str, CaseVerdict] = field(default_factory=dict)
    joint: Comparison | None = None  # the screen of every gradient together along one direction, when one ran


def _combined(parts: dict[str, CaseVerdict]) -> LayerVerdict:
    failed = [verdict for verdict in parts.values() if not verdict.passed]
    first = failed[0] if failed else None
    verdict = LayerVerdict("pass" if first is None else first.status, "" if first is None else first.message,
                           parts=parts)
    verdict.forward_calls = sum(part.forward_calls for part in parts.values())
    return verdict


def other_layout(seed: int) -> bool:
    """Whether the case of ``seed`` passes its arrays in Fortran order."""
    return seed % OTHER_LAYOUT_EVERY == 2


def _laid_out(seed: int, args: tuple) -> tuple:
    if not other_layout(seed):
        return args
    return tuple(FortranOrder(value) if isinstance(value, np.ndarray) and value.ndim > 1 else value for value in args)


def _magnitude(layer: Layer, inputs: Inputs) -> float:
    if layer.magnitude is not None:
        return float(layer.magnitude(inputs))
    arrays = [np.abs(value) for value in inputs.values() if isinstance(value, np.ndarray) and value.dtype.kind == "f"]
    return max((float(array.max(initial=0.0)) for array in arrays), default=0.0)


def value_tolerance(layer: Layer, expected: np.ndarray, magnitude: float) -> np.ndarray:
    """The rounding bound of a forward value (see the module docstring)."""
    scale = np.abs(expected) + float(np.max(np.abs(expected), initial=0.0)) + magnitude
    return fd.SAFETY * (layer.operations + expected.size) * fd.UNIT_ROUNDOFF * scale


def _returned(layer: Layer, value: Any) -> tuple:
    """The returned tuple (a single return as a 1-tuple), or a CaseProblem."""
    if len(layer.returns) == 1:
        return (value,)
    values, problem = unpack(value, layer.name, layer.returns)
    if problem:
        raise CaseProblem("fail", problem)
    return values


def _scalar(value: Any, what: str) -> float:
    """A loss as a float: a Python or numpy float, or a one-element float64 array."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind == "f":
        if value.dtype.itemsize != 8:
            raise CaseProblem("fail", f"{what} is a {value.dtype} number; compute it in float64")
        value = float(value.reshape(()))
    if isinstance(value, bool) or not isinstance(value, float | int):
        raise CaseProblem("fail", f"{what} is {describe(value)}; return a float (e.g. float(loss) or loss.item())")
    if not np.isfinite(value):
        raise CaseProblem("fail", f"{what} is {value}; expected a finite float")
    return float(value)


def _first_output(result: Any) -> np.ndarray:
    return np.asarray(result[0] if isinstance(result, tuple | list) else result, dtype=np.float64)


def _loss_value(result: Any) -> float:
    """A reference loss's value: the first of a returned tuple, or the value itself."""
    return float(np.asarray(result[0] if isinstance(result, tuple | list) else result).reshape(()))


def _same(left: Any, right: Any) -> bool:
    from gradcheck.boundary.values import wire_equal

    return wire_equal(left, right)


def _deterministic(ctx: Context, layer: Layer, args: tuple, first: Any, keep: tuple[int, ...]) -> Steps[None]:
    again = yield from ctx.call(layer.name, args, keep=keep)
    left, right = first.value, again.value
    if keep and isinstance(left, tuple | list) and isinstance(right, tuple | list):
        left = tuple(v for i, v in enumerate(left) if i not in keep)  # kept caches: handles that differ per call
        right = tuple(v for i, v in enumerate(right) if i not in keep)
    if not _same(left, right):
        raise CaseProblem("fail", f"{layer.name} is not deterministic: two calls with the same inputs returned "
                          "different results", reproducible=False)


# --- forward ---------------------------------------------------------------------------------


def forward_case(ctx: Context, layer: Layer, dims: Dims, seed: int, quantities: tuple[str, ...], *,
                 first: bool = False, full: bool = False) -> Steps[CaseVerdict]:
    inputs = draw_inputs(layer, dims, seed)
    plain = tuple(inputs[arg.name] for arg in layer.args)
    args = _laid_out(seed, plain)
    keep = tuple(i for i, name in enumerate(layer.returns) if name == layer.cache)
    outcome = yield from ctx.call(layer.name, args, keep=keep)
    ctx.check_unmodified(layer.name, outcome, {
        i: (arg.name, plain[i]) for i, arg in enumerate(layer.args) if arg.name not in layer.mutable
    })
    values = dict(zip(layer.returns, _returned(layer, outcome.value), strict=True))
    if first:
        yield from _deterministic(ctx, layer, _laid_out(seed, tuple(fresh(inputs)[a.name] for a in layer.args)),
                                  outcome, keep)
    expected, after = call_reference(layer, inputs)
    outputs = outputs_of(layer, expected)
    magnitude = _magnitude(layer, inputs)
    shown = dict(inputs)
    parts: dict[str, CaseVerdict] = {}
    for quantity in quantities:
        if quantity in layer.mutable:
            index = [arg.name for arg in layer.args].index(quantity)
            got = outcome.args_after[index] if outcome.args_after is not None else None
            parts[quantity] = _mutated(layer, quantity, got, after[quantity], magnitude, shown)
            continue
        want = outputs[quantity]
        out, problem = validate_array(values[quantity], quantity, want.shape)
        if problem:
            parts[quantity] = CaseVerdict("fail", problem, inputs=shown)
            continue
        tolerance = value_tolerance(layer, want, magnitude)
        parts[quantity] = make_verdict(Comparison(out, want, tolerance), shown, "reference")
    return _combined(parts)


def outputs_of(layer: Layer, result: Any) -> dict[str, np.ndarray]:
    """A forward's returned values by name, its cache left out."""
    values = tuple(result) if len(layer.returns) > 1 else (result,)
    return {name: np.asarray(value, dtype=np.float64)
            for name, value in zip(layer.returns, values, strict=True) if name != layer.cache}


def _stacked(outputs: dict[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    """The named outputs end to end (one vector: a backward of several outputs is of their sum)."""
    return np.concatenate([outputs[name].reshape(-1) for name in names])


def _mutated(layer: Layer, name: str, got: Any, want: Any, magnitude: float, shown: Inputs) -> CaseVerdict:
    """An argument the forward updates in place (``bn_param``'s running averages) against the
    reference's update: every array entry the reference wrote."""
    if not isinstance(want, dict):
        return CaseVerdict("pass", inputs=shown)
    if not isinstance(got, dict):
        return CaseVerdict("fail", f"{layer.name} must leave {name} a dict and update it in place, as the "
                           f"course's version does; after the call it was {describe(got)}", inputs=shown)
    for key, value in want.items():
        if not isinstance(value, np.ndarray):
            continue
        if key not in got:
            return CaseVerdict("fail", f"{layer.name} did not store {name}[{key!r}]; it must update it in place "
                               f"({name}[{key!r}] = ...)", inputs=shown)
        array, problem = validate_array(got[key], f"{name}[{key!r}]", value.shape)
        if problem:
            return CaseVerdict("fail", problem, inputs=shown)
        comparison = Comparison(array, value, value_tolerance(layer, value, magnitude))
        if not comparison.passed:
            verdict = make_verdict(comparison, shown, "reference")
            verdict.message = f"{name}[{key!r}] after the call:\n{verdict.message}"
            return verdict
    return CaseVerdict("pass", inputs=shown)


# --- gradients -------------------------------------------------------------------------------


CONFIRMATIONS = 2  # more directions (or steps) that judge a failed screen: the majority of three decides


def _screened(ctx: Context, evaluate, x: np.ndarray, direction: np.ndarray, target: np.ndarray,
              upstream: np.ndarray, base: np.ndarray, floor: np.ndarray, stretch: float = 1.0) -> directional.Estimate:
    steps = tuple(step * stretch for step in directional.default_steps(x))
    screened = directional.screen(evaluate, x, direction, target, upstream, base, steps, floor=floor)
    ctx.forward_calls += screened.forward_calls
    decided = screened.decided
    if not screened.finite:
        decided.finite = False
    return decided


def _majority(estimates: list[directional.Estimate]) -> directional.Estimate:
    """The estimate shown: the first when most passed (or all failed), else the first that failed."""
    failed = [estimate for estimate in estimates if not estimate.passed]
    return failed[0] if 2 * len(failed) > len(estimates) else next(e for e in estimates if e.passed)


def _gradient_verdict(ctx: Context, evaluate, x: np.ndarray, gradient: np.ndarray, upstream: np.ndarray,
                      base: np.ndarray, floor: np.ndarray, rng: np.random.Generator, shown: Inputs, full: bool,
                      factor: float) -> CaseVerdict:
    """``gradient / factor`` against the differences of ``evaluate`` at ``x``: along one random
    direction, or (``full``) along every element's unit vector; shown times ``factor``.

    The rounding of the reference forward is measured (``gradcheck.vjp.directional``), at
    least its forward bound (``floor``: the bound its forward comparison uses, without the
    safety factor), and a measurement can still fall short: a screen that fails is repeated along two more random
    directions (an element, with its steps doubled and quadrupled) and the majority of the
    three decides. A wrong gradient fails all three (its error is in every direction); a
    correct one fails one only by an unlucky measurement, and two only about as rarely
    squared."""
    target = gradient / factor
    if full:
        numeric = np.array(target, dtype=np.float64, copy=True)
        tolerance = np.zeros(x.shape)
        for count, index in enumerate(np.ndindex(x.shape)):
            if count >= MAX_ELEMENTS:  # elements beyond the limit: not compared (numeric = analytic)
                break
            unit = np.zeros(x.shape)
            unit[index] = 1.0
            estimates = [_screened(ctx, evaluate, x, unit, target, upstream, base, floor)]
            if not estimates[0].passed:
                estimates += [_screened(ctx, evaluate, x, unit, target, upstream, base, floor, 2.0 ** (k + 1))
                              for k in range(CONFIRMATIONS)]
            decided = _majority(estimates)
            numeric[index], tolerance[index] = decided.numeric, decided.tolerance
        comparison = Comparison(target * factor, numeric * factor, tolerance * abs(factor))
        return make_verdict(comparison, shown, "numeric")
    estimates = [_screened(ctx, evaluate, x, directional.random_direction(rng, x.shape), target, upstream, base,
                           floor)]
    if not estimates[0].passed:
        estimates += [_screened(ctx, evaluate, x, directional.random_direction(rng, x.shape), target, upstream,
                                base, floor) for _ in range(CONFIRMATIONS)]
    decided = _majority(estimates)
    comparison = Comparison(np.array(decided.analytic * factor), np.array(decided.numeric * factor),
                            np.array(decided.tolerance * abs(factor)))
    verdict = make_verdict(comparison, shown, "numeric")
    if not decided.finite:
        verdict.status = "fail"
        verdict.message = "the reference is not finite near this case: its differences say nothing"
    return verdict


def _evaluator(layer: Layer, inputs: Inputs, path: str, reference: Any = None, loss: bool = False,
               through: tuple[str, ...] = ()):
    """``points -> outputs`` of the reference with the input at ``path`` moved to each point: its
    loss, or its outputs ``through`` end to end."""

    def evaluate(points: list[np.ndarray]) -> list[np.ndarray]:
        outputs = []
        for point in points:
            result, _ = call_reference(layer, with_entry(inputs, path, point), reference)
            outputs.append(np.array(_loss_value(result)) if loss else _stacked(outputs_of(layer, result), through))
        return outputs

    return evaluate


def _gradients(layer: Layer, value: Any) -> tuple[dict[str, Any], str | None]:
    """A backward's returned gradients by name, or a problem with its return's structure."""
    if layer.gives == "dict":
        if not isinstance(value, dict):
            return {}, f"{layer.name} returned {describe(value)}; expected a dict of gradients " \
                       f"({', '.join(layer.grads)})"
        return value, None
    values, problem = (((value,), None) if len(layer.returns) == 1 else unpack(value, layer.name, layer.returns))
    return ({} if problem else dict(zip(layer.returns, values, strict=True))), problem


def backward_case(ctx: Context, layer: Layer, plan: Plan, dims: Dims, seed: int, quantities: tuple[str, ...], *,
                  first: bool = False, full: bool = False) -> Steps[CaseVerdict]:
    forward = plan.layer(layer.forward or "")
    inputs = draw_inputs(forward, dims, seed, layer.inputs)
    forward_args = arguments(forward, layer.inputs)
    cache_index = forward.returns.index(forward.cache)
    # whether the backward leaves its arguments (the cache, the upstream gradients) unchanged: on the
    # first case and every AUDIT_EVERY-th (a cache is large, and changing it is no matter of chance)
    audit = first or seed % AUDIT_EVERY == 0
    expected, _ = call_reference(forward, inputs)
    outputs = outputs_of(forward, expected)
    through = layer.through or forward.outputs[: len(layer.upstreams)]
    base = _stacked(outputs, through)
    rng = np.random.default_rng([seed, 1])
    upstreams = {name: rng.standard_normal(outputs[output].shape) for name, output in zip(layer.upstreams, through,
                                                                                           strict=True)}
    upstream = np.concatenate([array.reshape(-1) for array in upstreams.values()])
    count = len(upstreams)
    passed_again = tuple(inputs[name] for name in layer.passes)
    # the forward (its cache alone comes back) and the backward on that cache, in one round trip: the
    # backward takes the cache the forward kept (``Call.take``), and is not run when it kept none
    made, outcome = yield [
        Call(forward.name, _laid_out(seed, tuple(inputs[arg.name] for arg in forward_args)), (cache_index,),
             select=cache_index, collect_args=audit),
        Call(layer.name, (*_laid_out(seed, tuple(upstreams.values())), None, *passed_again), collect_args=audit,
             take=((count, 1),)),
    ]
    if not made.ok:
        raise CaseProblem("error", f"{layer.name} takes the cache {forward.name} returns, and "
                          f"{explain_call(forward.name, made)}")
    cache = made.value
    if not isinstance(cache, CacheRef):  # not selected: the forward did not return a tuple long enough
        raise CaseProblem("error", f"{layer.name} takes the cache {forward.name} returns, and {forward.name} "
                          f"returned {describe(cache)}; expected a tuple ({', '.join(forward.returns)})")
    args = (*_laid_out(seed, tuple(upstreams.values())), cache, *passed_again)
    if not outcome.ok:
        raise CaseProblem("error" if outcome.status in ("error", "missing") else outcome.status,
                          explain_call(layer.name, outcome))
    ctx.check_unmodified(layer.name, outcome, {i: item for i, item in enumerate(upstreams.items())} | {
        count + 1 + i: (name, inputs[name]) for i, name in enumerate(layer.passes)})
    if outcome.args_after is not None and not _same(made.kept.get(cache_index), outcome.args_after[count]):
        raise CaseProblem("fail", f"{layer.name} modified the cache it was given in place; the checker needs "
                          "inputs unchanged: copy the arrays you take from the cache before changing them")
    returned, problem = _gradients(layer, outcome.value)
    if problem:
        raise CaseProblem("fail", problem)
    if first:  # the same call again, on a cache of its own (a layer object's gradients may accumulate)
        (again,) = yield [Call(forward.name, _laid_out(seed, tuple(inputs[arg.name] for arg in forward_args)),
                               (cache_index,), select=cache_index, collect_args=False)]
        if again.ok and isinstance(again.value, CacheRef):
            yield from _deterministic(ctx, layer, (*args[:count], again.value, *args[count + 1:]), outcome, ())
    shown = {**inputs, **upstreams}
    floor = value_tolerance(forward, base, _magnitude(forward, inputs)) / fd.SAFETY
    targets = {}  # quantity -> (its input, the returned gradient, its factor)
    parts: dict[str, CaseVerdict] = {}
    for quantity in quantities:
        x = np.asarray(entry(inputs, layer.grads[quantity]), dtype=np.float64)
        factor = layer.scale[quantity](dims) if quantity in layer.scale else 1.0
        if quantity not in returned:
            parts[quantity] = CaseVerdict("fail", f"{layer.name}'s gradients have no {quantity!r} "
                                          f"(they have {', '.join(map(repr, returned)) or 'none'})", inputs=shown)
            continue
        gradient, problem = validate_array(returned[quantity], quantity, x.shape)
        if problem:  # this gradient's own failure: the others are still judged
            parts[quantity] = CaseVerdict("fail", problem, inputs=shown)
        else:
            targets[quantity] = (x, gradient, factor)
    joint = None
    if len(targets) > 1 and not full:
        joint = _joint_screen(ctx, layer, forward, inputs, targets, upstream, base, floor, seed, through)
        if joint.passed:  # every gradient matches along one direction over all their inputs
            parts.update({quantity: CaseVerdict("pass", inputs=shown) for quantity in targets})
            verdict = _combined({quantity: parts[quantity] for quantity in quantities})
            verdict.joint = joint
            return verdict
    for quantity, (x, gradient, factor) in targets.items():
        evaluate = _evaluator(forward, inputs, layer.grads[quantity], through=through)
        rng = np.random.default_rng([seed, 2, layer.checked.index(quantity)])
        parts[quantity] = _gradient_verdict(ctx, evaluate, x, gradient, upstream, base, floor, rng, shown, full,
                                            factor)
    verdict = _combined({quantity: parts[quantity] for quantity in quantities})
    verdict.joint = joint
    return verdict


def _joint_screen(ctx: Context, layer: Layer, forward: Layer, inputs: Inputs,
                  targets: dict[str, tuple[np.ndarray, np.ndarray, float]], upstream: np.ndarray, base: np.ndarray,
                  floor: np.ndarray, seed: int, through: tuple[str, ...]) -> Comparison:
    """One random direction over every checked input at once (their elements laid end to end):
    a backward's gradients judged together with one screen, as the convolution engine's joint
    screen does. A failure is then judged per gradient (``backward_case``), which names the
    wrong one; a pass passes them all."""
    names = [layer.grads[quantity] for quantity in targets]
    shapes = [x.shape for x, _, _ in targets.values()]
    ends = np.cumsum([x.size for x, _, _ in targets.values()]).tolist()
    pieces = list(zip(names, [0, *ends[:-1]], ends, shapes, strict=True))  # each input's slice of a point
    flat = np.concatenate([x.reshape(-1) for x, _, _ in targets.values()])
    gradient = np.concatenate([(g / factor).reshape(-1) for _, g, factor in targets.values()])

    def evaluate(points: list[np.ndarray]) -> list[np.ndarray]:
        outputs = []
        for point in points:
            moved = dict(inputs)
            for path, begin, end, shape in pieces:
                moved = with_entry(moved, path, point[begin:end].reshape(shape))
            outputs.append(_stacked(outputs_of(forward, call_reference(forward, moved)[0]), through))
        return outputs

    rng = np.random.default_rng([seed, 3])
    decided = _screened(ctx, evaluate, flat, directional.random_direction(rng, flat.shape), gradient, upstream,
                        base, floor)
    return Comparison(np.array(decided.analytic), np.array(decided.numeric), np.array(decided.tolerance))


# --- losses ----------------------------------------------------------------------------------


def loss_case(ctx: Context, layer: Layer, dims: Dims, seed: int, quantities: tuple[str, ...], *,
              first: bool = False, full: bool = False) -> Steps[CaseVerdict]:
    inputs = draw_inputs(layer, dims, seed)
    plain = tuple(inputs[arg.name] for arg in layer.args)
    args = _laid_out(seed, plain)
    outcome = yield from ctx.call(layer.name, args)
    ctx.check_unmodified(layer.name, outcome, {i: (arg.name, plain[i]) for i, arg in enumerate(layer.args)})
    values = _returned(layer, outcome.value)
    if first:
        yield from _deterministic(ctx, layer, _laid_out(seed, tuple(fresh(inputs)[a.name] for a in layer.args)),
                                  outcome, ())
    try:
        loss, loss_problem = _scalar(values[0], f"{layer.name}'s {layer.returns[0]}"), None
    except CaseProblem as problem:  # the loss's own failure: its gradients are still judged
        loss, loss_problem = float("nan"), problem
    magnitude = _magnitude(layer, inputs)
    # the course version whose convention the loss follows (0.5 * reg in 2016) judges every quantity
    references = [(None, layer.reference), *((variant.name, variant.reference) for variant in layer.variants)]
    chosen, reference = references[0]
    expected = _loss_value(call_reference(layer, inputs)[0])
    followed = abs(loss - expected) <= float(value_tolerance(layer, np.array(expected), magnitude))
    for name, candidate in references[1:]:
        value = _loss_value(call_reference(layer, inputs, candidate)[0])
        if abs(loss - value) <= float(value_tolerance(layer, np.array(value), magnitude)) < abs(loss - expected):
            chosen, reference, expected, followed = name, candidate, value, True
    # a loss that follows no version cannot say which one its gradients must follow: they may follow any
    shown = dict(inputs)
    floor = value_tolerance(layer, np.array(expected), magnitude) / fd.SAFETY
    parts: dict[str, CaseVerdict] = {}
    for quantity in quantities:
        if quantity == layer.returns[0] and loss_problem is not None:
            parts[quantity] = CaseVerdict(loss_problem.status, loss_problem.message, inputs=shown)
        elif quantity == layer.returns[0]:
            target = np.array(expected)
            comparison = Comparison(np.array(loss), target, value_tolerance(layer, target, magnitude))
            parts[quantity] = make_verdict(comparison, shown, "reference")
        else:
            argument = layer.grads[quantity]
            x = np.asarray(entry(inputs, argument), dtype=np.float64)
            gradient, problem = validate_array(values[layer.returns.index(quantity)], quantity, x.shape)
            if problem:
                parts[quantity] = CaseVerdict("fail", problem, inputs=shown)
                continue
            candidates = [(chosen, reference)] if followed else references
            for name, candidate in candidates:
                evaluate = _evaluator(layer, inputs, argument, candidate, loss=True)
                value = np.array(_loss_value(call_reference(layer, inputs, candidate)[0]))
                rng = np.random.default_rng([seed, 2, layer.checked.index(quantity)])
                verdict = _gradient_verdict(ctx, evaluate, x, gradient, np.array(1.0), value, floor, rng, shown, full,
                                            1.0)
                if verdict.passed and name is not None:
                    verdict.warnings.append(f"{layer.name}'s {quantity} follows {name}")
                if verdict.passed or quantity not in parts:
                    parts[quantity] = verdict
                if verdict.passed:
                    break
            continue
        if chosen is not None and parts[quantity].passed:
            parts[quantity].warnings.append(f"{layer.name} follows {chosen}")
    return _combined(parts)


def evaluate_case(ctx: Context, plan: Plan, layer: Layer, dims: Dims, seed: int, quantities: tuple[str, ...],
                  **options: Any) -> Steps[CaseVerdict]:
    """The case of ``layer``'s ``quantities`` on ``dims`` and ``seed`` (options: first, full): by its
    kind, or by the case its spec brings (``Layer.case``: a function no kind describes)."""
    if layer.case is not None:
        return (yield from layer.case(ctx, plan, layer, dims, seed, quantities, **options))
    if layer.kind == "forward":
        return (yield from forward_case(ctx, layer, dims, seed, quantities, **options))
    if layer.kind == "backward":
        return (yield from backward_case(ctx, layer, plan, dims, seed, quantities, **options))
    return (yield from loss_case(ctx, layer, dims, seed, quantities, **options))
