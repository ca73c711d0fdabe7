"""ModerationPool: a supervisor of ModeratorWorker actors that micro-batch the model.

Rooms call `ModerationClient.score(texts)`. Each worker is registered by name
(`moderation-worker-<i>`); the client holds their registry addresses and asks the
least-loaded live one;
each worker collects asks for up to `MODERATION_BATCH_WAIT_MS` or
`MODERATION_BATCH_SIZE` texts, runs one model call in a worker thread (under the named
`moderation` CapacityLimiter) and answers every asker. When a model call raises,
the worker scores the batch text by text, so one poison text costs only itself: it is
answered `None` and its room applies the failure mode to that message alone. When the
model fails on everything, the batch's askers get `ModerationUnavailable` and the worker
stays up for the next batch (a restart would not mend the model). Askers that get no
scores in time apply their room's failure mode (fail-closed: hold; fail-open: deliver
unscored).

The live model is swapped without a restart by a message: ask the pool
`SwapModel(classifier)` (see `safestream.moderation.swap`). The pool keeps the new model for workers
it starts or restarts later and asks every running worker to `UseModel`; a worker
answers once the batches it had already started are done, so each batch is scored by
one model. The classifier is loaded by the caller before the swap, so a model that
fails to load never reaches the pool and the old one keeps serving.

Example:
    pool = ModerationPool(classifier, metrics, workers=2, ...)   # a child of the root
    client = ModerationClient([registry.address(n) for n in worker_names(2)], timeout=2)
    scores = await client.score(["hello", "you idiot"])
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import trio

from actors import (
    Actor,
    ActorDied,
    ActorError,
    Address,
    ChildSpec,
    Envelope,
    OverflowPolicy,
    Restart,
    Supervisor,
    UnhandledMessage,
)
from safestream.metrics import Metrics
from safestream.moderation.classifiers import Classifier, Scores
from safestream.moderation.swap import ModelSwapped, SwapModel, UseModel

__all__ = [
    "ModerationClient",
    "ModerationPool",
    "ModerationUnavailable",
    "ModeratorWorker",
    "ScoreRequest",
    "worker_names",
]

# A failed batch is retried text by text; if this many texts in a row fail too, the
# model is down rather than fed a poison text, and the rest are not retried.
ISOLATE_PROBES = 3


# How blocking model calls leave the event loop: a worker thread by default; tests that
# run on a mock clock pass an inline runner so time cannot jump while a thread works.
Offload = Callable[..., Awaitable[Any]]


class ModerationUnavailable(Exception):
    """No scores in time: the pool is full, crashed or too slow. Rooms apply failure mode."""


@dataclass(frozen=True)
class ScoreRequest:
    """Ask a worker for one Scores per text, in order."""

    texts: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.texts:
            raise ValueError("ScoreRequest needs at least one text")


class ModeratorWorker(Actor):
    """Micro-batches ScoreRequests into one model call per batch."""

    kind = "moderator_worker"

    def __init__(
        self,
        classifier: Classifier,
        limiter: trio.CapacityLimiter,
        metrics: Metrics,
        *,
        batch_size: int,
        batch_wait_secs: float,
        offload: Offload = trio.to_thread.run_sync,
    ) -> None:
        self._offload = offload
        self._classifier = classifier
        self._limiter = limiter
        self._metrics = metrics
        self._batch_size = max(1, batch_size)
        self._batch_wait = batch_wait_secs
        self._batches = 0
        self._texts = 0
        self._poison_texts = 0
        self._last_error = ""

    async def run(self) -> None:
        while batch := await self.receive_batch(
            max_size=self._batch_size, max_wait=self._batch_wait, size=_text_count
        ):
            try:
                await self._score(batch)
            finally:
                # Cancelled mid-batch (shutdown): no asker waits for its timeout.
                for envelope in batch:
                    if envelope.reply is not None and not envelope.reply.done:
                        envelope.reply.fail(ActorDied("moderation worker stopped"))

    async def _score(self, batch: Sequence[Envelope]) -> None:
        requests: list[Envelope] = []
        for envelope in batch:
            if isinstance(envelope.message, UseModel):
                # Swaps first: a swap's ask waits for the batches already started, and
                # scoring this batch with the new model is what the swap asked for.
                self._classifier = envelope.message.classifier
                if envelope.reply is not None:
                    envelope.reply.send(self._classifier.name)
            elif isinstance(envelope.message, ScoreRequest):
                requests.append(envelope)
            else:
                raise UnhandledMessage(f"ModeratorWorker cannot handle {envelope.message!r}")
        if requests:
            await self._score_requests(requests)

    async def _score_requests(self, batch: Sequence[Envelope]) -> None:
        texts = [text for envelope in batch for text in envelope.message.texts]
        started = trio.current_time()
        try:
            results: list[Scores | None] = list(await self._predict(texts))
        except Exception as exc:
            self._metrics.moderation_failures += 1
            self._last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
            isolated = await self._isolate(texts) if len(texts) > 1 else None
            if isolated is None:
                died = ActorDied("moderation model failed", cause=exc)
                for envelope in batch:
                    if envelope.reply is not None:
                        envelope.reply.fail(died)
                return
            results = isolated
        escalated = sum(1 for r in results if r is not None and r.escalated)
        self._metrics.observe_moderation(trio.current_time() - started, len(texts), escalated)
        self._batches += 1
        self._texts += len(texts)
        offset = 0
        for envelope in batch:
            size = len(envelope.message.texts)
            if envelope.reply is not None:
                envelope.reply.send(results[offset : offset + size])
            offset += size

    async def _predict(self, texts: Sequence[str]) -> list[Scores]:
        results: list[Scores] = await self._offload(
            self._classifier.predict, list(texts), limiter=self._limiter
        )
        if len(results) != len(texts):
            raise RuntimeError(f"model returned {len(results)} scores for {len(texts)} texts")
        return results

    async def _isolate(self, texts: Sequence[str]) -> list[Scores | None] | None:
        """Score a failed batch text by text: None for each text the model fails on.

        Returns None (an outage, not a poison text) when the first ISOLATE_PROBES texts
        all fail: the model fails on everything, so retrying the rest is wasted work.
        """
        results: list[Scores | None] = []
        for index, text in enumerate(texts):
            try:
                results.extend(await self._predict([text]))
            except Exception:
                results.append(None)
                if index + 1 >= ISOLATE_PROBES and not any(results):
                    return None
        self._poison_texts += results.count(None)
        return results if any(results) else None

    def introspect(self) -> dict[str, Any]:
        return {
            "model": self._classifier.name,
            "poison_texts": self._poison_texts,
            "last_error": self._last_error,
            "batches": self._batches,
            "texts": self._texts,
            "mean_batch": round(self._texts / self._batches, 2) if self._batches else 0,
        }


def worker_names(workers: int) -> list[str]:
    """The registry names of a pool's workers."""
    return [f"moderation-worker-{index}" for index in range(max(1, workers))]


