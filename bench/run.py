"""Run every benchmark and write BENCHMARKS.md: each figure with its command, the machine and the floor.

    python bench/run.py [--quick] [--output BENCHMARKS.md]

Each benchmark runs in its own process, one after another; `--quick` runs fewer
repetitions (for a smoke check, not for figures to compare). Only ratios measured in one
run mean anything on a shared or noisy machine: each benchmark measures its floor (or
its reference) in the same run, interleaved with ours.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (title, what it shows, arguments, quick arguments)
BENCHMARKS = [
    (
        "Requests through the WSGI app, and the floor",
        "Own time (outside DynamoDB sends), latency and throughput of the authenticated viewer query, "
        "own time per edge of 10- and 100-edge `todos` pages, own time of the `addTodo` mutation, "
        "DynamoDB round trips per operation.",
        ["bench/wsgi.py", "--repeat", "300"],
        ["bench/wsgi.py", "--repeat", "60"],
    ),
    (
        "Login against argon2's own verify time",
        "Production argon2id parameters; an unknown email must cost what a wrong password costs.",
        ["bench/login.py", "--repeat", "15"],
        ["bench/login.py", "--repeat", "3"],
    ),
    (
        "Lambda cold start, and the floor",
        "Fresh isolated processes importing the handler (the working tree with this Python's packages) "
        "and serving the first authenticated query; the floor in fresh processes of the same Python. "
        "`python bench/coldstart.py` without `--source` measures the packaged zip instead.",
        ["bench/coldstart.py", "--source", "--runs", "9"],
        ["bench/coldstart.py", "--source", "--runs", "2"],
    ),
    (
        "Pagination cost against list size",
        "Items DynamoDB reads and latency of `todos` pages for lists of growing size.",
        ["bench/pagination.py", "--sizes", "100", "1000", "--repeat", "20"],
        ["bench/pagination.py", "--sizes", "100", "--repeat", "3"],
    ),
]


def machine() -> str:
    """Describe the machine the figures come from."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{model}, {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}; "
        f"load average at the start {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions: a smoke check")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    sections = [
        "# Benchmarks",
        "",
        "Written by `python bench/run.py`"
        + (" --quick (a smoke check: too few repetitions to compare)" if args.quick else "")
        + f" on {started}.",
        "",
        f"Machine: {machine()}.",
        "",
        "Each benchmark measures its floor or reference in the same run, interleaved with ours: "
        "compare ratios, not absolute figures, across runs or machines.",
    ]
    for title, description, full, quick in BENCHMARKS:
        command = quick if args.quick else full
        print(f"running {' '.join(command)} ...", flush=True)
        begun = time.perf_counter()
        result = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=1800)
        if result.returncode != 0:
            sys.exit(f"bench/run.py: {' '.join(command)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        output = result.stdout.strip()
        block = output if output.lstrip().startswith("|") else f"```\n{output}\n```"
        sections += [
            "",
            f"## {title}",
            "",
            description,
            "",
            f"Command: `python {' '.join(command)}` ({time.perf_counter() - begun:.0f} s)",
            "",
            block,
        ]
    args.output.write_text("\n".join(sections) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
