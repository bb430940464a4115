"""The bounded unified diff (chalicelib/files/history/diffing.py): correct, and fast on the
repetitive text that makes difflib alone take minutes."""

from __future__ import annotations

import random
import time

from chalicelib.files.history.diffing import unified


def apply(a: list[str], diff: list[str]) -> list[str]:
    """Patch `a` with a unified diff, checking every context and removed line."""
    out, i, k, lines = [], 0, 0, diff[2:]
    while k < len(lines):
        old = lines[k].split()[1][1:]
        start, _, length = old.partition(",")
        first = int(start) - 1 if (length != "0") else int(start)
        out.extend(a[i:first])
        i, k = first, k + 1
        while k < len(lines) and not lines[k].startswith("@@"):
            kind, text = lines[k][0], lines[k][1:]
            if kind in " -":
                assert a[i] == text
                i += 1
            if kind in " +":
                out.append(text)
            k += 1
    return out + a[i:]


def test_random_edits_round_trip() -> None:
    rng = random.Random(7)
    words = [f"w{i}\n" for i in range(30)]
    for _ in range(300):
        a = [rng.choice(words) for _ in range(rng.randrange(0, 60))]
        b = list(a)
        for _ in range(rng.randrange(0, 10)):
            at = rng.randrange(len(b) + 1)
            if rng.random() < 0.5 and at < len(b):
                del b[at]
            else:
                b.insert(at, rng.choice(words))
        diff = list(unified(a, b, "a", "b"))
        assert (apply(a, diff) if diff else a) == b


def test_repetitive_text_is_diffed_in_bounded_time() -> None:
    """10,000 lines of a hundred repeated ones: difflib alone took 72 s here."""
    values = [f"v{i:04d}\n" for i in range(101)]
    a = [values[i % 101] for i in range(10_000)]
    b = [values[(i * 7) % 101] for i in range(10_000)]
    started = time.perf_counter()
    diff = list(unified(a, b, "a", "b"))
    assert time.perf_counter() - started < 5
    assert apply(a, diff) == b
    blocks_a: list[str] = []
    for k in range(2_000):  # unique anchors between small repetitive gaps
        blocks_a += [f"anchor {k}\n", *(f"{i % 3}\n" for i in range(100))]
    blocks_b = [
        line if line.startswith("anchor") else f"{(int(line) + 1) % 3}\n" for line in blocks_a
    ]
    started = time.perf_counter()
    diff = list(unified(blocks_a, blocks_b, "a", "b"))
    assert time.perf_counter() - started < 10
    assert apply(blocks_a, diff) == blocks_b
