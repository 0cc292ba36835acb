"""A student's answers to one exercise, held in a process of their own.

:class:`Answers` starts a fresh process (forked from a server that has imported
PyTorch once), runs the exercise's cells there with a memory limit and its
output thrown away, and hands back the answers the checker cell names: a value
as a copy, a function as a stand-in that calls the student's function in that
process. Only tensors, numbers, strings, tuples and lists cross, one way or the
other; the student's own types arrive as empty objects of the same name. Out of
time, an exit, or the process's death raise :class:`Stopped`, which checks do
not catch.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import multiprocessing
import numbers
import os
import select
import signal
import struct
import sys
import time
from typing import Any

import numpy as np
import torch

__all__ = ["MEMORY", "Answers", "Stopped"]

MEMORY = 2 * 2**30
"""Bytes of memory the code of one exercise may allocate (enforced on Linux)."""
_LARGEST = 64 * 2**20  # bytes of a reply, and
_ITEMS = 100_000  # items in it, beyond which the grader refuses to read it
_POSIX = os.name == "posix"
# Modules every exercise process starts with: imported once, in the server that forks them.
_PRELOAD = ["torch", "numpy", "matplotlib.pyplot", "coursepkg.grading"]
_SERVER = multiprocessing.get_context("forkserver" if _POSIX else "spawn")
if _POSIX:
    _SERVER.set_forkserver_preload(_PRELOAD)


def _limit_memory() -> None:
    """Let this process allocate at most :data:`MEMORY` more bytes (Linux only)."""
    if sys.platform != "linux":
        return
    import resource

    with open("/proc/self/statm") as handle:
        size = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (size + MEMORY, size + MEMORY))


def _portable(value: Any) -> Any:
    """Return ``value`` as tensors, numbers, strings, tuples and lists, to send it back.

    Anything else becomes a ``{"__foreign__": type name}`` marker: no student's type runs.
    """
    try:
        if isinstance(value, torch.Tensor):
            return value.as_subclass(torch.Tensor).detach().clone()
        if isinstance(value, np.ndarray) and value.dtype != object:
            return torch.from_numpy(value.copy())
    except Exception:  # a tensor subclass that refuses: sent as foreign
        return {"__foreign__": type(value).__name__}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or type(value) in (bool, int, float, complex, str):
        return value
    if isinstance(value, numbers.Real):  # a Fraction, a Decimal
        return float(value)
    if isinstance(value, (tuple, list)):  # a named tuple, torch.Size: plain ones
        return (list if isinstance(value, list) else tuple)(_portable(item) for item in value)
    return {"__foreign__": type(value).__name__}


def _dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def _loads(data: bytes) -> Any:
    """Read what :func:`_dumps` wrote; raise ValueError past ``_ITEMS`` items (shared ones too)."""
    value = torch.load(io.BytesIO(data), weights_only=True)
    count = 0

    def restore(item: Any) -> Any:
        nonlocal count
        count += 1
        if count > _ITEMS:
            raise ValueError(f"more than {_ITEMS} items")
        if isinstance(item, dict) and set(item) == {"__foreign__"}:
            name = str(item["__foreign__"])[:100]
            return type(name, (), {"__repr__": lambda self: f"a {name} object"})()
        if type(item) in (tuple, list):
            return type(item)(restore(x) for x in item)
        return item

    return restore(value)


def _wait(fd: int, write: bool, deadline: float, seconds: float) -> None:
    ready = ([], [fd]) if write else ([fd], [])
    if not any(select.select(*ready, [], max(deadline - time.monotonic(), 0))):
        raise Stopped(f"your code did not finish within {seconds:.0f} s")


def _read(fd: int, size: int, deadline: float, seconds: float) -> bytes:
    """Read ``size`` bytes from ``fd`` by ``deadline``; raise :class:`EOFError` at its end."""
    chunks, left = [], size
    while left:
        _wait(fd, False, deadline, seconds)
        chunk = os.read(fd, min(left, 2**20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write(fd: int, data: bytes, deadline: float, seconds: float) -> None:
    """Write ``data`` to ``fd`` by ``deadline``, framed as :meth:`Connection.send_bytes` does."""
    view = memoryview(struct.pack("!i", len(data)) + data)
    while view:
        _wait(fd, True, deadline, seconds)
        view = view[os.write(fd, view[: 2**16]) :]


def _describe(error: BaseException) -> tuple[str, str]:
    try:
        return type(error).__name__, " ".join(str(error).split())[:300]
    except Exception:  # its __str__ raised
        return type(error).__name__, ""


class _Shell:
    """What ``get_ipython()`` returns here: IPython's magics (``%matplotlib``) do nothing."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def _serve(connection: Any, cells: list[str], arguments: list[str]) -> None:
    """Run an exercise's cells, then call the student's functions on request, forever."""
    if _POSIX:
        os.setsid()  # a group of its own, which the grader ends with whatever it started
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    torch.set_num_threads(1)
    _limit_memory()
    namespace: dict[str, Any] = {"__name__": "__main__", "get_ipython": _Shell}
    raised = None
    for cell in cells:
        try:
            exec(compile(cell, "<cell>", "exec"), namespace)
        except BaseException as error:  # a cell that raises; the next ones still run
            raised = raised or _describe(error)
    answers, values = [], []
    for expression in arguments:
        try:
            value = eval(expression, namespace)
        except BaseException as error:
            name, text = _describe(error)
            cause = f" (a cell of the exercise raised {': '.join(raised)})" if raised else ""
            connection.send_bytes(_dumps(("missing", f"`{expression}`: {name}: {text}{cause}")))
            return
        answers.append(value)
        values.append(("function", None) if callable(value) else ("value", _portable(value)))
    connection.send_bytes(_dumps(("answers", values)))
    while True:
        index, args = _loads(connection.recv_bytes())
        try:
            result = answers[index](*args)
            reply = _dumps(("returned", _portable(result), _portable(args)))
        except Exception as error:
            reply = _dumps(("raised", *_describe(error)))
        except BaseException as error:  # SystemExit, KeyboardInterrupt: the exercise stops
            reply = _dumps(("stopped", *_describe(error)))
        connection.send_bytes(reply)


