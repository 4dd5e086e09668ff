"""Deliberate bugs the suite must catch: `make mutants` (or `python tests/mutants.py [name]`).

Mutants live in tests/mutants_<area>.py as a `MUTANTS` list of `Mutant`s. Each is a one-line
change to the engine. It is applied to a copy of the repository, the
named tests run against the copy, and the mutant is *killed* when they fail. Prints which test
killed each mutant; exits non-zero if any survives.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the mutant modules import tests.mutants


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    before: str
    after: str
    tests: tuple[str, ...]


def all_mutants() -> list[Mutant]:
    """Every `MUTANTS` list in tests/mutants_*.py (one module per engine)."""
    found = []
    for path in sorted((ROOT / "tests").glob("mutants_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found += module.MUTANTS
    return found


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
    for mutant in all_mutants():
        if wanted and not any(w in mutant.name for w in wanted):
            continue
        killed, detail = run(mutant)
        survivors += not killed
        print(f"{'KILLED ' if killed else 'SURVIVED'}  {mutant.name}: {detail}", flush=True)
    sys.exit(1 if survivors else 0)


if __name__ == "__main__":
    main()
