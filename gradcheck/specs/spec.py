"""A layer is a spec: one declarative object per function of a course, read by the generic engine.

A :class:`Layer` says how the function is called (its arguments, by kind and shape), what it
returns, the course's reference for it, how inputs are drawn (dimension ranges, value kinds,
kinks to stay away from) and how each returned quantity is judged:

- ``kind="forward"``: the first returned value (``out``) against the reference forward within
  a rounding bound; arguments named in ``mutable`` (``bn_param``'s running averages) against
  the reference's update; the rest of the return (the cache) stays on the submission's side.
- ``kind="backward"``: called with an upstream gradient ``G`` and the cache the submission's
  own ``forward`` returned (caches are the student's own layout); each returned gradient
  (``grads``: returned name -> the forward's argument) against central differences of the
  **reference** forward of ``L = sum(G * out)``, times ``scale[name]`` (the Deep Learning
  Specialization's 1/m), by Richardson extrapolation with a measured truncation and
  rounding error (``gradcheck.vjp.directional``).
- ``kind="loss"``: returns ``(loss, gradients...)``: the loss against the reference's, each
  gradient against central differences of the reference loss.

Adding a layer is one spec in a plan (``gradcheck.plans``): no engine code names a layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Dims = dict[str, int]
Inputs = dict[str, Any]


@dataclass(frozen=True)
class Array:
    """An array argument: its name as the course writes it, its shape in dimension names (or
    ints), and how its values are drawn.

    ``values``: ``"normal"`` (general float64 numbers, scaled by a random power of two in
    [1/2, 2]); ``"positive"`` (scales, variances: at least 1/2); ``"labels:C"`` (integers in
    [0, C), an int64 array); ``"binary"`` (0/1 floats: the labels of a logistic loss);
    ``"probabilities"`` (in [0.05, 0.95]: a sigmoid's output); ``"mask"`` (a bool array, True
    three times in four: the time steps a sequence loss counts). ``optional``: dimension
    names of ``shape`` whose axis is left out of a case where they are 0, so that the array's
    number of axes varies (CS231n's affine layer takes x of shape (N, d_1, ..., d_k)).
    """

    name: str
    shape: tuple[str | int, ...]
    values: str = "normal"
    optional: tuple[str, ...] = ()  # dimensions whose axis is left out when they are 0 (a varying rank)


@dataclass(frozen=True)
class Param:
    """A non-array argument built from the case's dims and a seeded Generator (a dict such as
    ``bn_param``, a float ``reg``, a string ``activation``)."""

    name: str
    build: Callable[[Dims, np.random.Generator], Any]


Arg = Array | Param


@dataclass(frozen=True)
class Variant:
    """Another accepted reference (a course version's convention, e.g. ``0.5 * reg`` in 2016);
    a submission whose loss matches it is judged by it, with a note naming it."""

    name: str
    reference: Callable[..., Any]


@dataclass(frozen=True)
class Layer:
    """One function of a course and how it is judged (see the module docstring).

    ``dims``: each dimension's (lowest, highest) drawn value (a backward's must hold its
    forward's); ``derived``: dimensions computed from the drawn ones (``D = d1 * d2``).
    ``kinks``: the values that must stay away from 0 for the function to be differentiable
    at the drawn point (ReLU's input, hinge margins); cases are redrawn until they do.
    ``inputs``: a backward's overrides of its forward's arguments (batch norm's backward is
    of train mode). ``magnitude``: the scale of the forward's intermediate values (default:
    the largest input), for its rounding bound. ``operations``: rounded operations per output.
    """

    name: str
    kind: str  # "forward" | "backward" | "loss"
    args: tuple[Arg, ...]
    returns: tuple[str, ...]
    reference: Callable[..., Any]
    dims: dict[str, tuple[int, int]]
    forward: str | None = None  # backward: the forward whose cache it takes
    # backward: the upstream gradients' names, passed before the cache, each shaped like one output of
    # the forward (``through``: which; default its first outputs in order)
    upstream: str | tuple[str, ...] = "dout"
    through: tuple[str, ...] = ()
    passes: tuple[str, ...] = ()  # backward: the forward's arguments passed again after the cache
    # returned name -> the argument it is the gradient of ("x", or "parameters[Wax]": an entry of a dict)
    grads: dict[str, str] = field(default_factory=dict)
    gives: str = "tuple"  # how a backward returns its gradients: "tuple" (in ``returns`` order) or "dict" (by name)
    cache: str = "cache"  # a forward's returned cache (kept on the submission's side), by its name in ``returns``
    scale: dict[str, Callable[[Dims], float]] = field(default_factory=dict)  # gradient -> its factor (1/m)
    mutable: tuple[str, ...] = ()  # forward: arguments it updates in place, checked against the reference's
    operations: int = 16
    kinks: Callable[[Inputs, Dims], np.ndarray] | None = None
    inputs: tuple[Arg, ...] = ()
    magnitude: Callable[[Inputs], float] | None = None
    variants: tuple[Variant, ...] = ()
    derived: Callable[[Dims], Dims] | None = None
    note: str = ""  # what the course's version of this function is (shown in the docs)
    provided: bool = False  # given by the course's starter code (dnn_utils): checked when defined, never required
    methods: Any = None  # a class-based layer: where its methods and attributes are (gradcheck.specs.objects)
    # a function no kind describes (a whole network's backward): its own case, a generator
    # (ctx, plan, layer, dims, seed, quantities, *, first, full) -> Steps[CaseVerdict], written in its plan
    case: Callable[..., Any] | None = None
    # what a case of its own compares a quantity with, for the reports ("the mask its own forward drew");
    # default: the reference, or central differences of it
    judged: str = ""

    @property
    def outputs(self) -> tuple[str, ...]:
        """A forward's returned values other than its cache."""
        return tuple(name for name in self.returns if name != self.cache)

    @property
    def upstreams(self) -> tuple[str, ...]:
        return (self.upstream,) if isinstance(self.upstream, str) else tuple(self.upstream)

    @property
    def checked(self) -> tuple[str, ...]:
        """The quantities reported: the forward's outputs (and its updated arguments), the
        backward's gradients, the loss and its gradients."""
        if self.kind == "forward":
            return (*self.outputs, *self.mutable)
        if self.kind == "loss":
            return (self.returns[0], *self.grads)
        return tuple(self.grads) or self.returns

    def argument(self, name: str) -> Arg:
        return next(arg for arg in self.args if arg.name == name)


@dataclass(frozen=True)
class Plan:
    """An assignment: its layers (specs), the convolution convention whose engine checks its
    conv/pool functions (``"cs231n"``) or None, how it is titled, and the names that tell it
    (``signature``: a file defining any of them, and more of them than of any other plan's, is
    this assignment)."""

    name: str
    title: str
    layers: tuple[Layer, ...]
    convention: str | None = None
    signature: tuple[str, ...] = ()
    command: str = ""  # the README's example command

    def layer(self, name: str) -> Layer:
        return next(layer for layer in self.layers if layer.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    @property
    def required_names(self) -> tuple[str, ...]:
        """The functions students write (what ``--require all`` asks for): not the course's own."""
        return tuple(layer.name for layer in self.layers if not layer.provided)
