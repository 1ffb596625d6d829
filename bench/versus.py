"""Run the benchmark on this checkout and on another commit, turn about, and show both side by side.

    .venv/bin/python -m bench.versus --base 388a746             # 2 rounds each, about 10 minutes
    .venv/bin/python -m bench.versus --base HEAD~1 --rounds 1 --readme

The other commit is checked out in a temporary git worktree and measured with
its own bench/ and its own code, with this checkout's virtualenv. Rounds
alternate (this, base, this, base, ...) so that a machine that gets busier
or quieter during the run shifts both sides alike. --readme writes the table
into README.md between the versus markers.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.checkout import README, git, write_section

REPO = Path(__file__).resolve().parent.parent
START, END = "<!-- versus:start -->", "<!-- versus:end -->"
ROW = re.compile(r"^\| (?P<server>[^|]+?) \| (?P<db>SQLite|PostgreSQL) \| closed[^|]*\|(?P<rest>.*)$", re.M)


@dataclass(frozen=True)
class Round:
    """One run's headline figures."""

    label: str
    acks: dict[tuple[str, str], float]  # (server, db) -> closed-loop acks/s
    drain_span: float | None
    drain_calls: int | None
    largest_rss: float | None


def parse_report(label: str, text: str) -> Round:
    """Read the closed-loop acks/s per server, the drain span and calls, and the largest RSS."""
    acks = {}
    for match in ROW.finditer(text):
        cells = [cell.strip() for cell in match.group("rest").split("|")]
        acks[(match.group("server"), match.group("db"))] = float(cells[2].split()[0])
    span = re.search(r"Drain span, first call to last answer \| (\d+(?:\.\d+)?) s", text)
    calls = re.search(r"Drain calls = \d+ \(the minimum\) \| (\d+)", text)
    rss = re.search(r"largest (\d+(?:\.\d+)?) MB", text)
    return Round(
        label,
        acks,
        float(span.group(1)) if span else None,
        int(calls.group(1)) if calls else None,
        float(rss.group(1)) if rss else None,
    )


def run_bench(tree: Path, output: Path) -> str:
    """Run bench.run --postgres in a checkout, with this virtualenv's Python; return its report."""
    subprocess.run(
        [sys.executable, "-m", "bench.run", "--postgres", "--output", str(output)],
        cwd=tree,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return output.read_text()


def ratio(round_: Round, db: str) -> str:
    """Return the bridge's acks/s as a share of the minimal Flask receiver's on one store."""
    bridge, minimal = round_.acks.get(("bridge", db)), round_.acks.get(("minimal (Flask)", db))
    if not bridge or not minimal:
        return "n/a"
    return f"{bridge:.0f} / {minimal:.0f} = {100 * bridge / minimal:.0f}%"


def render(base: str, head: str, rounds: Sequence[Round]) -> str:
    """Return the side-by-side table in Markdown."""
    lines = [
        f"`.venv/bin/python -m bench.versus --base {base}`: this checkout ({head}) and {base}, "
        "measured in turn on the same machine.",
        "",
        "| Run | bridge / minimal acks/s, SQLite | bridge / minimal acks/s, PostgreSQL "
        "| drain span s | drain calls | largest RSS MB |",
        "|---|---|---|--:|--:|--:|",
    ]
    for r in rounds:
        lines.append(
            f"| {r.label} | {ratio(r, 'SQLite')} | {ratio(r, 'PostgreSQL')} | {r.drain_span} "
            f"| {r.drain_calls} | {r.largest_rss} |"
        )
    return "\n".join(lines) + "\n"



def main(argv: Sequence[str] | None = None) -> int:
    """Measure both commits in turn and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.versus", description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="the commit to compare with, e.g. HEAD~1")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each side (default 2)")
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    args = parser.parse_args(argv)
    base_sha, head_sha = git("rev-parse", "--short", args.base), git("rev-parse", "--short", "HEAD")
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory(prefix="lsq-versus-") as tmp:
        base_tree = Path(tmp) / "base"
        git("worktree", "add", "--detach", str(base_tree), base_sha)
        try:
            for number in range(1, args.rounds + 1):
                sides = ((f"this ({head_sha}) #{number}", REPO), (f"base ({base_sha}) #{number}", base_tree))
                for label, tree in sides:
                    print(f"measuring {label} ...", flush=True)
                    report = run_bench(tree, Path(tmp) / f"{len(rounds)}.md")
                    rounds.append(parse_report(label, report))
        finally:
            git("worktree", "remove", "--force", str(base_tree))
    table = render(args.base, head_sha, rounds)
    print(table)
    if args.readme:
        write_section(START, END, table)
        print(f"written into {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
