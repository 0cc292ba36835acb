"""The student edition of every chapter runs top to bottom, and grades as it runs.

Each chapter is handed in with its exercises answered in turn by the reference,
a stub and a wrong answer, then executed in full: nothing may raise (cells after
an exercise must not depend on the student's answer), each checker must print
the status its answer calls for, and the grader, which runs only the exercises'
cells, must give every exercise the status the full execution printed. The
chapters run at their quick size (``COURSE_QUICK=1``: every cell, shorter
trainings, no claim asserted); the reference edition runs at full size through
nbmake (conftest.py). Each chapter runs alone, in a fresh kernel and an empty
working folder, and in the reverse of the book's order: no chapter relies on
another having run before it.
"""

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

from coursepkg.editions import CHECKER, chapter_paths
from coursepkg.exercises.framework import _SYMBOLS
from coursepkg.gradebook import ANSWERS, answered
from coursepkg.grading import checks_of, grade

pytestmark = pytest.mark.integration

CHAPTERS = chapter_paths()[::-1]
STATUS_OF = {symbol: status for status, symbol in _SYMBOLS.items()}


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[path.stem for path in CHAPTERS])
def test_student_edition_runs_and_grades_as_a_full_execution(chapter, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")  # the kernel inherits it
    first = int(chapter.stem[:2])  # each chapter starts the turn elsewhere
    kinds = [
        ("reference", "stub", "wrong")[(first + k) % 3] for k in range(len(checks_of(chapter)))
    ]
    notebook = answered(jupytext.read(chapter), kinds)
    notebook.metadata["coursepkg"] = {"chapter": chapter.stem}
    path = tmp_path / f"{chapter.stem}.ipynb"
    nbformat.write(notebook, path)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()  # raises CellExecutionError if any cell fails
    printed = [
        STATUS_OF[cell.outputs[0]["text"][0]]
        for cell in notebook.cells
        if cell.cell_type == "code" and CHECKER.search(cell.source)
    ]
    assert printed == [ANSWERS[kind][1] for kind in kinds]
    assert [score.status for score in grade(path)] == printed
