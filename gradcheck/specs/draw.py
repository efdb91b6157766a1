"""Drawing a spec's cases: dimensions in their ranges, then arrays and parameters from a seed.

Values are general float64 numbers (full mantissas): a non-linear layer's differences are
estimated with their measured truncation error (``gradcheck.vjp.directional``), so no grid is
needed, and single precision shows at once. A layer's ``kinks`` names the values that must
stay clear of 0 (ReLU's input, hinge margins); a draw is repeated until they are, by far more
than the largest perturbation the differences make.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from gradcheck.specs.spec import Arg, Array, Dims, Layer, Param


def extended(low: int, high: int) -> tuple[int, int]:
    """A dimension's range for the heavy cases: up to ``high + max(2, high)`` (about twice the
    usual largest), so that code wrong only beyond the usual sizes (a fourth layer, a longer
    sequence, more examples than a loop bound allows) is met."""
    return low, high + max(2, high)


def draw_dims(layer: Layer, rng: np.random.Generator, *, smallest: bool = False, heavy: bool = False) -> Dims:
    """A dims dict: each dimension uniform in its range (its lowest with ``smallest``; in its
    :func:`extended` range with ``heavy``)."""
    ranges = {name: extended(low, high) if heavy else (low, high) for name, (low, high) in layer.dims.items()}
    dims = {name: low if smallest else int(rng.integers(low, high + 1)) for name, (low, high) in ranges.items()}
    return complete(layer, dims)


def complete(layer: Layer, dims: Dims) -> Dims:
    """``dims`` with the derived dimensions (``layer.derived``) added."""
    dims = dict(dims)
    if layer.derived is not None:
        dims.update(layer.derived(dims))
    return dims


def shape_of(arg: Array, dims: Dims) -> tuple[int, ...]:
    return tuple(int(dims[side]) if isinstance(side, str) else int(side) for side in arg.shape
                 if not (side in arg.optional and dims[side] == 0))


def _values(arg: Array, shape: tuple[int, ...], dims: Dims, rng: np.random.Generator) -> np.ndarray:
    if arg.values.startswith("labels:"):
        classes = int(dims[arg.values.split(":", 1)[1]])
        return rng.integers(0, classes, size=shape).astype(np.int64)
    if arg.values == "binary":
        return rng.integers(0, 2, size=shape).astype(np.float64)
    if arg.values == "probabilities":
        return rng.uniform(0.05, 0.95, size=shape)
    if arg.values == "mask":  # which steps count (a bool array), most of them
        return rng.random(shape) < 0.75
    values = rng.standard_normal(shape) * math.exp2(float(rng.uniform(-1.0, 1.0)))
    if arg.values == "positive":
        return np.abs(values) + 0.5
    return values


KINK_MARGIN = 2.0**-7  # kink values at least this far from 0, relative to their largest (or 1)
KINK_TRIES = 200


def arguments(layer: Layer, overrides: tuple[Arg, ...] = ()) -> tuple[Arg, ...]:
    """``layer.args`` with the arguments named in ``overrides`` replaced (a backward's ``inputs``)."""
    replaced = {arg.name: arg for arg in overrides}
    return tuple(replaced.get(arg.name, arg) for arg in layer.args)


def _clear_of_kinks(layer: Layer, inputs: dict[str, Any], dims: Dims) -> bool:
    if layer.kinks is None:
        return True
    values = np.abs(np.asarray(layer.kinks(inputs, dims), dtype=np.float64))
    if values.size == 0:
        return True
    return bool(values.min() >= KINK_MARGIN * max(1.0, float(values.max())))


def draw_inputs(layer: Layer, dims: Dims, seed: int, overrides: tuple[Arg, ...] = ()) -> dict[str, Any]:
    """The layer's arguments, by name, for ``dims`` and ``seed``: redrawn (from the same
    Generator, so still a function of the seed) until the values ``layer.kinks`` names are
    clear of 0 by ``KINK_MARGIN`` (the last draw is kept after ``KINK_TRIES``)."""
    rng = np.random.default_rng(seed)
    args = arguments(layer, overrides)
    for _ in range(KINK_TRIES):
        inputs: dict[str, Any] = {}
        for arg in args:
            if isinstance(arg, Param):
                inputs[arg.name] = arg.build(dims, rng)
            else:
                inputs[arg.name] = _values(arg, shape_of(arg, dims), dims, rng)
        if _clear_of_kinks(layer, inputs, dims):
            break
    return inputs


def _read_only(value: np.ndarray) -> np.ndarray:
    view = value.view()
    view.flags.writeable = False
    return view


def fresh(inputs: dict[str, Any]) -> dict[str, Any]:
    """Copies of ``inputs`` that a call may change: arrays as read-only views (a reference never
    writes into its arrays; the flag makes sure), dicts as new dicts of read-only views (a
    reference that updates ``bn_param`` rebinds its entries, never the originals), anything
    else deep-copied."""
    copied = {}
    for name, value in inputs.items():
        if isinstance(value, np.ndarray):
            copied[name] = _read_only(value)
        elif isinstance(value, dict):
            copied[name] = {key: _read_only(item) if isinstance(item, np.ndarray)
                            else item if type(item) in _IMMUTABLE else copy.deepcopy(item)
                            for key, item in value.items()}
        elif isinstance(value, list):
            copied[name] = copy.deepcopy(value)
        else:
            copied[name] = value
    return copied


_IMMUTABLE = (str, float, int, bool, type(None))  # what a deep copy returns as it is


def call_reference(layer: Layer, inputs: dict[str, Any], reference: Any = None) -> tuple[Any, dict[str, Any]]:
    """(what ``layer.reference`` returns, the arguments after the call) on copies of ``inputs``."""
    args = fresh(inputs)
    result = (reference or layer.reference)(*(args[arg.name] for arg in layer.args))
    return result, args


def entry(inputs: dict[str, Any], path: str) -> Any:
    """The input a gradient is of: ``"x"``, or ``"parameters[Wax]"`` (an entry of a dict argument)."""
    if path.endswith("]") and "[" in path:
        name, key = path[:-1].split("[", 1)
        return inputs[name][key]
    return inputs[path]


def with_entry(inputs: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``inputs`` with the input at ``path`` replaced (a dict argument copied, not changed)."""
    if path.endswith("]") and "[" in path:
        name, key = path[:-1].split("[", 1)
        return {**inputs, name: {**inputs[name], key: value}}
    return {**inputs, path: value}
