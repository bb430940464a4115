"""The GitHub workflows are valid (check-jsonschema's offline GitHub-workflow schema)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from support.net import unavailable

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def test_workflows_match_the_github_workflow_schema() -> None:
    tool = Path(sys.executable).parent / "check-jsonschema"
    if not tool.exists():
        unavailable("check-jsonschema", "not installed: make deps")
    files = [WORKFLOWS / "ci.yml", WORKFLOWS / "deploy.yml"]
    result = subprocess.run(
        [str(tool), "--builtin-schema", "vendor.github-workflows", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_make_test_on_every_push_and_pull_request() -> None:
    ci = yaml.safe_load((WORKFLOWS / "ci.yml").read_text())
    assert set(ci[True]) == {"push", "pull_request"}  # YAML 1.1 reads `on` as True
    steps = [s.get("run", "") for job in ci["jobs"].values() for s in job["steps"]]
    assert any("make test" in run for run in steps)
    assert ci["jobs"]["test"]["env"]["TEXTFILES_REQUIRE_BACKENDS"] == "1"


def test_deploy_runs_on_main_with_oidc_credentials() -> None:
    deploy = yaml.safe_load((WORKFLOWS / "deploy.yml").read_text())
    assert deploy[True]["push"]["branches"] == ["main"]
    assert deploy["permissions"]["id-token"] == "write"
    steps = deploy["jobs"]["deploy"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("aws-actions/configure-aws-credentials") for u in uses)
    runs = " ".join(s.get("run", "") for s in steps)
    assert "make infra-deploy" in runs and "make package" in runs and "make deploy" in runs
    assert "aws-access-key-id" not in (WORKFLOWS / "deploy.yml").read_text()
