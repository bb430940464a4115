"""One request as a cold Lambda meets it: a fresh interpreter imports `app`, answers one API
Gateway event through `app.app(event, context)` and prints, as its last line, the status and
every module loaded by then (JSON).

Run as a script: `python tests/support/cold_request.py get KEY FILE_ID` or
`python tests/support/cold_request.py post KEY NAME BODY`. The events are bench/events.py's.
"""

import contextlib
import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The app and bench/events.py, not this folder: its modules are test support, not Lambda's.
sys.path[0:1] = [str(ROOT), str(ROOT / "bench")]

from events import Context, create_file_event, get_file_event  # noqa: E402


def main(argv: list[str]) -> None:
    kind, key, *rest = argv
    if kind == "get":
        event = get_file_event(key, rest[0])
    else:
        event = create_file_event(key, rest[0], rest[1])
    from app import app

    with contextlib.redirect_stdout(io.StringIO()):  # the app's access log
        response = app(event, Context())
    print(json.dumps({"status": response["statusCode"], "modules": sorted(sys.modules)}))


if __name__ == "__main__":
    main(sys.argv[1:])
