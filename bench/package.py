"""The deployment zip: `chalice package`, its precompiled variants, and each unpacked as
Lambda's read-only /var/task."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from common import BUILD, ROOT, log

SHIPPED_ZIP = "lean"  # the options mk/deploy.mk passes to tools/precompile_zip.py
# name -> (file under build/bench, tools/precompile_zip.py options; None: chalice's own zip)
ZIP_VARIANTS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "chalice": ("", None),
    "precompiled": ("precompiled.zip", {}),
    "precompiled_no_tzdata": ("precompiled-no-tzdata.zip", {"exclude": ("tzdata/", "tzdata-")}),
    "lean": ("lean.zip", {"exclude": ("tzdata/", "tzdata-"), "sourceless_deps": True}),
}


def _uncompiled(names: set[str]) -> list[str]:
    tag = sys.implementation.cache_tag
    found = []
    for name in names:
        if not name.endswith(".py"):
            continue
        *folder, leaf = name.split("/")
        if "/".join([*folder, "__pycache__", f"{leaf[:-3]}.{tag}.pyc"]) not in names:
            found.append(name)
    return found


def zip_stats(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    by_top: dict[str, int] = {}
    for info in infos:
        top = info.filename.split("/")[0]
        by_top[top] = by_top.get(top, 0) + info.compress_size
    largest = sorted(by_top.items(), key=lambda kv: -kv[1])[:8]
    return {
        "bytes": path.stat().st_size,
        "files": len(infos),
        "pyc": sum(1 for i in infos if i.filename.endswith(".pyc")),
        "py": sum(1 for i in infos if i.filename.endswith(".py")),
        "py_without_pyc": len(_uncompiled({i.filename for i in infos})),
        "largest_compressed": dict(largest),
    }


def _chalice_package(base_env: dict[str, str]) -> tuple[Path | None, str, dict[str, str]]:
    """`chalice package` of the dev stage (else a stage not in config.json): the zip."""
    env = {k: v for k, v in base_env.items() if k not in ("AWS_LAMBDA_FUNCTION_NAME",)}
    env.pop("AWS_ENDPOINT_URL", None)
    chalice = str(ROOT / ".venv" / "bin" / "chalice")
    errors: dict[str, str] = {}
    for stage in ("dev", "local"):
        out = BUILD / f"package-{stage}"
        shutil.rmtree(out, ignore_errors=True)
        command = [chalice, "package", "--stage", stage, str(out)]
        proc = subprocess.run(
            command, cwd=str(ROOT), env=env, capture_output=True, text=True, check=False
        )
        if proc.returncode == 0 and (out / "deployment.zip").exists():
            return out / "deployment.zip", stage, errors
        errors[stage] = (proc.stdout + proc.stderr)[-1500:]
        log(f"chalice package --stage {stage} failed: {errors[stage][-300:]}")
    return None, "", errors


def build_zips(base_env: dict[str, str]) -> dict[str, Any]:
    """chalice's zip and its precompiled copies, with their sizes and contents."""
    from precompile_zip import precompile

    plain, stage, errors = _chalice_package(base_env)
    if plain is None:
        return {"error": errors}
    result: dict[str, Any] = {"stage": stage, "errors": errors, "zips": {}}
    for name, (file_name, options) in ZIP_VARIANTS.items():
        path = BUILD / file_name if options is not None else plain
        if options is not None:
            precompile(plain, path, ("app.py", "chalicelib/"), **options)
        result["zips"][name] = {"path": str(path), **zip_stats(path)}
    return result


def unpack(path: Path, name: str) -> Path:
    """The zip as Lambda sees it in /var/task: extracted, read-only (PYTHONDONTWRITEBYTECODE
    too, since root ignores permissions)."""
    target = BUILD / "task" / name
    if target.exists():
        for sub in target.rglob("*"):
            sub.chmod(0o755 if sub.is_dir() else 0o644)
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with zipfile.ZipFile(path) as zf:
        zf.extractall(target)
    for sub in [target, *target.rglob("*")]:
        mode = sub.stat().st_mode
        sub.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return target
