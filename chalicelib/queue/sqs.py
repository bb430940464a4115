"""The SQS driver (boto3 via chalicelib.aws.clients). In Lambda the event source receives and
deletes messages; `poll` stands in for it on a laptop (`make worker`) and in the tests."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import config, logs
from chalicelib.aws import clients
from chalicelib.errors import BackendUnavailable
from chalicelib.queue.base import BudgetContext, Consumer, Delivery, Outcome

MAX_DELAY_S = 900  # SQS DelaySeconds limit
MAX_VISIBILITY_S = 43_200  # SQS VisibilityTimeout limit


@contextlib.contextmanager
def _queue_errors() -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        detail = clients.error_code(exc) or type(exc).__name__
        raise BackendUnavailable("queue", detail) from exc


class SqsQueue:
    name = "sqs"

    def __init__(self, url: str) -> None:
        self.url = url

    @staticmethod
    def _sqs() -> Any:
        return clients.client("sqs")

    def send(self, body: str, delay_s: int = 0) -> None:
        delay = min(MAX_DELAY_S, max(0, int(delay_s)))
        with _queue_errors():
            self._sqs().send_message(QueueUrl=self.url, MessageBody=body, DelaySeconds=delay)

    def start(self, consumer: Consumer, pending: Callable[[], list[str]]) -> None:
        """Lambda's event source (or `make worker`) delivers SQS messages."""

    def settle(self, receipt: str, outcome: Outcome) -> None:
        """Acknowledged: deleted. Otherwise visible again after the delay; a dead-lettered
        message at once, until the redrive policy's maxReceiveCount moves it to the DLQ."""
        if outcome.acknowledged:
            with _queue_errors():
                self._sqs().delete_message(QueueUrl=self.url, ReceiptHandle=receipt)
            return
        self.change_visibility(receipt, outcome.delay_s)

    def change_visibility(self, receipt: str, timeout_s: int) -> None:
        timeout = min(MAX_VISIBILITY_S, max(0, int(timeout_s)))
        with _queue_errors():
            self._sqs().change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=timeout
            )

    def stats(self) -> dict[str, Any]:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        with _queue_errors():
            attrs = self._sqs().get_queue_attributes(QueueUrl=self.url, AttributeNames=names)
        values = attrs.get("Attributes", {})
        return {
            "driver": self.name,
            "depth": int(values.get(names[0], 0)),
            "in_flight": int(values.get(names[1], 0)),
        }

    def close(self) -> None:
        pass

    def receive(self, wait_s: int = 20, max_messages: int = 1) -> list[Delivery]:
        """Long-poll for messages, as Lambda's event source does."""
        with _queue_errors():
            reply = self._sqs().receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=max_messages,
                WaitTimeSeconds=wait_s,
                AttributeNames=["All"],
            )
        return [delivery(lambda_record(m, self.url)) for m in reply.get("Messages", [])]

    def poll(self, consumer: Consumer, budget_ms: int, wait_s: int = 20) -> int:
        """Receive a message and hand it to `consumer` as Lambda's event source would, with
        `budget_ms` to run; settle it by the outcome (an exception leaves it to come back
        after its visibility timeout, then the DLQ). The number of messages received."""
        received = self.receive(wait_s=wait_s)
        for message in received:
            try:
                outcome = consumer(message, BudgetContext(budget_ms))
            except Exception as exc:  # noqa: BLE001 - exactly what Lambda does with a failure
                logs.warning("task message failed; SQS will redeliver it", error=repr(exc)[:300])
                continue
            self.settle(message.receipt, outcome)
        return len(received)


def lambda_record(message: dict[str, Any], queue_url: str) -> dict[str, Any]:
    """One SQS message in the shape Lambda gives it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_url,
        "awsRegion": config.get("AWS_REGION") or config.get("AWS_DEFAULT_REGION"),
    }


def delivery(record: dict[str, Any]) -> Delivery:
    """A record of a Lambda SQS event as the consumer sees it."""
    attributes: dict[str, Any] = record.get("attributes") or {}
    return Delivery(
        body=record["body"],
        receipt=record["receiptHandle"],
        receive_count=int(attributes.get("ApproximateReceiveCount") or 1),
    )