def _text_count(message: Any) -> int:
    return len(message.texts) if isinstance(message, ScoreRequest) else 1


class ModerationPool(Supervisor):
    """One_for_one supervisor of `workers` ModeratorWorkers sharing one classifier."""

    kind = "moderation_pool"

    def __init__(
        self,
        classifier: Classifier,
        metrics: Metrics,
        *,
        workers: int,
        batch_size: int,
        batch_wait_secs: float,
        queue_size: int,
        offload: Offload = trio.to_thread.run_sync,
    ) -> None:
        limiter = trio.CapacityLimiter(max(1, workers))
        self._classifier = classifier
        self._metrics = metrics
        self._version = ""

        def worker() -> ModeratorWorker:
            # The live model, read when the worker (re)starts: a restart after a swap
            # keeps the swapped-in model.
            return ModeratorWorker(
                self._classifier,
                limiter,
                metrics,
                batch_size=batch_size,
                batch_wait_secs=batch_wait_secs,
                offload=offload,
            )

        specs = [
            ChildSpec(
                name=f"worker-{index}",
                factory=worker,
                restart=Restart.PERMANENT,
                register=name,
                mailbox_capacity=queue_size,
                overflow=OverflowPolicy.FAIL,
            )
            for index, name in enumerate(worker_names(workers))
        ]
        super().__init__(specs, max_restarts=10, within=10.0)

    async def handle(self, message: Any) -> Any:
        """`SwapModel` here; the supervisor calls of `actors.calls` as any supervisor."""
        if isinstance(message, SwapModel):
            self._classifier = message.classifier
            self._version = message.version
            swapped = 0
            for name in self.children():
                ref = self.child_ref(name)
                if ref is None:
                    continue
                try:
                    await ref.ask(UseModel(message.classifier), timeout=60.0)
                    swapped += 1
                except (ActorError, TimeoutError):
                    continue  # a worker that is restarting starts with the new model
            self._metrics.model_swaps += 1
            self._metrics.moderation_model = message.classifier.name
            return ModelSwapped(message.classifier.name, message.version, swapped)
        return await super().handle(message)

    def introspect(self) -> dict[str, Any]:
        return super().introspect() | {
            "model": self._classifier.name,
            "model_version": self._version,
        }


class ModerationClient:
    """What rooms use to score texts: least-loaded worker, bounded wait."""

    def __init__(self, workers: Sequence[Address], *, timeout: float) -> None:
        self._workers = tuple(workers)
        self._timeout = timeout

    def backlog(self) -> int:
        """Score requests queued in the workers' mailboxes (background work waits for 0)."""
        live = [ref for worker in self._workers if (ref := worker.resolve()) is not None]
        return sum(ref.statistics().depth for ref in live)

    async def score(self, texts: Sequence[str]) -> list[Scores | None]:
        """One Scores per text; None for a text the model failed on (a poison text).

        Raises:
            ModerationUnavailable: every worker is full or down, the batch crashed, or
                the answer did not come within `MODERATION_TIMEOUT_SECS`.
        """
        live = [ref for worker in self._workers if (ref := worker.resolve()) is not None]
        if not live:
            raise ModerationUnavailable("no moderation worker is running")
        ref = min(live, key=lambda r: r.statistics().depth)
        try:
            result: list[Scores | None] = await ref.ask(
                ScoreRequest(tuple(texts)), timeout=self._timeout
            )
        except ActorDied as exc:
            raise ModerationUnavailable(f"moderation worker failed: {exc.cause!r}") from exc
        except (ActorError, TimeoutError) as exc:
            raise ModerationUnavailable(f"moderation unavailable: {exc}") from exc
        return result
