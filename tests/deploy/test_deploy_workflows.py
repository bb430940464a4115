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
    files = [WORKFLOWS / "ci.yml", WORKFLOWS / "deploy.yml", WORKFLOWS / "terraform.yml"]
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


def test_terraform_plans_pull_requests_and_deploys_main_when_chosen() -> None:
    """Plan on a pull request (the JSON kept for review), deploy-tf on main after the tests,
    OIDC credentials; only with DEPLOY_PATH=terraform, when deploy.yml stands aside."""
    tf = yaml.safe_load((WORKFLOWS / "terraform.yml").read_text())
    assert "pull_request" in tf[True] and tf[True]["push"]["branches"] == ["main"]
    assert tf["permissions"]["id-token"] == "write"
    jobs = tf["jobs"]
    runs = {name: " ".join(s.get("run", "") for s in job["steps"]) for name, job in jobs.items()}
    assert "make plan-tf STAGE=prod" in runs["plan"] and "make test" in runs["test"]
    assert "make deploy-tf STAGE=prod" in runs["deploy"] and jobs["deploy"]["needs"] == "test"
    assert "pull_request" in jobs["plan"]["if"] and "pull_request" in jobs["deploy"]["if"]
    for job in jobs.values():
        assert "vars.DEPLOY_PATH == 'terraform'" in job["if"]
    for name in ("plan", "deploy"):
        uses = [s.get("uses", "") for s in jobs[name]["steps"]]
        assert any(u.startswith("aws-actions/configure-aws-credentials") for u in uses)
    deploy = yaml.safe_load((WORKFLOWS / "deploy.yml").read_text())
    assert deploy["jobs"]["deploy"]["if"] == "vars.DEPLOY_PATH != 'terraform'"
    for name in ("ci.yml", "deploy.yml", "terraform.yml"):
        text = (WORKFLOWS / name).read_text()
        assert "aws-access-key-id" not in text
        assert "hashicorp/setup-terraform" in text and "TF_PLUGIN_DIR" in text, name
