"""benchmarks/RESULTS.md: each benchmark writes its own section (between markers), with the
date, the machine (cores, memory, load when it ran) and the commit, so re-running one
benchmark replaces only its own figures."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "RESULTS.md"
HEADER = """# Benchmark results

Written by the scripts under `benchmarks/` (each replaces its own section). Numbers depend on
the machine and on what else it was doing: each section says both.
"""


def machine() -> str:
    cores = os.cpu_count()
    memory = ""
    try:
        for entry in Path("/proc/meminfo").read_text().splitlines():
            if entry.startswith("MemTotal:"):
                memory = f", {int(entry.split()[1]) / 1024 / 1024:.0f} GiB memory"
    except OSError:
        pass
    one, five, fifteen = os.getloadavg()
    load = f", load average {one:.2f} {five:.2f} {fifteen:.2f}"
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{cores} cores{memory}{load}; {system}"


def commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            # RESULTS.md itself does not count: the benchmarks are what change it.
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ":(top)",
                ":(exclude,top)benchmarks/RESULTS.md",
            ],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
        return sha + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write(name: str, title: str, command: str, body: str) -> None:
    """Replace (or add) the section `name` of RESULTS.md."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- {name} -->\n## {title}\n\n"
        f"- date: {stamp}\n- machine: {machine()}\n- commit: {commit()}\n"
        f"- command: `{command}`\n\n{body.rstrip()}\n<!-- /{name} -->\n"
    )
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip() + "\n\n" + section
    RESULTS.write_text(text)
    print(f"\n(written to {RESULTS})")
