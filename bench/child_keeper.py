"""A warm neighbour: reads one file through the app every BENCH_EVERY seconds until it is
stopped, printing each status, as the warm functions of a scale-out do."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from events import Context, get_file_event  # noqa: E402


def main() -> None:
    spec = json.loads(os.environ["BENCH_SPEC"])
    every = float(os.environ.get("BENCH_EVERY", "0.5"))
    from app import app

    event = get_file_event(spec["key"], spec["file_id"])
    while True:
        with contextlib.redirect_stdout(io.StringIO()):  # the app's access log
            status = app(event, Context())["statusCode"]
        print(status, flush=True)
        time.sleep(every)


if __name__ == "__main__":
    main()
