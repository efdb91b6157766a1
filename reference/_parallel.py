"""Run a layer's work on slices of the batch at once, in threads.

Pooling works on each example alone, so the batch can be cut into slices that run
side by side and give the same bits as one run. NumPy releases the GIL inside its
loops, so on large inputs the threads overlap (BLAS already uses every core for the
convolutions' products). Small inputs stay on the caller's thread: handing work to a
thread costs tens of microseconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

MIN_ELEMENTS = 1 << 17  # elements per slice below which threads do not pay for themselves
_executor: Any = None  # a concurrent.futures.ThreadPoolExecutor, made on first use
_workers = 0
_owner = 0  # the process that made it: a forked child inherits the object but not its threads


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def batch_slices(m: int, elements: int) -> list[slice]:
    """Contiguous slices of the ``m`` examples, one per thread: as many as there are cores,
    examples, and blocks of ``MIN_ELEMENTS`` in ``elements`` (the input's size), at least one."""
    count = max(1, min(_cores(), m, elements // MIN_ELEMENTS))
    bounds = [m * k // count for k in range(count + 1)]
    return [slice(start, stop) for start, stop in zip(bounds, bounds[1:], strict=False)]


def over_batch(m: int, elements: int, work: Callable[[slice], None]) -> None:
    """``work(examples)`` over slices of the ``m`` examples that together cover the batch:
    one call on the calling thread for a small input (``elements`` < 2 ``MIN_ELEMENTS``),
    else one call per slice of ``batch_slices``, run at once."""
    if elements < 2 * MIN_ELEMENTS:
        work(slice(0, m))
        return
    run([lambda examples=examples: work(examples) for examples in batch_slices(m, elements)])


def run(tasks: list[Callable[[], None]]) -> None:
    """Run ``tasks``, the first on the calling thread and the others on worker threads, and
    return when all are done; the first exception raised by any is raised here."""
    global _executor, _workers, _owner
    if len(tasks) == 1:
        tasks[0]()
        return
    if _executor is None or _workers < len(tasks) - 1 or _owner != os.getpid():
        # imported here: small inputs, the only ones gradcheck's workers see, never need it
        from concurrent.futures import ThreadPoolExecutor

        _workers, _owner = len(tasks) - 1, os.getpid()
        _executor = ThreadPoolExecutor(max_workers=_workers, thread_name_prefix="reference")
    futures = [_executor.submit(task) for task in tasks[1:]]
    error: BaseException | None = None
    try:
        tasks[0]()
    except BaseException as exc:  # wait for the others before raising
        error = exc
    for future in futures:
        if future.exception() is not None and error is None:
            error = future.exception()
    if error is not None:
        raise error
