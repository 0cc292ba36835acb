"""The student edition of every chapter runs top to bottom as handed out.

Each checker must report its stub as not implemented, and nothing may raise:
cells after an exercise must not depend on the student's answer. The chapters run
at their quick size (``COURSE_QUICK=1``: every cell, shorter trainings, no claim
asserted); the reference edition runs at full size through nbmake (conftest.py).
Each chapter runs alone, in a fresh kernel and an empty working folder, and in the
reverse of the book's order: no chapter relies on another having run before it.
"""

import jupytext
import pytest
from nbclient import NotebookClient

from coursepkg.editions import STUB, chapter_paths, student_notebook
from coursepkg.grading import checks_of

pytestmark = pytest.mark.integration

CHAPTERS = chapter_paths()[::-1]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[path.stem for path in CHAPTERS])
def test_student_edition_runs_and_reports_every_stub(chapter, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")  # the kernel inherits it
    notebook = student_notebook(jupytext.read(chapter))
    checks = checks_of(chapter)
    assert sum(STUB in cell.source for cell in notebook.cells) == len(checks) > 0
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()  # raises CellExecutionError if any cell fails
    printed = [
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    ]
    for check in checks:
        assert any(f"… {check.name}: not implemented yet" in text for text in printed), check.name
