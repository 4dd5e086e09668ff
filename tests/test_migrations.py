"""Schema migrations: ordered, recorded, idempotent; and the DDL rendered for a cluster."""

import pytest

from gateway.migrations import MIGRATIONS_TABLE, load_migrations, migrate, render


def test_second_start_applies_nothing(spyglass):
    names = [m.name for m in load_migrations()]
    assert names == sorted(names) and names[0].startswith("0001")
    assert spyglass.run(migrate(spyglass.services.store)) == []
    recorded = spyglass.query(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY name").rows
    assert [r[0] for r in recorded] == names


def test_migrations_apply_in_order_on_a_fresh_database(spyglass):
    # A scratch database in the same engine: every statement runs, then a rerun is a no-op.
    store = spyglass.services.store
    spyglass.run(store.command("CREATE DATABASE IF NOT EXISTS migration_check"))
    try:
        for migration in load_migrations():
            for sql in render(migration):
                sql = sql.replace(
                    "CREATE TABLE IF NOT EXISTS ", "CREATE TABLE IF NOT EXISTS migration_check.", 1
                ).replace("ALTER TABLE ", "ALTER TABLE migration_check.", 1)
                spyglass.run(store.command(sql))
        tables = spyglass.query(
            "SELECT name FROM system.tables WHERE database = 'migration_check' ORDER BY name"
        ).rows
        assert [t[0] for t in tables] == sorted([
            "events", "group_property_writes", "group_type_mapping", "metadata_log",
            "person_distinct_ids", "person_overrides", "person_overrides_squashed",
            "person_property_writes", "persons",
            "static_cohort_people",
        ])  # fmt: skip
    finally:
        spyglass.run(store.command("DROP DATABASE IF EXISTS migration_check"))


def cluster_statements() -> list[str]:
    return [sql for m in load_migrations() for sql in render(m, "spyglass_cluster")]


def cluster_ddl() -> dict[str, str]:
    """The rendered CREATE TABLE statements, by table."""
    return {
        sql.split("IF NOT EXISTS ")[1].split()[0]: sql
        for sql in cluster_statements()
        if sql.startswith("CREATE TABLE")
    }


def cluster_alters() -> list[str]:
    return [sql for sql in cluster_statements() if sql.startswith("ALTER TABLE")]


def test_cluster_ddl_shards_events_by_distinct_id():
    ddl = cluster_ddl()
    local, distributed = ddl["events_local"], ddl["events"]
    assert "ON CLUSTER spyglass_cluster" in local
    assert (
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/"
        "events_local', '{replica}')"
    ) in local
    assert "SAMPLE BY cityHash64(distinct_id)" in local
    assert distributed == (
        "CREATE TABLE IF NOT EXISTS events ON CLUSTER spyglass_cluster AS events_local\n"
        "ENGINE = Distributed(spyglass_cluster, currentDatabase(), events_local, "
        "cityHash64(distinct_id))"
    )


def test_cluster_ddl_replicates_metadata_to_every_node():
    ddl = cluster_ddl()
    assert "metadata_log_local" not in ddl
    assert (
        "ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/metadata_log', "
        "'{shard}-{replica}')"
    ) in ddl["metadata_log"]
    assert (
        "ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/person_overrides', "
        "'{shard}-{replica}', version)" in ddl["person_overrides"]
    )


@pytest.mark.parametrize("name", sorted(cluster_ddl()))
def test_rendered_cluster_ddl_parses(spyglass, name):
    # Parsed by the current ClickHouse engine (EXPLAIN AST), not run: no cluster here.
    spyglass.query("EXPLAIN AST " + cluster_ddl()[name])


def test_cluster_ddl_alters_the_tables_that_hold_the_data():
    # events is a Distributed table over events_local: its index lives on the local tables.
    alters = cluster_alters()
    assert alters and all(
        sql.startswith("ALTER TABLE events_local ON CLUSTER spyglass_cluster ") for sql in alters
    )
    assert any("ADD INDEX IF NOT EXISTS uuid_bloom uuid TYPE bloom_filter" in sql for sql in alters)


@pytest.mark.parametrize("index", range(len(cluster_alters())))
def test_rendered_cluster_alters_parse(spyglass, index):
    spyglass.query("EXPLAIN AST " + cluster_alters()[index])
