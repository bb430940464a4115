"""The file repository's contract: the same cases on SQLite (embedded) and a real PostgreSQL.

Every case runs once per driver, so the embedded database stays an honest stand-in for the
production one: same rows, same order, same pages, same unique names, same search results.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.db import Database, IntegrityError, postgres_settings
from chalicelib.files.rules import FileMeta, search_terms
from chalicelib.files.store import FileRepository

NOW = 1_800_000_000_000_000  # a fixed clock: every time below is relative to it
DAY = 86_400_000_000


@pytest.fixture(scope="module")
def postgres_url(request: pytest.FixtureRequest) -> str:
    """A database of this module's own on the session's throwaway PostgreSQL."""
    server = request.getfixturevalue("postgres")
    url: str = server.create_database(f"contract_{uuid.uuid4().hex[:12]}")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    from chalicelib.db.migrations import migrate

    driver: Database
    if request.param == "sqlite":
        from chalicelib.db.sqlite import SqliteDatabase

        driver = SqliteDatabase(tmp_path / "contract.sqlite3")
    else:
        from chalicelib.db.postgres import PostgresDatabase

        driver = PostgresDatabase(postgres_settings(request.getfixturevalue("postgres_url")))
    migrate(driver)
    yield driver
    driver.close()


@pytest.fixture
def repo(db: Database) -> FileRepository:
    return FileRepository(db)


def _tenant(db: Database) -> str:
    """A fresh tenant: cases on the shared PostgreSQL database never see each other's rows."""
    tenant_id = f"t-{uuid.uuid4().hex[:12]}"
    db.execute("INSERT INTO tenants (id, created_us) VALUES (:id, :now)", id=tenant_id, now=NOW)
    return tenant_id


def _meta(tenant_id: str, name: str, created: int = NOW, **fields: Any) -> FileMeta:
    file_id = fields.pop("id", uuid.uuid4().hex)
    values: dict[str, Any] = {
        "id": file_id,
        "tenant_id": tenant_id,
        "name": name,
        "size": 4,
        "sha256": "a" * 64,
        "version": 1,
        "blob_key": f"tenants/{tenant_id}/files/{file_id}/{uuid.uuid4().hex}",
        "created_us": created,
        "updated_us": created,
        "expires_us": created + 30 * DAY,
    }
    return FileMeta(**{**values, **fields})


def _add(repo: FileRepository, meta: FileMeta, text: str = "") -> FileMeta:
    with repo.transaction():
        repo.add(meta, text)
    return meta


def _names(items: list[FileMeta]) -> list[str]:
    return [m.name for m in items]


def test_a_file_added_reads_back_field_for_field(repo: FileRepository, db: Database) -> None:
    tenant, other = _tenant(db), _tenant(db)
    meta = _add(repo, _meta(tenant, "notes.txt", size=12_345_678_901))
    assert repo.get(tenant, meta.id, NOW) == meta
    assert repo.blob_key(meta.id) == meta.blob_key
    assert repo.get(other, meta.id, NOW) is None  # another tenant's file is not there
    assert repo.get(tenant, meta.id, meta.expires_us) is None  # expired: gone at once
    assert repo.get(tenant, uuid.uuid4().hex, NOW) is None


def test_a_name_is_unique_per_tenant(repo: FileRepository, db: Database) -> None:
    tenant, other = _tenant(db), _tenant(db)
    _add(repo, _meta(tenant, "same.txt"))
    with pytest.raises(IntegrityError):
        _add(repo, _meta(tenant, "same.txt"))
    _add(repo, _meta(other, "same.txt"))  # another tenant may use it
    assert _names(repo.page(tenant, NOW, 10)) == ["same.txt"]
    assert repo.name_taken(tenant, "same.txt", NOW)
    assert not repo.name_taken(tenant, "other.txt", NOW)


