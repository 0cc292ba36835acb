"""The grader on a two-exercise chapter: full marks, stubs, wrong answers, crashes, hangs."""

import json
import textwrap

import jupytext
import nbformat
import pytest

from coursepkg.__main__ import main
from coursepkg.editions import student_notebook
from coursepkg.grading import checks_of, grade

pytestmark = pytest.mark.integration

CHAPTER = textwrap.dedent(
    """\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---

    # A small chapter

    ```{code-cell} ipython3
    from coursepkg.exercises import initialization as ex
    ```

    ```{exercise} Fans
    :label: ex-mini-fans

    Write `fans(shape)`.
    ```

    ```{solution-start} ex-mini-fans
    :class: dropdown
    ```

    ```{code-cell} ipython3
    import math


    def fans(shape):
        ### BEGIN SOLUTION
        field = math.prod(shape[2:])
        return shape[1] * field, shape[0] * field
        ### END SOLUTION
    ```

    ```{solution-end}
    ```

    ```{code-cell} ipython3
    ex.check_fans(fans);  # 2 points
    ```

    ```{exercise} Warmup
    :label: ex-mini-open

    Think about it.
    ```

    ```{solution-start} ex-mini-open
    :class: dropdown
    ```

    An open answer.

    ```{code-cell} ipython3
    open_answer = 42
    ```

    ```{solution-end}
    ```

    ```{code-cell} ipython3
    ex.check_fans(fans);  # 1 point
    ```

    ```{code-cell} ipython3
    after = "the chapter goes on"
    ```
    """
)


@pytest.fixture
def course(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_mini.md").write_text(CHAPTER, encoding="utf-8")
    return tmp_path


def _submission(course, replace=None, *, student=True):
    notebook = jupytext.read(course / "notebooks" / "01_mini.md")
    if student:
        notebook = student_notebook(notebook)
    notebook.metadata["coursepkg"] = {"chapter": "01_mini"}
    for cell in notebook.cells:
        if replace and cell.cell_type == "code" and "def fans" in cell.source:
            cell.source = replace
    path = course / "submission.ipynb"
    nbformat.write(notebook, path)
    return path


def test_checks_and_points_are_read_from_the_reference(course):
    checks = checks_of(course / "notebooks" / "01_mini.md")
    assert [(c.name, c.points) for c in checks] == [("fans", 2), ("fans", 1)]


def test_student_edition_stubs_the_answer_and_drops_the_solution_blocks(course):
    notebook = student_notebook(jupytext.read(course / "notebooks" / "01_mini.md"))
    text = "\n".join(cell.source for cell in notebook.cells)
    assert 'raise NotImplementedError("your answer here' in text
    assert "shape[1] * field" not in text and "BEGIN SOLUTION" not in text
    assert "open_answer" not in text and "An open answer" not in text
    assert "solution-start" not in text and "solution-end" not in text
    assert "**Exercise: Fans**" in text and "ex.check_fans(fans);  # 2 points" in text
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def test_reference_solutions_score_full_marks(course):
    scores = grade(_submission(course, student=False), root=course, timeout=60)
    assert [(s.status, s.points, s.max_points) for s in scores] == [
        ("passed", 2, 2),
        ("passed", 1, 1),
    ]


def test_stubs_score_zero_with_not_implemented(course):
    scores = grade(_submission(course), root=course, timeout=60)
    assert [s.points for s in scores] == [0, 0]
    assert all(s.status == "not implemented" for s in scores)


def test_a_wrong_answer_scores_zero_with_a_useful_message(course):
    wrong = "def fans(shape):\n    return shape[0], shape[1]\n"
    scores = grade(_submission(course, wrong), root=course, timeout=60)
    assert [s.points for s in scores] == [0, 0]
    assert scores[0].status == "failed" and "expected" in scores[0].feedback


def test_a_raising_submission_is_graded(course):
    raising = "raise RuntimeError('oops')\n"  # fans is never defined
    scores = grade(_submission(course, raising), root=course, timeout=60)
    assert [s.points for s in scores] == [0, 0]
    assert "NameError" in scores[0].feedback


def test_an_endless_loop_is_interrupted_and_scores_zero(course):
    looping = "def fans(shape):\n    while True:\n        pass\n"
    scores = grade(_submission(course, looping), root=course, timeout=5)
    assert [s.points for s in scores] == [0, 0]
    assert "did not finish" in scores[0].feedback


def test_a_dying_kernel_scores_zero_without_crashing_the_grader(course):
    dying = "import os\nos._exit(1)\n"
    scores = grade(_submission(course, dying), root=course, timeout=60)
    assert [s.points for s in scores] == [0, 0]
    assert all("kernel died" in s.feedback for s in scores)


def test_command_line_writes_csv_and_json(course, capsys):
    path = _submission(course, student=False)
    assert main(["--root", str(course), "grade", str(path), "--out", str(course / "out")]) == 0
    result = json.loads((course / "out" / "submission.grade.json").read_text())
    assert (result["score"], result["max_score"]) == (3, 3)
    header = (course / "out" / "submission.grade.csv").read_text().splitlines()[0]
    assert header == "exercise,status,points,max_points,feedback"
    assert "3/3 points" in capsys.readouterr().out


def test_command_line_refuses_a_notebook_without_chapter(course, capsys):
    plain = course / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), plain)
    assert main(["--root", str(course), "grade", str(plain)]) == 1
    assert "not a student-edition notebook" in capsys.readouterr().err
