"""Preconditions, honoured or refused on every route, on embedded and real backends: the body's
ETag guards the body, the record's ETag guards everything (rename included), and a
precondition a route cannot honour is a 400 that says why (docs/writes.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.api import TEXT, Api, Reply

JSON = {"content-type": "application/json"}


def rename(api: Api, file_id: str, name: str, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps({"name": name})
    return api.call("PATCH", f"/files/{file_id}", body, {**JSON, **(headers or {})})


def delete(api: Api, file_id: str, headers: dict[str, str] | None = None) -> Reply:
    return api.call("DELETE", f"/files/{file_id}", headers=headers)


def metadata(api: Api, file_id: str) -> dict[str, Any]:
    reply = api.get(f"/files/{file_id}/metadata")
    assert reply.status == 200, reply.body
    result: dict[str, Any] = reply.json
    return result


def assert_412(reply: Reply) -> None:
    assert reply.status == 412, reply.body
    assert reply.json["Code"] == "PreconditionFailed"


def assert_400(reply: Reply, *words: str) -> None:
    assert reply.status == 400, reply.body
    assert reply.json["Code"] == "BadRequest"
    for word in words:
        assert word in reply.json["Message"]


# --- the two validators ----------------------------------------------------------------------


def test_the_record_etag_is_the_metadata_etag_and_changes_with_every_version(api: Api) -> None:
    created = api.created("two.txt", "body")
    assert created["record_etag"] == f'"v1.{created["id"]}"'
    assert created["record_etag"] != created["etag"] == f'"{created["sha256"]}"'
    reply = api.get(f"/files/{created['id']}/metadata")
    assert reply.headers["ETag"] == created["record_etag"]
    assert reply.json["etag"] == created["etag"]  # the body's, as before

    renamed = rename(api, created["id"], "three.txt").json
    assert renamed["etag"] == created["etag"]  # the body did not change
    assert renamed["record_etag"] not in (created["record_etag"], renamed["etag"])
    replaced = api.put(created["id"], "new body").json
    assert replaced["record_etag"] not in (renamed["record_etag"], created["record_etag"])
    assert api.get(f"/files/{created['id']}/metadata").headers["ETag"] == replaced["record_etag"]


# --- If-Match on PATCH ------------------------------------------------------------------------


def test_a_rename_under_a_stale_body_etag_is_412_and_renames_nothing(api: Api) -> None:
    meta = api.created("a.txt", "one")
    assert api.put(meta["id"], "two").status == 200
    assert_412(rename(api, meta["id"], "b.txt", {"if-match": meta["etag"]}))
    assert metadata(api, meta["id"])["name"] == "a.txt"


def test_a_body_etag_guards_the_body_only_a_record_etag_guards_the_name_too(api: Api) -> None:
    meta = api.created("c.txt", "same body")
    assert rename(api, meta["id"], "d.txt").status == 200  # someone else renames it
    # The body is unchanged: a guard on the body passes, a guard on the record does not.
    assert_412(rename(api, meta["id"], "e.txt", {"if-match": meta["record_etag"]}))
    assert metadata(api, meta["id"])["name"] == "d.txt"
    reply = rename(api, meta["id"], "e.txt", {"if-match": meta["etag"]})
    assert reply.status == 200, reply.body
    assert reply.json["name"] == "e.txt"


def test_a_rename_under_the_current_record_etag_or_star_succeeds(api: Api) -> None:
    meta = api.created("f.txt")
    current = metadata(api, meta["id"])["record_etag"]
    assert rename(api, meta["id"], "g.txt", {"if-match": current}).json["name"] == "g.txt"
    assert rename(api, meta["id"], "h.txt", {"if-match": "*"}).json["name"] == "h.txt"


def test_if_match_on_a_missing_file_is_404(api: Api) -> None:
    reply = rename(api, "0" * 32, "x.txt", {"if-match": "*"})
    assert reply.status == 404


# --- If-Match on DELETE -----------------------------------------------------------------------


def test_a_delete_under_a_stale_etag_is_412_and_keeps_the_file(api: Api) -> None:
    meta = api.created("keep.txt", "one")
    assert api.put(meta["id"], "two").status == 200
    for stale in (meta["etag"], meta["record_etag"], f"W/{meta['etag']}"):
        assert_412(delete(api, meta["id"], {"if-match": stale}))
    assert api.get(f"/files/{meta['id']}").text == "two"


def test_a_delete_under_a_list_naming_the_current_etag_deletes(api: Api) -> None:
    meta = api.created("gone.txt", "one")
    reply = delete(api, meta["id"], {"if-match": f'"nope", {meta["record_etag"]}'})
    assert reply.status == 204, reply.body
    assert api.get(f"/files/{meta['id']}").status == 404
    assert api.get("/trash").json["items"][0]["id"] == meta["id"]


def test_a_delete_under_a_renamed_files_body_etag_deletes(api: Api) -> None:
    meta = api.created("r1.txt", "one")
    assert rename(api, meta["id"], "r2.txt").status == 200
    assert delete(api, meta["id"], {"if-match": meta["etag"]}).status == 204


# --- If-Match and If-None-Match on PUT --------------------------------------------------------


def test_put_with_if_none_match_star_is_412_when_the_file_exists(api: Api) -> None:
    meta = api.created("exists.txt", "one")
    assert_412(api.put(meta["id"], "two", {"if-none-match": "*"}))
    assert api.get(f"/files/{meta['id']}").text == "one"


def test_put_with_if_none_match_of_an_etag_is_400_saying_why(api: Api) -> None:
    meta = api.created("inm.txt", "one")
    assert_400(api.put(meta["id"], "two", {"if-none-match": meta["etag"]}), "only *", "If-Match")
    assert api.get(f"/files/{meta['id']}").text == "one"


def test_put_under_a_record_etag(api: Api) -> None:
    meta = api.created("p.txt", "one")
    reply = api.put(meta["id"], "two", {"if-match": meta["record_etag"]})
    assert reply.status == 200, reply.body
    assert_412(api.put(meta["id"], "three", {"if-match": meta["record_etag"]}))
    assert rename(api, meta["id"], "q.txt").status == 200
    assert_412(api.put(meta["id"], "four", {"if-match": reply.json["record_etag"]}))
    assert api.put(meta["id"], "four", {"if-match": reply.json["etag"]}).status == 200
    assert api.get(f"/files/{meta['id']}").text == "four"


@pytest.mark.parametrize("header", ["abc", '"unterminated', '"a" "b"', ","])
def test_a_malformed_if_match_is_400(api: Api, header: str) -> None:
    meta = api.created("bad.txt", "one")
    assert_400(api.put(meta["id"], "two", {"if-match": header}), "quoted ETags")
    assert_400(delete(api, meta["id"], {"if-match": header}), "quoted ETags")
    assert api.get(f"/files/{meta['id']}").text == "one"


# --- refused where it cannot be honoured ------------------------------------------------------


@pytest.mark.parametrize("header", ["if-match", "if-none-match"])
def test_a_precondition_on_post_files_is_400(api: Api, header: str) -> None:
    reply = api.create("new.txt", "x", {header: "*"})
    assert_400(reply, header.title(), "POST /files")
    assert api.get("/files").json["items"] == []


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_if_unmodified_since_on_a_write_is_400_pointing_at_if_match(api: Api, method: str) -> None:
    meta = api.created("ius.txt", "one")
    body, headers = {"PUT": ("two", TEXT), "PATCH": ('{"name": "x.txt"}', JSON)}.get(
        method, ("", {})
    )
    headers = {**headers}
    headers["if-unmodified-since"] = "Mon, 07 Dec 2099 00:00:00 GMT"
    reply = api.call(method, f"/files/{meta['id']}", body, headers)
    assert_400(reply, "If-Unmodified-Since", "record_etag")
    assert metadata(api, meta["id"])["version"] == 1


def test_if_modified_since_on_a_write_is_400(api: Api) -> None:
    meta = api.created("ims.txt", "one")
    reply = delete(api, meta["id"], {"if-modified-since": "Mon, 07 Dec 2099 00:00:00 GMT"})
    assert_400(reply, "If-Modified-Since", "reads")
    assert api.get(f"/files/{meta['id']}").status == 200


def test_a_precondition_on_a_route_that_takes_none_is_400(api: Api) -> None:
    reply = api.call("POST", "/exports", headers={"if-match": "*"})
    assert_400(reply, "If-Match", "POST /exports", "no precondition")
    assert api.get("/usage").json["running_tasks"]["used"] == 0


# --- conditional GET (RFC 9110) ---------------------------------------------------------------


def test_get_with_if_match(api: Api) -> None:
    meta = api.created("get.txt", "one")
    path = f"/files/{meta['id']}"
    for tag in (meta["etag"], meta["record_etag"], "*", f'"x", {meta["etag"]}'):
        reply = api.get(path, {"if-match": tag})
        assert (reply.status, reply.text) == (200, "one")
    assert_412(api.get(path, {"if-match": '"other"'}))
    # If-Match is evaluated first (RFC 9110 13.2.2): a stale one is 412 even where a 304 would be.
    assert_412(api.get(path, {"if-match": '"other"', "if-none-match": meta["etag"]}))
    assert api.get(path, {"if-match": meta["etag"], "if-none-match": meta["etag"]}).status == 304


# --- the history's restore takes either validator --------------------------------------------


def test_restore_under_a_record_etag(api: Api) -> None:
    meta = api.created("hist.txt", "one")
    second = api.put(meta["id"], "two").json
    path = f"/files/{meta['id']}/versions/1/restore"
    assert_412(api.call("POST", path, headers={"if-match": meta["record_etag"]}))
    reply = api.call("POST", path, headers={"if-match": second["record_etag"]})
    assert reply.status == 200, reply.body
    assert api.get(f"/files/{meta['id']}").text == "one"


def test_conditional_get_of_the_metadata_uses_the_record_etag(api: Api) -> None:
    meta = api.created("md.txt", "one")
    path = f"/files/{meta['id']}/metadata"
    same = api.get(path, {"if-none-match": meta["record_etag"]})
    assert (same.status, same.body, same.headers["ETag"]) == (304, b"", meta["record_etag"])
    assert api.get(path, {"if-none-match": meta["etag"]}).status == 200  # the body's: not it
    assert rename(api, meta["id"], "md2.txt").status == 200
    changed = api.get(path, {"if-none-match": meta["record_etag"]})
    assert (changed.status, changed.json["name"]) == (200, "md2.txt")
    assert_412(api.get(path, {"if-match": meta["record_etag"]}))
    assert api.get(path, {"if-match": meta["etag"]}).status == 200  # the body is unchanged


def test_get_with_dates_follows_rfc_9110(api: Api) -> None:
    meta = api.created("dates.txt", "one")
    path = f"/files/{meta['id']}"
    last = api.get(path).headers["Last-Modified"]
    before, after = "Mon, 01 Jan 2001 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT"
    assert api.get(path, {"if-modified-since": last}).status == 304
    assert api.get(path, {"if-modified-since": before}).text == "one"
    assert api.get(path, {"if-modified-since": "not a date"}).text == "one"  # ignored (RFC)
    # With If-None-Match, If-Modified-Since is ignored: the ETag decides.
    assert api.get(path, {"if-modified-since": last, "if-none-match": '"x"'}).status == 200
    assert_412(api.get(path, {"if-unmodified-since": before}))
    assert api.get(path, {"if-unmodified-since": after}).status == 200
    # With If-Match, If-Unmodified-Since is ignored: the ETag decides.
    assert api.get(path, {"if-unmodified-since": before, "if-match": meta["etag"]}).status == 200
    by_name = api.get("/names/dates.txt", {"if-modified-since": last})
    assert (by_name.status, by_name.body) == (304, b"")