def test_a_list_is_newest_first_and_pages_by_cursor_without_gaps(
    repo: FileRepository, db: Database
) -> None:
    tenant = _tenant(db)
    # Three files share a creation time: the id breaks the tie, as the cursor does.
    times = [NOW - 5, NOW - 3, NOW - 3, NOW - 3, NOW - 1, NOW - 9]
    made = [_add(repo, _meta(tenant, f"f{i}.txt", created=t)) for i, t in enumerate(times)]
    expected = sorted(made, key=lambda m: (m.created_us, m.id), reverse=True)
    assert repo.page(tenant, NOW, 100) == expected
    seen: list[FileMeta] = []
    after: tuple[int, str] | None = None
    while True:
        page = repo.page(tenant, NOW, 2, after=after)
        seen += page
        if len(page) < 2:
            break
        after = (page[-1].created_us, page[-1].id)
    assert seen == expected


def test_a_list_leaves_out_expired_files_and_filters_by_prefix(
    repo: FileRepository, db: Database
) -> None:
    tenant = _tenant(db)
    _add(repo, _meta(tenant, "report-1.txt", created=NOW - 3))
    _add(repo, _meta(tenant, "report-2.txt", created=NOW - 2))
    _add(repo, _meta(tenant, "rep%ort_.txt", created=NOW - 1))
    _add(repo, _meta(tenant, "report-old.txt", created=NOW - 40 * DAY))
    assert _names(repo.page(tenant, NOW, 10, prefix="report")) == ["report-2.txt", "report-1.txt"]
    # A prefix is matched literally: no LIKE wildcards.
    assert _names(repo.page(tenant, NOW, 10, prefix="rep%")) == ["rep%ort_.txt"]
    assert _names(repo.page(tenant, NOW, 10, prefix="REPORT")) == []


SEARCHED = {
    "fox.txt": "The quick brown fox jumps over the lazy dog",
    "dog.txt": "A lazy dog sleeps; the dog's dinner waits.",
    "cafe.txt": "grüße aus dem café: quick coffee, brown sugar",
    "ops.txt": 'NEAR AND OR NOT "quoted" fox* (brackets) -minus',
}
QUERIES = {
    "fox": {"fox.txt", "ops.txt"},
    "quick brown": {"fox.txt", "cafe.txt"},
    "Lazy DOG": {"fox.txt", "dog.txt"},
    "café": {"cafe.txt"},
    "grüße": {"cafe.txt"},
    "and or not": {"ops.txt"},
    '"quoted" -minus': {"ops.txt"},
    "fox dinner": set(),
    "cat": set(),
}


@pytest.mark.parametrize("q", QUERIES)
def test_the_same_search_finds_the_same_files(repo: FileRepository, db: Database, q: str) -> None:
    tenant, other = _tenant(db), _tenant(db)
    for i, (name, text) in enumerate(SEARCHED.items()):
        _add(repo, _meta(tenant, name, created=NOW - i), text)
        _add(repo, _meta(other, name, created=NOW - i), text)
    found = repo.page(tenant, NOW, 10, terms=search_terms(q))
    assert set(_names(found)) == QUERIES[q]
    assert all(m.tenant_id == tenant for m in found)


def test_search_combines_with_prefix_and_paging(repo: FileRepository, db: Database) -> None:
    tenant = _tenant(db)
    for i in range(5):
        _add(repo, _meta(tenant, f"a{i}.txt", created=NOW - i), "common word")
    _add(repo, _meta(tenant, "b.txt", created=NOW - 9), "common word")
    first = repo.page(tenant, NOW, 2, prefix="a", terms=["common"])
    after = (first[-1].created_us, first[-1].id)
    rest = repo.page(tenant, NOW, 10, prefix="a", after=after, terms=["common"])
    assert _names(first + rest) == [f"a{i}.txt" for i in range(5)]


