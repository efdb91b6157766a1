"""The wire format between the checker and its worker process.

Message format, both directions: 8-byte big-endian header length, a JSON header,
then the raw bytes of the arrays the header refers to (``{"a": [index, dtype,
shape]}``, dtype a numeric numpy type string such as ``"<f8"``), rebuilt with
``np.frombuffer`` after checking dtype, shape and size. Nothing is unpickled;
:func:`decode` validates structure and sizes and raises :class:`ProtocolError`
on anything malformed. Used by both ends: ``isolated`` (parent) and ``worker``.
"""

from __future__ import annotations

import json
import math
import os
import re
import select
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradcheck.boundary.values import CacheRef, FortranOrder, Opaque, StridedView

MAX_HEADER = 64 << 20  # bytes of JSON header accepted from the worker
MAX_MESSAGE = 1 << 30  # bytes of arrays accepted from the worker per reply
REPLY_FACTOR, REPLY_SLACK = 64, 32 << 20  # a reply to a request with n bytes of arrays: at most 64 n + 32 MiB
REPLY_RULE = "a reply is at most 64 times the bytes of arrays its request sent, plus 32 MiB, checked before it is read"


def reply_budget(sent: int) -> int:
    """Most bytes (header and arrays) a reply to a request carrying ``sent`` bytes of arrays may
    have: the outputs of the contract functions are of the order of their inputs (a padded or
    convolved copy, a cache echoing them), so 64 times as much plus 32 MiB is far above any
    honest reply and far below what would strain the checker."""
    return REPLY_FACTOR * sent + REPLY_SLACK


MAX_DEPTH = 12


class ProtocolError(Exception):
    """A message that does not follow the protocol (from a misbehaving worker)."""


class Deadline(Exception):  # noqa: N818 - a signal between functions, not an error
    """The deadline of a read or write passed."""


class Closed(Exception):  # noqa: N818
    """The other end closed its pipe (or the pipe broke)."""


# --- encoding -----------------------------------------------------------------


def encode(value: Any, arrays: list[bytes]) -> Any:
    """A wire value as JSON data; array bytes appended to ``arrays``."""
    if isinstance(value, np.ndarray):
        arrays.append(np.ascontiguousarray(value).tobytes())
        return {"a": [len(arrays) - 1, value.dtype.str, list(value.shape)]}
    if type(value) is FortranOrder:
        arrays.append(np.ascontiguousarray(value.array).tobytes())
        return {"a": [len(arrays) - 1, value.array.dtype.str, list(value.array.shape), "F"]}
    if type(value) is StridedView:
        arrays.append(np.ascontiguousarray(value.array).tobytes())
        return {"a": [len(arrays) - 1, value.array.dtype.str, list(value.array.shape), "S"]}
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        if value != value or value in (float("inf"), float("-inf")):
            return {"f": repr(value)}
        return value
    if type(value) is tuple:
        return {"t": [encode(item, arrays) for item in value]}
    if type(value) is list:
        return {"l": [encode(item, arrays) for item in value]}
    if type(value) is dict:
        return {"d": [[key, encode(item, arrays)] for key, item in value.items()]}
    if type(value) is CacheRef:
        return {"r": value.key}
    if type(value) is Opaque:
        return {"o": value.type_name}
    raise TypeError(f"not a wire value: {type(value).__name__}")


def decode(data: Any, arrays: list[bytes], depth: int = 0) -> Any:
    """Inverse of :func:`encode`, validating everything (raises ProtocolError)."""
    if depth > MAX_DEPTH:
        raise ProtocolError("value nested too deeply")
    if data is None or type(data) in (bool, int, str):
        return data
    if type(data) is float:
        return data
    if type(data) is not dict or len(data) != 1:
        raise ProtocolError(f"unexpected value {type(data).__name__}")
    ((tag, body),) = data.items()
    if tag == "a":
        return _load_array(body, arrays)
    if tag == "f":
        if body not in ("nan", "inf", "-inf"):
            raise ProtocolError("bad float")
        return float(body)
    if tag in ("t", "l"):
        if type(body) is not list:
            raise ProtocolError("bad sequence")
        items = [decode(item, arrays, depth + 1) for item in body]
        return tuple(items) if tag == "t" else items
    if tag == "d":
        if type(body) is not list:
            raise ProtocolError("bad dict")
        result = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                raise ProtocolError("bad dict item")
            result[pair[0]] = decode(pair[1], arrays, depth + 1)
        return result
    if tag == "r":
        if type(body) is not int or body < 0:
            raise ProtocolError("bad cache reference")
        return CacheRef(body)
    if tag == "o":
        if type(body) is not str:
            raise ProtocolError("bad opaque value")
        return Opaque(body[:200])
    raise ProtocolError(f"unknown tag {tag!r}")


_DTYPE = re.compile(r"[<>|=][biufc][0-9]{1,2}")
MAX_NDIM = 32
MAX_SIDE = 1 << 40  # no axis of a real array is longer; numpy refuses shapes whose product overflows


