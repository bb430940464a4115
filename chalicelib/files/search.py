"""Full-text search's SQL per dialect (the file repository, chalicelib/files/store.py, runs it):
how words are indexed, matched and ranged by name, and a search's two plans on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class FullText(NamedTuple):
    """How a dialect indexes words, finds files by them and compares names byte-wise."""

    insert: str  # stores `:doc` as the words of file `:id` of tenant `:t`
    match: str  # the ids of tenant `:t`'s files whose words match `:q`
    query: Callable[[str, list[str]], str]  # the `:q` for a tenant and words that must all match
    # Names in [`:prefix`, `:prefix_end`) byte-wise: a range on an index (migration 14).
    prefix: str


def tenant_token(tenant_id: str) -> str:
    """The tenant as one FTS5 token (hex: no tokenizer splits it, no tenant matches another)."""
    return "t" + tenant_id.encode().hex()


def _fts5_query(tenant_id: str, terms: list[str]) -> str:
    """The tenant's files whose every term matches, each quoted so FTS5 reads no operator."""
    words = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
    return f"tenant : {tenant_token(tenant_id)} AND doc : ({words})"


FULL_TEXT = {
    # The words are the tenant's own lexemes (`t<hex>_word`, chalicelib/db/online.py) in the
    # GIN index: a rare word is a few entries of this tenant's, whatever other tenants store;
    # a common one is a walk of the tenant's newest files (the planner picks, by the tenant's
    # own statistics of that word).
    "postgresql": FullText(
        insert="INSERT INTO file_search (file_id, tenant_id, doc) VALUES (:id, :t,"
        " textfiles_tenant_words(CAST(:token AS TEXT) || '_', to_tsvector('simple', :doc)))",
        match="SELECT file_id FROM file_search"
        " WHERE doc @@ textfiles_tenant_query(CAST(:token AS TEXT) || '_', :q)",
        query=lambda _tenant, terms: " ".join(terms),
        prefix=' AND name COLLATE "C" >= :prefix AND name COLLATE "C" < :prefix_end',
    ),
    "sqlite": FullText(
        insert="INSERT INTO file_search (file_id, tenant, doc) VALUES (:id, :token, :doc)",
        match="SELECT file_id FROM file_search WHERE file_search MATCH :q",
        query=_fts5_query,
        prefix=" AND name >= :prefix AND name < :prefix_end",  # BINARY: byte-wise already
    ),
}


# How many of the newest files a search checks one by one before it asks the index instead.
SEARCH_WALK = 500


def two_plans(listed: str, match: str, columns: str) -> str:
    """A search on PostgreSQL as two plans in one statement, chosen as it runs: the newest
    SEARCH_WALK files checked one by one (a common word), else the word's posting list in the
    index (a rare word); the planner's fixed guess for an unlisted word cannot choose (a rare
    word walked a million files in bench-scale). `columns`: those `listed` selects."""
    walk = (
        f"SELECT {columns} FROM ({listed} ORDER BY created_us DESC, id DESC LIMIT :scan)"
        " AS newest WHERE (SELECT s.doc FROM file_search s WHERE s.file_id = newest.id)"
        " @@ textfiles_tenant_query(CAST(:token AS TEXT) || '_', :q) LIMIT :limit"
    )
    return (
        f"WITH walked AS MATERIALIZED ({walk}), hits AS MATERIALIZED ({match})"
        f" SELECT {columns} FROM walked WHERE (SELECT COUNT(*) FROM walked) >= :limit"
        f" UNION ALL {listed} AND (SELECT COUNT(*) FROM walked) < :limit"
        " AND id IN (SELECT file_id FROM hits)"
    )
