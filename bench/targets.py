"""One function per figure of issue #12's table: each turns the measurements into rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from package import SHIPPED_ZIP
from report import Row, verdict
from upload_memory import rows as upload_memory

ZIP_LIMIT = 1_300_000  # "1.3 MB" (tests/deploy/test_deploy.py says what it holds)
Results = dict[str, Any]


def _cold_row(
    results: Results, number: str, figure: str, name: str, target: str, ok: bool | None
) -> Row:
    cold = results["cold"]
    ms, bare, hello = cold[name]["cold_ms"], cold["bare"]["cold_ms"], cold["hello"]["cold_ms"]
    ratios = f"{ms / bare:.2f}x bare, {ms / hello:.2f}x hello"
    return Row(
        number, figure, f"{ms:.1f} ms", ratios, target, "INFO" if ok is None else verdict(ok)
    )


def references(results: Results) -> list[Row]:
    rows = [
        _cold_row(results, "ref", "bare handler, cold (spawn to response)", "bare", "", None),
        _cold_row(results, "ref", "Chalice hello, cold", "hello", "", None),
    ]
    if "fastapi" in results["cold"]:
        rows.append(_cold_row(results, "ref", "FastAPI + Mangum hello, cold", "fastapi", "", None))
    return rows


def import_app(results: Results) -> list[Row]:
    cold = results["cold"]
    imp, imp_hello = cold["import_app"]["import_ms"], cold["import_hello"]["import_ms"]
    process = cold["import_app"]["cold_ms"] / cold["bare"]["cold_ms"]
    return [
        Row(
            "1",
            "import app.py (in a fresh process)",
            f"{imp:.1f} ms (hello {imp_hello:.1f} ms)",
            f"{imp / imp_hello:.2f}x hello import; process {process:.2f}x bare",
            "<= 1.1x hello import",
            verdict(imp / imp_hello <= 1.1),
        )
    ]


def cold_hits(results: Results) -> list[Row]:
    """(2) twice: while warm neighbours keep the cache's trust fresh (a scale-out), and
    after 2 s of idle (the trust and the key entry expired: the database is asked)."""
    rows = []
    for number, name, when in (
        ("2", "app_hit_load", "during load (a warm process reads it every 0.5 s)"),
        ("2i", "app_hit_idle", "after 2.5 s idle"),
    ):
        run = results["cold"][name]
        pg = run["loaded_runs"].get("pg8000", 0)
        label = f"cold GET, cache hit {when}; pg8000 in {pg}/{run['runs']} runs"
        ok = run["cold_ms"] / results["cold"]["bare"]["cold_ms"] <= 3.0 and run["status"] == 200
        rows.append(_cold_row(results, number, label, name, "<= 3.0x bare", ok))
    return rows


def _cold_with_rss(
    results: Results, numbers: tuple[str, str], name: str, figure: str, limits: tuple[float, int]
) -> list[Row]:
    cold, (limit, mib) = results["cold"], limits
    run, fastapi = cold[name], cold.get("fastapi", {}).get("cold_ms")
    loads = ", ".join(m for m in ("botocore", "pg8000") if m in run["loaded"]) or "neither"
    target = f"<= {limit}x FastAPI+Mangum hello" + (
        f" ({limit * fastapi:.1f} ms)" if fastapi else " (not measured)"
    )
    ok = fastapi is not None and run["cold_ms"] <= limit * fastapi
    figure = f"{figure} (status {run['status']}; loads botocore/pg8000: {loads})"
    row = _cold_row(results, numbers[0], figure, name, target, ok and run["status"] in (200, 201))
    if fastapi:
        row.ratios += f", {run['cold_ms'] / fastapi:.2f}x FastAPI"
    rss, bare_rss = run["maxrss_mib"], cold["bare"]["maxrss_mib"]
    ratios = f"{rss / bare_rss:.2f}x bare" + (
        f", FastAPI {cold['fastapi']['maxrss_mib']:.1f} MiB" if fastapi else ""
    )
    rss_row = Row(
        numbers[1], f"peak RSS of ({numbers[0]})", f"{rss:.1f} MiB", ratios, f"<= {mib} MiB",
        verdict(rss <= mib),
    )  # fmt: skip
    return [row, rss_row]


def cold_miss(results: Results) -> list[Row]:
    return _cold_with_rss(results, ("3", "4"), "app_miss", "cold GET, empty cache", (0.5, 32))


def cold_post(results: Results) -> list[Row]:
    return _cold_with_rss(results, ("3b", "4b"), "app_post", "cold POST /files", (0.7, 40))


def warm(results: Results) -> list[Row]:
    w = results["inproc"]["warm"]
    get_us, ref_us = w["get_cached"]["median_us"], w["hello_then_get"]["median_us"]
    hello_us, trip_us = w["hello_dispatch"]["median_us"], w["memcached_get"]["median_us"]
    post_us = w["post"]["median_us"]
    return [
        Row(
            "5",
            "warm cached GET /files/{id}",
            f"{get_us:.0f} us",
            f"{get_us / ref_us:.2f}x (hello + 1 trip {ref_us:.0f} us); parts timed apart:"
            f" {get_us / (hello_us + trip_us):.2f}x (hello {hello_us:.0f} us"
            f" + memcached get {trip_us:.0f} us)",
            "<= 2x (hello + 1 trip)",
            verdict(get_us <= 2 * ref_us),
        ),
        Row(
            "5",
            "warm POST /files",
            f"{post_us:.0f} us",
            f"{post_us / ref_us:.1f}x (hello + 1 trip)",
            "",
            "INFO",
        ),
    ]


COUNT_TARGETS = {
    "get_hit": (("statements", 0), ("cache_round_trips", 1)),
    "get_miss": (("statements", 1),),
    "list": (("statements", 1),),
    "create": (("transactions", 1),),  # its change record included (docs/changes.md)
    "changes": (("statements", 1),),  # a page of the feed and its head, one snapshot
}


def round_trips(results: Results) -> list[Row]:
    counts, rows = results["inproc"]["counts"], []
    for name, wanted in COUNT_TARGETS.items():
        c = counts[name]
        ok = all(c[what] == want for what, want in wanted) and c["status"] in (200, 201)
        if name == "create":
            ok = ok and c["statements"] >= 1
        value = (
            f"{c['statements']} stmt, {c['transactions']} txn,"
            f" {c['cache_round_trips']} cache trips, {c['s3_calls']} S3 calls"
        )
        target = ", ".join(f"{what} = {want}" for what, want in wanted)
        rows.append(Row("6", f"{name.replace('_', ' ')}: per request", value, "", target,
                        verdict(ok)))  # fmt: skip
    c = counts["get_miss_cold_key"]
    value = f"{c['statements']} stmt, {c['cache_round_trips']} cache trips, {c['s3_calls']} S3"
    rows.append(Row("6", "get miss, key not cached either", value, "", "", "INFO"))
    return rows


def package(results: Results) -> list[Row]:
    zips, rows = results.get("package", {}).get("zips", {}), []
    for name, z in zips.items():
        ok = z["pyc"] > 0 and z["py_without_pyc"] == 0 and z["bytes"] <= ZIP_LIMIT
        shipped = name == SHIPPED_ZIP  # what `make package` ships; the others are options
        rows.append(
            Row(
                "7",
                f"deployment zip: {name}" + (" (make package)" if shipped else ""),
                f"{z['bytes'] / 1e6:.3f} MB, {z['files']} files, {z['pyc']} .pyc,"
                f" {z['py_without_pyc']} .py without",
                "",
                "has .pyc, <= 1.3 MB",
                verdict(ok) if shipped else verdict(ok) + " (option)",
            )
        )
    if not zips:
        rows.append(Row("7", "deployment zip", "not built", "", "", "FAIL"))
    for name in ("zip_hit_nopyc", "zip_hit_pyc", "zip_miss_nopyc", "zip_miss_pyc", "zip_hit_lean"):
        if name in results["cold"]:
            figure = f"cold GET from unzipped {name[4:]}"
            rows.append(_cold_row(results, "7", figure, name, "", None))
    return rows


def export(results: Results) -> list[Row]:
    e = results.get("export", {})
    if "export_median_s" not in e:
        return [Row("8", "export throughput", "not measured", "", e.get("reason", ""), "FAIL")]
    n = e["files"]
    rate, plain = n / e["export_median_s"], n / e["plain_median_s"]
    return [
        Row(
            "8",
            f"export of {n} small files, end to end",
            f"{rate:.0f} files/s (worker only {n / e['export_worker_median_s']:.0f})",
            f"{rate / plain:.2f}x plain loop ({plain:.0f} files/s)",
            ">= plain boto3 loop",
            verdict(rate >= plain),
        )
    ]


def lambda_emulator(results: Results) -> list[Row]:
    """The packaged zip under the Lambda Runtime Interface Emulator: information only."""
    rie = results.get("rie", {})
    if "first_invoke_ms" not in rie:
        reason = rie.get("reason", "")[-200:]
        return [Row("info", "zip under the Lambda emulator", "not measured", "", reason, "INFO")]
    bare = results["cold"]["bare"]["cold_ms"]
    value = (
        f"first invoke {rie['first_invoke_ms']:.1f} ms (init {rie['init_ms']:.1f} ms,"
        f" handler {rie['handler_ms']:.1f} ms),"
        f" second {rie['second_invoke_ms']:.1f} ms"
    )
    ratios = (
        f"{rie['first_invoke_ms'] / bare:.2f}x bare; {rie['runs']} runs, status {rie['status']}"
    )
    figure = "packaged zip under the Lambda emulator, cold GET hit during load"
    return [Row("info", figure, value, ratios, "", "INFO")]


FIGURES: tuple[Callable[[Results], list[Row]], ...] = (
    references,
    import_app,
    cold_hits,
    cold_miss,
    cold_post,
    warm,
    round_trips,
    package,
    export,
    upload_memory,
    lambda_emulator,
)
