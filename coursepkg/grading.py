"""Grade a student's chapter notebook, exercise by exercise, in processes it cannot reach.

The exercises and their points come from the *reference* chapter, not from the
submission: every checker cell of the book reads ``ex.check_name(answer);  # 2
points``. For each of them the grader takes the submission's cells of that
exercise (from its heading to its checker cell) and, from the cells before, only
the statements they need: the imports and definitions of the names they use,
found by name, not the chapter's training runs. These run in a fresh process
of their own, with a share of the time limit and a memory limit; the reference
check runs in the grader's process and calls the student's function through a
pipe, with copies of its arguments. Whatever the submission does (raise, exit,
loop, exhaust memory, patch the checkers or ``print``, forge replies) touches only
its own process: that exercise scores 0 with the reason, and the grading goes on.
(Its code runs as the grader's user, though: see the instructors' guide.)
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import re
import symtable
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext
import nbformat
from IPython.core.inputtransformer2 import TransformerManager

from coursepkg.answers import Answers, Stopped
from coursepkg.editions import CHECKER, chapter_paths

__all__ = ["Check", "ExerciseScore", "checks_of", "grade", "prelude"]

_HEADING = re.compile(r"^(\*\*Exercise:|```\{exercise\})", re.MULTILINE)


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


_UNREADABLE = (SyntaxError, ValueError, RecursionError, MemoryError)  # what parsing may raise


@functools.lru_cache(maxsize=4096)
def _python(source: str) -> str:
    """Return a cell's code as plain Python (IPython's ``%magic`` lines become calls)."""
    if len(source) > 100_000:  # too slow to transform, and no real answer is that long
        return source
    return TransformerManager().transform_cell(source)


def _names(source: str) -> tuple[set[str], set[str], set[str]]:
    """Return the names a statement reads as it runs, those its functions read, those it binds.

    A function's body reads its globals when it is called, so those names take
    the values they have then. Assigning an item or attribute of a name binds it
    anew (``config["lr"] = 0.1``); a star import binds ``"*"``.
    """
    try:
        top = symtable.symtable(source, "<cell>", "exec")
        node = ast.parse(source).body[0]
    except _UNREADABLE:
        return set(), set(), set()
    binds = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
        binds.add("*")
    for target in getattr(node, "targets", [getattr(node, "target", None)]):
        while isinstance(target, (ast.Subscript, ast.Attribute)):
            target = target.value
        if isinstance(target, ast.Name):
            binds.add(target.id)

    def later(table: symtable.SymbolTable) -> set[str]:
        names = {s.get_name() for s in table.get_symbols() if s.is_referenced() and s.is_global()}
        return names.union(*(later(child) for child in table.get_children()))

    now = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    return now, set().union(*(later(child) for child in top.get_children())), binds


def _statements(source: str) -> list[str]:
    """Return the top-level statements of a cell as sources; none if it is not valid Python."""
    try:
        return [ast.unparse(node) for node in ast.parse(source).body]
    except _UNREADABLE:
        return []


def prelude(earlier: Sequence[str], answer: Sequence[str]) -> list[str]:
    """Return the statements of the ``earlier`` cells that the ``answer`` cells need, in order.

    Each name the answer reads brings the last statement before it that binds the
    name, and so on for the names that statement reads: those it reads as it runs,
    from before it; those its functions read, from before it and from before the
    answer, since they read them when called. Star imports are always kept.
    Statements that bind nothing needed (training runs, plots, prints) are left out.
    """
    statements = [s for cell in earlier for s in _statements(cell)]
    facts = [_names(s) for s in statements]
    end = len(statements)
    wanted, bound = [], set()
    for statement in (s for cell in answer for s in _statements(cell)):
        now, nested, binds = _names(statement)
        wanted += [(name, end) for name in (now | nested) - bound]
        bound |= binds
    kept = {i for i, (_, _, binds) in enumerate(facts) if "*" in binds}
    while wanted:
        name, before = wanted.pop()
        where = (i for i in range(before - 1, -1, -1) if name in facts[i][2])
        i = next(where, None)
        if i is None or i in kept:
            continue
        kept.add(i)
        now, nested, _ = facts[i]
        wanted += [(n, i) for n in now | nested] + [(n, end) for n in nested]
    return [statements[i] for i in sorted(kept)]


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


def _grade_one(check: Check, function: Any, cells: tuple | None, seconds: float) -> tuple:
    """Return (status, feedback) of one exercise."""
    if cells is None:
        return "error", "its checker cell is missing from the submission, so no answer was found"
    earlier, own = cells
    arguments = [ast.unparse(a) for a in ast.parse(check.call, mode="eval").body.args]
    exercise = Answers([*prelude(earlier, [*own, *arguments]), *own], arguments, seconds)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            feedback = function(*exercise.values())
        return feedback.status, feedback.message
    except Stopped as reason:
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
    chapters = {p.stem: p for p in chapter_paths(root)}
    if not isinstance(chapter, str) or chapter not in chapters:  # never a path of the student's
        raise ValueError(f"{path}: its metadata names no chapter of the course: {chapter!r}")
    reference = jupytext.read(chapters[chapter]).cells
    reference = [_python(c.source) for c in reference if c.cell_type == "code"]
    checks = checks_of(chapters[chapter])
    namespace: dict[str, Any] = {}  # the check functions, imported as the chapter imports them
    for statement in prelude(reference, [check.call.split("(")[0] for check in checks]):
        exec(statement, namespace)
    checkers = [i for i, cell in enumerate(notebook.cells) if _is_checker(cell)]
    found: dict[str, list[int]] = {}
    for i in checkers:
        found.setdefault(CHECKER.search(notebook.cells[i].source)["name"], []).append(i)
    scores, seen = [], {}
    for check in checks:
        k = seen[check.name] = seen.get(check.name, -1) + 1
        place = found.get(check.name, [])[k : k + 1]
        cells = _exercise_cells(notebook.cells, place[0]) if place else None
        function = eval(check.call.split("(")[0], namespace)
        status, message = _grade_one(check, function, cells, timeout / len(checks))
        points = check.points if status == "passed" else 0
        scores.append(ExerciseScore(check.name, status, points, check.points, message))
    return scores
