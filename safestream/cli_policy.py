"""`safestream policy ...`: what-if tools for a room's moderation policy, from a shell.

`policy replay ROOM --policy FILE --since 1h` asks a running server what the candidate
policy in FILE (JSON, as `PUT /api/admin/rooms/<room>/policy` takes it; `-` reads stdin)
would have done with the room's stored messages, shows a progress bar while the server
works (`POST .../replay/stream`), then a table: messages per action before and after,
the messages whose action changes, and who would have been timed out. `--version N`
replays a stored version instead; `--last N` the newest N messages; `--rescore` scores
them again with the server's current model. `policy versions ROOM` lists the saved
versions, `policy rollback ROOM VERSION` restores one.

Example:
    safestream policy replay main --policy strict.json --since 1h --username mod
    safestream policy replay main --version 3 --last 500 --json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, TextIO

import httpx

from safestream.settings import Settings

__all__ = ["add_policy_commands", "parse_since", "progress_bar", "replay_table"]

Token = Callable[[Settings, argparse.Namespace, str], str]
LoginArgs = Callable[[argparse.ArgumentParser], None]
ACTIONS = ("allow", "mask", "hold", "timeout", "block")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
BAR = 30


def add_policy_commands(sub: Any, login_args: LoginArgs, token: Token) -> None:
    """Add `policy replay|versions|rollback` to the `safestream` parser."""
    policy = sub.add_parser("policy", help="replay, list or roll back a room's policy")
    commands = policy.add_subparsers(required=True, dest="policy_command")
    replay = commands.add_parser("replay", help="what a candidate policy would have done")
    replay.add_argument("room")
    candidate = replay.add_mutually_exclusive_group(required=True)
    candidate.add_argument("--policy", metavar="FILE", help="candidate policy JSON ('-': stdin)")
    candidate.add_argument("--version", type=int, help="or a stored version")
    window = replay.add_mutually_exclusive_group(required=True)
    window.add_argument("--since", help="1h, 30m, 2d, 90s, or an ISO 8601 time")
    window.add_argument("--last", type=int, help="or the newest N messages")
    replay.add_argument("--until", help="ISO 8601 end of the window (with an ISO --since)")
    replay.add_argument("--rescore", action="store_true", help="score again with the model")
    replay.add_argument("--limit", type=int, default=20, help="changed messages to list")
    replay.add_argument("--json", action="store_true", help="print the raw result")
    _common(replay, login_args)
    replay.set_defaults(handler=partial(_replay, token=token))
    versions = commands.add_parser("versions", help="a room's saved policies")
    versions.add_argument("room")
    _common(versions, login_args)
    versions.set_defaults(handler=partial(_versions, token=token))
    rollback = commands.add_parser("rollback", help="restore an earlier version")
    rollback.add_argument("room")
    rollback.add_argument("version", type=int)
    rollback.add_argument("--reason", default="", help="kept in the audit log")
    _common(rollback, login_args)
    rollback.set_defaults(handler=partial(_rollback, token=token))


def _common(parser: argparse.ArgumentParser, login_args: LoginArgs) -> None:
    parser.add_argument("--url", help="server URL (SAFESTREAM_URL)")
    login_args(parser)


def parse_since(value: str, now: datetime | None = None) -> dict[str, Any]:
    """The window fields for `--since`: a duration ("1h") or an ISO 8601 time.

    Raises:
        ValueError: neither, or an ISO time without a time zone.
    """
    match = DURATION.match(value.strip().lower())
    if match:
        return {"since_secs": float(match.group(1)) * UNITS[match.group(2)]}
    when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"{value!r}: give a time zone (e.g. 2026-12-01T10:00:00Z)")
    if now is not None and when > now:
        raise ValueError(f"{value!r} is in the future")
    return {"since": when.isoformat()}


def progress_bar(read: int, total: int, width: int = BAR) -> str:
    """`[#########.........]  120/400 messages`."""
    done = width if total <= 0 else min(width, width * read // total)
    return f"[{'#' * done}{'.' * (width - done)}] {read:>6}/{total} messages"


def replay_table(result: Mapping[str, Any], limit: int = 20) -> str:
    """The replay's answer as text: counts per action, the changes, the timeouts."""
    window = result.get("window") or {}
    scope = f"last {window['last']} messages" if window.get("last") else "the window"
    state = "complete" if result.get("complete") else "PARTIAL: the server's time ran out"
    lines = [
        f"Room {result['room']}: candidate {result['candidate']} "
        f"(policy v{result['policy'].get('version')}) on {scope}: "
        f"{result['scanned']} messages ({state})"
        + (
            f", newest {result['scanned']} of {window['messages']}"
            if window.get("truncated")
            else ""
        ),
        "",
        f"{'action':<10}{'before':>8}{'after':>8}{'change':>8}",
    ]
    for action in ACTIONS:
        before, after = result["before"].get(action, 0), result["after"].get(action, 0)
        delta = f"{after - before:+d}" if after != before else "0"
        lines.append(f"{action:<10}{before:>8}{after:>8}{delta:>8}")
    changes = list(result.get("changes") or [])[:limit]
    lines += [
        "",
        f"{result['changed']} messages change" + (f" (first {len(changes)}):" if changes else "."),
    ]
    if changes:
        lines.append(f"{'seq':>6}  {'time':<8}  {'user':<12}  {'before → after':<16}  "
                     f"{'message':<40}  rule (after)")  # fmt: skip
    for change in changes:
        when = datetime.fromtimestamp(change["ts"], UTC).strftime("%H:%M:%S")
        moves = f"{change['before']['action']} → {change['after']['action']}"
        text = " ".join(change["text"].split())
        text = text if len(text) <= 40 else text[:39] + "…"
        lines.append(
            f"{change['seq']:>6}  {when:<8}  {change['user'][:12]:<12}  {moves:<16}  "
            f"{text:<40}  {change['after']['rule']}"
        )
    newly = result.get("newly_timed_out") or []
    lines += ["", "Would be timed out: " + (", ".join(newly) if newly else "nobody new")]
    return "\n".join(lines)


