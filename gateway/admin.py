"""Admin commands (projects, users, keys, demo data, import): one handler each.

The CLI runs these in-process when no server holds the data directory, and over HTTP
(`POST /_admin/command` with the local admin token from DATA/server.json) when one does, so
`spyglass projects create` works the same while `spyglass serve` runs.
"""

from __future__ import annotations

import argparse
import shlex

from gateway.errors import ValidationError
from gateway.services import Services

DEMO_ORG = "Spyglass Demo"
DEMO_DOMAIN = "spyglass.dev"


class ArgumentError(ValidationError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # never sys.exit inside a server
        raise ArgumentError(message, attr="argv")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="spyglass", add_help=False)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="load deterministic demo data into a demo project")
    demo.add_argument("--events", type=int, default=200_000)
    demo.add_argument("--seed", type=int, default=42)

    projects = sub.add_parser("projects").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    create = projects.add_parser("create")
    create.add_argument("name")
    create.add_argument("--organization", type=int, default=0)
    create.add_argument("--timezone", default="UTC")
    projects.add_parser("list")

    users = sub.add_parser("users").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    user_create = users.add_parser("create")
    user_create.add_argument("email")
    user_create.add_argument("--organization", type=int, default=0)
    user_create.add_argument("--first-name", default="")

    keys = sub.add_parser("keys").add_subparsers(dest="action", required=True, parser_class=_Parser)
    key_create = keys.add_parser("create")
    key_create.add_argument("--user", type=int, required=True)
    key_create.add_argument("--label", default="cli")
    key_create.add_argument("--scopes", default="", help="comma-separated; empty = all")
    key_create.add_argument("--project", type=int, action="append", default=[])
    keys.add_parser("list")
    key_revoke = keys.add_parser("revoke")
    key_revoke.add_argument("id", type=int)

    imp = sub.add_parser("import", help="bulk-import events (JSON lines, CSV, Parquet)")
    imp.add_argument("file")
    imp.add_argument("--project", type=int, required=True)
    imp.add_argument("--format", default="")

    squash = sub.add_parser("squash", help="write person merges into events (faster queries)")
    squash.add_argument("--project", type=int, default=0, help="0: every project with merges")
    squash.add_argument("--grace", type=float, default=60.0,
                        help="seconds between the snapshot of merges and the rewrite")  # fmt: skip

    sql = sub.add_parser("sql", help="run one read-only query (operators and benchmarks)")
    sql.add_argument("query")
    sql.add_argument("--project", type=int, required=True, help="bound as {project_id:UInt64}")
    return parser


async def _organization(services: Services, org_id: int, name: str = "Default") -> int:
    if org_id:
        if await services.metadata.get("organization", org_id) is None:
            raise ValidationError(f"organization {org_id} does not exist", attr="organization")
        return org_id
    orgs = await services.metadata.latest("organization")
    if orgs:
        return orgs[0].id
    return (await services.tenancy.create_organization(name))["id"]


async def ensure_demo(services: Services, events: int, seed: int) -> dict:
    """The demo org, project and user (created and loaded once), and a fresh key for them."""
    from gateway import squash
    from gateway.demo_loader import load_demo

    tenancy = services.tenancy
    projects = [p for p in await tenancy.projects() if p["name"] == "Demo"]
    loaded = None
    if projects:
        project = projects[0]
        org_id = project["organization"]
        users = [u.document for u in await services.metadata.latest("user")
                 if u.document["organization"] == org_id]  # fmt: skip
        user = users[0]
    else:
        org = await tenancy.create_organization(DEMO_ORG, DEMO_DOMAIN)
        org_id = org["id"]
        project = await tenancy.create_project(org_id, "Demo", company_domain=DEMO_DOMAIN)
        user = await tenancy.create_user(org_id, "demo@example.com", "Demo")
        loaded = await load_demo(
            services, project["id"], n_events=events, seed=seed, company_domain=DEMO_DOMAIN
        )
        # Nothing else writes while the demo loads, so its merges go into events at once.
        loaded["squash"] = await squash.squash(services.store, project["id"], grace_s=0)
    key, _ = await tenancy.create_key(user["id"], "demo")
    return {"project_id": project["id"], "api_token": project["api_token"],
            "user": user["email"], "personal_api_key": key, "loaded": loaded}  # fmt: skip


async def run(services: Services, argv: list[str]):
    args = build_parser().parse_args(argv)
    tenancy = services.tenancy
    if args.command == "demo":
        return await ensure_demo(services, args.events, args.seed)
    if args.command == "projects":
        if args.action == "create":
            org_id = await _organization(services, args.organization)
            return await tenancy.create_project(org_id, args.name, timezone=args.timezone)
        return await tenancy.projects()
    if args.command == "users":
        org_id = await _organization(services, args.organization)
        return await tenancy.create_user(org_id, args.email, args.first_name)
    if args.command == "keys":
        if args.action == "create":
            if await services.metadata.get("user", args.user) is None:
                raise ValidationError(f"user {args.user} does not exist", attr="user")
            scopes = [s for s in args.scopes.split(",") if s]
            key, record = await tenancy.create_key(args.user, args.label, scopes, args.project)
            return {"key": key, **_public_key(record)}
        if args.action == "list":
            return [
                _public_key(e.document) for e in await services.metadata.latest("personal_api_key")
            ]
        return await tenancy.revoke_key(args.id)
    if args.command == "squash":
        from gateway import squash

        if args.project:
            return [await squash.squash(services.store, args.project, grace_s=args.grace)]
        return await squash.squash_all(services.store, grace_s=args.grace)
    if args.command == "sql":
        return await read_only_query(services, args.query, args.project)
    if args.command == "import":
        from gateway.importer import import_file

        return await import_file(services, args.project, args.file, fmt=args.format or None)
    raise ArgumentError(f"unknown command {shlex.join(argv)}", attr="argv")


async def read_only_query(services: Services, query: str, project_id: int) -> dict:
    """One SELECT with the project bound, under readonly=1 (ClickHouse refuses writes)."""
    import time

    if not query.lstrip().upper().startswith(("SELECT", "WITH", "EXPLAIN")) or ";" in query:
        raise ValidationError("one SELECT, WITH or EXPLAIN query (no ';')", attr="query")
    started = time.perf_counter()
    result = await services.store.query(query, {"project_id": project_id},
                                        settings={"readonly": 1})  # fmt: skip
    return {"columns": result.columns, "rows": [list(r) for r in result.rows[:1000]],
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 2)}  # fmt: skip


def _public_key(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "secure_value"}
