"""Finding a class's notebooks, and made-up submissions answered as asked."""

import jupytext
import pytest

from coursepkg.editions import STUB
from coursepkg.gradebook import answered, submissions_in


def test_a_folder_stands_for_its_notebooks_without_checkpoints(tmp_path):
    (tmp_path / "a" / ".ipynb_checkpoints").mkdir(parents=True)
    for name in ("a/alice.ipynb", "a/.ipynb_checkpoints/alice.ipynb", "bob.ipynb", "notes.txt"):
        (tmp_path / name).write_text("{}", encoding="utf-8")
    assert submissions_in([tmp_path]) == [tmp_path / "a/alice.ipynb", tmp_path / "bob.ipynb"]
    with pytest.raises(FileNotFoundError, match="no such submission or folder"):
        submissions_in([tmp_path / "missing"])


def test_answered_puts_each_kind_of_answer_in_place_of_its_stub():
    reference = jupytext.read("notebooks/05_initialization.md")
    notebook = answered(reference, ["reference", "stub", "wrong", "exits"])
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert code.count(STUB) == 1 and "return 0" in code and "raise SystemExit(0)" in code
    assert "math.prod(shape[2:])" in code  # the reference answer of the first exercise