# --- the grader's side --------------------------------------------------------------------


_GARBLED = "the process running your code sent the grader something it cannot read"


class Stopped(BaseException):
    """The student's process broke off: out of time, dead, or exited. Checks do not catch it."""


def _rebuilt(name: str, message: str) -> Exception:
    """Return an exception of the student's type name and message, for the check to report."""
    base = getattr(builtins, name, None)
    base = base if isinstance(base, type) and issubclass(base, Exception) else Exception
    return type(name, (base,), {"__str__": lambda self: message})()


def _write_back(given: Any, after: Any) -> None:
    """Make the arguments the check passed look as the student's function left them."""
    if isinstance(given, torch.Tensor) and isinstance(after, torch.Tensor):
        with torch.no_grad():
            given.set_(after.to(given.dtype))
    elif isinstance(given, list) and isinstance(after, list):
        given[:] = after


class Answers:
    """The process that runs one exercise's cells, and the answers they define.

    Parameters
    ----------
    cells : list of str
        Python sources, run in order; one that raises does not stop the next.
    arguments : list of str
        The expressions of the checker cell's arguments (``["my_dropout"]``).
    seconds : float
        Time for the cells and every call of the student's functions together.
    """

    def __init__(self, cells: list[str], arguments: list[str], seconds: float):
        self.connection, child = _SERVER.Pipe()
        self.process = _SERVER.Process(target=_serve, args=(child, cells, arguments), daemon=True)
        self.process.start()  # the first one also starts the server that forks them
        child.close()
        self.seconds, self.deadline = seconds, time.monotonic() + seconds
        self.arguments = len(arguments)

    def _send(self, message: Any) -> None:
        if not _POSIX:  # no select on Windows' pipes: no time limit on sending
            return self.connection.send_bytes(_dumps(message))
        try:
            _write(self.connection.fileno(), _dumps(message), self.deadline, self.seconds)
        except OSError:  # the process ended: the next read says how
            pass

    def _receive(self) -> Any:
        """Return the next message, a tuple of the student's process, whatever it sent."""
        args = (self.deadline, self.seconds)
        try:
            if not _POSIX:
                return _loads(self.connection.recv_bytes())
            fd = self.connection.fileno()
            (size,) = struct.unpack("!i", _read(fd, 4, *args))
            if not 0 <= size <= _LARGEST:
                raise Stopped(f"your answer is too large to check (over {_LARGEST >> 20} MB)")
            reply = _loads(_read(fd, size, *args))
            if not isinstance(reply, tuple) or not reply or not isinstance(reply[0], str):
                raise ValueError("not a message")
            return reply
        except EOFError:
            self.process.join(1)
            raise Stopped(
                f"the process running your code stopped (exit code {self.process.exitcode}); "
                "did it exit, crash or run out of memory?"
            ) from None
        except Exception as error:
            raise Stopped(f"your answer could not be read back ({_describe(error)[0]})") from None

    def values(self) -> list[Any]:
        """Return the checker's arguments: copies of values, stand-ins for functions."""
        match self._receive():
            case ("missing", str(why)):
                raise Stopped(f"your answer could not be found: {why[:400]}")
            case ("answers", list(values)) if len(values) == self.arguments and all(
                isinstance(v, tuple) and len(v) == 2 and v[0] in ("function", "value")
                for v in values
            ):
                return [
                    (lambda *args, k=k: self._call(k, args)) if kind == "function" else value
                    for k, (kind, value) in enumerate(values)
                ]
        raise Stopped(_GARBLED)

    def _call(self, index: int, args: tuple) -> Any:
        self._send((index, _portable(args)))
        match self._receive():
            case ("stopped", str(name), str(text)):
                raise Stopped(
                    f"your code raised {name[:100]}" + (f": {text[:300]}" if text else "")
                )
            case ("raised", str(name), str(text)):
                raise _rebuilt(name[:100], text[:300])
            case ("returned", result, tuple(after) | list(after)):
                for given, changed in zip(args, after, strict=False):
                    _write_back(given, changed)
                return result
        raise Stopped(_GARBLED)

    def close(self) -> None:
        """End the process and any it started, whatever they are doing."""
        if _POSIX and self.process.pid:
            with contextlib.suppress(OSError):  # the group has already ended
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.kill()
        self.process.join()
        self.connection.close()
