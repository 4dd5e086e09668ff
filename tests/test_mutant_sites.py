"""Every deliberate mutant of `make mutants` still names a real line of the engine: a mutant
whose site was edited away would otherwise be reported as surviving only when someone runs
`make mutants`, long after the edit."""

from pathlib import Path

import pytest

from tests.mutants import ROOT, all_mutants


@pytest.mark.parametrize("mutant", all_mutants(), ids=lambda m: m.name)
def test_mutation_site_exists_exactly_once(mutant):
    source = Path(ROOT / mutant.path).read_text()
    assert source.count(mutant.before) == 1, f"{mutant.path} no longer holds {mutant.before!r}"
    assert mutant.before != mutant.after
