"""The book's configuration, built on a scratch copy: one small notebook page, not the chapters."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A scratch chapter

Some prose.

```{code-cell} ipython3
1 + 1
```
"""


def build_scratch_book(
    tmp_path: Path, notebook: str = NOTEBOOK, **settings
) -> subprocess.CompletedProcess:
    """Build one notebook page with the course's ``_config.yml``, changed by ``settings``.

    Each keyword is a top-level section of ``_config.yml`` whose keys replace the
    course's. The kernel finds Python modules in ``tmp_path``.
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["bibtex_bibfiles"] = [str(ROOT / "book/references.bib")]
    sphinx = config["sphinx"]
    extensions = ROOT / "book/_ext"
    sphinx["local_extensions"] = {name: str(extensions) for name in sphinx["local_extensions"]}
    sphinx["config"].pop("html_extra_path")
    sphinx["config"]["notebook_deps_package"] = str(ROOT / "coursepkg")
    for section, values in settings.items():
        if section == "sphinx":
            sphinx["config"].update(values["config"])
        else:
            config.setdefault(section, {}).update(values)
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: notebooks/01_scratch\n")
    (tmp_path / "notebooks").mkdir(exist_ok=True)
    (tmp_path / "notebooks/01_scratch.md").write_text(notebook, encoding="utf-8")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run(
        [str(jupyter_book), "build", str(tmp_path), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )


def _page(tmp_path: Path) -> str:
    return (tmp_path / "_build/html/notebooks/01_scratch.html").read_text(encoding="utf-8")


def test_launch_buttons_open_the_chapter_as_a_notebook_once_a_repository_is_set(tmp_path):
    result = build_scratch_book(
        tmp_path,
        repository={"url": "https://github.com/someone/regularization-course"},
        execute={"execute_notebooks": "off"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    page = _page(tmp_path)
    binder = (
        "https://mybinder.org/v2/gh/someone/regularization-course/main"
        "?urlpath=lab/tree/notebooks/01_scratch.ipynb"
    )
    colab = (
        "https://colab.research.google.com/github/someone/regularization-course"
        "/blob/gh-pages/notebooks/01_scratch.ipynb"
    )
    assert binder in page
    assert colab in page


def test_no_launch_button_while_no_repository_is_set(tmp_path):
    result = build_scratch_book(tmp_path, execute={"execute_notebooks": "off"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    page = _page(tmp_path)
    assert "mybinder.org" not in page
    assert "colab.research.google.com" not in page
    assert "launch-buttons" not in page


def test_a_package_change_re_executes_a_notebook_only_when_code_it_uses_changed(tmp_path):
    package = tmp_path / "minipkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "used.py").write_text('__all__ = ["answer"]\n\n\ndef answer():\n    return 42\n')
    (package / "unused.py").write_text('__all__ = ["other"]\n\n\ndef other():\n    return 0\n')
    notebook = NOTEBOOK.replace("1 + 1", "from minipkg.used import answer\n\nanswer()")

    def build():
        result = build_scratch_book(
            tmp_path, notebook, sphinx={"config": {"notebook_deps_package": "minipkg"}}
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return "Executing notebook" in result.stdout + result.stderr

    def edit(path, old, new):
        path.write_text(path.read_text().replace(old, new))

    assert build(), "the first build executes the notebook"
    assert not build(), "nothing changed"
    edit(package / "unused.py", "return 0", "return 1")
    assert not build(), "code the notebook does not use changed"
    edit(package / "used.py", "def answer():", 'def answer():\n    """The answer."""')
    assert not build(), "only a docstring changed"
    edit(package / "used.py", "return 42", "return 43")
    assert build(), "code the notebook uses changed"
    assert "43" in _page(tmp_path)


def test_the_build_shows_what_the_tests_executed_and_never_older_outputs(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "book/_ext"))
    from notebook_deps import record_executed

    package = tmp_path / "minipkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    used = package / "used.py"
    used.write_text('__all__ = ["answer"]\n\n\ndef answer():\n    return 42\n')
    notebook = NOTEBOOK.replace("1 + 1", "from minipkg.used import answer\n\nanswer()")
    path = tmp_path / "notebooks/01_scratch.md"
    path.parent.mkdir()
    path.write_text(notebook, encoding="utf-8")

    def record(text):
        """Store outputs as the tests would, nbclient's timings included."""
        executed = jupytext.read(path)
        executed.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        executed.cells[-1].metadata["execution"] = {"shell.execute_reply": "2026-01-01"}
        record_executed(path, executed, 1.5, srcdir=tmp_path, package="minipkg")

    profile = tmp_path / "ipython/profile_default/startup"
    profile.mkdir(parents=True)
    shutil.copy(ROOT / "tests/offline/no-kernel.py", profile)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # a kernel would fail the build

    def build():
        config = {"sphinx": {"config": {"notebook_deps_package": "minipkg"}}}
        return build_scratch_book(tmp_path, notebook, **config)

    record("outputs of the first run")
    result = build()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "outputs of the first run" in _page(tmp_path)
    # The code changes and the tests run the notebook again: the page shows the new outputs.
    used.write_text(used.read_text().replace("42", "43"))
    record("outputs of the second run")
    result = build()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "outputs of the second run" in _page(tmp_path)
    # The code changes and nothing runs the notebook: the stored outputs are stale, so the
    # build executes the notebook; here the kernel refuses to start and the build fails.
    used.write_text(used.read_text().replace("43", "44"))
    result = build()
    assert "Executing notebook" in result.stdout + result.stderr
    assert result.returncode != 0


@pytest.mark.parametrize(
    ("fault", "old", "new", "message"),
    [
        ("a cell that raises", "1 + 1", "1 / 0", "ZeroDivisionError"),
        ("a broken cross-reference", "Some prose.", "See {ref}`no-such-label`.", "no-such-label"),
        ("a missing citation", "Some prose.", "As {cite:p}`nobody2099` said.", "nobody2099"),
        ("a missing glossary term", "Some prose.", "A {term}`Flux capacitor`.", "Flux capacitor"),
    ],
)
def test_the_build_fails_on(tmp_path, fault, old, new, message):
    result = build_scratch_book(tmp_path, NOTEBOOK.replace(old, new))
    assert result.returncode != 0, f"the build passed with {fault}"
    reports = tmp_path.glob("_build/html/reports/**/*.err.log")  # a cell's traceback goes there
    output = result.stdout + result.stderr + "".join(path.read_text() for path in reports)
    assert message in output