def test_a_body_switch_needs_the_version_it_read_and_reindexes(
    repo: FileRepository, db: Database
) -> None:
    tenant = _tenant(db)
    old = _add(repo, _meta(tenant, "w.txt"), "before")
    new = FileMeta(**{**old.fields(), "version": 2, "blob_key": "k2", "size": 9})
    with repo.transaction():
        assert repo.switch_body(old, new, "after")
    assert repo.get(tenant, old.id, NOW) == new
    assert not repo.switch_body(old, FileMeta(**{**new.fields(), "version": 9}), "stale")
    assert repo.get(tenant, old.id, NOW) == new
    assert _names(repo.page(tenant, NOW, 10, terms=["after"])) == ["w.txt"]
    assert repo.page(tenant, NOW, 10, terms=["before"]) == []


def test_a_rename_moves_the_name_and_refuses_a_taken_one(
    repo: FileRepository, db: Database
) -> None:
    tenant = _tenant(db)
    meta = _add(repo, _meta(tenant, "a.txt"))
    _add(repo, _meta(tenant, "b.txt"))
    renamed = repo.rename(tenant, meta.id, "c.txt", NOW + 1)
    assert renamed is not None
    assert (renamed.name, renamed.version, renamed.updated_us) == ("c.txt", 2, NOW + 1)
    with pytest.raises(IntegrityError):
        repo.rename(tenant, meta.id, "b.txt", NOW + 2)
    assert repo.rename(tenant, uuid.uuid4().hex, "d.txt", NOW) is None


def test_an_expired_file_gives_up_its_name(repo: FileRepository, db: Database) -> None:
    tenant = _tenant(db)
    old = _add(repo, _meta(tenant, "again.txt", created=NOW - 40 * DAY), "old words")
    live = _add(repo, _meta(tenant, "live.txt", created=NOW - 1))
    assert repo.free_name(tenant, "live.txt", NOW) == []
    assert repo.free_name(tenant, "again.txt", NOW) == [old.blob_key]
    assert repo.blob_key(old.id) is None
    again = _add(repo, _meta(tenant, "again.txt"))
    assert _names(repo.page(tenant, NOW, 10)) == _names([again, live])


def test_a_removed_file_is_gone_from_rows_and_search(repo: FileRepository, db: Database) -> None:
    tenant = _tenant(db)
    meta = _add(repo, _meta(tenant, "gone.txt"), "ephemeral words")
    kept = _add(repo, _meta(tenant, "kept.txt", created=NOW - 1), "ephemeral words")
    with repo.transaction():
        repo.remove(tenant, meta.id)
    assert repo.get(tenant, meta.id, NOW) is None
    assert repo.blob_key(meta.id) is None
    assert repo.page(tenant, NOW, 10, terms=["ephemeral"]) == [kept]
    _add(repo, _meta(tenant, "gone.txt"))  # the name is free again


# --- scale: counters, byte-wise prefixes, the plans (issue 27) -------------------------------


def _counters(db: Database, tenant: str) -> tuple[int, int]:
    row = db.query("SELECT files_count, files_bytes FROM tenants WHERE id = :t", t=tenant)[0]
    return int(row["files_count"]), int(row["files_bytes"])


def _actual(db: Database, tenant: str) -> tuple[int, int]:
    sql = "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM files WHERE tenant_id = :t"
    row = db.query(sql, t=tenant)[0]
    return int(row["n"]), int(row["b"])


def test_the_counters_follow_every_write_of_the_rows(repo: FileRepository, db: Database) -> None:
    tenant, other = _tenant(db), _tenant(db)
    a = _add(repo, _meta(tenant, "a.txt", size=10))
    _add(repo, _meta(tenant, "b.txt", size=5))
    _add(repo, _meta(other, "a.txt", size=7))
    assert _counters(db, tenant) == (2, 15)
    bigger = FileMeta(**{**a.fields(), "version": 2, "size": 30})
    with repo.transaction():
        assert repo.switch_body(a, bigger, "x")
    assert not repo.switch_body(a, bigger, "stale")  # no change: no count
    assert _counters(db, tenant) == (2, 35)
    with repo.transaction():
        repo.remove(tenant, a.id)
        repo.remove(tenant, a.id)  # gone already: counted once
    assert _counters(db, tenant) == (1, 5)
    old = _add(repo, _meta(tenant, "old.txt", created=NOW - 40 * DAY, size=100))
    assert _counters(db, tenant) == (2, 105)  # an expired file counts until it is deleted
    assert repo.free_name(tenant, "old.txt", NOW) == [old.blob_key]
    _add(repo, _meta(tenant, "old2.txt", created=NOW - 40 * DAY, size=50))
    _add(repo, _meta(other, "old2.txt", created=NOW - 40 * DAY, size=1))
    with repo.transaction():
        expired = repo.expired(NOW, 100)
        repo.remove_expired([row["id"] for row in expired], NOW)
    assert _counters(db, tenant) == _actual(db, tenant) == (1, 5)
    assert _counters(db, other) == _actual(db, other) == (1, 7)


