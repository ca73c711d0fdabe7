"""Shared fixtures for the classifier tests: models load once per session, with no network."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest


def _no_network(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("classifier code tried to open a network connection")


@pytest.fixture(scope="session", autouse=True)
def offline() -> Iterator[None]:
    """Fail any test that tries the network, and keep Hugging Face libraries offline."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        mp.setattr(socket.socket, "connect", _no_network)
        mp.setattr(socket, "create_connection", _no_network)
        yield


@pytest.fixture(scope="session")
def profanity(offline: None) -> Any:
    from safestream.moderation.classifiers import ProfanityCheckClassifier

    return ProfanityCheckClassifier()


@pytest.fixture(scope="session")
def minilm(offline: None) -> Any:
    from safestream.moderation.classifiers import MiniLMHeadsClassifier

    return MiniLMHeadsClassifier(torch_threads=1)


@pytest.fixture(scope="session")
def cascade(profanity: Any, minilm: Any) -> Any:
    from safestream.moderation.classifiers import CascadeClassifier

    return CascadeClassifier(profanity, minilm)
