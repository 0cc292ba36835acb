"""Student and instructor editions of the chapters, from the one source of the book.

A chapter's exercise has three parts in its MyST notebook: the ``{exercise}``
block with the task, a ``{solution-start}`` … ``{solution-end}`` block with the
worked answer, whose code marks the answer between nbgrader's
``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines, and a checker cell
(``ex.check_...(answer);  # 2 points``).

The student edition keeps the task and the checker, replaces each marked answer
with ``raise NotImplementedError(...)`` and drops the rest of the solution block
(its prose, and the code of open exercises) and the cells the book hides
(``remove-cell``: the glued run time and the asserted claims, whose numbers
belong to the machine that built the book); outputs are cleared. The instructor
edition is the book's executed notebook, solutions and outputs included.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import jupytext
import nbformat

__all__ = [
    "BEGIN",
    "CHECKER",
    "END",
    "STUB",
    "chapter_paths",
    "instructor_edition",
    "student_edition",
    "student_notebook",
]

BEGIN = "### BEGIN SOLUTION"
"""Marks the start of a worked answer in a code cell (nbgrader's marker)."""
END = "### END SOLUTION"
"""Marks the end of a worked answer."""
STUB = 'raise NotImplementedError("your answer here: replace this line")'
"""What the student edition puts in place of a worked answer."""
_SOLUTION_START = re.compile(r"^```\{solution-start\}.*?$", re.MULTILINE)
_SOLUTION_END = re.compile(r"^```\{solution-end\}\s*\n```\s*$\n?", re.MULTILINE)
CHECKER = re.compile(
    r"^(?P<call>ex\.check_(?P<name>\w+)\(.*\));?[ \t]*#[ \t]*(?P<points>\d+) points?[ \t]*$",
    re.MULTILINE,
)
"""Pattern of a checker cell's line, capturing the call, the exercise's name and its points."""
_KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}
_EXERCISE = re.compile(
    r"^```\{exercise\}[ \t]*(?P<title>.*?)\n:label: \S+\n(?P<body>.*?)^```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def chapter_paths(root: str | Path = ".") -> list[Path]:
    """Return the chapters' MyST notebooks under ``root/notebooks``, in order."""
    folder = Path(root) / "notebooks"
    paths = sorted(folder.glob("[0-9][0-9]_*.md"))
    if not paths:
        raise FileNotFoundError(f"no chapter notebooks (NN_name.md) in {folder}")
    return paths


_UNPAIRED = "notebook must pair every ### BEGIN SOLUTION line with an ### END SOLUTION line"


def _stub_answers(source: str) -> str:
    """Replace every BEGIN/END SOLUTION region by a stub at the marker's indentation."""
    lines, out, inside = source.splitlines(), [], False
    for line in lines:
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(
                    "notebook must not nest solutions: a ### BEGIN SOLUTION line inside another "
                    "solution"
                )
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + STUB)
        elif stripped == END:
            if not inside:
                raise ValueError(f"{_UNPAIRED}: a ### END SOLUTION line without its BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{_UNPAIRED}: a ### BEGIN SOLUTION line without its END")
    return "\n".join(out)


def _exercise_heading(source: str) -> str:
    """Turn ``{exercise}`` blocks into a bold heading and their text, which Jupyter renders."""
    return _EXERCISE.sub(lambda m: f"**Exercise: {m['title']}**\n{m['body']}", source)


def _outside_solutions(markdown: str, in_solution: bool) -> tuple[str, bool]:
    """Cut the solution blocks out of one markdown cell; return the rest and the state after it."""
    kept, rest = [], markdown
    while rest:
        pattern = _SOLUTION_END if in_solution else _SOLUTION_START
        found = pattern.search(rest)
        if found is None:
            if not in_solution:
                kept.append(rest)
            break
        if not in_solution:
            kept.append(rest[: found.start()])
        rest, in_solution = rest[found.end() :], not in_solution
    return "".join(kept), in_solution


def student_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the student edition of a chapter read with :func:`jupytext.read`.

    In the solution block of a *checked* exercise (one whose checker cell follows
    the block), the marked answer becomes a stub and the code around it stays.
    The solution block of an open exercise goes entirely.

    Raises
    ------
    ValueError
        If the solution blocks or markers are unbalanced.
    """
    # Which cells lie in a solution block, and does a checker follow that block?
    block_of, checked, block, in_solution = {}, {}, -1, False
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            was = in_solution
            _, in_solution = _outside_solutions(cell.source, in_solution)
            if not was and (in_solution or _SOLUTION_START.search(cell.source)):
                block += 1
        elif in_solution:
            block_of[index] = block
        elif block >= 0 and block not in checked:
            checked[block] = bool(CHECKER.search(cell.source))
    if in_solution:
        raise ValueError(
            "notebook must close every solution block: a {solution-start} block without its "
            "{solution-end}"
        )

    cells, in_solution = [], False
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            text, in_solution = _outside_solutions(cell.source, in_solution)
            text = _exercise_heading(text).strip()
            if text:
                cells.append(nbformat.v4.new_markdown_cell(text))
            continue
        tags = cell.metadata.get("tags", [])
        if index in block_of and not checked.get(block_of[index], False):
            continue  # the worked answer of an open exercise
        if index in block_of and BEGIN not in cell.source:
            continue  # code of a worked answer around the marked part
        if "remove-cell" in tags:
            continue  # the book's bookkeeping: glued run time, asserted claims
        marked = BEGIN in cell.source or END in cell.source
        source = _stub_answers(cell.source) if marked else cell.source
        new = nbformat.v4.new_code_cell(source)
        if tags:
            new.metadata["tags"] = list(tags)
        cells.append(new)
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": _KERNEL})


def student_edition(out_dir: str | Path, *, root: str | Path = ".") -> list[Path]:
    """Write the student edition of every chapter to ``out_dir`` as ``.ipynb`` files.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Created if missing; existing files of the same names are replaced.
    root : str or pathlib.Path, default "."
        The course's root folder (the one holding ``notebooks/``).

    Returns
    -------
    list of pathlib.Path
        The notebooks written, one per chapter.
    """
    out, root = Path(out_dir), Path(root)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in chapter_paths(root):
        notebook = student_notebook(jupytext.read(path))
        notebook.metadata["coursepkg"] = {"chapter": path.stem, "edition": "student"}
        target = out / f"{path.stem}.ipynb"
        nbformat.write(notebook, target)
        written.append(target)
    return written


def instructor_edition(out_dir: str | Path, *, root: str | Path = ".") -> list[Path]:
    """Copy the book's executed chapters (solutions and outputs) to ``out_dir``.

    The executed notebooks are those ``make book`` leaves in
    ``_build/jupyter_execute/notebooks``; build the book first.
    """
    out, root = Path(out_dir), Path(root)
    executed = root / "_build" / "jupyter_execute" / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in chapter_paths(root):
        source = executed / f"{path.stem}.ipynb"
        if not source.is_file():
            raise FileNotFoundError(f"{source} is missing: run `make book` first")
        written.append(Path(shutil.copy(source, out / source.name)))
    return written
