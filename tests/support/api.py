"""A thin caller for the API in tests: one key, JSON decoding, the usual headers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from chalice.test import Client

TEXT = {"content-type": "text/plain; charset=utf-8"}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class Api:
    def __init__(self, client: Client, key: str | None) -> None:
        self.client = client
        self.key = key

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        auth = {"authorization": f"Bearer {self.key}"} if self.key else {}
        return {**auth, **(extra or {})}

    def call(
        self, method: str, path: str, body: bytes | str = b"", headers: dict[str, str] | None = None
    ) -> Reply:
        raw = body.encode() if isinstance(body, str) else body
        response = getattr(self.client.http, method.lower())(
            path, headers=self._headers(headers), body=raw
        )
        return Reply(response.status_code, dict(response.headers), response.body or b"")

    def create(
        self, name: str, body: bytes | str = b"hello", headers: dict[str, str] | None = None
    ) -> Reply:
        return self.call(
            "POST", f"/files?name={quote(name, safe='')}", body, {**TEXT, **(headers or {})}
        )

    def created(self, name: str, body: bytes | str = b"hello") -> dict[str, Any]:
        reply = self.create(name, body)
        assert reply.status == 201, reply.body
        result: dict[str, Any] = reply.json
        return result

    def created_reply(self, name: str, body: bytes | str = b"hello") -> Reply:
        reply = self.create(name, body)
        assert reply.status == 201, reply.body
        return reply

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.call("GET", path, headers=headers)

    def put(self, file_id: str, body: bytes | str, headers: dict[str, str] | None = None) -> Reply:
        return self.call("PUT", f"/files/{file_id}", body, {**TEXT, **(headers or {})})

    def rename(self, file_id: str, name: str) -> Reply:
        return self.call(
            "PATCH",
            f"/files/{file_id}",
            json.dumps({"name": name}),
            {"content-type": "application/json"},
        )

    def delete(self, file_id: str) -> Reply:
        return self.call("DELETE", f"/files/{file_id}")
