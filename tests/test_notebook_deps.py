"""Which chapters a change of coursepkg re-executes (book/_ext/notebook_deps.py)."""

import shutil
import sys
from pathlib import Path

import pytest

from coursepkg.editions import chapter_paths

sys.path.insert(0, str(Path("book/_ext").resolve()))
from notebook_deps import Package, notebook_code

CHAPTERS = {path.stem[:2]: notebook_code(path) for path in chapter_paths()}


@pytest.fixture
def package_copy(tmp_path):
    """A copy of coursepkg to edit, and a function giving every chapter's key."""
    root = shutil.copytree("coursepkg", tmp_path / "coursepkg")

    def keys():
        package = Package(root)
        return {chapter: package.key(code) for chapter, code in CHAPTERS.items()}

    return root, keys


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_each_chapter_depends_on_the_modules_it_uses():
    package = Package(Path("coursepkg"))
    used = {chapter: package.used_by(code) for chapter, code in CHAPTERS.items()}
    trains_with_fit = {c for c, modules in used.items() if "coursepkg.training" in modules}
    assert trains_with_fit == set(used) - {"08"}  # chapter 8 trains populations in its own loop
    assert {c for c, modules in used.items() if "coursepkg.population" in modules} == {"08"}
    assert all("coursepkg.reproducibility" in modules for modules in used.values())  # seeds
    assert {c for c, modules in used.items() if "coursepkg.lasso" in modules} == {"02"}
    assert {c for c, modules in used.items() if "coursepkg.resnet" in modules} == {"07"}
    assert {c for c, m in used.items() if "coursepkg.exercises.dropout" in m} == {"03"}
    # through imports inside the package: exercises use their framework
    assert all("coursepkg.exercises.framework" in modules for modules in used.values())
    assert all("coursepkg.grading" not in modules for modules in used.values())


def test_a_docstring_or_comment_changes_no_key(package_copy):
    root, keys = package_copy
    before = keys()
    _edit(root / "lasso.py", '"""The lasso', '"""The LASSO')
    _edit(
        root / "training.py",
        "    check_positive_int(epochs",
        "    # a comment\n    check_positive_int(epochs",
    )
    assert keys() == before


def test_a_code_change_changes_exactly_the_keys_of_the_chapters_using_it(package_copy):
    root, keys = package_copy
    before = keys()
    _edit(root / "lasso.py", "def ", "_UNUSED = 1\n\n\ndef ")
    after = keys()
    assert {c for c in before if before[c] != after[c]} == {"02"}
    _edit(root / "reproducibility.py", "def ", "_UNUSED = 1\n\n\ndef ")
    assert all(before[c] != k for c, k in keys().items())  # every chapter seeds


def _write_package(root: Path, files: dict[str, str]) -> Package:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Package(root)


# Two modules of the same short name (as coursepkg.schedules and coursepkg.exercises.schedules),
# and imports in each style the chapters and the package use.
_FAKE = {
    "__init__.py": "",
    "training.py": "def fit():\n    pass\n",
    "schedules.py": "def cosine():\n    pass\n",
    "display.py": "def glue():\n    pass\n",
    "reproducibility.py": "from . import _checks\n",
    "_checks.py": "def check():\n    pass\n",
    "exercises/__init__.py": "",
    "exercises/framework.py": "from ..display import glue\n",
    "exercises/schedules.py": "from .framework import *\n\n\ndef check_cosine():\n    pass\n",
}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "from fakepkg.exercises import schedules as ex",
            {"exercises", "exercises.schedules", "exercises.framework", "display"},
        ),
        ("from fakepkg.schedules import cosine", {"schedules"}),
        ("from fakepkg import schedules as sch", {"schedules"}),
        ("import fakepkg.display as d", {"display"}),
        ("from fakepkg.reproducibility import seed_everything", {"reproducibility", "_checks"}),
        (
            "import fakepkg.exercises",
            {"exercises", "exercises.schedules", "exercises.framework", "display"},
        ),
        (
            "import fakepkg as fp",
            {
                "training",
                "schedules",
                "display",
                "reproducibility",
                "_checks",
                "exercises",
                "exercises.framework",
                "exercises.schedules",
            },
        ),
    ],
)
def test_modules_are_told_apart_by_full_name_in_every_import_style(tmp_path, code, expected):
    package = _write_package(tmp_path / "fakepkg", _FAKE)
    assert package.used_by(code) == {"fakepkg", *(f"fakepkg.{module}" for module in expected)}
