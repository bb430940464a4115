"""Run with the generator's virtualenv: create, read and replace a file through the client
openapi-python-client generated (argv: the generated project folder, base URL, API key)."""

from __future__ import annotations

import io
import sys

sys.path.insert(0, sys.argv[1])

from generated_textfiles import AuthenticatedClient
from generated_textfiles.api.files import create_file, read_file, replace_file
from generated_textfiles.models.file_metadata import FileMetadata
from generated_textfiles.types import File

client = AuthenticatedClient(base_url=sys.argv[2], token=sys.argv[3])
made = create_file.sync(client=client, body=File(payload=io.BytesIO(b"hello\n")), name="gen.txt")
assert isinstance(made, FileMetadata), made
assert (made.name, made.size, made.version) == ("gen.txt", 6, 1), made
assert read_file.sync_detailed(client=client, file_id=made.id).content == b"hello\n"


def bye() -> File:
    return File(payload=io.BytesIO(b"bye\n"))


new = replace_file.sync(client=client, file_id=made.id, body=bye(), if_match=made.etag)
assert isinstance(new, FileMetadata) and new.version == 2, new
stale = replace_file.sync_detailed(client=client, file_id=made.id, body=bye(), if_match=made.etag)
assert stale.status_code == 412, stale.status_code
assert read_file.sync_detailed(client=client, file_id=made.id).content == b"bye\n"
print("round trip ok")
