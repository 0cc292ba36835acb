"""Unit tests of :mod:`coursepkg.editions` on the real chapters and on small cases."""

import shutil

import jupytext
import nbformat
import pytest

from coursepkg.__main__ import main
from coursepkg.editions import (
    STUB,
    chapter_paths,
    instructor_edition,
    student_notebook,
)
from coursepkg.grading import checks_of


def _notebook(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def test_student_edition_writes_every_chapter_without_solutions(tmp_path, capsys):
    assert main(["student-edition", str(tmp_path)]) == 0
    written = sorted(tmp_path.glob("*.ipynb"))
    assert [p.stem for p in written] == [p.stem for p in chapter_paths()]
    for path, chapter in zip(written, chapter_paths(), strict=True):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        assert notebook.metadata["coursepkg"]["chapter"] == chapter.stem
        text = "\n".join(cell.source for cell in notebook.cells)
        assert "BEGIN SOLUTION" not in text and "solution-start" not in text
        assert text.count(STUB) == len(checks_of(chapter))
        assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")
    assert str(written[0]) in capsys.readouterr().out


def test_the_code_around_a_marked_answer_stays_and_the_answer_goes():
    code = (
        "def f(x):\n    '''doc'''\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
    )
    notebook = _notebook(
        nbformat.v4.new_markdown_cell("```{solution-start} ex-a\n:class: dropdown\n```"),
        nbformat.v4.new_code_cell(code),
        nbformat.v4.new_markdown_cell("```{solution-end}\n```\n\nAfter."),
        nbformat.v4.new_code_cell("ex.check_f(f);  # 1 point"),
    )
    cells = student_notebook(notebook).cells
    assert cells[0].source == f"def f(x):\n    '''doc'''\n    {STUB}"
    assert [c.source for c in cells[1:]] == ["After.", "ex.check_f(f);  # 1 point"]


def test_an_open_exercise_loses_its_whole_solution():
    notebook = _notebook(
        nbformat.v4.new_markdown_cell("Task.\n\n```{solution-start} ex-b\n:class: dropdown\n```"),
        nbformat.v4.new_code_cell(
            "def g():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION"
        ),
        nbformat.v4.new_code_cell("g()"),
        nbformat.v4.new_markdown_cell("Why.\n\n```{solution-end}\n```"),
        nbformat.v4.new_code_cell("next_cell = 1"),
    )
    assert [c.source for c in student_notebook(notebook).cells] == ["Task.", "next_cell = 1"]


@pytest.mark.parametrize(
    "cells",
    [
        [nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1")],
        [nbformat.v4.new_code_cell("x = 1\n### END SOLUTION")],
        [nbformat.v4.new_markdown_cell("```{solution-start} ex-c\n```")],
    ],
)
def test_unbalanced_markers_are_refused(cells):
    with pytest.raises(ValueError, match=r"without its|inside another"):
        student_notebook(_notebook(*cells))


def test_instructor_edition_copies_the_books_executed_chapters(tmp_path):
    shutil.copytree("notebooks", tmp_path / "notebooks")
    with pytest.raises(FileNotFoundError, match="make book"):
        instructor_edition(tmp_path / "out", root=tmp_path)
    executed = tmp_path / "_build" / "jupyter_execute" / "notebooks"
    executed.mkdir(parents=True)
    for path in chapter_paths(tmp_path):
        nbformat.write(jupytext.read(path), executed / f"{path.stem}.ipynb")
    written = instructor_edition(tmp_path / "out", root=tmp_path)
    assert [p.name for p in written] == [f"{p.stem}.ipynb" for p in chapter_paths(tmp_path)]


def test_no_chapters_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no chapter notebooks"):
        chapter_paths(tmp_path)
