"""Command line: ``python -m coursepkg student-edition|instructor-edition|grade ...``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from coursepkg.editions import instructor_edition, student_edition
from coursepkg.grading import grade, write_scores


def main(argv: list[str] | None = None) -> int:
    """Run the command named in ``argv``; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m coursepkg", description=__doc__)
    parser.add_argument("--root", default=".", help="the course's folder (default: .)")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("student-edition", "write every chapter without solutions, as .ipynb"),
        ("instructor-edition", "copy the book's executed chapters (run `make book` first)"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("out_dir", type=Path)
    grader = commands.add_parser("grade", help="execute submissions and score their exercises")
    grader.add_argument("submissions", nargs="+", type=Path)
    grader.add_argument("--out", type=Path, help="folder of the score files (default: beside each)")
    grader.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    args = parser.parse_args(argv)

    if args.command != "grade":
        write = student_edition if args.command == "student-edition" else instructor_edition
        for path in write(args.out_dir, root=args.root):
            print(path)
        return 0
    status = 0
    for submission in args.submissions:
        tic = time.perf_counter()
        try:
            scores = grade(submission, root=args.root, timeout=args.timeout)
        except (OSError, ValueError) as error:
            print(f"{submission}: not graded: {error}", file=sys.stderr)
            status = 1
            continue
        folder = args.out or submission.parent
        folder.mkdir(parents=True, exist_ok=True)
        csv_path, _ = write_scores(scores, folder / f"{submission.stem}.grade")
        total = sum(s.points for s in scores), sum(s.max_points for s in scores)
        seconds = time.perf_counter() - tic
        print(f"{submission}: {total[0]}/{total[1]} points in {seconds:.0f} s -> {csv_path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
