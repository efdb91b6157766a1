"""The worker process of ``gradcheck.boundary.isolated``: this module run by ``python -I`` with READ_FD WRITE_FD
(``gradcheck.boundary.process.module_command``).

Reads a ``load`` message (target, limits), sets the resource limits, imports the
target, answers ``ready`` and then serves ``call``/``call_batch``/``release``
requests with ``gradcheck.boundary.backend.CallRunner`` until ``exit`` or end of input.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sys
from typing import Any

from gradcheck.boundary.backend import (
    Call,
    CallRunner,
    CappedText,
    Outcome,
    _alarm,
    _is_submission_frame,
    _Timeout,
    printable,
)
from gradcheck.boundary.protocol import Closed, decode, encode, pack, read_message, write_all
from gradcheck.boundary.variants import build_variant, traced
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when the parent dies (best effort)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux, no libc: the pipe EOF still ends the worker
        pass


def _subreaper() -> None:
    """Linux: orphans of the submission's processes stay below this process (the parent finds and kills them)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    except Exception:  # noqa: BLE001 - not Linux: process group and session still catch most
        pass


# Imported before dropping to another uid (the installation's private import roots are reached through descriptors).
PRELOAD = (
    "math", "copy", "random", "itertools", "functools", "collections", "time", "typing", "warnings",
    "json", "socket", "subprocess", "pathlib", "shutil", "tempfile", "signal", "logging",
    "encodings.unicode_escape", "encodings.raw_unicode_escape", "encodings.latin_1", "encodings.ascii",
    "encodings.idna",
    "secrets", "numpy.random", "numpy.linalg", "numpy.fft", "numpy.lib.stride_tricks", "numpy.testing", "unittest",
    "gradcheck.load.cs231n",
)


def _drop_privileges(uid: int, gid: int, target: str) -> dict[str, str]:
    """Become ``uid``/``gid`` with no supplementary groups, for good (real, effective and saved ids), after the
    preloads and with the import roots other users cannot reach opened (``privileges.reach_import_roots``,
    whose {root: link} this returns)."""
    import importlib

    from gradcheck.boundary.privileges import reach_import_roots

    for name in PRELOAD + (("nbformat", "nbformat.validator", "nbformat.v4") if target.endswith(".ipynb") else ()):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    links = reach_import_roots()
    os.environ.update(HOME=os.getcwd(), TMPDIR=os.getcwd())
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getgroups() or os.getresgid() != (gid, gid, gid):
        raise SystemExit(f"gradcheck worker: could not drop privileges to uid {uid}")
    return links


def _fence(target: str) -> None:
    """Load what the worker needs of gradcheck, then refuse ``reference`` and ``gradcheck`` to the
    submission's imports (``gradcheck.boundary.fence``); the target itself may live in
    ``reference`` (``gradcheck check reference.naive``): the loader imports it, not a submission."""
    import importlib

    for name in ("gradcheck.load.cs231n", "gradcheck.conventions", "gradcheck.load.session"):
        importlib.import_module(name)
    if target.endswith(".ipynb"):
        for name in ("nbformat", "nbformat.validator", "nbformat.v4"):
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
    from gradcheck.boundary import fence

    fence.install()


def _set_limits(config: dict[str, Any]) -> None:
    def limit(which: int, value: int) -> None:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass

    limit(resource.RLIMIT_AS, int(config["memory_limit"]))
    limit(resource.RLIMIT_CPU, int(config["cpu_limit"]))
    limit(resource.RLIMIT_FSIZE, int(config["fsize_limit"]))
    limit(resource.RLIMIT_CORE, 0)
    # No new process, at every level (root included): a seccomp filter that lets threads start
    # (gradcheck.boundary.noforks). RLIMIT_NPROC, counted per user and not for root, then caps
    # the threads; where the filter cannot be installed, 0 forbids processes and threads alike.
    from gradcheck.boundary import noforks

    limit(resource.RLIMIT_NPROC, noforks.THREADS if noforks.install() else 0)


def _outcome_data(outcome: Outcome, arrays: list[bytes]) -> dict[str, Any]:
    def safe(value: Any) -> Any:
        try:
            return encode(value, arrays)
        except (TypeError, ValueError) as exc:
            return {"o": f"unencodable value ({exc})"}

    return {
        "status": outcome.status,
        "value": safe(outcome.value),
        "message": outcome.message,
        "args_after": None if outcome.args_after is None else safe(tuple(outcome.args_after)),
        "kept": [[index, safe(value)] for index, value in outcome.kept.items()],
        "output": outcome.output,
        "skipped": outcome.skipped,
    }


