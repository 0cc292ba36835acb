"""The code runs on every Python version pyproject.toml declares: nothing newer than its minimum."""

import re
import subprocess
import sys
from pathlib import Path

PYPROJECT = Path("pyproject.toml").read_text(encoding="utf-8")
MINIMUM = re.search(r'^requires-python = ">=(.*)"$', PYPROJECT, re.M).group(1)


def test_no_syntax_or_standard_library_newer_than_the_minimum():
    vermin = Path(sys.executable).with_name("vermin")
    options = [f"--target={MINIMUM}-", "--violations", "--no-tips", "--eval-annotations"]
    folders = ["coursepkg", "book/_ext", "benchmarks", "tests", "conftest.py"]
    result = subprocess.run(
        [str(vermin), *options, *folders],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
