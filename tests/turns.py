"""Tests of one parallel run (pytest-xdist) taking turns at the machine.

Most tests wait on sockets, processes and the database, and run side by side
in the xdist workers. A few measure time on the wire (calls per window,
arrivals spaced by the limiter, a client trickling bytes): beside another
busy test on two cores their margins turn into flakes. Those are marked
`alone` and run with nothing beside them: an `alone` test waits for the
tests running in the other workers to finish, and no test starts until it is
done. Two lock files in the folder the workers share do it: every test takes
the turnstile for a moment and then a shared hold on `running`; an `alone`
test keeps the turnstile (so nothing new starts) and takes `running` alone.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def turn(folder: Path, alone: bool) -> Iterator[None]:
    """Hold the machine for one test: shared with the other workers' tests, or to itself when alone."""
    with (folder / "turnstile.lock").open("a") as turnstile, (folder / "running.lock").open("a") as running:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(running, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            if not alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(running, fcntl.LOCK_UN)
            if alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
