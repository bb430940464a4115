"""A unified diff whose time is bounded whatever the text (docs/history.md, "Diffs").

difflib's matcher alone is quadratic or worse on repetitive text: two 10,000-line bodies of a
hundred repeated lines took 72 s here, two 1 MiB ones up to 460 s. So the lines are matched
the way patience diff does: the common head and tail, then the lines that occur exactly once
on each side as anchors (their longest increasing run, O(n log n)), recursing into the gaps
between anchors at most MAX_DEPTH deep. A gap with no anchor is matched by difflib only when
it is small (SMALL_GAP cells) and the whole diff has not spent GAP_BUDGET cells on such gaps
yet (difflib took up to 35 ms on one 100 x 100 gap of a few repeated lines, and a body can
hold thousands), else shown as replaced. Output is `diff -u`'s format, built by
difflib's own grouping from these matches.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence

MAX_DEPTH = 8
SMALL_GAP = 10_000  # lines on one side x lines on the other
GAP_BUDGET = 100_000  # such cells per diff: well under a second here at worst
CONTEXT = 3
Block = tuple[int, int, int]


def _unique_anchors(
    a: Sequence[str], b: Sequence[str], box: tuple[int, int, int, int]
) -> list[tuple[int, int]]:
    """The longest run of lines unique on both sides, in the same order on both."""
    alo, ahi, blo, bhi = box
    seen: dict[str, list[int]] = {}
    for i in range(alo, ahi):
        entry = seen.setdefault(a[i], [0, i, 0, -1])
        entry[0] += 1
    for j in range(blo, bhi):
        other = seen.get(b[j])
        if other is not None:
            other[2] += 1
            other[3] = j
    pairs = sorted((e[1], e[3]) for e in seen.values() if e[0] == 1 and e[2] == 1)
    # Patience sorting: the longest increasing subsequence of the b positions.
    tails: list[int] = []
    tail_at: list[int] = []
    back: list[int] = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        pos = bisect.bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            tail_at.append(k)
        else:
            tails[pos], tail_at[pos] = j, k
        back[k] = tail_at[pos - 1] if pos else -1
    run, k = [], tail_at[-1] if tail_at else -1
    while k >= 0:
        run.append(pairs[k])
        k = back[k]
    return run[::-1]


def _match(
    a: Sequence[str],
    b: Sequence[str],
    box: tuple[int, int, int, int],
    depth: int,
    out: list[Block],
    budget: list[int],
) -> None:
    alo, ahi, blo, bhi = box
    while alo < ahi and blo < bhi and a[alo] == b[blo]:
        out.append((alo, blo, 1))
        alo, blo = alo + 1, blo + 1
    while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:
        ahi, bhi = ahi - 1, bhi - 1
        out.append((ahi, bhi, 1))
    if alo == ahi or blo == bhi:
        return
    anchors = _unique_anchors(a, b, (alo, ahi, blo, bhi)) if depth < MAX_DEPTH else []
    if not anchors:
        _small_gap(a, b, (alo, ahi, blo, bhi), out, budget)
        return
    for i, j in anchors:
        _match(a, b, (alo, i, blo, j), depth + 1, out, budget)
        out.append((i, j, 1))
        alo, blo = i + 1, j + 1
    _match(a, b, (alo, ahi, blo, bhi), depth + 1, out, budget)


def _small_gap(
    a: Sequence[str],
    b: Sequence[str],
    box: tuple[int, int, int, int],
    out: list[Block],
    budget: list[int],
) -> None:
    """difflib on a gap small enough to be cheap, while the budget lasts; else it stays
    unmatched (shown as replaced)."""
    import difflib

    alo, ahi, blo, bhi = box
    cells = (ahi - alo) * (bhi - blo)
    if cells > SMALL_GAP or cells > budget[0]:
        return
    budget[0] -= cells
    matcher = difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
    out.extend((alo + i, blo + j, n) for i, j, n in matcher.get_matching_blocks() if n)


def matching_blocks(a: Sequence[str], b: Sequence[str]) -> list[Block]:
    """(i, j, n): a[i:i+n] == b[j:j+n], increasing, adjacent blocks joined, then (len, len, 0)."""
    found: list[Block] = []
    _match(a, b, (0, len(a), 0, len(b)), 0, found, [GAP_BUDGET])
    joined: list[Block] = []
    for i, j, n in sorted(found):
        if joined and joined[-1][0] + joined[-1][2] == i and joined[-1][1] + joined[-1][2] == j:
            joined[-1] = (joined[-1][0], joined[-1][1], joined[-1][2] + n)
        else:
            joined.append((i, j, n))
    return [*joined, (len(a), len(b), 0)]


def _range(start: int, stop: int) -> str:
    """A hunk's range as `diff -u` writes it (difflib's rule)."""
    length = stop - start
    if length == 1:
        return f"{start + 1}"
    return f"{start + 1 if length else start},{length}"


def unified(a: Sequence[str], b: Sequence[str], old: str, new: str) -> Iterator[str]:
    """The lines of a unified diff from `a` to `b` (lines with their ends), 3 lines of context."""
    import difflib

    matcher: difflib.SequenceMatcher[str] = difflib.SequenceMatcher(None, (), ())
    matcher.matching_blocks = matching_blocks(a, b)  # type: ignore[attr-defined]
    groups = list(matcher.get_grouped_opcodes(CONTEXT))
    if all(code[0] == "equal" for group in groups for code in group):
        return  # the same lines
    yield f"--- {old}\n"
    yield f"+++ {new}\n"
    for group in groups:
        first, last = group[0], group[-1]
        yield f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in a[i1:i2])
                continue
            yield from ("-" + line for line in a[i1:i2])
            yield from ("+" + line for line in b[j1:j2])
