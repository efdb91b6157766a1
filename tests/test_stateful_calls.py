"""A layer handed the same arrays again with new values, as a training step hands them back.

Red team round 5 (a01): a ``conv_forward`` that caches a kernel it derives from ``W`` by ``id(W)``
(holding ``W``, so the id stays valid) passed every check: every case gave it new array objects.
Training does ``W -= lr * dW`` in place and calls the layer with the same ``W`` again. The cases
that call a function twice (``numeric.CALLED_AGAIN``) now call it a third time, with the first
call's values written into the second call's arrays (``Call.refill``): the result must be the
first call's. Both ways: identity caches fail, for a forward and a backward; correct code that
returns its input itself (``zero_pad`` at pad 0), or keeps a cache of its own arrays, passes.
"""

from __future__ import annotations

import inspect

import pytest

import gradcheck
import reference.naive

NAIVE = inspect.getsource(reference.naive).replace("from __future__ import annotations\n", "")
ID_CACHE = '''
_CACHE = {}


def _derived(array):
    entry = _CACHE.get(id(array))
    if entry is None or entry[0] is not array:
        entry = (array, np.ascontiguousarray(array).copy())
        _CACHE[id(array)] = entry
    return entry[1]
'''
FORWARD_ID_CACHE = NAIVE.replace(
    "    Z = np.zeros((m, n_H, n_W, n_C))\n    A_prev_pad = zero_pad(A_prev, pad)",
    "    Z = np.zeros((m, n_H, n_W, n_C))\n    W = _derived(W)\n    A_prev_pad = zero_pad(A_prev, pad)", 1) + ID_CACHE
BACKWARD_ID_CACHE = NAIVE.replace(
    "    (A_prev, W, b, hparameters) = cache\n", "    (A_prev, W, b, hparameters) = cache\n    dZ = _derived(dZ)\n",
    1) + ID_CACHE
RETURNS_ITS_INPUT = NAIVE.replace(
    '    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant", constant_values=0.0)',
    '    if pad == 0:\n        return X\n'
    '    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant", constant_values=0.0)', 1)


def _check(tmp_path, source: str, only: list[str]):
    path = tmp_path / "layers.py"
    path.write_text(source)
    return gradcheck.check(str(path), examples=40, only=only)


@pytest.mark.parametrize("source, function", [(FORWARD_ID_CACHE, "conv_forward"),
                                              (BACKWARD_ID_CACHE, "conv_backward")])
def test_a_cache_found_by_the_arrays_identity_fails(tmp_path, source, function):
    assert source != NAIVE
    report = _check(tmp_path, source, [function])
    failing = [check for check in report.checks if not check.passed]
    assert failing and {check.function for check in failing} == {function}
    assert any("changed in place (as a training step's W -= lr * dW hands them back)" in check.message
               and "finds it by the arrays' identity" in check.message for check in failing)


@pytest.mark.parametrize("source", [NAIVE, RETURNS_ITS_INPUT])
def test_correct_code_handed_its_arrays_again_passes(tmp_path, source):
    assert RETURNS_ITS_INPUT != NAIVE
    report = _check(tmp_path, source, ["zero_pad", "conv_forward", "conv_backward", "pool_forward", "pool_backward"])
    assert report.passed, [check.message for check in report.checks if not check.passed]
