"""Grade a student's chapter notebook: run it in a fresh kernel, then run the checks.

The exercises and their points come from the *reference* chapter, not from the
submission: every checker cell of the book reads ``ex.check_name(answer);  # 2
points``. The grader executes the submission's own cells (skipping its checker
cells) with a time limit per cell, then evaluates each reference check in the
same kernel, one cell per check. A cell that raises or runs out of time is
interrupted and the grading goes on; a kernel that dies scores 0 for whatever
had not been checked. Nothing the submission does can crash the grader.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from coursepkg.editions import CHECKER

__all__ = ["Check", "ExerciseScore", "checks_of", "grade", "write_scores"]

_MARK = "@@coursepkg-grade@@"


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


def _probe(call: str) -> str:
    """Code that runs one check and prints its verdict as JSON after a marker."""
    return (
        "import json as _json\n"
        f"_feedback = {call}\n"
        f"print({_MARK!r} + _json.dumps("
        '{"status": _feedback.status, "message": _feedback.message}))'
    )


def _verdict(cell: nbformat.NotebookNode) -> dict | None:
    for output in cell.get("outputs", []):
        text = output.get("text", "") if output.get("output_type") == "stream" else ""
        for line in text.splitlines():
            if line.startswith(_MARK):
                return json.loads(line[len(_MARK) :])
    return None


def _failure(cell: nbformat.NotebookNode, timeout: int) -> dict:
    """Say why a check cell printed no verdict: it raised, or it was interrupted."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors or errors[0]["ename"] == "KeyboardInterrupt":
        message = f"the check did not finish within {timeout} s and was interrupted"
    else:
        message = f"the check could not run: {errors[0]['ename']}: {errors[0]['evalue']}"
    return {"status": "error", "message": message}


def grade(
    submission: str | Path, *, root: str | Path = ".", timeout: int = 600
) -> list[ExerciseScore]:
    """Execute ``submission`` and score each checked exercise of its chapter.

    Parameters
    ----------
    submission : str or pathlib.Path
        A student's ``.ipynb``, made from the student edition (its metadata
        names the chapter).
    root : str or pathlib.Path, default "."
        The course's root, where ``notebooks/<chapter>.md`` holds the reference.
    timeout : int, default 600
        Seconds each cell may run before it is interrupted.

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
    checks = checks_of(root / "notebooks" / f"{chapter}.md")
    cells = [c for c in notebook.cells if c.cell_type != "code" or not CHECKER.search(c.source)]
    cells += [nbformat.v4.new_code_cell(_probe(check.call)) for check in checks]
    run = nbformat.v4.new_notebook(cells=cells, metadata=notebook.metadata)
    verdicts = _execute(run, len(cells) - len(checks), timeout, root.resolve())
    scores = []
    for check, verdict in zip(checks, verdicts, strict=True):
        status, message = verdict["status"], verdict["message"]
        points = check.points if status == "passed" else 0
        scores.append(ExerciseScore(check.name, status, points, check.points, message))
    return scores


def _execute(notebook: nbformat.NotebookNode, first_check: int, timeout: int, cwd: Path) -> list:
    """Run every cell; return the verdicts of the check cells (from ``first_check`` on)."""
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    missing = {"status": "error", "message": "the check did not run"}
    verdicts = [dict(missing) for _ in notebook.cells[first_check:]]
    died = None
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                pass  # interrupted; the next cells still run
            except DeadKernelError:
                died = index
                break
            if index >= first_check:
                verdicts[index - first_check] = _verdict(cell) or _failure(cell, timeout)
    if died is not None:
        for k in range(max(died - first_check, 0), len(verdicts)):
            verdicts[k] = {"status": "error", "message": f"the kernel died at cell {died + 1}"}
    return verdicts


def write_scores(scores: list[ExerciseScore], stem: str | Path) -> tuple[Path, Path]:
    """Write ``scores`` to ``stem.csv`` and ``stem.json``; return both paths."""
    stem = Path(stem)
    rows = [asdict(score) for score in scores]
    csv_path, json_path = (stem.parent / f"{stem.name}{suffix}" for suffix in (".csv", ".json"))
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ExerciseScore.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(rows)
    total = {
        "score": sum(s.points for s in scores),
        "max_score": sum(s.max_points for s in scores),
        "exercises": rows,
    }
    json_path.write_text(json.dumps(total, indent=2, ensure_ascii=False), encoding="utf-8")
    return csv_path, json_path
