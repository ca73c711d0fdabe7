"""`safestream model ...`: retrain, roll back and inspect the live moderation model.

These talk to the running server over HTTP (an admin token for retrain / rollback), so
the swap happens inside the server without a restart:

    safestream model status
    safestream model retrain --wait          # poll until the retrain ends
    safestream model rollback
    safestream model labels --limit 20
    safestream model mark "gg ez" --not-toxic

``rollback --offline`` changes ``MODEL_DIR`` directly, for a server that is not running
(it loads the previous version at its next start).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from safestream.settings import Settings

__all__ = ["add_model_commands"]

Token = Callable[[Settings, argparse.Namespace, str], str]
POLL_SECS = 2.0


def add_model_commands(
    sub: Any, login_args: Callable[[argparse.ArgumentParser], None], token: Token
) -> None:
    """Register ``model`` and its subcommands on the top-level subparsers ``sub``."""
    model = sub.add_parser("model", help="retrain / roll back the moderation model")
    model_sub = model.add_subparsers(required=True, dest="model_command")

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = model_sub.add_parser(name, help=help_)
        p.add_argument("--url", help="server URL (SAFESTREAM_URL)")
        login_args(p)
        return p

    status = command("status", "live version, previous version, last retrain")
    status.add_argument("--offline", action="store_true", help="read MODEL_DIR directly")
    retrain = command("retrain", "retrain on the shipped data plus moderators' labels")
    retrain.add_argument("--wait", action="store_true", help="wait until it ends")
    rollback = command("rollback", "make the previous model version live again")
    rollback.add_argument("--offline", action="store_true", help="change MODEL_DIR directly")
    labels = command("labels", "list moderators' labels, newest first")
    labels.add_argument("--limit", type=int, default=20)
    mark = command("mark", "label a text toxic / not toxic")
    mark.add_argument("text")
    verdict = mark.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--toxic", dest="toxic", action="store_true")
    verdict.add_argument("--not-toxic", dest="toxic", action="store_false")
    mark.add_argument("--category", action="append", default=[])

    def run(settings: Settings, args: argparse.Namespace) -> int:
        if getattr(args, "offline", False):
            return _offline(settings, args.model_command)
        url = (args.url or settings.base_url).rstrip("/")
        client = httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {token(settings, args, url)}"},
            timeout=200.0,
        )
        with client:
            return _online(client, args)

    model.set_defaults(handler=run)


def _call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any] | None:
    response = client.request(method, path, **kwargs)
    if response.status_code != 200:
        print(f"safestream: {response.status_code} {response.text}", file=sys.stderr)
        return None
    body: dict[str, Any] = response.json()
    return body


def _online(client: httpx.Client, args: argparse.Namespace) -> int:
    match args.model_command:
        case "status":
            answer = _call(client, "GET", "/api/model/status")
        case "retrain":
            answer = _call(client, "POST", "/api/model/retrain")
            while args.wait and answer is not None and answer.get("state") == "running":
                time.sleep(POLL_SECS)
                answer = _call(client, "GET", "/api/model/status")
        case "rollback":
            answer = _call(client, "POST", "/api/model/rollback")
        case "labels":
            answer = _call(client, "GET", "/api/model/labels", params={"limit": args.limit})
        case "mark":
            body = {"text": args.text, "toxic": args.toxic, "categories": args.category}
            answer = _call(client, "POST", "/api/model/labels", json=body)
        case _:  # pragma: no cover - argparse refuses other names
            return 2
    if answer is None:
        return 1
    print(json.dumps(answer, indent=2))
    return 0 if answer.get("state") not in ("failed", "rejected") else 1


def _offline(settings: Settings, command: str) -> int:
    from safestream.moderation.versions import ModelVersions, NoPreviousVersion

    versions = ModelVersions(settings.model_path)
    if command == "rollback":
        try:
            name = versions.rollback()
        except NoPreviousVersion as exc:
            print(f"safestream: {exc}", file=sys.stderr)
            return 1
        print(f"live version is now {name} (loaded at the server's next start)")
        return 0
    print(json.dumps(versions.state() | {"live_file": str(versions.current_path())}, indent=2))
    return 0
