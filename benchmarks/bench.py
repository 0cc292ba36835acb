"""The course's performance budgets, measured (``make bench``).

1. Every chapter is executed in a fresh kernel, in its own temporary working
   directory: its wall time, the kernel's peak memory, and the time of each
   training run in it (each call of ``coursepkg.training.fit``).
2. ``fit`` against a bare PyTorch loop on the same model, data and seed,
   interleaved in one process (``fit_overhead.py``).
3. The unit and claims tests: ``pytest -m "not integration"``.
4. Grading: one reference submission of each chapter, and a made-up class of 100
   submissions of the case study (reference, stub, wrong and hostile answers)
   with two jobs, each by the command an instructor types, from a cold start.

The budgets are the pass line: the command exits with status 1 if one is missed.
The table is printed and written to ``_build/bench/bench.md``, the figures to
``bench.json`` beside it (the book's status page says where to find them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

from coursepkg.gradebook import sample_class

sys.path.insert(0, str(Path(__file__).parent))
import fit_overhead

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build/bench"
# Seconds per chapter (the case study has its own), for all chapters together and for
# the unit and claims tests; the largest ratio of fit() to the bare loop.
BUDGETS = json.loads((Path(__file__).parent / "budgets.json").read_text(encoding="utf-8"))

# Runs first in each chapter's kernel: time every call of fit, however it is imported.
_PROBE_START = """\
import time as _bench_time
import coursepkg.training as _bench_training
_bench_runs = []
def _bench_fit(*args, _fit=_bench_training.fit, **kwargs):
    start = _bench_time.perf_counter()
    history = _fit(*args, **kwargs)
    _bench_runs.append({
        "cell": get_ipython().execution_count - 1,
        "epochs": len(history.epoch),
        "seconds": round(_bench_time.perf_counter() - start, 3),
    })
    return history
_bench_training.fit = _bench_fit  # before the chapter imports it
"""
# Runs last: report the runs and the kernel's peak resident memory.
_PROBE_END = """\
import json as _bench_json, resource as _bench_resource
_peak = _bench_resource.getrusage(_bench_resource.RUSAGE_SELF).ru_maxrss / 1024
print(_bench_json.dumps({"runs": _bench_runs, "peak_mb": round(_peak, 1)}))
"""


def run_chapter(path: Path) -> dict:
    """Execute one chapter in a fresh kernel and a temporary folder; return its figures."""
    notebook = jupytext.read(path)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(_PROBE_START))
    notebook.cells.append(nbformat.v4.new_code_cell(_PROBE_END))
    with tempfile.TemporaryDirectory() as folder:
        client = NotebookClient(
            notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": folder}}
        )
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
    report = json.loads(notebook.cells[-1].outputs[0]["text"].strip().splitlines()[-1])
    budget = BUDGETS["case_study_s" if path.stem == BUDGETS["case_study"] else "chapter_s"]
    return {"chapter": path.stem, "seconds": round(seconds, 1), "budget_s": budget, **report}


def run_tests() -> tuple[float, bool]:
    """Time the unit and claims tests (those not marked ``integration``); say if they passed."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "not integration", "tests"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start, result.returncode == 0


def _grade_command(submissions: Path, jobs: int) -> float:
    """Time ``python -m coursepkg grade`` on a folder, from a cold start; return its seconds."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "coursepkg", "grade", str(submissions), "--out",
         str(submissions / "scores"), "--jobs", str(jobs)],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - start


def run_grading(paths: list[Path]) -> dict:
    """Time the grading of one reference submission per chapter, and of a class of 100."""
    seconds = {}
    with tempfile.TemporaryDirectory() as folder:
        for path in paths:
            notebook = jupytext.read(path)
            notebook.metadata["coursepkg"] = {"chapter": path.stem}
            (Path(folder) / path.stem).mkdir()
            nbformat.write(notebook, Path(folder) / path.stem / "reference.ipynb")
            seconds[path.stem] = round(_grade_command(Path(folder) / path.stem, 1), 1)
        case_study = ROOT / "notebooks" / f"{BUDGETS['case_study']}.md"
        sample_class(case_study, Path(folder) / "class", 100)
        return {"grade_one_s": seconds, "class_s": round(_grade_command(Path(folder) / "class", 2))}


def markdown(results: dict) -> str:
    """Return the results as a Markdown table (printed, and written to bench.md)."""
    lines = [
        "| Measure | Measured | Budget | |",
        "|---|---|---|---|",
    ]
    for chapter in results["chapters"]:
        runs = chapter["runs"]
        detail = f"{len(runs)} training runs, {sum(r['seconds'] for r in runs):.1f} s"
        lines.append(
            f"| {chapter['chapter']} ({detail}; peak {chapter['peak_mb']:.0f} MB) "
            f"| {chapter['seconds']:.1f} s | ≤ {chapter['budget_s']:.0f} s "
            f"| {'✓' if chapter['seconds'] <= chapter['budget_s'] else '✗'} |"
        )
    for chapter, seconds in results.get("grade_one_s", {}).items():
        ok = "✓" if seconds <= BUDGETS["grade_one_s"] else "✗"
        lines.append(
            f"| grading one submission of {chapter} | {seconds:.1f} s "
            f"| ≤ {BUDGETS['grade_one_s']} s | {ok} |"
        )
    for key, label, unit in (
        ("book_s", "all chapters together", " s"),
        ("class_s", "grading 100 submissions of the case study, 2 jobs", " s"),
        ("fit_ratio", "`fit()` / bare loop (median time)", "×"),  # noqa: RUF001
        ("tests_s", "unit and claims tests", " s"),
    ):
        if key in results:
            value, budget = results[key], BUDGETS[key]
            ok = "✓" if value <= budget else "✗"
            lines.append(f"| {label} | {value:.3g}{unit} | ≤ {budget:g}{unit} | {ok} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Measure, write the table, and return 1 if a budget is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter names (default: all)")
    parser.add_argument("--skip-tests", action="store_true", help="do not time the tests")
    parser.add_argument("--repeats", type=int, default=11, help="fit/bare pairs to time")
    parser.add_argument("--skip-grading", action="store_true", help="do not time the grader")
    args = parser.parse_args()
    os.environ.pop("MPLBACKEND", None)  # as in the book build: figures are drawn
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md"))
    if args.chapters:
        paths = [p for p in paths if any(p.stem.startswith(c) for c in args.chapters)]
    results: dict = {"chapters": []}
    for path in paths:
        results["chapters"].append(run_chapter(path))
        print(results["chapters"][-1]["chapter"], results["chapters"][-1]["seconds"], "s")
    if not args.chapters:
        results["book_s"] = round(sum(c["seconds"] for c in results["chapters"]), 1)
    bare, ours = fit_overhead.interleave(repeats=args.repeats)
    results["fit_ratio"] = round(ours / bare, 3)
    results["fit_bare_s"], results["fit_s"] = round(bare, 3), round(ours, 3)
    if not args.skip_tests:
        seconds, results["tests_passed"] = run_tests()
        results["tests_s"] = round(seconds, 1)
    if not args.skip_grading:
        results.update(run_grading(paths))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    table = markdown(results)
    (OUT / "bench.md").write_text(table, encoding="utf-8")
    print(table)
    missed = [line for line in table.splitlines() if line.endswith("✗ |")]
    if results.get("tests_passed") is False:
        print("the unit and claims tests failed: run them with pytest -m 'not integration'")
    return 1 if missed or results.get("tests_passed") is False else 0


if __name__ == "__main__":
    sys.exit(main())