def _load_array(body: Any, arrays: list[bytes]) -> np.ndarray | StridedView:
    """Rebuild an array from ``[index, dtype, shape]`` (``[..., "F"]``: in Fortran order;
    ``[..., "S"]``: a :class:`StridedView` of it, which the worker turns into a view for each
    call); only numeric dtypes, sizes checked."""
    if type(body) is not list or len(body) not in (3, 4) or (len(body) == 4 and body[3] not in ("F", "S")):
        raise ProtocolError("bad array reference")
    index, dtype_text, shape = body[:3]
    if type(index) is not int or not 0 <= index < len(arrays):
        raise ProtocolError("bad array reference")
    if type(dtype_text) is not str or not _DTYPE.fullmatch(dtype_text):
        raise ProtocolError(f"bad array dtype {str(dtype_text)[:40]!r}")
    try:
        dtype = np.dtype(dtype_text)
    except TypeError:
        raise ProtocolError(f"bad array dtype {dtype_text!r}") from None
    if (
        type(shape) is not list
        or len(shape) > MAX_NDIM
        or not all(type(n) is int and 0 <= n <= MAX_SIDE for n in shape)
    ):
        raise ProtocolError("bad array shape")
    blob = arrays[index]
    if math.prod(shape) * dtype.itemsize != len(blob):
        raise ProtocolError("array size does not match its shape")
    try:  # whatever numpy refuses (a shape such as [0, 2**70]) is a malformed message, not our crash
        array = np.frombuffer(blob, dtype=dtype).reshape(shape)
        if len(body) == 4 and body[3] == "S":
            return StridedView(array.astype(dtype.newbyteorder("="), copy=True))
        if len(body) == 4:
            return np.asfortranarray(array, dtype=dtype.newbyteorder("="))
        return array.astype(dtype.newbyteorder("="), copy=True)
    except (ValueError, TypeError, OverflowError, MemoryError) as exc:
        raise ProtocolError(f"bad array ({type(exc).__name__})") from None


def pack(header: dict[str, Any], arrays: Sequence[bytes]) -> bytes:
    """One message: length-prefixed JSON header (with array sizes), then the arrays."""
    header = dict(header, sizes=[len(blob) for blob in arrays])
    text = json.dumps(header, allow_nan=False).encode()
    return len(text).to_bytes(8, "big") + text + b"".join(arrays)


# --- pipe I/O with deadlines ------------------------------------------------------


def write_all(fd: int, data: bytes, deadline: float | None) -> None:
    """Write all of ``data`` before ``deadline`` (monotonic seconds; None: no deadline)."""
    view = memoryview(data)
    while view:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Deadline()
            _, ready, _ = select.select([], [fd], [], remaining)
            if not ready:
                raise Deadline()
        try:
            written = os.write(fd, view[: 1 << 20])
        except BlockingIOError:
            continue
        except (BrokenPipeError, OSError):
            raise Closed() from None
        view = view[written:]


def read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    """Read exactly ``size`` bytes before ``deadline``; :class:`Closed` at end of file."""
    chunks = []
    while size > 0:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Deadline()
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise Deadline()
        try:
            chunk = os.read(fd, min(size, 1 << 20))
        except BlockingIOError:
            continue
        except OSError:
            raise Closed() from None
        if not chunk:
            raise Closed()
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_message(
    fd: int, deadline: float | None, *, trusted: bool = False, budget: int | None = None
) -> tuple[dict, list[bytes]]:
    """Read one message; from an untrusted sender, sizes are checked before reading: the header
    against MAX_HEADER and ``budget``, then header and arrays together against ``budget``
    (see :func:`reply_budget`) and the arrays against MAX_MESSAGE, before the arrays are read."""
    length = int.from_bytes(read_exact(fd, 8, deadline), "big")
    if not trusted and length > MAX_HEADER:
        raise ProtocolError(f"header of {length} bytes")
    if not trusted and budget is not None and length > budget:
        raise ProtocolError(f"a reply of more than {length} bytes, where its request allows {budget}")
    data = read_exact(fd, length, deadline)
    try:
        header = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"bad header: {exc}") from None
    if type(header) is not dict:
        raise ProtocolError("header is not an object")
    sizes = header.get("sizes", [])
    if type(sizes) is not list or not all(type(size) is int and size >= 0 for size in sizes):
        raise ProtocolError("bad array sizes")
    if not trusted and sum(sizes) > MAX_MESSAGE:
        raise ProtocolError(f"reply of {sum(sizes)} bytes of arrays")
    if not trusted and budget is not None and length + sum(sizes) > budget:
        raise ProtocolError(f"a reply of {length + sum(sizes)} bytes, where its request allows {budget}")
    data = read_exact(fd, sum(sizes), deadline)  # every array in one read: a batch holds hundreds of small ones
    view, arrays, start = memoryview(data), [], 0
    for size in sizes:
        arrays.append(bytes(view[start : start + size]))
        start += size
    return header, arrays