def test_reconcile_fixes_drift_and_reports_it(db: Database) -> None:
    from chalicelib.tenants.store import reconcile

    tenant = _tenant(db)
    _add(FileRepository(db), _meta(tenant, "a.txt", size=10))
    assert reconcile(tenant, db) is None
    db.execute("UPDATE tenants SET files_count = 7, files_bytes = 3 WHERE id = :t", t=tenant)
    drift = reconcile(tenant, db)
    assert drift is not None
    kept, actual = drift
    # files, bytes kept versions own (none here: history writes them, not the repository),
    # the files' current bytes, the trash's
    assert (tuple(kept), tuple(actual)) == ((7, 0, 3, 0), (1, 0, 10, 0))
    assert _counters(db, tenant) == (1, 10)


BYTEWISE = ["report-1", "report_1", "reportZ", "report~", "Report", "réport", "e", "é", "ez"]


@pytest.mark.parametrize(
    "prefix",
    ["report", "report-", "report_", "r", "R", "e", "é", "ré", "\U0010ffff", "report\ud7ff"],
)
def test_a_prefix_compares_names_byte_wise(repo: FileRepository, db: Database, prefix: str) -> None:
    """Whatever the server's collation: a name starts with the prefix's very characters."""
    tenant = _tenant(db)
    names = [*BYTEWISE, "x\U0010ffff", "\U0010ffff\U0010ffffa", "report\ud7ff!", "report\ue000"]
    for i, name in enumerate(names):
        _add(repo, _meta(tenant, name, created=NOW - i))
    expected = [n for n in names if n.startswith(prefix)]  # newest first: the order added
    assert _names(repo.page(tenant, NOW, 100, prefix=prefix)) == expected


PLAN_FILES = 20_000
LOAD = {
    "postgresql": [
        "INSERT INTO files (id, tenant_id, name, size, sha256, version, blob_key, created_us,"
        " updated_us, expires_us) SELECT :t || '-' || g, :t, 'n' || lpad(g::text, 6, '0'), 10,"
        " repeat('a', 64), 1, :t || '/' || g, CAST(:now AS BIGINT) - g,"
        " CAST(:now AS BIGINT) - g, CAST(:now AS BIGINT) + 1000000000000"
        " FROM generate_series(1, 20000) AS g",
        "INSERT INTO file_search (file_id, tenant_id, doc) SELECT :t || '-' || g, :t,"
        " textfiles_tenant_words(CAST(:token AS TEXT) || '_', to_tsvector('simple', 'common w'"
        " || g)) FROM generate_series(1, 20000) AS g",
        "UPDATE tenants SET files_count = 20000, files_bytes = 200000 WHERE id = :t",
        "ANALYZE files",
        "ANALYZE file_search",
    ],
    "sqlite": [
        "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 20000)"
        " INSERT INTO files (id, tenant_id, name, size, sha256, version, blob_key, created_us,"
        " updated_us, expires_us) SELECT :t || '-' || x, :t, printf('n%06d', x), 10, 'a',"
        " 1, :t || '/' || x, :now - x, :now - x, :now + 1000000000000 FROM g",
        "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 20000)"
        " INSERT INTO file_search (file_id, tenant, doc) SELECT :t || '-' || x, :token,"
        " 'common w' || x FROM g",
        "ANALYZE",
    ],
}