def _replay(settings: Settings, args: argparse.Namespace, *, token: Token) -> int:
    url = (args.url or settings.base_url).rstrip("/")
    try:
        body = _request_body(args)
    except (OSError, ValueError) as exc:
        print(f"safestream: {exc}", file=sys.stderr)
        return 2
    headers = {"Authorization": f"Bearer {token(settings, args, url)}"}
    path = f"{url}/api/admin/rooms/{args.room}/replay/stream"
    result: dict[str, Any] | None = None
    with httpx.stream(
        "POST", path, json=body, params={"limit": max(1, min(args.limit, 500))},
        headers=headers, timeout=httpx.Timeout(10.0, read=None),
    ) as response:  # fmt: skip
        if response.status_code != 200:
            response.read()
            print(f"safestream: {response.status_code} {_detail(response)}", file=sys.stderr)
            return 1
        for event, data in _events(response.iter_lines()):
            if event == "progress":
                print("\r" + progress_bar(data["read"], data["total"]), end="", file=sys.stderr)
            elif event == "error":
                print(f"\nsafestream: {data.get('detail')}", file=sys.stderr)
                return 1
            elif event == "result":
                result = data
    print(file=sys.stderr)
    if result is None:
        print("safestream: the server ended the replay without a result", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.json else replay_table(result, args.limit))
    return 0


def _request_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"rescore": bool(args.rescore)}
    if args.policy is not None:
        body["policy"] = _read_json(sys.stdin if args.policy == "-" else open(args.policy))  # noqa: SIM115
    else:
        body["version"] = args.version
    if args.last is not None:
        body["last"] = args.last
    else:
        body.update(parse_since(args.since, datetime.now(UTC)))
    if args.until:
        if "since" not in body:
            raise ValueError("--until needs an ISO 8601 --since")
        body["until"] = parse_since(args.until)["since"]
    return body


def _read_json(stream: TextIO) -> Any:
    with stream:
        try:
            return json.load(stream)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the policy file is not JSON: {exc}") from exc


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    event = ""
    for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield event, json.loads(line.removeprefix("data: "))


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail"))
    except ValueError:
        return response.text[:200]


def _versions(settings: Settings, args: argparse.Namespace, *, token: Token) -> int:
    url = (args.url or settings.base_url).rstrip("/")
    headers = {"Authorization": f"Bearer {token(settings, args, url)}"}
    response = httpx.get(f"{url}/api/admin/rooms/{args.room}/policy/versions", headers=headers)
    if response.status_code != 200:
        print(f"safestream: {response.status_code} {_detail(response)}", file=sys.stderr)
        return 1
    for entry in response.json()["versions"]:
        mark = "*" if entry["current"] else " "
        when = (entry["created_at"] or "")[:19]
        who = entry["created_by"] or ""
        print(f"{mark} v{entry['version']:<5} {when:<20} {who:<16} {entry['source']}")
    return 0


def _rollback(settings: Settings, args: argparse.Namespace, *, token: Token) -> int:
    url = (args.url or settings.base_url).rstrip("/")
    headers = {"Authorization": f"Bearer {token(settings, args, url)}"}
    response = httpx.post(
        f"{url}/api/admin/rooms/{args.room}/policy/rollback",
        json={"version": args.version, "reason": args.reason},
        headers=headers,
    )
    if response.status_code != 200:
        print(f"safestream: {response.status_code} {_detail(response)}", file=sys.stderr)
        return 1
    print(f"room {args.room}: v{args.version} restored as v{response.json()['version']}")
    return 0
