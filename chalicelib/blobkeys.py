"""Where things live in the bucket: the one place that knows the key layout.

tenants/T/files/F/B              a file's body (B: a fresh id per write)
tenants/T/exports/TASK.zip       an export's archive
tenants/T/exports/TASK.work/...  an export's work in progress
"""

from __future__ import annotations

from chalicelib import ids

ROOT = "tenants/"


def file_body(tenant_id: str, file_id: str) -> str:
    """A fresh key for one write of a file's body; an old body stays until it is unreferenced."""
    return f"{ROOT}{tenant_id}/files/{file_id}/{ids.new_id()}"


def export_archive(tenant_id: str, task_id: str) -> str:
    return f"{ROOT}{tenant_id}/exports/{task_id}.zip"


def export_work(tenant_id: str, task_id: str, seq: int, ext: str) -> str:
    return f"{ROOT}{tenant_id}/exports/{task_id}.work/{seq:08d}.{ext}"


def export_task(key: str) -> str:
    """The id of the export task whose archive or work object `key` is ('' for another key)."""
    parts = key.split("/")
    if kind(key) != "exports":
        return ""
    return parts[3].split(".")[0]


def kind(key: str) -> str:
    """`files` for a file body, `exports` for an export's archive or work, else ''."""
    parts = key.split("/")
    if not key.startswith(ROOT):
        return ""
    if len(parts) == 5 and parts[2] == "files":
        return "files"
    if len(parts) >= 4 and parts[2] == "exports":
        return "exports"
    return ""
