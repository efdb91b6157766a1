"""Class-based layers as functions: what a spec's ``methods`` describes, bound on the side of
the implementation (the worker, or this process for trusted code).

Numpy-from-scratch libraries write a layer as a class: parameters set on the object, ``Y =
layer.forward(X)``, ``dX = layer.backward(dY)`` with the parameter gradients kept on the object
(``layer.dW``, or ``layer.gradients["W"]``). A :class:`Methods` says where each of those lives;
:func:`bind` turns it into the two functions the engine calls, as for any course:

- the forward ``(args...) -> (Y, layer)``: builds the object (``init``: the arguments given to
  the constructor), sets constants (``fixed``: attribute path -> value) and early attributes
  (``early``: argument -> attribute path, e.g. the number of input channels), calls the
  ``prepare`` methods (a lazy initialisation, run before the parameters are set so that it
  does not overwrite them), sets the parameters (``set``: argument -> attribute path), calls
  the method (``call``) with the arguments in ``inputs``; the object is the cache;
- the backward ``(dY..., layer) -> (dX, dW, ...)``: calls the method with the upstream
  gradients and reads the parameter gradients (``read``: attribute paths, after dX; with none,
  the method's result alone).

An attribute path is ``"W"`` (an attribute) or ``"gradients[W]"`` (an entry of a dict
attribute). The description is plain data: it crosses to the worker as JSON, no code does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Methods:
    """Where a class-based layer keeps what a spec calls (see the module docstring)."""

    cls: str  # the class's name in the module
    call: str  # the method: "forward", "backward", ...
    init: tuple[str, ...] = ()  # forward: arguments passed to the constructor, in order
    early: dict[str, str] = field(default_factory=dict)  # forward: argument -> attribute path, before ``prepare``
    prepare: tuple[str, ...] = ()  # forward: methods called with no arguments before the parameters are set
    set: dict[str, str] = field(default_factory=dict)  # forward: argument -> attribute path it is set at
    inputs: tuple[str, ...] = ()  # forward: arguments passed to the method, in order
    read: tuple[str, ...] = ()  # backward: attribute paths read after the call, returned after its result
    fixed: dict[str, Any] = field(default_factory=dict)  # forward: attribute path -> a constant (JSON) set too

    def as_data(self) -> dict[str, Any]:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Methods:
        return cls(cls=str(data["cls"]), call=str(data["call"]), init=tuple(map(str, data.get("init", ()))),
                   early={str(k): str(v) for k, v in dict(data.get("early", {})).items()},
                   prepare=tuple(map(str, data.get("prepare", ()))),
                   set={str(k): str(v) for k, v in dict(data.get("set", {})).items()},
                   inputs=tuple(map(str, data.get("inputs", ()))), read=tuple(map(str, data.get("read", ()))),
                   fixed={str(k): v for k, v in dict(data.get("fixed", {})).items()})


def _get(obj: Any, path: str) -> Any:
    if path.endswith("]") and "[" in path:
        name, key = path[:-1].split("[", 1)
        return getattr(obj, name)[key]
    return getattr(obj, path)


def _set(obj: Any, path: str, value: Any) -> None:
    if path.endswith("]") and "[" in path:
        name, key = path[:-1].split("[", 1)
        container = getattr(obj, name, None)
        if container is None:
            container = {}
            setattr(obj, name, container)
        container[key] = value
    else:
        setattr(obj, path, value)


def bind(module: Any, methods: Methods, kind: str, arguments: tuple[str, ...]) -> Callable[..., Any] | None:
    """The function the engine calls for ``methods`` of the class in ``module`` (None when the
    module has no such class): a ``kind`` ``"forward"`` (``arguments``: its argument names, in
    the spec's order) or ``"backward"``."""
    cls = getattr(module, methods.cls, None) if not isinstance(module, dict) else module.get(methods.cls)
    if not isinstance(cls, type):
        return None
    if kind == "forward":

        def forward(*values: Any) -> tuple[Any, Any]:
            given = dict(zip(arguments, values, strict=True))
            layer = cls(*(given[name] for name in methods.init))
            for path, value in methods.fixed.items():
                _set(layer, path, value)
            for name, path in methods.early.items():
                _set(layer, path, given[name])
            for method in methods.prepare:  # e.g. a lazy initialisation, run now so that it keeps the parameters
                getattr(layer, method)()
            for name, path in methods.set.items():
                _set(layer, path, given[name])
            return getattr(layer, methods.call)(*(given[name] for name in methods.inputs)), layer

        forward.__name__ = f"{methods.cls}.{methods.call}"
        return forward

    def backward(*values: Any) -> tuple[Any, ...]:
        *upstream, layer = values
        result = getattr(layer, methods.call)(*upstream)
        if not methods.read:
            return result
        return (result, *(_get(layer, path) for path in methods.read))

    backward.__name__ = f"{methods.cls}.{methods.call}"
    return backward


def described(plan: Any) -> dict[str, dict[str, Any]]:
    """The class-based layers of a plan as plain data (what the worker is told): name ->
    {kind, arguments, methods}."""
    return {layer.name: {"kind": layer.kind, "arguments": [arg.name for arg in layer.args],
                         "methods": layer.methods.as_data()}
            for layer in (plan.layers if plan is not None else ()) if layer.methods is not None}


def bound(module: Any, description: dict[str, Any]) -> dict[str, Callable[..., Any] | None]:
    """The functions of :func:`described` layers, bound to ``module``'s classes."""
    functions: dict[str, Callable[..., Any] | None] = {}
    for name, item in description.items():
        try:
            functions[str(name)] = bind(module, Methods.from_data(item["methods"]), str(item["kind"]),
                                        tuple(map(str, item["arguments"])))
        except (KeyError, TypeError, ValueError):
            functions[str(name)] = None
    return functions
