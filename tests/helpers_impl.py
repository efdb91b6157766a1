"""Implementations built from the reference for engine tests: counting calls, injecting bugs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

import reference
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS


def reference_namespace(**overrides) -> SimpleNamespace:
    """The reference layers as a namespace, with some functions replaced."""
    functions = {name: getattr(reference, name) for name in CONTRACT_FUNCTIONS}
    functions.update(overrides)
    return SimpleNamespace(__name__="patched_reference", **functions)


class CallCounter:
    """Wraps the reference, counting calls per function."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        for name in CONTRACT_FUNCTIONS:
            setattr(self, name, self._counted(name, getattr(reference, name)))
        self.__name__ = "counted_reference"

    def _counted(self, name, function):
        def wrapper(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return function(*args, **kwargs)
        return wrapper


def scale_one_element(array: np.ndarray, relative: float) -> np.ndarray:
    """Copy of ``array`` with its largest-magnitude element scaled by (1 + relative)."""
    out = np.array(array, dtype=np.float64, copy=True)
    index = np.unravel_index(int(np.argmax(np.abs(out))), out.shape)
    out[index] *= 1.0 + relative
    return out
