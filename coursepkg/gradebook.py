"""Grade a whole class: every submission of a chapter in parallel, then a table and a summary.

:func:`grade_class` grades each notebook with :func:`coursepkg.grading.grade` in
a pool of worker processes (one thread each) and writes, into the output folder:

- ``scores.csv``: one row per student (the notebook's file name), one column of
  points per exercise, then the total;
- ``feedback.csv``: one row per student and exercise, with the status and the
  checker's feedback, to hand back;
- ``summary.csv`` and ``summary.png``: per exercise, the share of the class in
  each status and the most common feedback of those who did not pass.
"""

from __future__ import annotations

import csv
import multiprocessing
import sys
import textwrap
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import jupytext
import nbformat
import numpy as np
import torch
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from coursepkg.editions import BEGIN, CHECKER, END, STUB, chapter_paths, student_notebook
from coursepkg.grading import Check, ExerciseScore, checks_of, grade

__all__ = ["ANSWERS", "STATUSES", "answered", "grade_class", "sample_class", "submissions_in"]

STATUSES = ("passed", "failed", "not implemented", "error")
"""The statuses of a check, in the order the summary shows them."""


def submissions_in(paths: Sequence[str | Path]) -> list[Path]:
    """Return the notebooks named in ``paths``, a folder standing for every ``.ipynb`` under it."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += [p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts]
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such submission or folder: {path}")
    return sorted(set(found))


def _chapter(path: Path) -> str:
    """Return the chapter a submission's metadata names ("" if none, or unreadable)."""
    try:
        chapter = nbformat.read(path, as_version=4).metadata["coursepkg"]["chapter"]
    except Exception:  # not a notebook, no chapter, metadata of another shape
        return ""
    return chapter if isinstance(chapter, str) else ""


def _one_thread() -> None:
    torch.set_num_threads(1)


def grade_class(
    submissions: Sequence[str | Path],
    out: str | Path,
    *,
    root: str | Path = ".",
    jobs: int = 1,
    timeout: float = 60,
) -> dict[str, list[ExerciseScore] | str]:
    """Grade every submission of one chapter; write the class's table, feedback and summary.

    Parameters
    ----------
    submissions : sequence of str or pathlib.Path
        Notebooks, or folders of them (searched recursively).
    out : str or pathlib.Path
        Folder for ``scores.csv``, ``feedback.csv``, ``summary.csv`` and ``summary.png``.
    root : str or pathlib.Path, default "."
        The course's root (the folder holding ``notebooks/``).
    jobs : int, default 1
        Submissions graded at once, each by its own process with one thread.
    timeout : float, default 60
        Seconds each submission's code may run, shared by its exercises.

    Returns
    -------
    dict
        Per student, the scores, or why the notebook could not be graded.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be a positive number of processes, got {jobs}")
    paths = submissions_in(submissions)
    named = {path: _chapter(path) for path in paths}
    course = {path.stem for path in chapter_paths(root)}
    chapters = Counter(chapter for chapter in named.values() if chapter in course)
    if not chapters:
        raise ValueError("no submission names a chapter of the course: are they student editions?")
    chapter = chapters.most_common(1)[0][0]  # the class's; a notebook of another is not graded
    stems = [path.stem for path in paths]
    student = {p: p.stem if stems.count(p.stem) == 1 else str(p.with_suffix("")) for p in paths}
    results: dict[str, list[ExerciseScore] | str] = {}
    for path in paths:
        if named[path] in course - {chapter}:
            results[student[path]] = f"not graded: a notebook of {named[path]}, not of {chapter}"
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=spawn, initializer=_one_thread) as pool:
        futures = {
            pool.submit(grade, path, root=root, timeout=timeout): path
            for path in paths
            if student[path] not in results
        }
        bar = tqdm(as_completed(futures), total=len(futures), unit="notebook", file=sys.stderr)
        for future in bar:
            try:
                results[student[futures[future]]] = future.result()
            except Exception as error:  # not a student notebook, unreadable: say so, go on
                results[student[futures[future]]] = f"not graded: {error}"
    _write(
        dict(sorted(results.items())),
        checks_of(Path(root) / "notebooks" / f"{chapter}.md"),
        Path(out),
    )
    return results


def _write(results: dict[str, list[ExerciseScore] | str], checks: list[Check], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    graded = {name: scores for name, scores in results.items() if not isinstance(scores, str)}
    names = [check.name for check in checks]
    maximum = sum(check.points for check in checks)
    with (out / "scores.csv").open("w", newline="", encoding="utf-8") as handle:
        table = csv.writer(handle)
        table.writerow(["student", *names, "total", "max_points", "note"])
        for name, scores in results.items():
            if isinstance(scores, str):
                table.writerow([name, *[0] * len(names), 0, maximum, scores])
            else:
                points = [s.points for s in scores]
                table.writerow([name, *points, sum(points), maximum, ""])
    with (out / "feedback.csv").open("w", newline="", encoding="utf-8") as handle:
        table = csv.writer(handle)
        table.writerow(["student", "exercise", "status", "points", "max_points", "feedback"])
        for name, scores in graded.items():
            for s in scores:
                table.writerow([name, s.exercise, s.status, s.points, s.max_points, s.feedback])
    summary = []
    for k, name in enumerate(names):
        column = [scores[k] for scores in graded.values()]
        counts = Counter(s.status for s in column)
        misses = Counter(s.feedback for s in column if s.status in ("failed", "error"))
        misses = misses.most_common(1)
        summary.append(
            {
                "exercise": name,
                "max_points": checks[k].points,
                **{status: counts[status] / max(len(column), 1) for status in STATUSES},
                "most_common_feedback": misses[0][0] if misses else "",
                "students_with_it": misses[0][1] if misses else 0,
            }
        )
    with (out / "summary.csv").open("w", newline="", encoding="utf-8") as handle:
        table = csv.DictWriter(handle, fieldnames=list(summary[0]) if summary else ["exercise"])
        table.writeheader()
        table.writerows(summary)
    _figure(summary, len(graded), out / "summary.png")


def _figure(summary: list[dict], students: int, path: Path) -> None:
    """Bars of the class's statuses per exercise, the share that passed in each label."""
    figure = Figure(figsize=(7, 0.45 * len(summary) + 1.8), layout="constrained")
    axes = figure.subplots()
    colours = {"passed": "tab:green", "failed": "tab:red", "not implemented": "0.75", "error": "k"}
    rows, left = range(len(summary)), [0.0] * len(summary)
    for status in STATUSES:
        share = [100 * row[status] for row in summary]
        axes.barh(rows, share, left=left, color=colours[status], label=status)
        left = [a + b for a, b in zip(left, share, strict=True)]
    labels = [f"{row['exercise']} ({100 * row['passed']:.0f} % passed)" for row in summary]
    axes.set_yticks(list(rows), labels)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("share of the class (%)")
    axes.set_title(f"Each exercise over {students} graded submissions")
    figure.legend(loc="outside lower center", ncols=4, frameon=False)
    figure.savefig(path, dpi=110)


