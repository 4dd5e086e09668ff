"""Schema migrations: `sql/schema/NNNN_name.sql`, applied in order, recorded, idempotent.

The files are written for one node. With CLICKHOUSE_CLUSTER set, each CREATE TABLE is
rendered for the cluster from the `-- cluster:` line above it:
  - `shard_by EXPR`: a `<name>_local` Replicated*MergeTree on every shard plus a `<name>`
    Distributed table over it, rows placed by EXPR;
  - `replicate_all`: one Replicated*MergeTree whose replicas are every node (one shared
    Keeper path), for metadata that every gateway must read whole.
An ALTER TABLE changes the table that holds the data: `-- cluster: alter TABLE` names it
(`<name>_local` for a sharded table, the table itself for a replicated one).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from gateway.store import Store

MIGRATIONS_TABLE = "spyglass_migrations"

_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)\s*\n", re.MULTILINE)
_ENGINE = re.compile(r"ENGINE = (\w*MergeTree)(?:\(([^)]*)\))?")
_DIRECTIVE = re.compile(r"^-- cluster: (shard_by (.+)|replicate_all)\s*$", re.MULTILINE)
_ALTER = re.compile(r"^ALTER TABLE (\w+) ")
_ALTER_DIRECTIVE = re.compile(r"^-- cluster: alter (\w+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Migration:
    name: str
    statements: tuple[str, ...]

    @property
    def checksum(self) -> str:
        return hashlib.sha256("\n;\n".join(self.statements).encode()).hexdigest()[:16]


def load_migrations() -> list[Migration]:
    folder = resources.files("sql") / "schema"
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [Migration(f.name.removesuffix(".sql"), split_statements(f.read_text())) for f in files]


def split_statements(text: str) -> tuple[str, ...]:
    parts = re.split(r";\s*\n", text.strip().rstrip(";") + "\n")
    return tuple(p.strip() for p in parts if p.strip())


def _strip_comments(statement: str) -> str:
    return "\n".join(line for line in statement.splitlines() if not line.startswith("--")).strip()


def render_cluster(statement: str, cluster: str) -> list[str]:
    """One single-node statement → the statements that build it on `cluster`."""
    sql = _strip_comments(statement)
    if _ALTER.match(sql):
        return [_render_alter(statement, sql, cluster)]
    create = _CREATE.search(sql)
    if not create:
        raise ValueError(
            f"cluster rendering knows CREATE TABLE IF NOT EXISTS and ALTER TABLE: {sql[:60]}"
        )
    directive = _DIRECTIVE.search(statement)
    if not directive:
        raise ValueError(f"table {create.group(1)} has no '-- cluster:' line")
    table = create.group(1)
    engine = _ENGINE.search(sql)
    kind, args = engine.group(1), (engine.group(2) or "").strip()
    extra = f", {args}" if args else ""
    if directive.group(1) == "replicate_all":
        zk = f"'/clickhouse/tables/all/{{database}}/{table}', '{{shard}}-{{replica}}'"
        return [
            sql.replace(
                create.group(0), f"CREATE TABLE IF NOT EXISTS {table} ON CLUSTER {cluster}\n", 1
            ).replace(engine.group(0), f"ENGINE = Replicated{kind}({zk}{extra})", 1)
        ]
    local = f"{table}_local"
    zk = f"'/clickhouse/tables/{{shard}}/{{database}}/{local}', '{{replica}}'"
    local_sql = sql.replace(
        create.group(0), f"CREATE TABLE IF NOT EXISTS {local} ON CLUSTER {cluster}\n", 1
    ).replace(engine.group(0), f"ENGINE = Replicated{kind}({zk}{extra})", 1)
    distributed = (
        f"CREATE TABLE IF NOT EXISTS {table} ON CLUSTER {cluster} AS {local}\n"
        f"ENGINE = Distributed({cluster}, currentDatabase(), {local}, {directive.group(2).strip()})"
    )
    return [local_sql, distributed]


def _render_alter(statement: str, sql: str, cluster: str) -> str:
    directive = _ALTER_DIRECTIVE.search(statement)
    if not directive:
        raise ValueError(f"'{sql[:60]}' has no '-- cluster: alter TABLE' line")
    return _ALTER.sub(f"ALTER TABLE {directive.group(1)} ON CLUSTER {cluster} ", sql, count=1)


def render(migration: Migration, cluster: str = "") -> list[str]:
    if not cluster:
        return [_strip_comments(s) for s in migration.statements]
    return [sql for s in migration.statements for sql in render_cluster(s, cluster)]


def _migrations_table_ddl(cluster: str) -> str:
    on_cluster = f" ON CLUSTER {cluster}" if cluster else ""
    engine = (
        f"ReplicatedReplacingMergeTree('/clickhouse/tables/all/{{database}}/{MIGRATIONS_TABLE}',"
        " '{shard}-{replica}')"
        if cluster
        else "ReplacingMergeTree"
    )
    return (
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE}{on_cluster} "
        "(name String, checksum String, applied_at DateTime64(6, 'UTC') DEFAULT now64(6)) "
        f"ENGINE = {engine} ORDER BY name"
    )


async def applied_migrations(store: Store) -> set[str]:
    result = await store.query(f"SELECT DISTINCT name FROM {MIGRATIONS_TABLE}")
    return {row[0] for row in result.rows}


async def migrate(store: Store, cluster: str = "") -> list[str]:
    """Apply what is pending, in order; return the names applied (empty on a second start)."""
    await store.command(_migrations_table_ddl(cluster))
    done = await applied_migrations(store)
    applied = []
    for migration in load_migrations():
        if migration.name in done:
            continue
        for sql in render(migration, cluster):
            await store.command(sql)
        await store.insert(
            MIGRATIONS_TABLE, ["name", "checksum"], [(migration.name, migration.checksum)]
        )
        applied.append(migration.name)
    return applied


async def pending_migrations(store: Store) -> list[str]:
    try:
        done = await applied_migrations(store)
    except Exception:
        return [m.name for m in load_migrations()]
    return [m.name for m in load_migrations() if m.name not in done]
