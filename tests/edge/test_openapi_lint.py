"""The OpenAPI document as other tools read it: Spectral's `spectral:oas` ruleset and Redocly's
`recommended` report nothing (tools/lint/: the pinned versions and the two Redocly rules
turned off, each with its reason)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from support.net import unavailable

ROOT = Path(__file__).resolve().parents[2]
LINT = ROOT / "tools" / "lint"
BIN = ROOT / ".tools" / "lint" / "node_modules" / ".bin"  # make lint-tools


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from chalicelib.edge.openapi import render

    if shutil.which("node") is None or not (BIN / "spectral").exists():
        unavailable("openapi linters", "node or .tools/lint missing: make lint-tools")
    path = tmp_path_factory.mktemp("lint") / "openapi.json"
    path.write_text(json.dumps(render.document(), indent=1))
    return path


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=LINT, capture_output=True, text=True, timeout=180)


def test_spectral_reports_nothing(document: Path) -> None:
    ruleset = str(LINT / "spectral.yaml")
    done = run(str(BIN / "spectral"), "lint", str(document), "-r", ruleset, "-f", "json", "-q")
    assert json.loads(done.stdout or "[]") == [], done.stdout[-3000:]


def test_redocly_reports_nothing(document: Path) -> None:
    config = str(LINT / "redocly.yaml")
    done = run(str(BIN / "redocly"), "lint", str(document), "--config", config, "--format", "json")
    report = json.loads(done.stdout[done.stdout.index("{") :])
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, done.stdout[-3000:]
