import os

import pytest

from gateway.config import from_env
from tests.harness import Harness

# Real ClickHouse servers, run as subprocesses, for tests marked `server` (conftest_servers.py).
pytest_plugins = ["tests.conftest_servers"]


@pytest.fixture(scope="session")
def spyglass(tmp_path_factory) -> Harness:
    data = tmp_path_factory.mktemp("spyglass-data")
    harness = Harness(from_env({"SPYGLASS_DATA": str(data), **_passthrough()}))
    harness.start()
    yield harness
    harness.stop()


def _passthrough() -> dict:
    return {k: v for k, v in os.environ.items() if k in ("SPYGLASS_POOL_SIZE",)}


@pytest.fixture
def tenant(spyglass) -> dict:
    return spyglass.new_project()
