"""A small supervised-actor runtime on Trio, with Erlang/OTP supervision semantics.

Actors are objects with a bounded mailbox and their own task; supervisors restart them by
OTP rules; an :class:`ActorSystem` runs the tree and exposes a registry, JSON snapshots
and a change feed. This package knows nothing about its users. See ``docs/actors.md``.
"""

from .actor import Actor, ActorCell
from .backoff import Backoff
from .calls import (
    StartChild,
    TerminateChild,
    WhichChildren,
    start_child,
    terminate_child,
    which_children,
)
from .errors import (
    ActorDied,
    ActorError,
    ActorNotRunning,
    AskTimeout,
    InjectedCrash,
    MailboxClosed,
    MailboxFull,
    SupervisorGaveUp,
    UnhandledMessage,
)
from .introspection import format_tree
from .mailbox import Mailbox, MailboxStatistics, OverflowPolicy
from .ref import ActorRef, Crash
from .registry import Address, Registry
from .reply import Envelope, Reply
from .spec import ChildSpec, Restart, Strategy
from .supervisor import Supervisor
from .system import ActorSystem

__all__ = [
    "Actor",
    "ActorCell",
    "ActorDied",
    "ActorError",
    "ActorNotRunning",
    "ActorRef",
    "ActorSystem",
    "Address",
    "AskTimeout",
    "Backoff",
    "ChildSpec",
    "Crash",
    "Envelope",
    "InjectedCrash",
    "Mailbox",
    "MailboxClosed",
    "MailboxFull",
    "MailboxStatistics",
    "OverflowPolicy",
    "Registry",
    "Reply",
    "Restart",
    "StartChild",
    "Strategy",
    "Supervisor",
    "SupervisorGaveUp",
    "TerminateChild",
    "UnhandledMessage",
    "WhichChildren",
    "format_tree",
    "start_child",
    "terminate_child",
    "which_children",
]
