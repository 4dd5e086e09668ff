"""Deliberate bugs the suite must catch: `make mutants` (or `python tests/mutants.py [name]`).

Each mutant is a one-line change to the engine. It is applied to a copy of the repository, the
named tests run against the copy, and the mutant is *killed* when they fail. Prints which test
killed each mutant; exits non-zero if any survives.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    before: str
    after: str
    tests: tuple[str, ...]


FILTER_TESTS = ("tests/test_filters_oracle.py",)
DATE_TESTS = ("tests/test_dates.py",)

MUTANTS = [
    Mutant("gt compiled as gte", "resolvers/where.py",
           '{"gt": ">", "gte"', '{"gt": ">=", "gte"', FILTER_TESTS),
    Mutant("icontains made case-sensitive", "resolvers/where.py",
           'found = f"positionCaseInsensitiveUTF8(', 'found = f"positionUTF8(', FILTER_TESTS),
    Mutant("is_not never matches a missing property", "resolvers/where.py",
           'return f"(NOT has({bound}, {text}))"',
           'return f"({is_set} AND NOT has({bound}, {text}))"', FILTER_TESTS),
    Mutant("exact on a list matches only the first value", "resolvers/where.py",
           "for v in (value if isinstance(value, list) else [value])]",
           "for v in (value if isinstance(value, list) else [value])][:1]", FILTER_TESTS),
    Mutant("timezone ignored when bucketing", "resolvers/dates.py",
           "    tz = zone(timezone)\n", '    tz = zone("UTC")\n', DATE_TESTS),
    Mutant("week start fixed to Monday", "resolvers/dates.py",
           "offset = (start.weekday() + 1) % 7 if week_start_day == 0 else start.weekday()",
           "offset = start.weekday()", DATE_TESTS),
]  # fmt: skip


def run(mutant: Mutant) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
            ".venv", ".git", ".spyglass", "__pycache__", ".hypothesis", "bench"))  # fmt: skip
        target = copy / mutant.path
        source = target.read_text()
        if source.count(mutant.before) != 1:
            return False, f"mutation site not found exactly once in {mutant.path}"
        target.write_text(source.replace(mutant.before, mutant.after))
        env = {**os.environ, "PYTHONPATH": str(copy)}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
             "--hypothesis-seed=0", *mutant.tests],
            cwd=copy, env=env, capture_output=True, text=True,
        )  # fmt: skip
        failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
        return result.returncode != 0, failed[0] if failed else result.stdout[-300:]


def main() -> None:
    wanted = sys.argv[1:]
    survivors = 0
    for mutant in MUTANTS:
        if wanted and not any(w in mutant.name for w in wanted):
            continue
        killed, detail = run(mutant)
        survivors += not killed
        print(f"{'KILLED ' if killed else 'SURVIVED'}  {mutant.name}: {detail}", flush=True)
    sys.exit(1 if survivors else 0)


if __name__ == "__main__":
    main()
