"""The otter-grader export: one question per check, graded by otter's own tools.

The unit test reads the master notebooks. The integration tests run the real
``otter assign`` on a chapter's master notebook, then ``otter run`` (local, no
Docker) with the autograder zip it made: on its solution notebook (full marks), and
on a copy with one wrong answer (0 for that question, full marks for the others).
"""

import json
import subprocess
import sys

import nbformat
import pytest
import yaml

from coursepkg.editions import BEGIN, END, chapter_paths
from coursepkg.grading import checks_of
from coursepkg.otter import otter_export, otter_notebook

CHAPTERS = {path.stem: path for path in chapter_paths()}

# A chapter, one of its questions and a wrong answer to it: a typical slip.
WRONG = {
    "03_dropout": (
        "dropout",
        "def my_dropout(x, p):\n    return x * (torch.rand_like(x) >= p)  # not divided by 1 - p",
    ),
    "07_resnet50_case_study": (
        "precision_recall",
        "def my_precision_recall(confusion):\n"
        "    counts = confusion.double()\n"
        "    hits = counts.diagonal()\n"
        "    return hits / counts.sum(1), hits / counts.sum(0)  # rows and columns swapped",
    ),
}


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_one_question_per_check_with_its_points(chapter):
    notebook = otter_notebook(CHAPTERS[chapter])
    nbformat.validate(notebook)
    raw = [cell.source for cell in notebook.cells if cell.cell_type == "raw"]
    config = yaml.safe_load(raw[0])
    assert notebook.cells[0].source.startswith("# ASSIGNMENT CONFIG")
    assert config["name"] == chapter
    assert config["tests"] == {"files": False, "ok_format": False}
    questions = [yaml.safe_load(source) for source in raw if source.startswith("# BEGIN QUESTION")]
    checks = checks_of(CHAPTERS[chapter])
    assert [(q["name"], q["points"]) for q in questions] == [(c.name, c.points) for c in checks]
    for block in ("SOLUTION", "TESTS"):
        assert raw.count(f"# BEGIN {block}") == raw.count(f"# END {block}") == len(checks)
    assert raw.count("# END QUESTION") == len(checks)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert not any(BEGIN in source or END in source for source in code)
    assert sum("# BEGIN SOLUTION" in source for source in code) == len(checks)
    tests = [source for source in code if "# BEGIN TEST CONFIG" in source]
    assert len(tests) == len(checks)
    for test, check in zip(tests, checks, strict=True):
        assert f"points: {check.points}\n" in test
        assert f"feedback = {check.call}\n    assert feedback.passed, feedback.message" in test


def test_otter_export_writes_one_notebook_per_chapter(tmp_path):
    written = otter_export(tmp_path / "otter")
    assert [path.name for path in written] == [f"{stem}.ipynb" for stem in CHAPTERS]
    assert nbformat.read(written[0], as_version=4).cells[0].cell_type == "raw"


def _otter(*args, cwd):
    """Run an otter command with this Python; fail with its output if it fails."""
    command = [sys.executable, "-m", "otter", *map(str, args)]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{command}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"


def _scores(submission, autograder, out):
    """Grade ``submission`` with ``otter run``; return {question: (score, max_score)}."""
    out.mkdir()
    _otter("run", "--no-logo", "-a", autograder, "-o", out, submission, cwd=out)
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {t["name"]: (t["score"], t["max_score"]) for t in results["tests"] if "score" in t}


@pytest.fixture(scope="module", params=sorted(WRONG))
def assigned(request, tmp_path_factory):
    """Export a chapter and run ``otter assign`` on it; return (folder, chapter, autograder zip)."""
    chapter, folder = request.param, tmp_path_factory.mktemp("otter")
    nbformat.write(otter_notebook(CHAPTERS[chapter]), folder / f"{chapter}.ipynb")
    # --no-run-tests: assign would grade the solutions too; the test below does it with otter run
    _otter("assign", "--no-run-tests", f"{chapter}.ipynb", "dist", cwd=folder)
    (autograder,) = (folder / "dist/autograder").glob(f"{chapter}-autograder_*.zip")
    return folder, chapter, autograder


@pytest.mark.integration
def test_the_solutions_get_full_marks(assigned):
    folder, chapter, autograder = assigned
    scores = _scores(folder / f"dist/autograder/{chapter}.ipynb", autograder, folder / "solution")
    assert scores == {c.name: (c.points, c.points) for c in checks_of(CHAPTERS[chapter])}


@pytest.mark.integration
def test_a_wrong_answer_scores_0_and_the_others_full_marks(assigned):
    folder, chapter, autograder = assigned
    question, wrong = WRONG[chapter]
    notebook = nbformat.read(folder / f"dist/autograder/{chapter}.ipynb", as_version=4)
    (answer,) = (c for c in notebook.cells if c.source.startswith(wrong.split("(")[0] + "("))
    answer.source = wrong
    nbformat.write(notebook, folder / "wrong.ipynb")
    scores = _scores(folder / "wrong.ipynb", autograder, folder / "wrong")
    checks = checks_of(CHAPTERS[chapter])
    assert scores == {c.name: (0 if c.name == question else c.points, c.points) for c in checks}
