"""Add precompiled bytecode to a Chalice deployment.zip, so Lambda does not recompile every
module on each cold start (its /var/task is read-only: a zip without .pyc compiles all the
code it imports, every time).

    .venv/bin/python tools/precompile_zip.py build/dev/app/deployment.zip [-o OUT.zip]

Each `x.py` gains `__pycache__/x.cpython-313.pyc` (the tag of the running interpreter, which
must be the Lambda runtime's Python version: `--expect-tag` checks it; `make package` passes
the tag of LAMBDA_PYTHON, the Makefile's runtime). The .py files stay,
for tracebacks and for an emergency edit in the Lambda console.

Invalidation: third-party code gets *unchecked-hash* pycs (never compared with the source:
no stat, no read, no hash). The project's own code (`--checked`, default app.py and
chalicelib/) gets *checked-hash* pycs: the loader hashes the .py it reads anyway, so a file
edited in the console is recompiled instead of silently ignored. Both are deterministic (no
mtime), so the same input zip gives the same output bytes.

Optional, to trim the zip further (each is a trade-off, see docs/bench.md):
  --exclude PREFIX     drop entries under PREFIX (e.g. tzdata/ when no code needs zone names)
  --sourceless-deps    third-party modules as .pyc only, in place of the .py (the project's
                       own code, `--checked`, always keeps its source)
A dependency's dist-info METADATA keeps its headers only (its long description is a README).
"""

from __future__ import annotations

import argparse
import importlib.util
import marshal
import sys
import zipfile
from pathlib import Path

DEFAULT_CHECKED = ("app.py", "chalicelib/")


def hash_pyc(source: bytes, path: str, checked: bool) -> bytes:
    """A PEP 552 hash-based .pyc of `source` (what compileall writes for *-hash modes)."""
    code = compile(source, path, "exec", dont_inherit=True)
    flags = 0b01 | (0b10 if checked else 0)
    return (
        importlib.util.MAGIC_NUMBER
        + flags.to_bytes(4, "little")
        + importlib.util.source_hash(source)
        + marshal.dumps(code)
    )


def pyc_name(py_name: str) -> str:
    parent, _, filename = py_name.rpartition("/")
    tag = sys.implementation.cache_tag
    cached = f"__pycache__/{filename[:-3]}.{tag}.pyc"
    return f"{parent}/{cached}" if parent else cached


def precompile(
    src: Path,
    dst: Path,
    checked: tuple[str, ...],
    exclude: tuple[str, ...] = (),
    sourceless_deps: bool = False,
) -> dict[str, int]:
    """Copy `src` to `dst` with a .pyc beside every .py; returns what was added."""
    added = failed = dropped = 0
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            stale = "__pycache__/" in info.filename or info.filename.endswith(".pyc")
            if (exclude and info.filename.startswith(exclude)) or stale:
                # Stale: `chalice package` copies chalicelib/__pycache__ from the working
                # tree (timestamp pycs of whatever Python the developer ran); made afresh here.
                dropped += 1
                continue
            data = zin.read(info)
            if info.filename.endswith(".dist-info/METADATA"):
                # The headers (name, version, requirements: what importlib.metadata reads);
                # the long description after them is the project's README, tens of KB.
                data = data.split(b"\n\n", 1)[0] + b"\n"
            own = info.filename.startswith(checked)
            is_py = not info.is_dir() and info.filename.endswith(".py")
            sourceless = is_py and sourceless_deps and not own
            if not sourceless:
                zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            if not is_py:
                continue
            target = info.filename + "c" if sourceless else pyc_name(info.filename)
            try:
                pyc = hash_pyc(data, info.filename, own)
            except SyntaxError:
                failed += 1  # e.g. a file for another Python version; it stays source-only
                if sourceless:
                    zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
                continue
            pinfo = zipfile.ZipInfo(target, info.date_time)
            pinfo.external_attr = info.external_attr
            zout.writestr(pinfo, pyc, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            added += 1
    return {"added": added, "failed": failed, "dropped": dropped}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("zip", type=Path, help="the deployment.zip written by chalice package")
    parser.add_argument("-o", "--output", type=Path, help="default: replace the input")
    parser.add_argument(
        "--checked",
        default=",".join(DEFAULT_CHECKED),
        help="comma-separated path prefixes that get checked-hash pycs (default: %(default)s)",
    )
    parser.add_argument(
        "--expect-tag",
        default="cpython-313",
        help="refuse to run unless this interpreter's cache tag is this (the Lambda runtime)",
    )
    parser.add_argument("--exclude", action="append", default=[], metavar="PREFIX")
    parser.add_argument("--sourceless-deps", action="store_true")
    args = parser.parse_args(argv)
    if sys.implementation.cache_tag != args.expect_tag:
        parser.error(
            f"this interpreter writes {sys.implementation.cache_tag} bytecode; the Lambda "
            f"runtime needs {args.expect_tag}: run this with that Python version"
        )
    output: Path = args.output or args.zip
    temporary = output.with_name(output.name + ".tmp")
    checked = tuple(p for p in args.checked.split(",") if p)
    result = precompile(
        args.zip, temporary, checked, tuple(args.exclude), bool(args.sourceless_deps)
    )
    temporary.replace(output)
    size = output.stat().st_size
    with zipfile.ZipFile(output) as zf:
        count = len(zf.infolist())
    print(
        f"{output}: {result['added']} .pyc added ({result['failed']} not compilable,"
        f" {result['dropped']} entries dropped), {count} files, {size} bytes"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
