"""The chapters' checked exercises as otter-grader assignments, from the one source of the book.

`otter-grader <https://otter-grader.readthedocs.io>`_ builds an assignment from a
*master notebook* (its format v1): a raw ``# ASSIGNMENT CONFIG`` cell, then for
each question a ``# BEGIN QUESTION`` … ``# END QUESTION`` block holding the
task, the solution between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines,
and the tests. ``otter assign master.ipynb dist`` writes from it a solution
notebook, a student notebook (the solutions become ``...``) and an autograder
zip file, which ``otter run`` (locally) or Gradescope runs on a submission.

Here the master notebook of a chapter is made from its MyST notebook, the same
source as the book and the student edition. It holds a setup cell, the imports
and definitions of the chapter that the exercises need (found as the grader
finds them, :func:`coursepkg.grading.prelude`), and one question per *checked*
exercise, named after its check and worth the points of its checker cell. The
test of a question is the course's own check, asserted::

    feedback = ex.check_dropout(my_dropout)
    assert feedback.passed, feedback.message

so otter scores exactly what the checker cell reports, and a student who fails
sees the check's message. Open exercises carry no points and are left out.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import jupytext
import nbformat

from coursepkg.editions import _EXERCISE, BEGIN, CHECKER, END, chapter_paths
from coursepkg.grading import _exercise_cells, _is_checker, _statements, prelude

__all__ = ["otter_export", "otter_notebook"]

# Local grading needs no requirements, PDF or export cell; `name` makes otter refuse
# a notebook of another chapter. Exception-based tests (`ok_format: false`) run the
# check as Python, not as a doctest that would compare its printed line. All tests are
# public, so `show_all_public` shows students each question's score and message.
_CONFIG = """\
# ASSIGNMENT CONFIG
name: {name}
init_cell: true
check_all_cell: false
export_cell: false
solutions_pdf: false
template_pdf: false
run_tests: true
python_version: "3.11"
tests:
  files: false
  ok_format: false
generate:
  pdf: false
  show_all_public: true"""
_KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _raw(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(source)


def _otter_markers(source: str) -> str:
    """Turn the course's ``### BEGIN/END SOLUTION`` lines into otter's ``# BEGIN/END SOLUTION``."""
    lines = []
    for line in source.splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        marker = {BEGIN: "# BEGIN SOLUTION", END: "# END SOLUTION"}.get(line.strip())
        lines.append(indent + marker if marker else line)
    return "\n".join(lines)


def _test_cell(name: str, call: str, points: int) -> str:
    """Return the test of a question: the checker cell's call, asserted to pass.

    Otter calls ``test_<name>`` with the notebook's values of its parameters, the
    names the call reads (``ex`` and the answer).
    """
    nodes = [n for n in ast.walk(ast.parse(call, mode="eval")) if isinstance(n, ast.Name)]
    names = [n.id for n in sorted(nodes, key=lambda n: n.col_offset)]
    parameters = ", ".join(dict.fromkeys(n for n in names if not hasattr(builtins, n)))
    return (
        f'""" # BEGIN TEST CONFIG\npoints: {points}\n""" # END TEST CONFIG\n'
        f"def test_{name}({parameters}):\n"
        f"    feedback = {call}\n"
        "    assert feedback.passed, feedback.message\n\n\n"
        f"test_{name}({parameters})"
    )


def _task(cells: list[nbformat.NotebookNode], checker: int) -> str:
    """Return the text of the last ``{exercise}`` block before cell ``checker``, as Markdown."""
    for cell in reversed(cells[:checker]):
        blocks = list(_EXERCISE.finditer(cell.source)) if cell.cell_type == "markdown" else []
        if blocks:
            return f"**Exercise: {blocks[-1]['title']}**\n\n{blocks[-1]['body'].strip()}"
    raise ValueError(f"no {{exercise}} block before the checker cell {checker}")


def _question(name: str, call: str, points: int, task: str, own: list[str]) -> list:
    """Return the cells of one question: its task, its solution cells and its test."""
    return [
        _raw(f"# BEGIN QUESTION\nname: {name}\npoints: {points}"),
        nbformat.v4.new_markdown_cell(task),
        _raw("# BEGIN SOLUTION"),
        *(nbformat.v4.new_code_cell(_otter_markers(source.rstrip())) for source in own),
        _raw("# END SOLUTION"),
        _raw("# BEGIN TESTS"),
        nbformat.v4.new_code_cell(_test_cell(name, call, points)),
        _raw("# END TESTS"),
        _raw("# END QUESTION"),
    ]


def otter_notebook(chapter: str | Path) -> nbformat.NotebookNode:
    """Return the otter master notebook of a chapter (a MyST ``.md`` notebook).

    Parameters
    ----------
    chapter : str or pathlib.Path
        The chapter's reference notebook, with its worked answers.

    Returns
    -------
    nbformat.NotebookNode
        The assignment config, a setup cell and one question per checked exercise.
    """
    path = Path(chapter)
    cells = jupytext.read(path).cells
    setup: dict[str, None] = {}  # the statements the questions need, each once
    context, questions, names = [], [], set()
    for index, cell in enumerate(cells):
        if not _is_checker(cell):
            continue
        match = CHECKER.search(cell.source)
        name, call, points = match["name"], match["call"], int(match["points"])
        while name in names:  # the same check twice in a chapter: otter needs unique names
            name += "_again"
        names.add(name)
        earlier, own = _exercise_cells(cells, index)
        context = [source for source in earlier if BEGIN not in source]  # no earlier answers
        setup.update(dict.fromkeys(prelude(context, [*own, call])))
        questions += _question(name, call, points, _task(cells, index), own)
    # What any question needs, in the chapter's order: the cells before the last exercise.
    statements = [s for source in context for s in _statements(source)]
    order = {statement: i for i, statement in reversed(list(enumerate(statements)))}
    lines = [line for c in cells if c.cell_type == "markdown" for line in c.source.splitlines()]
    title = next((line[2:] for line in lines if line.startswith("# ")), path.stem)
    intro = f"# {title}\n\n## Exercises\n\nRun the setup cell first, then answer each question."
    notebook_cells = [
        _raw(_CONFIG.format(name=path.stem)),
        nbformat.v4.new_markdown_cell(intro),
        nbformat.v4.new_code_cell("\n".join(sorted(setup, key=lambda s: order.get(s, -1)))),
        *questions,
    ]
    return nbformat.v4.new_notebook(cells=notebook_cells, metadata={"kernelspec": _KERNEL})


def otter_export(out_dir: str | Path, *, root: str | Path = ".") -> list[Path]:
    """Write every chapter's otter master notebook, ``out_dir/NN_name.ipynb``; return the paths.

    ``out_dir`` and ``root`` are as for :func:`coursepkg.editions.student_edition`.
    Then ``otter assign out_dir/NN_name.ipynb dist`` makes the chapter's student
    and solution notebooks and its autograder zip file.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for path in chapter_paths(root):
        nbformat.write(otter_notebook(path), out / f"{path.stem}.ipynb")
    return [out / f"{path.stem}.ipynb" for path in chapter_paths(root)]
