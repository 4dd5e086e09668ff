"""compose.yaml's structure (no Docker engine runs here, so it is checked, not started)."""

from pathlib import Path

import yaml

from gateway.config import from_env

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_gateway_is_wired_to_clickhouse_and_redis_through_its_config():
    services = compose()["services"]
    gateway = services["gateway"]
    env = gateway["environment"]
    settings = from_env({k: str(v) for k, v in env.items()})
    assert not settings.embedded
    assert (
        settings.clickhouse_url.startswith("clickhouse://")
        and "@clickhouse:9000/" in env["CLICKHOUSE_URL"]
    )
    assert settings.cache_url == "redis://redis:6379/0"
    assert gateway["depends_on"] == {
        "clickhouse": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert "/readyz" in " ".join(gateway["healthcheck"]["test"])
    for name in ("clickhouse", "redis"):
        assert services[name]["healthcheck"]["test"]


def test_cluster_profile_has_two_shards_keeper_and_a_clustered_gateway():
    services = compose()["services"]
    cluster = {name for name, s in services.items() if s.get("profiles") == ["cluster"]}
    assert cluster == {"keeper", "clickhouse-shard1", "clickhouse-shard2", "gateway-cluster"}
    assert services["gateway-cluster"]["environment"]["CLICKHOUSE_CLUSTER"] == "spyglass"
    xml = (ROOT / "deploy/cluster/cluster.xml").read_text()
    assert xml.count("<shard>") == 2 and "<spyglass>" in xml and "keeper" in xml
    for volume in services["clickhouse-shard1"]["volumes"]:
        assert (ROOT / volume.split(":")[0]).exists()
