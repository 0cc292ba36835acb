"""Command line: ``python -m coursepkg student-edition|instructor-edition|otter-export|grade``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from coursepkg.editions import instructor_edition, student_edition
from coursepkg.gradebook import grade_class
from coursepkg.otter import otter_export


def main(argv: list[str] | None = None) -> int:
    """Run the command named in ``argv``; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m coursepkg", description=__doc__)
    parser.add_argument("--root", default=".", help="the course's folder (default: .)")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("student-edition", "write every chapter without solutions, as .ipynb"),
        ("instructor-edition", "copy the book's executed chapters (run `make book` first)"),
        ("otter-export", "write every chapter's checked exercises as otter-grader notebooks"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("out_dir", type=Path)
    grader = commands.add_parser("grade", help="score the exercises of a class's submissions")
    grader.add_argument("submissions", nargs="+", type=Path, help="notebooks, or folders of them")
    grader.add_argument("--out", type=Path, default=Path("scores"), help="default: scores/")
    grader.add_argument("--jobs", type=int, default=1, help="submissions at once (default 1)")
    grader.add_argument(
        "--timeout", type=float, default=60, help="seconds per submission (default 60)"
    )
    args = parser.parse_args(argv)

    if args.command != "grade":
        write = {
            "student-edition": student_edition,
            "instructor-edition": instructor_edition,
            "otter-export": otter_export,
        }[args.command]
        for path in write(args.out_dir, root=args.root):
            print(path)
        return 0
    tic = time.perf_counter()
    try:
        results = grade_class(
            args.submissions, args.out, root=args.root, jobs=args.jobs, timeout=args.timeout
        )
    except (OSError, ValueError) as error:
        print(f"not graded: {error}", file=sys.stderr)
        return 1
    failed = [f"{name}: {why}" for name, why in results.items() if isinstance(why, str)]
    print(
        f"{len(results) - len(failed)} of {len(results)} submissions graded in "
        f"{time.perf_counter() - tic:.0f} s; see {args.out / 'scores.csv'} and "
        f"{args.out / 'summary.png'}",
        *failed,
        sep="\n",
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
