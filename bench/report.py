"""The table `make bench` prints: one row per figure, with its ratios and its verdict."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    number: str
    figure: str
    value: str
    ratios: str
    target: str
    verdict: str  # PASS, FAIL or INFO

    def cells(self) -> list[str]:
        return [self.number, self.figure, self.value, self.ratios, self.target, self.verdict]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def table(rows: list[Row]) -> str:
    head = ["#", "figure", "value", "ratio", "target", ""]
    cells = [head, *[r.cells() for r in rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = []
    for n, c in enumerate(cells):
        lines.append("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(rows: list[Row]) -> str:
    head = "| # | figure | value | ratio | target | |\n|---|---|---|---|---|---|\n"
    return head + "\n".join("| " + " | ".join(r.cells()) + " |" for r in rows)
