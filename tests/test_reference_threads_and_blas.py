"""The reference layers' two helpers: slices of a batch run in threads (``_parallel``) and
matrix products written into a slice of a result (``_blas``)."""

from __future__ import annotations

import os
import select
import threading
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import reference.conv
from reference import _blas, _parallel, conv_backward, conv_forward, pool_backward, pool_forward


@given(m=st.integers(1, 50), elements=st.integers(0, 10**7))
def test_batch_slices_cover_the_batch_once_in_order(m: int, elements: int) -> None:
    slices = _parallel.batch_slices(m, elements)
    assert 1 <= len(slices) <= max(1, min(_parallel._cores(), m))
    assert slices[0].start == 0 and slices[-1].stop == m
    assert all(a.stop == b.start for a, b in zip(slices, slices[1:], strict=False))
    assert all(s.stop > s.start for s in slices)


def test_run_runs_every_task_and_the_first_on_the_calling_thread() -> None:
    threads = [None, None, None]

    def task(index: int):
        def work() -> None:
            threads[index] = threading.current_thread()

        return work

    _parallel.run([task(0), task(1), task(2)])
    assert threads[0] is threading.current_thread()
    assert all(thread is not None for thread in threads)
    assert threads[1] is not threading.current_thread()


@pytest.mark.parametrize("failing", [0, 1])
def test_run_raises_a_tasks_error_after_every_task_ended(failing: int) -> None:
    """An error in the caller's task or in a worker's reaches the caller, and only once
    every task has ended (no thread still writes into the result)."""
    done = []

    def task(index: int):
        def work() -> None:
            if index == failing:
                raise ValueError(f"task {index} failed")
            threading.Event().wait(0.05)
            done.append(index)

        return work

    with pytest.raises(ValueError, match=f"task {failing} failed"):
        _parallel.run([task(0), task(1)])
    assert done == [1 - failing]


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
def test_product_into_writes_a_slice_of_rows_in_place(accumulate: bool, transpose_b: bool) -> None:
    """result[3:9] (+)= rows @ M, written through the Fortran view result[3:9].T, touches
    no other row."""
    rng = np.random.default_rng(0)
    result = rng.standard_normal((12, 4))
    before = result.copy()
    rows, M = rng.standard_normal((6, 5)), rng.standard_normal((5, 4))
    b = np.asfortranarray(rows.T) if not transpose_b else np.asfortranarray(rows)
    _blas.product_into(result[3:9].T, np.asfortranarray(M.T), b, accumulate, transpose_b)
    expected = before.copy()
    expected[3:9] = (before[3:9] if accumulate else 0.0) + rows @ M
    assert_allclose(result, expected, rtol=1e-13, atol=1e-13)


def test_product_into_is_right_when_scipy_works_on_a_copy() -> None:
    """A target SciPy cannot write in place (C-ordered, not Fortran) gets the sum written back."""
    rng = np.random.default_rng(1)
    target = rng.standard_normal((4, 6))  # C-ordered: dgemm copies it
    before = target.copy()
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 6))
    _blas.product_into(target, np.asfortranarray(a), np.asfortranarray(b), accumulate=True)
    assert_allclose(target, before + a @ b, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("where", ["first", "last"])
def test_pooling_split_over_threads_still_refuses_nan_and_counts_them_all(where: str) -> None:
    """Split over threads, each slice checks its own finiteness; a NaN in any slice raises
    the message of the unsplit layer, counting every bad value of the whole array."""
    rng = np.random.default_rng(2)
    A_prev = rng.standard_normal((4, 4, 4, 2))
    dA = rng.standard_normal((4, 2, 2, 2))
    index = 0 if where == "first" else -1
    bad_A, bad_dA = A_prev.copy(), dA.copy()
    bad_A[index, 0, 0, 0] = bad_A[index, 1, 1, 1] = np.nan
    bad_dA[index, 0, 0, 0] = np.inf
    hp = {"f": 2, "stride": 2}
    with patch.object(_parallel, "MIN_ELEMENTS", 1):
        with pytest.raises(ValueError, match=r"^A_prev contains 2 NaN or infinite value\(s\)"):
            pool_forward(bad_A, hp, "max")
        with pytest.raises(ValueError, match=r"^A_prev contains 2 NaN"):
            pool_backward(dA, (bad_A, hp), "average")
        with pytest.raises(ValueError, match=r"^dA contains 1 NaN or infinite value\(s\)"):
            pool_backward(bad_dA, (A_prev, hp), "max")


def test_large_layers_accept_any_memory_layout_and_match_their_small_input_paths() -> None:
    """Inputs large enough for the shifted products and the threads, given in Fortran
    order, as float32 and as strided views, give the results of the im2col and
    single-thread paths (forced by raising the size thresholds), which the loop tests
    cover."""
    rng = np.random.default_rng(3)
    A_prev = np.asfortranarray(rng.standard_normal((4, 30, 30, 8)))
    W = rng.standard_normal((3, 3, 8, 5)).astype(np.float32)
    b = rng.standard_normal((1, 1, 1, 5))
    dZ = rng.standard_normal((4, 30, 60, 5))[:, :, ::2]  # a strided view
    hp = {"stride": 1, "pad": 1}
    assert reference.conv._shifted_products(A_prev, hp)
    Z, cache = conv_forward(A_prev, W, b, hp)
    grads = conv_backward(dZ, cache)
    with patch.object(reference.conv, "_SHIFTED_MIN_ROWS", 10**12):
        Z_im2col, _ = conv_forward(A_prev, W, b, hp)
        grads_im2col = conv_backward(dZ, cache)
    assert_allclose(Z, Z_im2col, rtol=1e-12, atol=1e-12)
    for got, expected in zip(grads, grads_im2col, strict=True):
        assert_allclose(got, expected, rtol=1e-12, atol=1e-12)

    pooled_input = np.asfortranarray(rng.standard_normal((4, 64, 64, 16)))
    assert pooled_input.size >= 2 * _parallel.MIN_ELEMENTS
    for f, stride in [(2, 2), (3, 1), (3, 2)]:
        for mode in ("max", "average"):
            hp_pool = {"f": f, "stride": stride}
            A, cache_pool = pool_forward(pooled_input, hp_pool, mode)
            dA = rng.standard_normal(A.shape)[:, ::-1]  # a reversed view
            dA_prev = pool_backward(dA, cache_pool, mode)
            with patch.object(_parallel, "MIN_ELEMENTS", 10**12):
                A_one, _ = pool_forward(pooled_input, hp_pool, mode)
                dA_prev_one = pool_backward(dA, cache_pool, mode)
            np.testing.assert_array_equal(A, A_one)
            np.testing.assert_array_equal(dA_prev, dA_prev_one)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_threads_of_its_own() -> None:
    """A child forked after the parent ran threads inherits the executor object but not its
    threads; it must make its own instead of waiting forever on a queue nobody reads."""
    _parallel.run([lambda: None, lambda: None])  # the parent's executor exists
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run threads, report, exit without pytest's teardown
        try:
            done = []
            _parallel.run([lambda: done.append(0), lambda: done.append(1)])
            os.write(write, b"ok" if sorted(done) == [0, 1] else b"bad")
        finally:
            os._exit(0)
    os.close(write)
    ready, _, _ = select.select([read], [], [], 20)
    answer = os.read(read, 2) if ready else b""
    os.close(read)
    if not ready:
        os.kill(pid, 9)
    os.waitpid(pid, 0)
    assert answer == b"ok", "the forked child's threads never ran (hung on the parent's executor)"
