"""The queue port's promises, checked on every driver: the in-process queue and SQS (moto's
server, with a redrive policy to a dead-letter queue). A consumer gets each message sent,
no earlier than its delay; what it acknowledges is gone; a retry comes back after its delay;
a dead-lettered message (or one whose consumer raises) comes back until the queue's bound
of receives, then it is in the dead-letter queue and never delivered again."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from conftest import moto_client
from support.moto import AWS_ENV, MotoServer

MAX_RECEIVES = 3
VISIBILITY_S = 1  # the queue's own visibility timeout: a consumer that raises


@dataclass
class Recorder:
    """A consumer that answers each delivery with `answer` and remembers when it came."""

    answer: Callable[[Any], Any]
    seen: list[tuple[float, Any]] = field(default_factory=list)

    def __call__(self, delivery: Any, context: Any) -> Any:
        assert context.get_remaining_time_in_millis() > 0
        self.seen.append((time.monotonic(), delivery))
        return self.answer(delivery)

    def bodies(self) -> list[str]:
        return [delivery.body for _, delivery in self.seen]


@dataclass
class Harness:
    queue: Any
    deliver: Callable[[Recorder, Callable[[], bool], float], None]
    dead_letters: Callable[[], list[str]]


def _inline(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    from chalicelib.queue import memory

    monkeypatch.setattr(memory, "DEFAULT_VISIBILITY_S", float(VISIBILITY_S))
    queue = memory.InlineQueue(budget_ms=1000, max_receives=MAX_RECEIVES)

    def deliver(consumer: Recorder, until: Callable[[], bool], timeout_s: float) -> None:
        queue.start(consumer, list)
        deadline = time.monotonic() + timeout_s
        while not until() and time.monotonic() < deadline:
            time.sleep(0.02)

    yield Harness(queue, deliver, lambda: list(queue.dead_letters))
    queue.close()


def _sqs(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    from chalicelib.aws import clients
    from chalicelib.queue.sqs import SqsQueue

    for key, value in {**AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint}.items():
        monkeypatch.setenv(key, value)
    clients.reset()
    client = moto_client("sqs", moto.endpoint)
    name = f"contract-{uuid.uuid4().hex[:8]}"
    dlq_url = client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
    redrive = {
        "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
        "maxReceiveCount": str(MAX_RECEIVES),
    }
    attributes = {"RedrivePolicy": json.dumps(redrive), "VisibilityTimeout": str(VISIBILITY_S)}
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    queue = SqsQueue(url)

    def deliver(consumer: Recorder, until: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not until() and time.monotonic() < deadline:
            if not queue.poll(consumer, budget_ms=1000, wait_s=0):
                time.sleep(0.05)

    def dead_letters() -> list[str]:
        reply = client.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        return [message["Body"] for message in reply.get("Messages", [])]

    yield Harness(queue, deliver, dead_letters)
    clients.reset()


@pytest.fixture(params=["inline", "sqs"])
def harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    if request.param == "inline":
        yield from _inline(monkeypatch)
    else:
        yield from _sqs(request.getfixturevalue("moto"), monkeypatch)


def _ack(delivery: Any) -> Any:
    from chalicelib.queue.base import ACK

    return ACK


def test_a_message_sent_is_delivered_once_when_acknowledged(harness: Harness) -> None:
    consumer = Recorder(_ack)
    harness.queue.send("one")
    harness.deliver(consumer, lambda: bool(consumer.seen), 10)
    assert consumer.bodies() == ["one"]
    assert consumer.seen[0][1].receive_count == 1
    harness.deliver(consumer, lambda: False, VISIBILITY_S + 1.5)  # past any timeout
    assert consumer.bodies() == ["one"]
    assert harness.queue.stats()["depth"] == 0
    assert harness.dead_letters() == []


def test_a_delayed_message_is_not_delivered_before_its_delay(harness: Harness) -> None:
    consumer = Recorder(_ack)
    sent = time.monotonic()
    harness.queue.send("later", delay_s=2)
    harness.deliver(consumer, lambda: bool(consumer.seen), 10)
    assert consumer.bodies() == ["later"]
    assert consumer.seen[0][0] - sent >= 1.9


def test_a_retry_comes_back_after_its_delay(harness: Harness) -> None:
    from chalicelib.queue.base import ACK, retry

    consumer = Recorder(lambda d: retry(2, "not yet") if d.receive_count == 1 else ACK)
    harness.queue.send("again")
    harness.deliver(consumer, lambda: len(consumer.seen) >= 2, 15)
    assert consumer.bodies() == ["again", "again"]
    assert [d.receive_count for _, d in consumer.seen] == [1, 2]
    assert consumer.seen[1][0] - consumer.seen[0][0] >= 1.9
    harness.deliver(consumer, lambda: False, 2.5)
    assert len(consumer.seen) == 2 and harness.dead_letters() == []


def test_a_dead_lettered_message_ends_in_the_dead_letter_queue_after_the_bound(
    harness: Harness,
) -> None:
    from chalicelib.queue.base import dead_letter

    consumer = Recorder(lambda d: dead_letter("poison"))
    harness.queue.send("poison")
    harness.deliver(consumer, lambda: len(consumer.seen) >= MAX_RECEIVES, 15)
    harness.deliver(consumer, lambda: False, VISIBILITY_S + 1.5)  # nothing more comes
    assert consumer.bodies() == ["poison"] * MAX_RECEIVES
    assert [d.receive_count for _, d in consumer.seen] == [1, 2, 3]
    assert harness.dead_letters() == ["poison"]


def test_a_consumer_that_raises_gets_the_message_again_after_the_visibility_timeout(
    harness: Harness,
) -> None:
    from chalicelib.queue.base import ACK

    def flaky(delivery: Any) -> Any:
        if delivery.receive_count == 1:
            raise RuntimeError("the database is down")
        return ACK

    consumer = Recorder(flaky)
    harness.queue.send("flaky")
    harness.deliver(consumer, lambda: len(consumer.seen) >= 2, 15)
    assert [d.receive_count for _, d in consumer.seen] == [1, 2]
    assert consumer.seen[1][0] - consumer.seen[0][0] >= VISIBILITY_S - 0.1
    assert harness.dead_letters() == []
