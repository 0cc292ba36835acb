"""Sphinx extension: re-execute exactly the chapters a change of ``coursepkg`` can affect.

myst-nb caches each notebook's outputs under the hash of its code cells, so on
its own it would keep showing outputs computed with an older ``coursepkg``. This
extension gives every notebook a *dependency key*: the hash of the code (not the
docstrings, comments or formatting) of the package modules the notebook uses and
of the modules those import, found in the code's syntax tree and named in full
(``coursepkg.schedules`` is not ``coursepkg.exercises.schedules``); a package
imported as a whole stands for all its modules. When a notebook's key changes, its
cached outputs are dropped and the page is re-read, so myst-nb executes it again;
the other notebooks keep their outputs. Changing only a docstring re-executes nothing.

The tests execute every chapter with nbmake (the root ``conftest.py``) and hand each
one that passes to :func:`record_executed`, which stores it in the same cache with
its key; a build after the tests then executes nothing. No library does either job:
myst-nb's cache keys on the notebook alone, and nbmake keeps no outputs but by
overwriting its input. The standard library's ``modulefinder`` would follow every
import, torch's thousands of modules included, to find the few of the package.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import json
from pathlib import Path
from typing import Any

import jupytext
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
_KEYS_FILE = "notebook_deps.json"  # beside the cache: the key of each notebook it holds


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


class Package:
    """The modules of a package: their code, and the modules of the package each imports."""

    def __init__(self, root: Path):
        self.name = root.name
        self.code: dict[str, str] = {}
        self.packages: set[str] = set()
        trees = {}
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root.parent).with_suffix("").parts
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if parts[-1] == "__init__":
                self.packages.add(module)
            trees[module] = ast.parse(path.read_text(encoding="utf-8"))
            self.code[module] = ast.dump(_without_docstrings(trees[module]))
        self.imports = {module: self._imported(tree, module) for module, tree in trees.items()}

    def _imported(self, tree: ast.Module, module: str | None = None) -> set[str]:
        """Return the modules of the package that the code (of ``module``) imports.

        Modules are named in full: ``from p.a import b`` runs ``p`` and ``p.a`` and
        names ``p.a.b`` when that is a module. A package imported as a whole (``import
        p``, ``from p import *``) may be used in any part: it stands for all of them.
        """
        runs, named = [], []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                runs += [alias.name for alias in node.names]
                named += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative to the package the module is in
                    anchor = module.split(".")[: None if module in self.packages else -1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                runs.append(base)
                named += [base if a.name == "*" else f"{base}.{a.name}" for a in node.names]
        used = set()
        for name in runs:
            parts = name.split(".")
            used |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        for name in named:
            whole = name in self.packages
            used |= {m for m in self.code if m.startswith(f"{name}.")} if whole else {name}
        return used & self.code.keys()

    def used_by(self, code: str) -> set[str]:
        """Modules that ``code`` imports, with the modules those import."""
        try:
            todo = list(self._imported(ast.parse(code)))
        except SyntaxError:
            return set(self.code)  # what it uses is unknown: everything
        closure = set()
        while todo:
            module = todo.pop()
            if module not in closure:
                closure.add(module)
                todo.extend(self.imports[module])
        return closure

    def key(self, code: str) -> str:
        """Hash of the code of the modules ``code`` depends on."""
        digest = hashlib.sha256()
        for module in sorted(self.used_by(code)):
            digest.update(module.encode() + b"\0" + self.code[module].encode() + b"\0")
        return digest.hexdigest()[:16]


def notebook_code(path: Path) -> str:
    """Return the code cells of a MyST notebook, joined, IPython's syntax made Python."""
    from IPython.core.inputtransformer2 import TransformerManager

    cells = jupytext.read(path).cells
    transform = TransformerManager().transform_cell
    return "\n".join(transform(cell.source) for cell in cells if cell.cell_type == "code")


def _cache_path(srcdir: Path) -> Path:
    """Where myst-nb keeps executed notebooks: Jupyter Book's default, beside the html."""
    return srcdir / "_build/.jupyter_cache"


def _read_keys(cache_path: Path) -> dict[str, str]:
    """Return the dependency key of each notebook whose outputs the cache holds."""
    keys_file = cache_path / _KEYS_FILE
    return json.loads(keys_file.read_text()) if keys_file.is_file() else {}


def record_executed(
    path: Path, nb, seconds: float, *, srcdir: Path, package: str = "coursepkg"
) -> None:
    """Store a notebook executed outside the build (by the tests) where the build finds it.

    myst-nb looks a notebook up in the cache by the hash of its code cells (sources and
    metadata; the timings nbclient adds are dropped), so the build shows these outputs
    instead of executing the notebook again. The notebook's dependency key is recorded
    with it, so a later change of the code it uses still re-executes it.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    srcdir, path = srcdir.resolve(), path.resolve()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    cache_path = _cache_path(srcdir)
    cache_path.mkdir(parents=True, exist_ok=True)
    key = Package(srcdir / package).key(notebook_code(path))
    doc = path.relative_to(srcdir).with_suffix("").as_posix()
    with open(cache_path / "notebook_deps.lock", "w") as lock:  # tests run in parallel
        fcntl.flock(lock, fcntl.LOCK_EX)
        get_cache(cache_path).cache_notebook_bundle(
            CacheBundleIn(nb, str(path), data={"execution_seconds": seconds}),
            check_validity=False,
            overwrite=True,
        )
        keys = {**_read_keys(cache_path), doc: key}
        (cache_path / _KEYS_FILE).write_text(json.dumps(keys, indent=1))


def _outdated(app: Sphinx, env, added: set, changed: set, removed: set) -> list[str]:
    srcdir = Path(app.srcdir).resolve()
    root = srcdir / app.config.notebook_deps_package
    if not (root / "__init__.py").is_file():
        raise ExtensionError(f"notebook_deps_package: no package at {root}")
    package = Package(root)
    keys = {
        path.relative_to(srcdir).with_suffix("").as_posix(): package.key(notebook_code(path))
        for path in sorted(srcdir.glob(app.config.notebook_deps_notebooks))
    }
    cache_path = Path(app.config.nb_execution_cache_path or _cache_path(srcdir))
    # Without the keys of the cached outputs, no cached output can be trusted.
    previous = _read_keys(cache_path)
    stale = [doc for doc, key in keys.items() if previous.get(doc) != key]
    if stale and cache_path.is_dir():
        from jupyter_cache import get_cache

        cache = get_cache(cache_path)
        stale_paths = {srcdir / f"{doc}.md" for doc in stale}
        for record in cache.list_cache_records():
            if Path(record.uri).resolve() in stale_paths:
                cache.remove_cache(record.pk)
    cache_path.mkdir(parents=True, exist_ok=True)
    (cache_path / _KEYS_FILE).write_text(json.dumps(keys, indent=1))
    if previous and stale:
        LOGGER.info("notebook_deps: the code these use changed, re-executing: %s", stale)
    # A page is read again when the outputs it shows were made with other code: also
    # when the tests have executed it with the changed code since the last build, and
    # stored the outputs and the new key already.
    shown = getattr(env, "notebook_deps_keys", {})
    env.notebook_deps_keys = keys
    return [doc for doc, key in keys.items() if shown.get(doc) != key]


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension."""
    app.add_config_value("notebook_deps_package", "coursepkg", "env")
    app.add_config_value("notebook_deps_notebooks", "notebooks/[0-9][0-9]_*.md", "env")
    app.connect("env-get-outdated", _outdated)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
