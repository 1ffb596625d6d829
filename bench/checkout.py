"""This checkout as the benchmarks see it: git, and the README sections they write their tables into."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"


def git(*args: str) -> str:
    """Run git in this checkout and return its output."""
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()


def write_section(start: str, end: str, text: str) -> None:
    """Replace what stands between the README's start and end markers with text."""
    readme = README.read_text()
    head, found_start, rest = readme.partition(start)
    _, found_end, tail = rest.partition(end)
    if not found_start or not found_end:
        raise SystemExit(f"{README} has no {start} ... {end} section to write into")
    README.write_text(f"{head}{start}\n{text.strip()}\n{end}{tail}")
