"""The grader on a two-exercise chapter, on hostile submissions, and on a made-up class.

Every hostile submission must score 0 on what it attacks, with the reason, and
never crash the grader nor pass.
"""

import csv
import sys
import textwrap

import jupytext
import nbformat
import pytest

from coursepkg.__main__ import main
from coursepkg.editions import STUB, student_notebook
from coursepkg.gradebook import _MEMORY, _PATCH, _PRINT, ANSWERS, grade_class, sample_class
from coursepkg.grading import checks_of, grade, prelude

integration = pytest.mark.integration

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


def _submission(course, replace=None, *, student=True, name="submission"):
    notebook = jupytext.read(course / "notebooks" / "01_mini.md")
    if student:
        notebook = student_notebook(notebook)
    notebook.metadata["coursepkg"] = {"chapter": "01_mini"}
    for cell in notebook.cells:
        if replace and cell.cell_type == "code" and "def fans" in cell.source:
            cell.source = replace
    path = course / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def _grade(course, replace=None, **kwargs):
    return [
        (s.status, s.points) for s in grade(_submission(course, replace, **kwargs), root=course)
    ]


# --- what an exercise needs -------------------------------------------------------------------


def test_prelude_keeps_the_definitions_the_answer_uses_and_drops_the_rest():
    earlier = [
        "import math\nimport torch\nSCALE = 2",
        "history = torch.randn(10**9)  # a training run",
        "def helper(x):\n    return SCALE * math.sqrt(x)\n\nSCALE = 3",
        "print(helper(4))",
    ]
    answer = ["def answer(x):\n    return helper(x) + 1"]
    # helper reads SCALE when called: before its definition (a call there) and after it
    assert prelude(earlier, answer) == [
        "import math",
        "SCALE = 2",
        "def helper(x):\n    return SCALE * math.sqrt(x)",
        "SCALE = 3",
    ]


def test_prelude_keeps_star_imports_and_assigned_items():
    earlier = ["from math import *", "CONFIG = {}", "CONFIG['f'] = prod", "unused = 1"]
    answer = ["def answer(x):\n    return CONFIG['f'](x)"]
    assert prelude(earlier, answer) == earlier[:3]


def test_prelude_skips_cells_that_are_not_python_and_names_the_answer_binds_itself():
    earlier = ["x = = 1", "import numpy as np\nnp = None"]
    assert prelude(earlier, ["import numpy as np\ny = np.zeros(2)"]) == []


@integration
def test_checks_and_points_are_read_from_the_reference(course):
    checks = checks_of(course / "notebooks" / "01_mini.md")
    assert [(c.name, c.points) for c in checks] == [("fans", 2), ("fans", 1)]


@integration
def test_student_edition_stubs_the_answer_and_drops_the_solution_blocks(course):
    notebook = student_notebook(jupytext.read(course / "notebooks" / "01_mini.md"))
    text = "\n".join(cell.source for cell in notebook.cells)
    assert 'raise NotImplementedError("your answer here' in text
    assert "shape[1] * field" not in text and "BEGIN SOLUTION" not in text
    assert "open_answer" not in text and "An open answer" not in text
    assert "solution-start" not in text and "solution-end" not in text
    assert "**Exercise: Fans**" in text and "ex.check_fans(fans);  # 2 points" in text
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


@integration
def test_reference_solutions_score_full_marks(course):
    assert _grade(course, student=False) == [("passed", 2), ("passed", 1)]


@integration
def test_stubs_score_zero_with_not_implemented(course):
    assert _grade(course) == [("not implemented", 0), ("not implemented", 0)]


@integration
def test_a_wrong_answer_scores_zero_with_a_useful_message(course):
    wrong = "def fans(shape):\n    return shape[0], shape[1]\n"
    scores = grade(_submission(course, wrong), root=course)
    assert [(s.status, s.points) for s in scores] == [("failed", 0), ("failed", 0)]
    assert "expected" in scores[0].feedback


@integration
def test_an_answer_that_changes_its_argument_in_place_is_caught(tmp_path):
    """The argument comes back from the student's process as the answer left it."""
    notebook = student_notebook(jupytext.read("notebooks/02_l1_l2_elastic_net.md"))
    cell = next(c for c in notebook.cells if "def elastic_net_prox" in c.source)
    cell.source = cell.source.replace(STUB, "return v.clamp_(min=0)")
    notebook.metadata["coursepkg"] = {"chapter": "02_l1_l2_elastic_net"}
    nbformat.write(notebook, tmp_path / "submission.ipynb")
    score = grade(tmp_path / "submission.ipynb")[0]
    assert score.status == "failed" and "changed its argument 1 in place" in score.feedback


# --- hostile submissions: each scores 0 with its reason ----------------------------------