class _Explaining:
    """A database stand-in that returns the plan of the statement instead of running it."""

    def __init__(self, db: Database) -> None:
        self.db, self.dialect, self.plan = db, db.dialect, ""

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        head = "EXPLAIN " if self.dialect == "postgresql" else "EXPLAIN QUERY PLAN "
        rows = self.db.query(head + sql, **params)
        self.plan = "\n".join(str(list(row.values())) for row in rows)
        return []


def _plan(db: Database, tenant: str, **page: Any) -> str:
    from chalicelib.files.store import FileRepository as Repo

    explaining = _Explaining(db)
    Repo(explaining).page(tenant, NOW, 51, **page)  # type: ignore[arg-type]
    return explaining.plan


def test_the_plans_use_the_indexes(db: Database) -> None:
    """By plan, not by timing: each read of a big tenant is an index range or a bounded walk."""
    from chalicelib.files.search import tenant_token

    tenant = _tenant(db)
    for sql in LOAD[db.dialect]:
        db.execute(sql, t=tenant, now=NOW, token=tenant_token(tenant))
    if db.dialect == "postgresql":
        # 20,000 rows fit a sequential scan of file_search; at 1M (make bench-scale) the
        # planner needs no push to use the index. This asks which index it would use.
        db.execute("SET enable_seqscan = off")
    try:
        rare_prefix = _plan(db, tenant, prefix="n01234")
        rare_word = _plan(db, tenant, terms=["w1234"])
        listing = _plan(db, tenant)
    finally:
        if db.dialect == "postgresql":
            db.execute("RESET enable_seqscan")
    if db.dialect == "postgresql":
        assert "files_tenant_name_c" in rare_prefix, rare_prefix
        assert "file_search_doc" in rare_word, rare_word
        assert "files_tenant_created" in listing, listing
        plans = [rare_prefix, rare_word, listing]
        assert not any("Seq Scan" in plan for plan in plans), plans
    else:
        assert "(tenant_id=? AND name>? AND name<?)" in rare_prefix, rare_prefix
        assert "VIRTUAL TABLE INDEX" in rare_word, rare_word
        assert "files_tenant_created" in listing, listing
    ordered = FileRepository(db).page(tenant, NOW, 3, prefix="n0123")
    assert _names(ordered) == ["n012300", "n012301", "n012302"]
    assert _names(FileRepository(db).page(tenant, NOW, 2, terms=["common"])) == [
        "n000001",
        "n000002",
    ]
    assert _names(FileRepository(db).page(tenant, NOW, 2, terms=["w77"])) == ["n000077"]


class _Analyzing(_Explaining):
    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        rows = self.db.query("EXPLAIN (ANALYZE) " + sql, **params)
        self.plan = "\n".join(str(list(row.values())) for row in rows)
        return []


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)  # SQLite compiles no plan
def test_no_statement_is_jit_compiled(db: Database, request: pytest.FixtureRequest) -> None:
    """Compiling a plan cost a common-word search 37 ms at a million files (bench-scale) for
    0.5 ms of work: the cost the planner estimates for the branch it does not run passed
    jit_above_cost. The database's sessions run without JIT (migration 17), even when a plan's
    estimate is past every JIT threshold."""
    from chalicelib.db.postgres import PostgresDatabase

    fresh = PostgresDatabase(postgres_settings(request.getfixturevalue("postgres_url")))
    try:
        assert fresh.query("SELECT current_setting('jit') AS jit") == [{"jit": "off"}]
        fresh.execute("SET jit_above_cost = 0")
        tenant = _tenant(fresh)
        _add(FileRepository(fresh), _meta(tenant, "a.txt"), "common words")
        analyzing = _Analyzing(fresh)
        FileRepository(analyzing).page(tenant, NOW, 50, terms=["common"])  # type: ignore[arg-type]
        assert "Execution Time" in analyzing.plan
        assert "JIT" not in analyzing.plan, analyzing.plan
    finally:
        fresh.close()
