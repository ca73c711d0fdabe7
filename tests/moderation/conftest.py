"""Shared fixtures for the classifier tests: models load once per session, with no network.

The network guard is module-scoped (not session-scoped) so that it is undone before tests
in other directories, which do use sockets, run.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


def _no_network(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("classifier code tried to open a network connection")


@contextmanager
def no_network() -> Iterator[None]:
    """Make any connection attempt fail loudly, and keep Hugging Face libraries offline."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        mp.setattr(socket.socket, "connect", _no_network)
        mp.setattr(socket, "create_connection", _no_network)
        yield


@pytest.fixture(scope="module", autouse=True)
def offline() -> Iterator[None]:
    with no_network():
        yield


@pytest.fixture(scope="session")
def profanity() -> Any:
    from safestream.moderation.classifiers import ProfanityCheckClassifier

    with no_network():
        return ProfanityCheckClassifier()


@pytest.fixture(scope="session")
def minilm() -> Any:
    from safestream.moderation.classifiers import MiniLMHeadsClassifier

    with no_network():
        return MiniLMHeadsClassifier(torch_threads=1)


@pytest.fixture(scope="session")
def cascade(profanity: Any, minilm: Any) -> Any:
    from safestream.moderation.classifiers import CascadeClassifier

    return CascadeClassifier(profanity, minilm)
