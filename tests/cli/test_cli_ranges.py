"""The Python client's ranged reads and HEADs against `make run`'s server: a part of a body,
inline or behind the local link, and the headers of GET without the body."""

from __future__ import annotations

import sys
from pathlib import Path

from support.cli import started_cli
from support.local_site import INLINE_LIMIT, ROOT

sys.path.insert(0, str(ROOT / "cli"))

from textfiles_client.client import Client


def test_the_client_reads_ranges_and_heads(tmp_path: Path) -> None:
    with started_cli(tmp_path / "data", None, tmp_path) as cli:
        client = Client(cli.env["TEXTFILES_URL"], cli.env["TEXTFILES_KEY"])
        small = client.create_file("small.txt", b"0123456789")
        assert client.read_file(small["id"], range="bytes=2-4") == b"234"
        assert client.read_file(small["id"], range="bytes=-3") == b"789"
        stale = client.read_file(small["id"], range="bytes=2-4", if_range='"stale"')
        assert stale == b"0123456789"
        head = client.head_file(small["id"])
        assert head["Content-Length"] == "10" and head["ETag"] == small["etag"]
        assert (
            client.head_metadata(small["id"])["ETag"] == small["record_etag"]
        )  # the record's ETag
        client.replace_file(small["id"], b"second body")
        assert client.read_version(small["id"], 1, range="bytes=0-3") == b"0123"
        assert client.head_version(small["id"], 1)["Content-Length"] == "10"
        assert client.head_version_metadata(small["id"], 2)["Content-Length"]
        body = b"x" * INLINE_LIMIT + b"0123456789"  # past the inline limit: a redirect
        large = client.upload("large.txt", body)
        assert client.read_file(large["id"], range=f"bytes={INLINE_LIMIT}-") == b"0123456789"
        assert client.head_file(large["id"])["Content-Length"] == str(len(body))