FANS = "def fans(shape):\n"
HOSTILE = {
    "patches the checkers": (FANS + f"    {STUB}\n{_PATCH}", "not implemented", "not implemented"),
    "redefines print": (FANS + f"    {STUB}\n{_PRINT}", "not implemented", "not implemented"),
    "raises SystemExit when called": (FANS + "    raise SystemExit(0)\n", "error", "SystemExit"),
    "exits before defining it": (
        "import sys\nsys.exit()\n" + FANS + "    return 0, 0\n",
        "error",
        "raised SystemExit",
    ),
    "kills its process": ("import os\nos._exit(3)\n", "error", "stopped (exit code 3)"),
    "exhausts memory": (
        FANS + textwrap.indent(_MEMORY, "    ") + "\n",
        "error",
        "MemoryError",  # numpy's _ArrayMemoryError
    ),
    "sleeps forever": (
        FANS + "    import time\n    time.sleep(10**6)\n",
        "error",
        "did not finish within 5 s",
    ),
    "loops forever in its cell": ("while True:\n    pass\n", "error", "did not finish within 5 s"),
    "forges half a reply": (
        FANS + "    import gc, multiprocessing.connection as c, time\n"
        "    pipe = next(o for o in gc.get_objects() if isinstance(o, c.Connection))\n"
        "    pipe._send(bytes([0, 0, 16, 0]))  # promises 4096 bytes, sends none\n"
        "    time.sleep(10**6)\n",
        "error",
        "did not finish within 5 s",
    ),
    "returns a bomb of shared lists": (
        "import coursepkg.answers\ncoursepkg.answers._portable = lambda value: value\n"
        + FANS
        + "    bomb = []\n    for _ in range(60):\n        bomb = [bomb, bomb]\n    return bomb\n",
        "error",
        "could not be read back",
    ),
}


@integration
@pytest.mark.parametrize("attack", list(HOSTILE))
def test_a_hostile_submission_scores_zero_with_the_reason(course, attack):
    if attack == "exhausts memory" and sys.platform != "linux":
        pytest.skip("the memory limit holds on Linux only")
    source, status, reason = HOSTILE[attack]
    first, second = grade(_submission(course, source), root=course, timeout=10)
    assert (first.status, first.points) == (status, 0) and reason in first.feedback
    assert second.points == 0  # the exercise after it, which takes `fans` from the attack's cell


# --- a class ---------------------------------------------------------------------------------


@integration
def test_command_line_grades_a_folder_into_a_table_and_a_summary(course, capsys):
    folder = course / "class"
    folder.mkdir()
    _submission(course, student=False, name="class/alice")
    _submission(course, name="class/bob")
    nbformat.write(nbformat.v4.new_notebook(), folder / "carol.ipynb")  # not a student edition
    out = course / "scores"
    assert (
        main(["--root", str(course), "grade", str(folder), "--out", str(out), "--jobs", "2"]) == 1
    )
    with (out / "scores.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["student", "fans", "fans", "total", "max_points", "note"]
    assert rows[1] == ["alice", "2", "1", "3", "3", ""]
    assert rows[2] == ["bob", "0", "0", "0", "3", ""]
    assert rows[3][0] == "carol" and "not a student-edition notebook" in rows[3][-1]
    with (out / "summary.csv").open(encoding="utf-8") as handle:
        summary = list(csv.DictReader(handle))
    assert [float(row["passed"]) for row in summary] == [0.5, 0.5]
    assert (out / "summary.png").stat().st_size > 0
    assert len((out / "feedback.csv").read_text(encoding="utf-8").splitlines()) == 1 + 2 * 2
    assert "2 of 3 submissions graded" in capsys.readouterr().out


@integration
def test_a_chapter_named_by_a_path_is_refused(course):
    path = _submission(course)
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["coursepkg"]["chapter"] = "../evil"
    nbformat.write(notebook, path)
    with pytest.raises(ValueError, match="names no chapter of the course"):
        grade(path, root=course)


@integration
def test_command_line_refuses_submissions_of_no_chapter(course, capsys):
    plain = course / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), plain)
    assert main(["--root", str(course), "grade", str(plain)]) == 1
    assert "no submission names a chapter of the course" in capsys.readouterr().err


@integration
def test_every_answer_of_a_made_up_class_gets_its_status(tmp_path):
    """A chapter of the book: its reference, stubs, wrong and hostile answers, two at a time."""
    written = sample_class("notebooks/05_initialization.md", tmp_path / "class", 12, seed=3)
    assert {kind for _, kinds in written for kind in kinds} == set(ANSWERS)
    results = grade_class([tmp_path / "class"], tmp_path / "scores", jobs=2, timeout=20)
    for path, kinds in written:
        assert [s.status for s in results[path.stem]] == [ANSWERS[k][1] for k in kinds], path.stem
