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
import io
import multiprocessing
import os
import sys
import time
from typing import Any

import numpy as np
import torch

__all__ = ["MEMORY", "Answers", "Stopped"]

MEMORY = 2 * 2**30
"""Bytes of memory the code of one exercise may allocate (enforced on Linux)."""
# Modules every exercise process starts with: imported once, in the server that forks them.
_PRELOAD = ["torch", "numpy", "matplotlib.pyplot", "coursepkg.grading"]
_SERVER = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
if os.name == "posix":
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
    """Return ``value`` made of tensors, numbers, strings and containers, to send it back.

    NumPy arrays become tensors and NumPy scalars numbers; anything else becomes a
    ``{"__foreign__": type name}`` marker, so nothing of the student's own types
    (or their methods) ever runs in the grader.
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
    if type(value) in (tuple, list):
        return type(value)(_portable(item) for item in value)
    return {"__foreign__": type(value).__name__}


def _dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def _loads(data: bytes) -> Any:
    """Read what :func:`_dumps` wrote: only tensors, numbers, strings and containers load."""
    value = torch.load(io.BytesIO(data), weights_only=True)

    def restore(item: Any) -> Any:
        if isinstance(item, dict) and set(item) == {"__foreign__"}:
            return type(str(item["__foreign__"]), (), {})()
        if type(item) in (tuple, list):
            return type(item)(restore(x) for x in item)
        return item

    return restore(value)


def _describe(error: BaseException) -> tuple[str, str]:
    try:
        return type(error).__name__, " ".join(str(error).split())[:300]
    except Exception:  # its __str__ raised
        return type(error).__name__, ""


def _serve(connection: Any, cells: list[str], arguments: list[str]) -> None:
    """Run an exercise's cells, then call the student's functions on request, forever."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    torch.set_num_threads(1)
    _limit_memory()
    namespace: dict[str, Any] = {"__name__": "__main__"}
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

    def _receive(self) -> Any:
        if not self.connection.poll(max(self.deadline - time.monotonic(), 0)):
            raise Stopped(f"your code did not finish within {self.seconds:.0f} s")
        try:
            return _loads(self.connection.recv_bytes())
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
        kind, values = self._receive()
        if kind == "missing":
            raise Stopped(f"your answer could not be found: {values}")
        return [
            (lambda *args, k=k: self._call(k, args)) if kind == "function" else value
            for k, (kind, value) in enumerate(values)
        ]

    def _call(self, index: int, args: tuple) -> Any:
        self.connection.send_bytes(_dumps((index, _portable(args))))
        reply = self._receive()
        if reply[0] == "stopped":
            raise Stopped(f"your code raised {reply[1]}" + (f": {reply[2]}" if reply[2] else ""))
        if reply[0] == "raised":
            raise _rebuilt(reply[1], reply[2])
        for given, after in zip(args, reply[2], strict=False):
            _write_back(given, after)
        return reply[1]

    def close(self) -> None:
        """End the process, whatever it is doing."""
        self.process.kill()
        self.process.join()
        self.connection.close()
