"""The `safestream` command: serve, dashboard, tree, policy what-if, user admin, database
upgrade.

Example:
    safestream serve                      # settings from the environment
    safestream tree --watch               # the running node's supervision tree
    safestream policy replay main --policy strict.json --since 1h   # see cli_policy
    safestream user create ann --role moderator
    safestream model retrain --wait       # see safestream.cli_model
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import httpx
import trio

from actors import format_tree
from safestream.accounts.auth import Role, hash_password, validate_password, validate_username
from safestream.cli_model import add_model_commands
from safestream.cli_policy import add_policy_commands
from safestream.settings import ConfigError, Settings
from safestream.store import repo
from safestream.store.database import Database
from safestream.store.errors import UserExists, UserNotFound

__all__ = ["main"]

# Commands that only talk to a running server over HTTP: they never sign tokens.
CLIENT_COMMANDS = ("dashboard", "tree", "model", "policy")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(server=args.command not in CLIENT_COMMANDS)
    except ConfigError as exc:
        print(f"safestream: configuration error: {exc}", file=sys.stderr)
        return 2
    handler = args.handler
    try:
        return int(handler(settings, args))
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="safestream", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True, dest="command")
    serve = sub.add_parser("serve", help="run the chat server")
    serve.add_argument("--host", help="bind address (APP_HOST)")
    serve.add_argument("--port", type=int, help="port (APP_PORT)")
    serve.add_argument(
        "--workers", type=int, help="node processes sharing the port (WORKERS; needs a broker)"
    )
    serve.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(handler=_serve)
    dash = sub.add_parser("dashboard", help="run the moderator dashboard (Panel)")
    dash.set_defaults(handler=_dashboard)
    tree = sub.add_parser("tree", help="print the supervision tree of a running server")
    tree.add_argument("--url", help="server URL (SAFESTREAM_URL)")
    tree.add_argument("--json", action="store_true", help="raw JSON snapshot")
    tree.add_argument("--watch", action="store_true", help="keep printing as it changes")
    _login_args(tree)
    tree.set_defaults(handler=_tree)
    add_policy_commands(sub, _login_args, _token)
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(handler=_db)
    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(required=True, dest="user_command")
    create = user_sub.add_parser("create", help="create a user")
    create.add_argument("username")
    create.add_argument("--email")
    create.add_argument("--role", choices=list(Role), default=Role.VIEWER.value)
    create.add_argument("--password", help="(else read from SAFESTREAM_PASSWORD or a prompt)")
    create.set_defaults(handler=_user_create)
    promote = user_sub.add_parser("promote", help="set a user's role")
    promote.add_argument("username")
    promote.add_argument("role", choices=list(Role))
    promote.set_defaults(handler=_user_promote)
    listing = user_sub.add_parser("list", help="list users")
    listing.set_defaults(handler=_user_list)
    add_model_commands(sub, _login_args, _token)
    return parser


def _login_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", help="bearer token (SAFESTREAM_TOKEN)")
    parser.add_argument("--username", help="log in as this moderator/admin")
    parser.add_argument("--password", help="password (SAFESTREAM_PASSWORD or prompt)")


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from safestream.node import serve

    changes = {k: v for k, v in (("app_host", args.host), ("app_port", args.port)) if v}
    settings = settings.replace(**changes) if changes else settings
    workers = args.workers or settings.workers
    if workers > 1 and not args.worker:
        from safestream.workers import run_workers

        print(f"SafeStream: {workers} workers on http://{settings.app_host}:{settings.app_port}")
        return run_workers(settings, workers)
    print(f"SafeStream ({settings.mode} mode) on http://{settings.app_host}:{settings.app_port}")
    trio.run(serve, settings)
    return 0


def _dashboard(settings: Settings, args: argparse.Namespace) -> int:
    from dashboard.server import run_dashboard

    return run_dashboard(settings)


def _token(settings: Settings, args: argparse.Namespace, url: str) -> str:
    token = args.token or os.environ.get("SAFESTREAM_TOKEN")
    if token:
        return str(token)
    username = args.username or ("test_streamer" if settings.demo else None)
    if not username:
        raise SystemExit("safestream: give --token, SAFESTREAM_TOKEN or --username")
    password = args.password or os.environ.get("SAFESTREAM_PASSWORD")
    if password is None:
        password = username if settings.demo else getpass.getpass(f"password for {username}: ")
    response = httpx.post(f"{url}/auth/login", data={"username": username, "password": password})
    if response.status_code != 200:
        raise SystemExit(f"safestream: login failed: {response.json().get('detail')}")
    return str(response.json()["access_token"])


def _tree(settings: Settings, args: argparse.Namespace) -> int:
    url = (args.url or settings.base_url).rstrip("/")
    headers = {"Authorization": f"Bearer {_token(settings, args, url)}"}
    if not args.watch:
        response = httpx.get(f"{url}/api/actors", headers=headers)
        if response.status_code != 200:
            print(f"safestream: {response.status_code} {response.text}", file=sys.stderr)
            return 1
        snapshot = response.json()
        print(json.dumps(snapshot, indent=2) if args.json else _cluster_trees(snapshot))
        return 0
    with httpx.stream("GET", f"{url}/api/actors/stream", headers=headers, timeout=None) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                snapshot = json.loads(line.removeprefix("data: "))
                print("\033[2J\033[H" + _cluster_trees(snapshot), flush=True)
    return 0


def _cluster_trees(snapshot: dict[str, Any]) -> str:
    """This node's tree, then each other node's, under a `node <name>` heading."""
    parts = [f"node {snapshot.get('node', '?')}\n{format_tree(snapshot)}"]
    for node, tree in sorted((snapshot.get("cluster") or {}).items()):
        parts.append(f"node {node}\n{format_tree(tree)}")
    return "\n".join(parts)


def _database(settings: Settings) -> Database:
    """The configured database, migrated to head (user commands may run before a server)."""
    db = Database(settings.database_url, threads=1)
    db.upgrade()
    return db


def _db(settings: Settings, args: argparse.Namespace) -> int:
    db = _database(settings)
    print(f"database at head: {db.engine.url.render_as_string(hide_password=True)}")
    return 0


def _user_create(settings: Settings, args: argparse.Namespace) -> int:
    password = args.password or os.environ.get("SAFESTREAM_PASSWORD") or getpass.getpass()
    try:
        validate_username(args.username, settings.max_username_length)
        validate_password(password, min_length=settings.min_password_length)
    except ValueError as exc:
        print(f"safestream: {exc}", file=sys.stderr)
        return 2
    db = _database(settings)
    hashed = hash_password(password, rounds=settings.bcrypt_rounds)
    try:
        db.run_sync(repo.create_user, args.username, args.email, hashed, args.role)
    except UserExists:
        print(f"safestream: user {args.username!r} already exists", file=sys.stderr)
        return 1
    print(f"created {args.username} ({args.role})")
    return 0


def _user_promote(settings: Settings, args: argparse.Namespace) -> int:
    try:
        _database(settings).run_sync(repo.set_role, args.username, args.role)
    except UserNotFound:
        print(f"safestream: no user {args.username!r}", file=sys.stderr)
        return 1
    print(f"{args.username} is now {args.role}")
    return 0


def _user_list(settings: Settings, args: argparse.Namespace) -> int:
    for user in _database(settings).run_sync(repo.list_users):
        print(f"{user.username:30} {user.role:10} {user.email or ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