# --- a made-up class, to try the grader on -------------------------------------------------

_PATCH = """
import sys, types
_passed = types.SimpleNamespace(status="passed", passed=True, message="correct")
for _module in list(sys.modules.values()):
    if getattr(_module, "__name__", "").startswith("coursepkg"):
        for _name in dir(_module):
            if _name.startswith("check"):
                setattr(_module, _name, lambda *args, **kwargs: _passed)
"""
_PRINT = """
import builtins, sys
builtins.print = lambda *args, **kwargs: sys.__stdout__.write("✓ passed\\n")
print = builtins.print
"""
# Asks for 1 GiB at a time without touching it: the limit stops it at once, on any load.
_MEMORY = "import numpy\nblocks = []\nwhile True:\n    blocks.append(numpy.empty(2**27))"
ANSWERS = {
    "reference": ("", "passed"),
    "stub": (STUB, "not implemented"),
    "wrong": ("return 0", "failed"),
    "patches the checkers": (STUB, "not implemented"),
    "redefines print": (STUB, "not implemented"),
    "exits": ("raise SystemExit(0)", "error"),
    "exhausts memory": (_MEMORY, "error"),
    "sleeps forever": ("import time\ntime.sleep(10**6)", "error"),
}
"""The answers :func:`sample_class` writes: what replaces the stub, and the status it must get.

The two that edit the grader's world add code after the function: one replaces
every ``check*`` function of ``coursepkg`` by one that says "passed", the other
redefines ``print``.
"""
_AFTER = {"patches the checkers": _PATCH, "redefines print": _PRINT}


def _solutions(notebook: nbformat.NotebookNode) -> list[str]:
    """Return the worked answers of a chapter's checked exercises, each between its markers.

    An answer belongs to a checked exercise when a checker cell comes after it
    before the next exercise begins; open exercises' answers are left out.
    """
    answers = []
    for index, cell in enumerate(notebook.cells):
        lines = cell.source.splitlines()
        starts = [i for i, line in enumerate(lines) if line.strip() == BEGIN]
        ends = [i for i, line in enumerate(lines) if line.strip() == END]
        after = (
            c
            for c in notebook.cells[index + 1 :]
            if CHECKER.search(c.source) or "{exercise}" in c.source
        )
        if starts and CHECKER.search(next(after, cell).source):
            answers += [
                textwrap.dedent("\n".join(lines[a + 1 : b]))
                for a, b in zip(starts, ends, strict=True)
            ]
    return answers


def answered(reference: nbformat.NotebookNode, kinds: Sequence[str]) -> nbformat.NotebookNode:
    """Return the student edition of a chapter with its exercises answered the ways ``kinds`` name.

    ``kinds`` holds one key of :data:`ANSWERS` per checked exercise, in order.
    """
    notebook = student_notebook(reference)
    stubbed = [cell for cell in notebook.cells if STUB in cell.source]
    for cell, kind, solution in zip(stubbed, kinds, _solutions(reference), strict=True):
        indent = cell.source[: cell.source.index(STUB)].split("\n")[-1]
        body = ANSWERS[kind][0] or solution
        cell.source = cell.source.replace(STUB, textwrap.indent(body, indent).strip())
        cell.source += _AFTER.get(kind, "")
    return notebook


def sample_class(
    chapter: str | Path, out_dir: str | Path, n: int, *, seed: int = 0
) -> list[tuple[Path, list[str]]]:
    """Write ``n`` made-up submissions of a chapter; return their paths and answers' kinds.

    Each exercise is answered one of the ways of :data:`ANSWERS`, drawn at random:
    mostly the reference, a stub or a wrong answer, one time in 21 each of the
    hostile ones.
    """
    chapter, out = Path(chapter), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    reference = jupytext.read(chapter)
    exercises = len(_solutions(reference))
    weights = np.array([8, 3, 5, 1, 1, 1, 1, 1]) / 21
    rng = np.random.default_rng(seed)
    written = []
    for number in range(n):
        kinds = [str(kind) for kind in rng.choice(list(ANSWERS), size=exercises, p=weights)]
        notebook = answered(reference, kinds)
        notebook.metadata["coursepkg"] = {"chapter": chapter.stem, "edition": "student"}
        path = out / f"student_{number:03d}.ipynb"
        nbformat.write(notebook, path)
        written.append((path, kinds))
    return written
