"""Grade a student's chapter notebook, exercise by exercise, in processes it cannot reach.

The exercises and their points come from the *reference* chapter, not from the
submission: every checker cell of the book reads ``ex.check_name(answer);  # 2
points``. For each of them the grader takes the submission's cells of that
exercise (from its heading to its checker cell) and, from the cells before, only
the statements they need: the imports and definitions of the names they use,
found by name, never the chapter's training runs. These run in a fresh process
of their own, with a share of the time limit and a memory limit; the reference
check runs in the grader's process and calls the student's function through a
pipe, with copies of its arguments. Whatever the submission does (raise, exit,
loop, exhaust memory, patch the checkers or ``print``) touches only its own
process: that exercise scores 0 with the reason, and the grading goes on.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import multiprocessing
import os
import re
import symtable
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import numpy as np
import torch
from IPython.core.inputtransformer2 import TransformerManager

from coursepkg.editions import CHECKER

__all__ = ["MEMORY", "Check", "ExerciseScore", "checks_of", "grade", "prelude"]

MEMORY = 2 * 2**30
"""Bytes of memory the code of one exercise may allocate (enforced on Linux)."""
_HEADING = re.compile(r"^(\*\*Exercise:|```\{exercise\})", re.MULTILINE)
# Modules every exercise process starts with: imported once, in the server that forks them.
_PRELOAD = ["torch", "numpy", "matplotlib.pyplot", "coursepkg.grading"]
_SERVER = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
if os.name == "posix":
    _SERVER.set_forkserver_preload(_PRELOAD)


@dataclass(frozen=True)
class Check:
    """One checked exercise of a chapter: the checker call and its points."""

    name: str
    call: str
    points: int


@dataclass(frozen=True)
class ExerciseScore:
    """The result of one exercise for one submission."""

    exercise: str
    status: str
    points: int
    max_points: int
    feedback: str


def checks_of(chapter: str | Path) -> list[Check]:
    """Return the checked exercises of a reference chapter (a MyST ``.md`` notebook)."""
    notebook = jupytext.read(Path(chapter))
    return [
        Check(m["name"], m["call"], int(m["points"]))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for m in CHECKER.finditer(cell.source)
    ]


# --- what an exercise needs -------------------------------------------------------------


def _python(source: str) -> str:
    """Return a cell's code as plain Python (IPython's ``%magic`` lines become calls)."""
    return TransformerManager().transform_cell(source)


def _names(source: str) -> tuple[set[str], set[str]]:
    """Return the global names that code reads (in any of its scopes) and those it binds."""
    top = symtable.symtable(source, "<cell>", "exec")
    binds = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}

    def reads(table: symtable.SymbolTable) -> set[str]:
        module = table.get_type() == "module"
        names = {
            s.get_name()
            for s in table.get_symbols()
            if s.is_referenced() and (module or s.is_global())
        }
        return names.union(*(reads(child) for child in table.get_children()))

    return reads(top) - set(dir(builtins)), binds


def _statements(source: str) -> list[str]:
    """Return the top-level statements of a cell as sources; none if it is not valid Python."""
    try:
        return [ast.unparse(node) for node in ast.parse(source).body]
    except SyntaxError:
        return []


def prelude(earlier: Sequence[str], answer: Sequence[str]) -> str:
    """Return the statements of the ``earlier`` cells that the ``answer`` cells need, in order.

    A statement is kept when it binds a name that a kept statement or the answer
    reads before binding it: the last binding before the answer, as running the
    cells in order would give. Statements that bind nothing needed (training runs,
    plots, prints) are left out.
    """
    needed: set[str] = set()
    bound: set[str] = set()
    for statement in (s for cell in answer for s in _statements(cell)):
        reads, binds = _names(statement)
        needed |= reads - bound
        bound |= binds
    kept = []
    for statement in reversed([s for cell in earlier for s in _statements(cell)]):
        reads, binds = _names(statement)
        if binds & needed:
            kept.append(statement)
            needed = (needed - binds) | reads
    return "\n".join(reversed(kept))


# --- the student's process ---------------------------------------------------------------


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
            connection.send_bytes(_dumps(("missing", f"{expression}: {name}: {text}{cause}")))
            return
        answers.append(value)
        values.append(("function", None) if callable(value) else ("value", _portable(value)))
    connection.send_bytes(_dumps(("answers", values)))
    while True:
        index, args = _loads(connection.recv_bytes())
        try:
            result = answers[index](*args)
            reply = ("returned", _portable(result), _portable(args))
        except Exception as error:
            reply = ("raised", *_describe(error))
        except BaseException as error:  # SystemExit, KeyboardInterrupt: the exercise stops
            reply = ("stopped", *_describe(error))
        connection.send_bytes(_dumps(reply))


# --- the grader's side --------------------------------------------------------------------


class _Stopped(BaseException):
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


class _Exercise:
    """The process that runs one exercise's code, and the student's answers it holds."""

    def __init__(self, cells: list[str], arguments: list[str], seconds: float):
        self.seconds, self.deadline = seconds, time.monotonic() + seconds
        self.connection, child = _SERVER.Pipe()
        self.process = _SERVER.Process(target=_serve, args=(child, cells, arguments), daemon=True)
        self.process.start()
        child.close()

    def receive(self) -> Any:
        if not self.connection.poll(max(self.deadline - time.monotonic(), 0)):
            raise _Stopped(f"your code did not finish within {self.seconds:.0f} s")
        try:
            return _loads(self.connection.recv_bytes())
        except EOFError:
            self.process.join(1)
            raise _Stopped(
                f"the process running your code stopped (exit code {self.process.exitcode}); "
                "did it exit, crash or run out of memory?"
            ) from None
        except Exception as error:
            raise _Stopped(f"your answer could not be read back ({_describe(error)[0]})") from None

    def answers(self) -> list[Any]:
        kind, values = self.receive()
        if kind == "missing":
            raise _Stopped(f"your answer is not defined: {values}")
        return [
            (lambda *args, k=k: self.call(k, args)) if kind == "function" else value
            for k, (kind, value) in enumerate(values)
        ]

    def call(self, index: int, args: tuple) -> Any:
        self.connection.send_bytes(_dumps((index, _portable(args))))
        reply = self.receive()
        if reply[0] == "stopped":
            raise _Stopped(f"your code raised {reply[1]}" + (f": {reply[2]}" if reply[2] else ""))
        if reply[0] == "raised":
            raise _rebuilt(reply[1], reply[2])
        for given, after in zip(args, reply[2], strict=False):
            _write_back(given, after)
        return reply[1]

    def close(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()


def _exercise_cells(cells: list[nbformat.NotebookNode], checker: int) -> tuple[list, list]:
    """Split the code before cell ``checker`` into the cells before its exercise and its own."""
    start = next(
        (i for i in range(checker - 1, -1, -1) if _is_heading(cells[i])),
        max((i for i in range(checker) if _is_checker(cells[i])), default=-1),
    )
    code = [i for i in range(checker) if cells[i].cell_type == "code" and not _is_checker(cells[i])]
    sources = {i: _python(cells[i].source) for i in code}
    return [sources[i] for i in code if i < start], [sources[i] for i in code if i > start]


def _is_heading(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "markdown" and bool(_HEADING.search(cell.source))


def _is_checker(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and bool(CHECKER.search(cell.source))


def _checker_function(call: str, reference: list[str]) -> Any:
    """Return the check function of ``call``, imported as the ``reference`` cells import it."""
    function = ast.unparse(ast.parse(call, mode="eval").body.func)
    namespace: dict[str, Any] = {}
    exec(prelude(reference, [function]), namespace)
    return eval(function, namespace)


def _grade_one(check: Check, function: Any, cells: tuple | None, seconds: float) -> tuple:
    """Return (status, feedback) of one exercise."""
    if cells is None:
        return "error", "its checker cell is missing from the submission, so no answer was found"
    earlier, own = cells
    arguments = [ast.unparse(a) for a in ast.parse(check.call, mode="eval").body.args]
    exercise = _Exercise([prelude(earlier, own), *own], arguments, seconds)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            feedback = function(*exercise.answers())
        return feedback.status, feedback.message
    except _Stopped as reason:
        return "error", str(reason)
    finally:
        exercise.close()


def grade(
    submission: str | Path, *, root: str | Path = ".", timeout: float = 60
) -> list[ExerciseScore]:
    """Score each checked exercise of a student's notebook.

    Parameters
    ----------
    submission : str or pathlib.Path
        A student's ``.ipynb``, made from the student edition (its metadata
        names the chapter).
    root : str or pathlib.Path, default "."
        The course's root, where ``notebooks/<chapter>.md`` holds the reference.
    timeout : float, default 60
        Seconds for the whole submission, shared equally by its exercises: each
        exercise's code (its cells, then every call the check makes) must finish
        within its share, or it scores 0.

    Returns
    -------
    list of ExerciseScore
        One per checked exercise, in the chapter's order.
    """
    path, root = Path(submission), Path(root)
    notebook = nbformat.read(path, as_version=4)
    chapter = notebook.metadata.get("coursepkg", {}).get("chapter")
    if not chapter:
        raise ValueError(f"{path}: not a student-edition notebook (no coursepkg.chapter metadata)")
    reference = jupytext.read(root / "notebooks" / f"{chapter}.md").cells
    reference = [_python(c.source) for c in reference if c.cell_type == "code"]
    checks = checks_of(root / "notebooks" / f"{chapter}.md")
    checkers = [i for i, cell in enumerate(notebook.cells) if _is_checker(cell)]
    found: dict[str, list[int]] = {}
    for i in checkers:
        found.setdefault(CHECKER.search(notebook.cells[i].source)["name"], []).append(i)
    scores, seen = [], {}
    for check in checks:
        k = seen[check.name] = seen.get(check.name, -1) + 1
        place = found.get(check.name, [])[k : k + 1]
        cells = _exercise_cells(notebook.cells, place[0]) if place else None
        function = _checker_function(check.call, reference)
        status, message = _grade_one(check, function, cells, timeout / len(checks))
        points = check.points if status == "passed" else 0
        scores.append(ExerciseScore(check.name, status, points, check.points, message))
    return scores
