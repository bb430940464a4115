"""One Lambda runtime everywhere (issue 29): LAMBDA_PYTHON in the Makefile names it, and the
tools, the workflows and the checks follow it; tools/find_python.sh finds that interpreter
with no manual step, and make refuses to ship or test on another. The packaged zip itself
is held to it in tests/deploy/test_lambda_runtime.py."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import yaml

from support import lambda_rie

ROOT = Path(__file__).resolve().parents[2]
FIND = ROOT / "tools" / "find_python.sh"
VERSION = lambda_rie.lambda_python()
THIS = "{}.{}".format(*sys.version_info[:2])
BASE = Path(os.path.realpath(sys.executable))  # the interpreter .venv was made from


def test_the_tests_run_on_the_lambda_runtimes_python() -> None:
    assert THIS == VERSION, f"make test runs on Python {THIS}, Lambda on python{VERSION}"


def test_the_checks_and_the_workflows_follow_the_runtime() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["requires-python"] == f">={VERSION}"
    assert project["tool"]["ruff"]["target-version"] == "py" + VERSION.replace(".", "")
    assert project["tool"]["mypy"]["python_version"] == VERSION
    versions = []
    for workflow in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for job in yaml.safe_load(workflow.read_text())["jobs"].values():
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("actions/setup-python"):
                    versions.append((workflow.name, str(step["with"]["python-version"])))
    assert versions and all(v == VERSION for _, v in versions), versions


def test_the_emulator_gets_the_runtimes_sdk_as_one_release() -> None:
    """Lambda's runtime carries boto3 and the botocore of the same release; pip alone would
    pair the pinned boto3 with the newest botocore."""
    pins = dict(
        line.split("==")
        for line in (ROOT / "tests" / "requirements-lambda.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert pins["boto3"] == pins["botocore"], pins
    assert pins["awslambdaric"].startswith("4."), pins


def _pyc(source: str, magic: bytes) -> bytes:
    """A hash-based .pyc of *source* with the given magic number."""
    import marshal

    code = compile(source, "m.py", "exec")
    return (
        magic
        + (1).to_bytes(4, "little")
        + importlib.util.source_hash(source.encode())
        + (marshal.dumps(code))
    )


def _artifacts(tmp_path: Path, runtime: str, magic: bytes, tag: str) -> tuple[Any, Path]:
    functions = {}
    for name, handler in (("APIHandler", "app.app"), ("admin", "app.admin")):
        props = {"FunctionName": f"textfiles-prod-{name}", "Handler": handler, "Runtime": runtime}
        functions[name] = {"Type": "AWS::Serverless::Function", "Properties": props}
    sam = {"Resources": functions}
    path = tmp_path / f"{runtime}-{tag}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "x = 1\n")
        archive.writestr(f"__pycache__/app.{tag}.pyc", _pyc("x = 1\n", magic))
        archive.writestr("pg8000/native.pyc", _pyc("y = 2\n", magic))
    return sam, path


def test_a_mismatch_of_template_bytecode_and_emulator_is_found(tmp_path: Path) -> None:
    """The check of test_lambda_runtime.py, shown able to fail: each disagreement is named."""
    here = lambda_rie.python_of(sys.executable)
    magic, tag = bytes.fromhex(here["magic"]), here["cache_tag"]
    runtime = f"python{here['version']}"
    assert lambda_rie.runtime_mismatches(*_artifacts(tmp_path, runtime, magic, tag), here) == []

    older = lambda_rie.runtime_mismatches(*_artifacts(tmp_path, "python3.11", magic, tag), here)
    assert len(older) == 2 and all("Runtime 'python3.11'" in p for p in older), older
    other_magic = (int.from_bytes(magic[:2], "little") - 1).to_bytes(2, "little") + magic[2:]
    compiled = lambda_rie.runtime_mismatches(*_artifacts(tmp_path, runtime, other_magic, tag), here)
    assert compiled == [f"2 .pyc not compiled by {runtime}, e.g. __pycache__/app.{tag}.pyc"]
    tagged = lambda_rie.runtime_mismatches(
        *_artifacts(tmp_path, runtime, magic, "cpython-311"), here
    )
    assert tagged == ["1 .pyc tagged for another Python, e.g. __pycache__/app.cpython-311.pyc"]


# ------------------------------------------------------------------ finding the interpreter


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def _find(version: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(FIND), version], env=env, capture_output=True, text=True, timeout=60
    )


def _bare_env(tmp_path: Path, path: list[Path]) -> dict[str, str]:
    """No pyenv and no Python of the machine's: only the folders given, and the shell's."""
    dirs = [str(p) for p in path] + ["/usr/bin", "/bin"]
    return {"PATH": ":".join(dirs), "HOME": str(tmp_path / "home")}


def test_find_python_skips_a_pyenv_shim_that_refuses_and_takes_pyenvs_build(
    tmp_path: Path,
) -> None:
    """As on this kind of machine: `python3.13` on PATH is a pyenv shim that answers only
    with PYENV_VERSION, and the interpreter lives in $(pyenv root)/versions/3.13.N/bin."""
    shims, root = tmp_path / "shims", tmp_path / "pyenv"
    _script(shims / f"python{THIS}", f'echo "pyenv: python{THIS}: command not found" >&2; exit 127')
    _script(shims / "pyenv", f"echo {root}")
    for patch in ("0", "10"):  # the newest build wins: 3.13.10 before 3.13.0
        _script(
            root / "versions" / f"{THIS}.{patch}" / "bin" / f"python{THIS}", f'exec {BASE} "$@"'
        )
    found = _find(THIS, _bare_env(tmp_path, [shims]))
    assert (found.returncode, found.stdout.strip()) == (
        0, str(root / "versions" / f"{THIS}.10" / "bin" / f"python{THIS}")
    )  # fmt: skip


def test_find_python_takes_a_working_interpreter_on_path_first(tmp_path: Path) -> None:
    on_path = _script(tmp_path / "bin" / f"python{THIS}", f'exec {BASE} "$@"')
    _script(
        tmp_path / "pyenv" / "versions" / f"{THIS}.0" / "bin" / f"python{THIS}", f'exec {BASE} "$@"'
    )
    env = {**_bare_env(tmp_path, [on_path.parent]), "PYENV_ROOT": str(tmp_path / "pyenv")}
    found = _find(THIS, env)
    assert (found.returncode, found.stdout.strip()) == (0, str(on_path))


def test_find_python_says_nothing_when_the_version_is_absent(tmp_path: Path) -> None:
    """An interpreter of another version under the wanted name does not count either."""
    _script(tmp_path / "bin" / "python3.99", f'exec {BASE} "$@"')
    found = _find("3.99", _bare_env(tmp_path, [tmp_path / "bin"]))
    assert (found.returncode, found.stdout) == (1, "")


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "MAKEFLAGS", "MAKELEVEL")}
    return subprocess.run(
        ["make", "--no-print-directory", *args, "STAGE=prod", "BUILD=/nonexistent"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_without_the_runtimes_python_make_says_in_one_line_how_to_get_it() -> None:
    """LAMBDA_PYTHON=3.99 stands for a machine without the runtime's Python: make package,
    make test and make deploy stop before anything is made, with one line that says how."""
    for target in ("package", "test", "app-deploy"):
        result = _make(target, "LAMBDA_PYTHON=3.99")
        said = result.stdout.splitlines()
        assert result.returncode == 2, result.stdout + result.stderr
        assert len(said) == 1 and "pyenv install 3.99" in said[0], said
        assert "PYTHON=/path/to/python3.99" in said[0]


def test_make_never_packages_with_another_python(tmp_path: Path) -> None:
    """PYTHON naming another version: make refuses before it (re)makes .venv with it."""
    other = _script(tmp_path / "python3.12", "echo 3.12")  # answers the version question only
    for target in ("package", "test", "app-deploy"):
        result = _make(target, f"PYTHON={other}")
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"is Python 3.12: make {target} runs on Python {VERSION} only" in result.stdout
    assert lambda_rie.python_of(ROOT / ".venv" / "bin" / "python")["version"] == VERSION