def _load_variants(runner: CallRunner, module: Any, request: dict[str, Any], as_contract: Any,
                   convention: str) -> dict[str, str]:
    """Build each variant of ``request["items"]`` (``[key, defs]``) into ``runner.variants``; the
    ones that did not load, with why (an exception, a timeout: the variant's calls then fail)."""
    errors: dict[str, str] = {}
    future = list(request.get("future") or [])
    for key, defs in request.get("items") or []:
        captured = CappedText()
        try:
            with _alarm(runner.timeout), contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
                variant = build_variant(module, list(defs), future)
                implementation = as_contract(variant, convention)
            runner.variants[int(key)] = {name: getattr(implementation, name, None) for name in CONTRACT_FUNCTIONS}
        except _Timeout:
            runner.variants[int(key)] = errors[str(key)] = "its definitions did not run within the time limit"
        except BaseException as exc:  # noqa: BLE001 - a variant that does not load is a candidate that fails
            text = printable(f"{type(exc).__name__}: {exc}")[:500]
            runner.variants[int(key)] = errors[str(key)] = text
    return errors


def main(argv: list[str]) -> int:
    read_fd, write_fd = int(argv[0]), int(argv[1])
    sys.dont_write_bytecode = True  # -I ignores PYTHONDONTWRITEBYTECODE: no __pycache__ beside a submission
    _die_with_parent()
    _subreaper()
    header, _ = read_message(read_fd, None, trusted=True)
    os.chdir(header["cwd"])
    sys.path[:] = [*header["sys_path"]]

    from gradcheck.errors import LoadError
    from gradcheck.load.loaders import TargetNotFound, as_contract, load_submission, load_warnings
    from gradcheck.specs.objects import bound  # before the fence: the worker's own import

    _set_limits(header)
    reference_module = None
    if header.get("use_reference"):  # a root-cause re-run (a diagnosis only): the callees are the reference's
        import reference as reference_module
    if header.get("drop"):
        _drop_privileges(*header["drop"], header["target"])
        _die_with_parent()  # a change of uid clears the parent-death signal
    _fence(header["target"])
    captured = CappedText()
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            module = load_submission(header["target"])
            for name in header.get("use_reference") or ():
                setattr(module, name, getattr(reference_module, name))
            implementation = as_contract(module, header.get("convention") or "article")
    except TargetNotFound as exc:
        write_all(write_fd, pack({"error": str(exc), "kind": "not_found"}, []), None)
        return 0
    except LoadError as exc:
        write_all(write_fd, pack({"error": str(exc), "kind": "load"}, []), None)
        return 0
    except MemoryError:
        write_all(
            write_fd,
            pack(
                {
                    "error": f"{header['target']}: ran out of memory while being imported",
                    "kind": "load",
                },
                [],
            ),
            None,
        )
        return 0

    namespace = {name: getattr(implementation, name, None) for name in CONTRACT_FUNCTIONS}
    for name in header.get("plan_functions") or ():  # an assignment's functions, as the module binds them
        if isinstance(name, str) and name not in namespace:
            namespace[name] = getattr(module, name, None)
    if header.get("plan_methods"):  # class-based layers: their methods bound as functions
        namespace.update(bound(module, header["plan_methods"]))
    runner = CallRunner(namespace, timeout=float(header["timeout"]))
    # what the checker believes of this message: the functions that could be found (it adds
    # them to the ones the source declares, never removes one), warnings and output (shown)
    ready = {
        "error": None,
        "functions": sorted(runner.functions()),
        "warnings": load_warnings(module),
        "output": captured.getvalue(),
    }
    write_all(write_fd, pack(ready, []), None)

    while True:
        try:
            request, blobs = read_message(read_fd, None, trusted=True)
        except Closed:
            return 0
        op = request.get("op")
        arrays: list[bytes] = []
        if op == "exit":
            return 0
        if request.get("release"):  # the checker's release, sent with its next request
            runner.release()
        if op == "release":
            runner.release()
            reply: dict[str, Any] = {"ok": True}
        elif op == "call":
            args = decode(request["args"], blobs)
            outcome = runner.run(request["name"], args, tuple(request.get("keep", ())))
            reply = {"outcome": _outcome_data(outcome, arrays)}
        elif op == "call_batch":
            calls = [
                Call(item["name"], decode(item["args"], blobs), tuple(item["keep"]), item["select"], item["collect"],
                     item.get("variant"), tuple((int(p), int(b)) for p, b in item.get("take") or ()),
                     int(item.get("refill") or 0))
                for item in request["calls"]
            ]
            limit = request.get("timeout")
            limit = float(limit) if type(limit) in (int, float) and limit > 0 else None
            if request.get("trace"):  # which lines of the submission the calls ran (the fix search)
                with traced(_is_submission_frame) as lines:
                    outcomes = runner.run_batch(calls, limit)
                reply = {"lines": sorted([filename, line] for filename, line in lines)}
            else:
                outcomes = runner.run_batch(calls, limit)
                reply = {}
            reply["outcomes"] = [_outcome_data(outcome, arrays) for outcome in outcomes]
        elif op == "variants":  # the fix search's candidates: edited copies of the submission's functions
            convention = header.get("convention") or "article"
            reply = {"errors": _load_variants(runner, module, request, as_contract, convention)}
        elif op == "drop_variants":
            for key in request.get("keys") or list(runner.variants):
                runner.variants.pop(key, None)
            reply = {"ok": True}
        else:
            reply = {"error": f"unknown op {op!r}"}
        reply["seq"] = request.get("seq")
        write_all(write_fd, pack(reply, arrays), None)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Closed:
        os._exit(0)
