"""After a cache outage: the writes it missed are replayed a bounded batch per request, one
process at a time, and no entry is served before the check that covers it (issue #22, 2)."""

from __future__ import annotations

from support.api import Api

BACKLOG = 300  # rows recorded before the file's own: more than any request may replay
PER_REQUEST = 30  # statements one read may run while the backlog drains (the old check: 300+)


def _stale_cache_after_a_missed_write(api: Api) -> str:
    """A file at version 2 in the database whose cache entry still says version 1, its missed
    write recorded behind a backlog of others, and every process's trust in the cache gone."""
    from chalicelib import clock, ids
    from chalicelib.cache import cache
    from chalicelib.files import bookkeeping, filecache

    fid = api.created("backlog.txt", "v1")["id"]
    assert api.get(f"/files/{fid}/metadata").json["version"] == 1
    stale = cache().driver.get_many([filecache.meta_key(fid)])[filecache.meta_key(fid)]
    assert api.put(fid, "v2").status == 200
    cache().driver.set_many({filecache.meta_key(fid): stale}, 300)  # as if the write missed it
    now = clock.now_us()
    for i in range(BACKLOG):
        bookkeeping.mark_dirty(ids.new_id(), 1, now - BACKLOG + i)
    filecache._mark_dirty(fid, 2)  # recorded last; ends every process's trust
    return str(fid)


def test_a_backlog_is_replayed_a_bounded_batch_per_request_and_nothing_unchecked_is_served(
    api: Api, backend: str
) -> None:
    from chalicelib.db import database

    fid = _stale_cache_after_a_missed_write(api)
    work: list[int] = []
    for _ in range(BACKLOG):
        before = database().statements
        reply = api.get(f"/files/{fid}")
        work.append(database().statements - before)
        assert (reply.status, reply.text) == (200, "v2"), "never the unchecked version 1"
        assert api.get(f"/files/{fid}/metadata").json["version"] == 2
        if work[-1] == 0:
            break
    assert max(work) <= PER_REQUEST, work
    assert work[-1] == 0, "drained: served from the cache again, without SQL"
    assert len(work) > 2, "the backlog took several requests, each a bounded share"
    assert database().query("SELECT COUNT(*) AS n FROM cache_dirty")[0]["n"] == 0


def test_while_another_process_checks_a_read_goes_to_the_database_without_checking(
    api: Api, backend: str
) -> None:
    """One process at a time checks: the others read from the database meanwhile (correct,
    and no statement on cache_dirty), so the fleet runs about one check at a time."""
    from chalicelib.cache import cache
    from chalicelib.db import database
    from chalicelib.files import filecache

    fid = _stale_cache_after_a_missed_write(api)
    assert cache().add(filecache.CHECK_LEASE, b"another process", 30)
    before = database().statements
    assert api.get(f"/files/{fid}").text == "v2"
    assert database().statements - before == 1, "the file's row only"
    cache().delete_many([filecache.CHECK_LEASE])
    assert api.get(f"/files/{fid}").text == "v2"
    left = database().query("SELECT COUNT(*) AS n FROM cache_dirty")[0]["n"]
    assert left == BACKLOG + 1 - filecache.REPLAY_BATCH, "this process's turn: one batch"
    database().execute("DELETE FROM cache_dirty")  # the session's database is shared
