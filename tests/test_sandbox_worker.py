"""The isolated worker backend: protocol, limits, deaths and restarts, parity with in-process."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

import reference
from gradcheck.boundary.backend import OUTPUT_LIMIT, InProcessBackend
from gradcheck.boundary.isolated import WorkerBackend
from gradcheck.boundary.protocol import ProtocolError, decode, encode, pack, read_message
from gradcheck.boundary.values import CacheRef, Opaque, wire_equal
from gradcheck.errors import LoadError
from gradcheck.load.loaders import TargetNotFound

SUBMISSIONS = Path(__file__).parent / "submissions"
TIMEOUT = 1.0


def children() -> set[int]:
    """Live (non-zombie) child processes of this process."""
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            found.add(int(entry))
    return found


@pytest.fixture(autouse=True)
def no_stray_processes():
    before = children()
    yield
    deadline = time.monotonic() + 5
    while children() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not children() - before, "a worker process outlived its test"


def worker(name: str, **kwargs) -> WorkerBackend:
    kwargs.setdefault("timeout", TIMEOUT)
    kwargs.setdefault("memory_limit", 1 << 30)
    return WorkerBackend(str(SUBMISSIONS / name), **kwargs)


def conv_args(seed: int = 0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((2, 5, 4, 3))
    W, b = rng.standard_normal((3, 3, 3, 2)), rng.standard_normal((1, 1, 1, 2))
    return A, W, b, {"stride": 1, "pad": 1}


# --- protocol ------------------------------------------------------------------------


WIRE_VALUES = [
    None,
    True,
    3,
    -2.5,
    float("nan"),
    float("inf"),
    "text",
    np.arange(6.0).reshape(2, 3),
    np.array([1, 2], dtype=np.int32),
    np.zeros((0, 3)),
    np.array([1 + 2j]),
    (1, [2.0, {"k": np.ones(2)}]),
    CacheRef(5),
    Opaque("x.Y"),
    {"stride": 1, "pad": 0},
]


@pytest.mark.parametrize("value", WIRE_VALUES, ids=lambda v: type(v).__name__)
def test_every_wire_value_round_trips(value):
    arrays: list[bytes] = []
    assert wire_equal(decode(encode(value, arrays), arrays), value)


def test_tuples_and_lists_stay_distinct():
    arrays: list[bytes] = []
    assert type(decode(encode((1, 2), arrays), arrays)) is tuple
    assert type(decode(encode([1, 2], arrays), arrays)) is list


def _nested(depth: int) -> dict:
    data: dict = {"t": []}
    for _ in range(depth):
        data = {"t": [data]}
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"a": [3, "<f8", [1]]}, "bad array reference"),
        ({"zz": 1}, "unknown tag"),
        ({"f": "1e400"}, "bad float"),
        ({"d": [[1, 2]]}, "bad dict item"),
        ({"r": -1}, "bad cache reference"),
        ([1, 2], "unexpected value list"),
        (_nested(20), "nested too deeply"),
    ],
)
def test_malformed_data_is_rejected(data, message):
    with pytest.raises(ProtocolError, match=message):
        decode(data, [])


@pytest.mark.parametrize(
    ("body", "blob", "message"),
    [
        ([0, "|O", [1]], b"\0" * 8, "bad array dtype '|O'"),
        ([0, "[('a', '<f8')]", [1]], b"\0" * 8, "bad array dtype"),
        ([0, "<f8", [3]], b"\0" * 8, "array size does not match its shape"),
        ([0, "<f8", [-1]], b"\0" * 8, "bad array shape"),
        ([0, "<f8", [1] * 40], b"\0" * 8, "bad array shape"),
        ([5, "<f8", [1]], b"\0" * 8, "bad array reference"),
        (0, b"\0" * 8, "bad array reference"),
    ],
)
def test_arrays_are_rebuilt_only_from_numeric_dtypes_and_matching_sizes(body, blob, message):
    with pytest.raises(ProtocolError, match=re.escape(message)):
        decode({"a": body}, [blob])


def test_arrays_arrive_writable_native_and_owned():
    array = decode({"a": [0, ">f8", [2, 2]]}, [np.arange(4.0).astype(">f8").tobytes()])
    assert array.dtype == np.float64 and array.dtype.isnative
    assert array.flags.writeable and array.flags.owndata
    np.testing.assert_array_equal(array, np.arange(4.0).reshape(2, 2))


def test_non_contiguous_arrays_round_trip():
    arrays: list[bytes] = []
    value = np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1)
    assert wire_equal(decode(encode(value, arrays), arrays), np.ascontiguousarray(value))


def test_oversized_header_is_refused_before_reading():
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, (1 << 40).to_bytes(8, "big"))
        with pytest.raises(ProtocolError, match="header of"):
            read_message(read_fd, time.monotonic() + 1)
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_pack_and_read_message_round_trip():
    read_fd, write_fd = os.pipe()
    try:
        arrays: list[bytes] = []
        data = encode((np.arange(3.0), {"x": 1}), arrays)
        os.write(write_fd, pack({"value": data}, arrays))
        header, blobs = read_message(read_fd, time.monotonic() + 1)
        assert wire_equal(decode(header["value"], blobs), (np.arange(3.0), {"x": 1}))
    finally:
        os.close(read_fd)
        os.close(write_fd)


# --- parity with the in-process backend -------------------------------------------------


def test_worker_returns_what_the_in_process_backend_returns():
    inproc = InProcessBackend(reference)
    with WorkerBackend("reference", timeout=5) as isolated:
        assert isolated.functions() == inproc.functions()
        args = conv_args()
        mine, theirs = (
            isolated.call("conv_forward", args, keep=(1,)),
            inproc.call("conv_forward", args, keep=(1,)),
        )
        assert mine.status == theirs.status == "ok"
        assert wire_equal(mine.value[0], theirs.value[0])
        assert isinstance(mine.value[1], CacheRef)
        assert wire_equal(mine.kept[1], theirs.kept[1])
        assert wire_equal(mine.args_after, theirs.args_after)
        dZ = np.random.default_rng(1).standard_normal(mine.value[0].shape)
        back = isolated.call("conv_backward", (dZ, mine.value[1]))
        assert wire_equal(back.value, inproc.call("conv_backward", (dZ, theirs.value[1])).value)
        assert wire_equal(back.args_after[1], mine.kept[1])
        assert isolated.round_trips == 2


def test_call_many_is_one_round_trip_and_selects_the_output():
    A, W, b, hp = conv_args()
    batch = [(A + k * 1e-3, W, b, hp) for k in range(40)]
    with WorkerBackend("reference", timeout=5) as isolated:
        outcomes = isolated.call_many("conv_forward", batch, select=0)
        assert isolated.round_trips == 1
    expected = InProcessBackend(reference).call_many("conv_forward", batch, select=0)
    assert all(
        wire_equal(got.value, want.value) for got, want in zip(outcomes, expected, strict=True)
    )
    assert all(outcome.args_after is None for outcome in outcomes)


def test_missing_function_is_missing():
    with worker("missing_functions.py") as backend:
        assert backend.functions() == {"zero_pad", "conv_forward"}
        assert backend.call("pool_forward", ()).status == "missing"


def test_cs231n_submission_is_adapted_in_the_worker():
    with worker("cs231n_layers.py") as backend:
        assert backend.pool_modes == ("max",)
        assert backend.display_names["conv_backward"] == "conv_backward_naive"
        args = conv_args()
        outcome = backend.call("conv_forward", args, keep=(1,))
        np.testing.assert_allclose(outcome.value[0], reference.conv_forward(*args)[0], atol=1e-12)


def test_notebook_loads_in_the_worker_with_its_warnings():
    with worker("notebook_cnn.ipynb") as backend:
        assert len(backend.functions()) == 8
        assert any("public_tests" in warning for warning in backend.warnings)


# --- load failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("syntax_error.py", "syntax error at line 6"),
        ("import_error.py", "No module named 'public_tests_that_do_not_exist'"),
        ("exception_at_import.py", "AssertionError: shape check left over from a notebook"),
        ("exit_at_import.py", "the worker process exited with status 3 while importing it"),
    ],
)
def test_load_failures_raise_load_error(name, message):
    with pytest.raises(LoadError, match=message):
        worker(name)


@pytest.mark.slow  # a timeout or a long run: CI runs it, `-m "not slow"` skips it
def test_endless_import_is_cut_by_the_load_timeout():
    started = time.monotonic()
    with pytest.raises(LoadError, match="importing it did not finish within 1 s"):
        worker("loops_at_import.py", load_timeout=1)
    assert time.monotonic() - started < 10


def test_missing_module_is_target_not_found():
    with pytest.raises(TargetNotFound, match="no such file or module: 'no_such_module_xyz'"):
        WorkerBackend("no_such_module_xyz")


# --- misbehaviour during calls -------------------------------------------------------------


@pytest.mark.slow  # a timeout or a long run: CI runs it, `-m "not slow"` skips it
def test_sleep_times_out_and_the_worker_keeps_serving():
    with worker("sleep.py") as backend:
        started = time.monotonic()
        outcome = backend.call(
            "pool_forward", (np.zeros((1, 2, 2, 1)), {"f": 2, "stride": 1}, "max")
        )
        assert outcome.status == "timeout"
        assert "pool_forward did not return within 1 s" in outcome.message
        assert time.monotonic() - started < 5
        assert backend.call("conv_forward", conv_args()).status == "ok"


@pytest.mark.slow  # a timeout or a long run: CI runs it, `-m "not slow"` skips it
def test_loop_that_swallows_the_alarm_gets_the_worker_killed():
    with worker("infinite_loop.py") as backend:
        started = time.monotonic()
        outcome = backend.call("conv_forward", conv_args(), keep=(1,))
        assert outcome.status == "timeout"
        assert "the worker process was killed" in outcome.message
        assert time.monotonic() - started < 8
        assert backend.call("zero_pad", (np.zeros((1, 1, 1, 1)), 1)).status == "ok"
        assert backend.restarts == 1


@pytest.mark.slow  # a timeout or a long run: CI runs it, `-m "not slow"` skips it
def test_batch_stops_at_the_first_timeout():
    with worker("sleep.py") as backend:
        started = time.monotonic()
        batch = [(np.zeros((1, 2, 2, 1)), {"f": 2, "stride": 1}, "max")] * 20
        outcomes = backend.call_many("pool_forward", batch, select=0)
        assert [outcome.status for outcome in outcomes] == ["timeout"] * 20
        assert "not run: an earlier call of pool_forward" in outcomes[1].message
        assert time.monotonic() - started < 5


def test_memory_exhaustion_is_memory():
    with worker("memory_exhaustion.py") as backend:
        outcome = backend.call("conv_forward", conv_args())
        assert outcome.status == "memory"
        assert "ran out of memory" in outcome.message
        assert backend.call("zero_pad", (np.zeros((1, 1, 1, 1)), 1)).status == "ok"


def test_huge_allocation_is_memory():
    with worker("huge_array.py") as backend:
        outcome = backend.call(
            "pool_forward", (np.zeros((1, 2, 2, 1)), {"f": 2, "stride": 1}, "max")
        )
        assert outcome.status == "memory"


def test_sys_exit_is_crashed_and_the_worker_survives():
    with worker("sys_exit.py") as backend:
        outcome = backend.call("conv_forward", conv_args())
        assert outcome.status == "crashed"
        assert "tried to exit the process (SystemExit: 3)" in outcome.message
        assert backend.restarts == 0


def test_os_exit_is_crashed_and_caches_of_the_dead_worker_are_lost():
    with worker("os_exit.py") as backend:
        forward = backend.call("conv_forward", conv_args(), keep=(1,))
        assert forward.status == "ok"
        dZ = np.ones(forward.value[0].shape)
        outcome = backend.call("conv_backward", (dZ, forward.value[1]))
        assert outcome.status == "crashed"
        assert (
            "conv_backward brought the worker process down: it exited with status 7"
            in outcome.message
        )
        lost = backend.call("conv_backward", (dZ, forward.value[1]))
        assert lost.status == "error"
        assert "cache from an earlier call was lost" in lost.message
        again = backend.call("conv_forward", conv_args(), keep=(1,))
        assert again.status == "ok" and backend.restarts == 1


def test_death_by_signal_is_crashed():
    with worker("signal_death.py") as backend:
        outcome = backend.call(
            "pool_backward",
            (np.ones((1, 1, 1, 1)), (np.zeros((1, 2, 2, 1)), {"f": 2, "stride": 1}), "max"),
        )
        assert outcome.status == "crashed"
        assert "killed by signal SIGKILL" in outcome.message


def test_garbage_on_the_reply_pipe_is_a_crash_not_a_verdict():
    with worker("tampers_with_protocol.py") as backend:
        outcome = backend.call("conv_forward", conv_args())
        assert outcome.status == "crashed"
        assert "malformed reply" in outcome.message
        assert backend.call("zero_pad", (np.zeros((1, 1, 1, 1)), 1)).status == "ok"


def test_output_floods_are_captured_and_truncated():
    with worker("output_flood.py") as backend:
        assert "debug debug" in backend.import_output
        assert len(backend.import_output) <= OUTPUT_LIMIT + 100
        outcome = backend.call("conv_forward", conv_args())
        assert outcome.status == "ok"
        assert outcome.output.startswith("conv_forward step 0 of many")
        assert "more characters of output cut" in outcome.output
        assert len(outcome.output) <= OUTPUT_LIMIT + 100


def test_objects_that_lie_in_comparisons_arrive_opaque():
    with worker("lying_eq.py") as backend:
        outcome = backend.call("conv_forward", conv_args())
        assert isinstance(outcome.value[0], Opaque)
        assert outcome.value[0].type_name.endswith(".Liar")
    with worker("ndarray_subclass.py") as backend:
        outcome = backend.call("conv_forward", conv_args())
        assert isinstance(outcome.value[0], Opaque)
        assert outcome.value[0].type_name.endswith(".AlwaysClose")


def test_modified_inputs_show_in_args_after():
    with worker("modifies_inputs.py") as backend:
        args = conv_args()
        outcome = backend.call("conv_forward", args)
        assert not wire_equal(outcome.args_after[0], args[0])


def test_close_ends_the_worker_and_its_process_group():
    backend = worker("missing_functions.py")
    pid = backend._worker.process.pid
    backend.close()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


def test_raw_fd_flood_hits_the_file_size_limit():
    with worker("file_flood.py") as backend:
        args = (
            np.zeros((1, 3, 3, 1)),
            np.zeros((1, 1, 1, 1)),
            np.zeros((1, 1, 1, 1)),
            {"stride": 1, "pad": 0},
        )
        outcome = backend.call("conv_forward", args)
        assert outcome.status == "error"
        assert "OSError: [Errno 27] File too large" in outcome.message


def test_limits_session_and_fds_are_set_before_the_submission_runs():
    with worker("reports_limits.py", memory_limit=3 << 30, cpu_limit=600) as backend:
        seen = backend.call("zero_pad", (np.zeros((1, 1, 1, 1)), 0)).value
    assert seen["as"] == 3 << 30
    assert seen["cpu"] == 600
    assert 0 < seen["fsize"] <= 64 << 20
    from gradcheck.boundary import noforks

    assert seen["nproc"] == (noforks.THREADS if noforks.works() else 0)  # threads, once processes are filtered
    assert seen["openblas"] == seen["omp"] == "1"
    # bwrap's --new-session makes the sandbox's init the session leader; the worker is in its own PID namespace
    assert seen["session_leader"] is (backend.isolation != "sandbox")
    assert seen["stdin"] == "/dev/null"
    assert seen["stdout_is_pipe"] is False  # prints cannot reach the protocol pipes
