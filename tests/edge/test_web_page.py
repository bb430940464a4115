"""The web page and the API reference, used in headless Chromium as a person would.

Each configuration (embedded drivers, real backends) gets one `chalice local` server and one
browser session that goes through every step of the page. TEXTFILES_SCREENSHOTS=DIR saves
screenshots of the main views there (docs/screenshots/ in the README).
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import app
from support.local_site import INLINE_LIMIT, running
from support.net import unavailable

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
XSS_NAME = '<img src=x onerror="window.__xss=1">'
XSS_BODY = '</textarea><script>window.__xss=2</script>\n<img src=x onerror="window.__xss=3">'


@pytest.fixture(params=["embedded", "real"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A `chalice local` on one configuration: its base URL, a fresh key, the configuration."""
    settings = request.getfixturevalue("real_settings") if request.param == "real" else None
    tenant = f"{request.node.originalname[5:25]}-{request.param}".replace("_", "-")
    with running(tmp_path / "data", settings, tenant) as (base, key):
        yield base, key, str(request.param)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable("playwright", str(exc))
    if not os.access(CHROMIUM, os.X_OK):
        unavailable("chromium", f"{CHROMIUM} is missing (make services installs it as root)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def call(method: str, url: str, key: str, body: bytes | None = None, **headers: str) -> Any:
    """The API from outside the page (another client of the same tenant)."""
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    with urllib.request.urlopen(request, timeout=10) as response:
        data = response.read()
        kind = response.headers.get("Content-Type", "")
        return json.loads(data) if kind.startswith("application/json") else data


# ---- the page, in Chromium ------------------------------------------------------------


class Session:
    """One person at the page: what they do, and what they see."""

    def __init__(self, page: Any, base: str, key: str, shots: Path | None) -> None:
        self.page, self.base, self.key, self.shots = page, base, key, shots
        self.errors: list[str] = []
        self.urls: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("dialog", lambda dialog: self.errors.append(f"dialog: {dialog.message}"))
        self.refused: list[str] = []  # what the Content-Security-Policy blocked
        page.on(
            "console",
            lambda msg: (
                self.refused.append(msg.text)
                if re.search("Content Security Policy|Refused", msg.text)
                else None
            ),
        )

    def shot(self, name: str, full_page: bool = True) -> None:
        if self.shots:
            self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=full_page)

    def expect(self, target: Any) -> Any:
        from playwright.sync_api import expect

        return expect(self.page.locator(target) if isinstance(target, str) else target)

    def status(self, text: str) -> None:
        self.expect("#status").to_have_text(re.compile(re.escape(text)))

    def row(self, name: str) -> Any:
        return self.page.locator("#rows button.open", has_text=re.compile(f"^{re.escape(name)}$"))

    def api(self, method: str, path: str, body: bytes | None = None, **headers: str) -> Any:
        return call(method, f"{self.base}{path}", self.key, body, **headers)

    def create(self, name: str, text: str) -> None:
        self.page.click("#new")
        self.page.fill("#name", name)
        self.page.fill("#body", text)
        self.page.click("#save")
        self.status(f"Created {name}.")


def sign_in(s: Session) -> None:
    reply = s.page.goto(f"{s.base}/")
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in reply.headers["content-security-policy"]
    s.expect("#app").to_be_hidden()
    s.page.fill("#key", "tf_wrong")
    s.page.click("#key-form button")
    s.expect(s.page.get_by_role("alert")).to_contain_text("Check the key")
    s.page.fill("#key", s.key)
    s.page.click("#key-form button")
    s.status("Key accepted.")
    s.expect("#error").to_be_hidden()
    s.expect("#usage").to_contain_text("Files: 0 of 10000")
    s.expect("#empty").to_be_visible()


def write_and_search(s: Session) -> None:
    s.create("notes.txt", "milk and eggs\n")
    s.create("todo.txt", "call the plumber\n")
    s.expect("#usage").to_contain_text("Files: 2 of 10000")
    s.page.fill("#prefix", "not")
    s.page.click("#search button")
    s.expect("#rows tr").to_have_count(1)
    s.page.fill("#prefix", "")
    s.page.fill("#q", "plumber")
    s.page.click("#search button")
    s.expect("#rows tr").to_have_count(1)
    s.expect("#rows").to_contain_text("todo.txt")
    s.page.fill("#q", "")
    for n in range(20):  # another client fills a second page
        s.api("POST", f"/files?name=bulk-{n:02}.txt", b"bulk\n", Content_Type="text/plain")
    s.page.click("#search button")
    s.expect("#rows tr").to_have_count(20)
    s.page.click("#next")
    s.expect("#page").to_have_text("Page 2")
    s.expect("#rows tr").to_have_count(2)  # newest first: the two made in the page
    s.expect("#rows").to_contain_text("notes.txt")
    s.page.click("#prev")
    s.expect("#rows tr").to_have_count(20)
    s.shot("list")


def edit_with_conflict(s: Session) -> None:
    s.page.fill("#prefix", "notes")
    s.page.click("#search button")
    s.row("notes.txt").click()
    s.expect("#body").to_have_value("milk and eggs\n")
    s.page.fill("#body", "milk, eggs and bread\n")
    s.page.click("#save")
    s.status("Saved notes.txt.")
    file_id = s.page.locator("#rows tr.current").get_attribute("data-id")
    meta = s.api("GET", f"/files/{file_id}/metadata")
    assert meta["version"] == 2
    s.api("PUT", f"/files/{meta['id']}", b"changed elsewhere\n", Content_Type="text/plain")
    s.page.fill("#body", "my edit\n")
    s.page.click("#save")
    s.expect("#conflict").to_be_visible()
    s.expect("#error").to_contain_text("Reload the saved version")
    s.shot("conflict")
    s.page.click("#reload")
    s.expect("#body").to_have_value("changed elsewhere\n")
    s.expect("#conflict").to_be_hidden()
    s.page.fill("#name", "shopping.txt")
    s.page.click("#rename")
    s.status("Renamed to shopping.txt.")
    s.page.fill("#prefix", "shop")
    s.page.click("#search button")
    s.expect("#rows tr.current").to_contain_text("shopping.txt")


def upload(s: Session, name: str, data: bytes) -> dict[str, Any]:
    s.page.set_input_files("#upload", {"name": name, "mimeType": "text/plain", "buffer": data})
    s.status(f"Uploaded {name}")
    s.expect("#uploads li.done").to_have_text(re.compile(f"^{re.escape(name)} .*: uploaded$"))
    s.expect("#uploads progress").to_have_count(0)  # a finished upload's bar goes away
    found = s.api("GET", "/files?prefix=" + name.split(".")[0])["items"]
    assert [f["name"] for f in found] == [name]
    assert s.api("GET", f"/files/{found[0]['id']}") == data
    return dict(found[0])


def uploads_export_delete(s: Session) -> None:
    upload(s, "small.txt", b"a small file\n")
    big = ("a line of a larger file, through the upload link\n" * 200).encode()
    assert len(big) > INLINE_LIMIT
    upload(s, "large.txt", big)
    s.page.click("#export")
    s.expect("#download").to_be_visible(timeout=30_000)
    s.expect("#export-status").to_contain_text("succeeded")
    href = s.page.get_attribute("#download", "href")
    assert href and href.startswith("http")
    with s.page.expect_download() as download:
        s.page.click("#download")
    names = zipfile.ZipFile(download.value.path()).namelist()
    assert len(names) == 24 and any("large.txt" in n for n in names), names
    s.shot("export")
    s.page.fill("#prefix", "small")
    s.page.click("#search button")
    s.row("small.txt").click()
    s.status("Opened small.txt.")
    s.page.click("#delete")
    s.expect("#delete").to_have_text("Click again to delete")
    s.page.click("#delete")
    s.status("Deleted small.txt.")
    s.expect("#empty").to_be_visible()
    s.expect("#usage").to_contain_text("Files: 23 of 10000")


def history(s: Session) -> None:
    """shopping.txt (edit_with_conflict): v1 created, v2 saved, v3 elsewhere, v4 renamed."""
    s.page.click("#show-history")
    s.expect("#version-rows tr").to_have_count(4)
    s.expect(s.page.locator("#version-rows tr").first).to_contain_text("v4 (current)")
    s.page.check('#version-rows input[name=from][value="1"]')
    s.page.click("#diff")
    s.expect("#version-title").to_have_text("Changes from version 1 to version 4:")
    s.expect("#version-view .del").to_have_text(["-milk and eggs\n"])
    s.expect("#version-view .add").to_have_text(["+changed elsewhere\n"])
    s.page.locator('#version-rows tr[data-version="2"] button', has_text="View").click()
    s.expect("#version-view").to_have_text("milk, eggs and bread\n")
    s.page.locator('#version-rows tr[data-version="1"] button', has_text="Restore").click()
    s.status("Restored version 1 of shopping.txt as version 5.")
    s.expect("#body").to_have_value("milk and eggs\n")
    s.expect("#version-rows tr").to_have_count(5)
    s.shot("history")


def trash(s: Session) -> None:
    """small.txt was deleted (uploads_export_delete): back from the trash, then for good."""
    s.page.click("#show-trash")
    s.expect("#trash-rows").to_contain_text("small.txt")
    s.page.locator("#trash-rows button", has_text="Restore").click()
    s.status("Restored small.txt.")
    s.expect("#usage").to_contain_text("Files: 24 of 10000")
    s.expect("#trash-empty").to_be_visible()
    s.row("small.txt").click()
    s.status("Opened small.txt.")
    s.expect("#body").to_have_value("a small file\n")
    s.page.click("#delete")
    s.page.click("#delete")
    s.status("Deleted small.txt.")
    s.page.click("#show-trash")
    s.shot("trash")
    s.page.locator("#trash-rows button", has_text="Delete for good").click()
    s.status("Deleted small.txt for good.")
    s.expect("#trash-empty").to_be_visible()
    s.expect("#usage").to_contain_text("Files: 23 of 10000")


def hostile_file(s: Session) -> None:
    s.page.fill("#prefix", "")
    s.page.click("#search button")
    s.create(XSS_NAME, XSS_BODY)
    s.row(XSS_NAME).click()
    s.expect("#body").to_have_value(XSS_BODY)
    s.expect("#name").to_have_value(XSS_NAME)
    s.expect("#rows img").to_have_count(0)
    s.expect("#status").to_have_text(f"Opened {XSS_NAME}.")
    assert s.page.evaluate("typeof window.__xss") == "undefined"
    assert s.page.evaluate("document.querySelectorAll('script').length") == 4  # ours
    # The policy is in force: a script injected inline does not run, and is reported.
    probe = "window.__inline = 1"
    injected = "(code) => { const el = document.createElement('script'); el.textContent = code;"
    injected += " document.body.append(el); return typeof window.__inline; }"
    assert s.page.evaluate(injected, probe) == "undefined"
    for _ in range(100):
        if s.refused:
            break
        s.page.wait_for_timeout(20)
    assert len(s.refused) == 1 and "inline script" in s.refused[0], s.refused
    s.refused.clear()


def api_reference(s: Session) -> None:
    s.page.goto(f"{s.base}/docs")
    s.status("operations. Open one")
    s.expect("details.op").to_have_count(_operation_count())
    usage = s.page.locator("details#getUsage")
    usage.locator("summary").click()
    s.expect(usage.locator("pre").first).to_contain_text('"max_inline_bytes"')
    s.expect("#key").to_have_value(s.key)  # kept for this tab
    usage.locator("button.send").click()
    s.expect("details#getUsage form pre").to_contain_text("200 OK")
    s.expect("details#getUsage form pre").to_contain_text('"running_tasks"')
    s.expect(usage.locator("pre.schema").first).to_contain_text('"exports"')  # the answer's schema
    curl = f"curl -s '{s.base}/usage' -H \"Authorization: Bearer $TEXTFILES_KEY\""
    s.expect(usage.locator("pre.curl")).to_have_text(curl)
    read = s.page.locator("details#readFile")
    read.locator("summary").click()
    read.locator("button.send").click()  # with no file_id: refused here, nothing sent
    s.expect(read.locator("form pre")).to_have_text("file_id is required: fill it in first.")
    s.shot("docs")
    other = s.page.context.new_page()  # another tab: no key until this one shares it
    other.goto(f"{s.base}/docs")
    # Locator waits, not wait_for_function: a string predicate polled is an eval, which the
    # page's Content-Security-Policy refuses once the first check does not pass.
    s.expect(other.locator("#status")).to_contain_text("operations")
    assert other.input_value("#key") == ""
    s.page.check("#share")
    s.expect(other.locator("#key")).to_have_value(s.key)
    other.close()


def _operation_count() -> int:
    # every route but the CORS preflights, which the document leaves out
    return sum(len(set(methods) - {"OPTIONS"}) for methods in app.routes.values())


def test_a_session_in_the_browser(
    site: tuple[str, str, str], browser: Any, request: pytest.FixtureRequest
) -> None:
    base, key, configuration = site
    shots_dir = os.environ.get("TEXTFILES_SCREENSHOTS")
    shots = Path(shots_dir) if shots_dir and configuration == "embedded" else None
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    session = Session(page, base, key, shots)
    try:
        steps = (
            sign_in,
            write_and_search,
            edit_with_conflict,
            history,
            uploads_export_delete,
            trash,
        )
        for step in steps:
            step(session)
        hostile_file(session)
        api_reference(session)
    finally:
        context.close()
    assert session.errors == []
    assert session.refused == []
    assert not [url for url in session.urls if key in url]


# ---- on a phone: layout, errors, several files in and out, Ctrl+S, large bodies ----------

PHONE = {"width": 390, "height": 844}
LONG_NAME = "a-long-file-name-with-no-space-to-break-at-" + "x" * 60 + ".txt"
BIG = ("a line of a file above the inline limit\n" * 150).encode()
DROP = """(files) => {
  const dt = new DataTransfer();
  for (const [name, text] of files) dt.items.add(new File([text], name, { type: "text/plain" }));
  const target = document.getElementById("files");
  const event = (kind) => new DragEvent(kind, { dataTransfer: dt, bubbles: true, cancelable: 1 });
  target.dispatchEvent(event("dragover"));
  return target.dispatchEvent(event("drop"));
}"""
ON_TOP = """(el) => {
  const r = el.getBoundingClientRect();
  return el.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2));
}"""
SAVE_KEYS = """window.__saveKeys = [];
window.addEventListener("keydown", (e) => {
  if (e.key === "s") window.__saveKeys.push(e.defaultPrevented);
});"""


def _box(s: Session, selector: str) -> dict[str, float]:
    box = s.page.locator(selector).first.bounding_box()
    assert box, f"{selector} is not shown"
    return dict(box)


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def fits_a_phone(s: Session) -> None:
    """390 px wide: no sideways scroll; every control inside the width, none over another."""
    s.api("POST", "/files?name=" + LONG_NAME, b"long\n", Content_Type="text/plain")
    s.api("POST", "/files?name=phone.txt", b"small screen\n", Content_Type="text/plain")
    s.page.click("#search button")
    s.row("phone.txt").click()
    s.status("Opened phone.txt.")
    s.page.click("#show-history")
    s.expect("#version-rows tr").to_have_count(1)
    assert s.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    controls = [
        "#forget",
        "header a",
        "#prefix",
        "#q",
        "#search button",
        "#prev",
        "#next",
        "#new",
        "label.button",
        "#export",
        "#show-trash",
        "#name",
        "#rename",
        "#body",
        "#save",
        "#delete",
        "#close",
        "#show-history",
    ]
    for n in range(2):
        controls += [
            f"#rows tr:nth-child({n + 1}) button.open",
            f"#rows tr:nth-child({n + 1}) button.download",
        ]
    boxes = {c: _box(s, c) for c in controls}
    for c, box in boxes.items():
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (c, box)
        s.page.locator(c).first.scroll_into_view_if_needed()
        assert s.page.locator(c).first.evaluate(ON_TOP), f"{c} is under something else"
    clashes = [
        (a, b)
        for i, a in enumerate(controls)
        for b in controls[i + 1 :]
        if _overlap(boxes[a], boxes[b])
    ]
    assert clashes == []


def errors_clear(s: Session) -> None:
    """A failed action's error is announced with a fix; a new action, or a success, clears it."""
    alert = s.page.get_by_role("alert")
    for then in ("a new action", "a success"):
        s.page.click("#new")
        s.page.fill("#name", "phone.txt")
        s.page.fill("#body", "a second phone.txt\n")
        s.page.click("#save")
        s.expect(alert).to_have_text(re.compile("already exists.*Choose another name"))
        if then == "a new action":
            s.page.click("#search button")
            s.expect("#error").to_be_hidden()
            continue
        s.page.fill("#name", "phone-2.txt")
        s.page.click("#save")
        s.status("Created phone-2.txt.")
        s.expect("#error").to_be_hidden()


def _stored(s: Session, name: str) -> bytes | None:
    found = [f for f in s.api("GET", "/files?prefix=" + name)["items"] if f["name"] == name]
    return s.api("GET", f"/files/{found[0]['id']}") if found else None


def several_uploads(s: Session) -> None:
    """Dropped together: each its own line and result; one refused stops none of the others."""
    files = [
        ["drop-small.txt", "dropped\n"],
        ["drop-big.txt", BIG.decode()],
        ["drop-nul.txt", "a\x00b"],
    ]
    s.page.evaluate(DROP, files)
    s.expect("#uploads li").to_have_count(3)
    s.expect("#uploads li.done").to_have_count(2, timeout=15_000)
    s.expect("#uploads li.error").to_have_text(
        re.compile("^drop-nul.txt: not uploaded. .*UTF-8 text")
    )
    s.expect("#uploads progress").to_have_count(0)
    s.expect(s.page.get_by_role("alert")).to_contain_text("1 of 3 files were not uploaded")
    s.page.evaluate("window.scrollTo(0, document.getElementById('files').offsetTop - 90)")
    s.shot("phone", full_page=False)
    assert _stored(s, "drop-small.txt") == b"dropped\n"
    assert _stored(s, "drop-big.txt") == BIG and len(BIG) > INLINE_LIMIT  # through the link
    assert _stored(s, "drop-nul.txt") is None
    picked = [
        {"name": f"picked-{n}.txt", "mimeType": "text/plain", "buffer": b"%d\n" % n}
        for n in range(2)
    ]
    s.page.set_input_files("#upload", picked)
    s.status("Uploaded 2 files.")
    s.expect("#error").to_be_hidden()
    assert [_stored(s, f"picked-{n}.txt") for n in range(2)] == [b"0\n", b"1\n"]


def downloads(s: Session) -> None:
    """Each row saves its file under its name, a large one too (its body comes via its link)."""
    s.page.fill("#prefix", "drop-")
    s.page.click("#search button")
    s.expect("#rows tr").to_have_count(2)
    for name, data in (("drop-small.txt", b"dropped\n"), ("drop-big.txt", BIG)):
        with s.page.expect_download() as download:
            s.page.get_by_role("button", name=f"Download {name}").click()
        assert download.value.suggested_filename == name
        assert Path(download.value.path()).read_bytes() == data
        s.status(f"Downloaded {name}")


def save_keys(s: Session) -> None:
    """Ctrl+S and Cmd+S save the open file, not the page."""
    s.page.evaluate(SAVE_KEYS)
    s.row("drop-small.txt").click()
    s.status("Opened drop-small.txt.")
    for n, keys in enumerate(("Control+s", "Meta+s")):
        s.page.fill("#body", f"saved with {keys}\n")
        s.page.press("#body", keys)
        s.status("Saved drop-small.txt.")
        s.expect("#meta").to_contain_text(f"version {n + 2}")
        assert _stored(s, "drop-small.txt") == f"saved with {keys}\n".encode()
    assert s.page.evaluate("window.__saveKeys") == [True, True]


def large_body(s: Session) -> None:
    """Above the inline limit: the size and a choice first, not the body in the editor."""
    s.row("drop-big.txt").click()
    s.expect("#large").to_be_visible()
    s.expect("#large-text").to_contain_text(f"drop-big.txt is {len(BIG) / 1024:.1f} KiB")
    s.expect("#body").to_be_hidden()
    s.expect("#save").to_be_disabled()
    s.page.keyboard.press("Control+s")  # nothing loaded: nothing saved over the file
    s.expect(s.page.get_by_role("alert")).to_contain_text("Open the file's text")
    with s.page.expect_download() as download:
        s.page.click("#download-large")
    assert Path(download.value.path()).read_bytes() == BIG
    s.page.click("#open-anyway")
    s.status("Opened drop-big.txt.")
    s.expect("#body").to_have_value(BIG.decode())
    s.expect("#error").to_be_hidden()


def saves_large(s: Session) -> None:
    """Above the inline limit a save goes through an upload link, its If-Match honoured."""
    edited = BIG.decode() + "one more line\n"
    s.page.fill("#body", edited)
    s.page.press("#body", "Control+s")
    s.status(f"Saved drop-big.txt ({len(edited) / 1024:.1f} KiB, through an upload link).")
    assert _stored(s, "drop-big.txt") == edited.encode()
    found = s.api("GET", "/files?prefix=drop-big")["items"]
    s.api("PUT", f"/files/{found[0]['id']}", b"changed elsewhere\n", Content_Type="text/plain")
    s.page.fill("#body", edited + "my edit\n")
    s.page.click("#save")
    s.expect("#conflict").to_be_visible()
    s.expect(s.page.get_by_role("alert")).to_contain_text("Reload the saved version")
    assert _stored(s, "drop-big.txt") == b"changed elsewhere\n"  # not overwritten
    s.page.click("#new")
    s.page.fill("#name", "typed-big.txt")
    s.page.fill("#body", BIG.decode())
    s.page.click("#save")
    s.status("Created typed-big.txt (")
    assert _stored(s, "typed-big.txt") == BIG


HIDE = """(hidden) => {
  Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
  Object.defineProperty(document, "visibilityState", { value: hidden ? "hidden" : "visible",
    configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def _polls(s: Session) -> int:
    return len([u for u in s.urls if "/changes?" in u])


def follows_the_feed(s: Session) -> None:
    """A file made by another client appears without a reload; a hidden tab does not poll."""
    s.page.fill("#prefix", "")
    s.page.click("#search button")
    s.api("POST", "/files?name=from-elsewhere.txt", b"another client\n", Content_Type="text/plain")
    s.expect(s.row("from-elsewhere.txt")).to_be_visible(timeout=15_000)
    s.page.evaluate(HIDE, True)
    s.page.wait_for_timeout(500)  # a poll under way finishes
    before = _polls(s)
    s.api("POST", "/files?name=while-hidden.txt", b"unseen\n", Content_Type="text/plain")
    s.page.wait_for_timeout(4_000)  # longer than the page's poll interval (3 s)
    assert _polls(s) == before
    s.expect(s.row("while-hidden.txt")).to_have_count(0)
    s.page.evaluate(HIDE, False)
    s.expect(s.row("while-hidden.txt")).to_be_visible(timeout=15_000)
    assert _polls(s) > before


def test_the_page_on_a_phone(site: tuple[str, str, str], browser: Any) -> None:
    base, key, configuration = site
    shots_dir = os.environ.get("TEXTFILES_SCREENSHOTS")
    shots = Path(shots_dir) if shots_dir and configuration == "embedded" else None
    context = browser.new_context(viewport=PHONE, accept_downloads=True)
    session = Session(context.new_page(), base, key, shots)
    try:
        sign_in(session)
        for step in (
            fits_a_phone,
            errors_clear,
            several_uploads,
            downloads,
            save_keys,
            large_body,
            saves_large,
            follows_the_feed,
        ):
            step(session)
    finally:
        context.close()
    assert session.errors == []
    assert session.refused == []
    assert not [url for url in session.urls if key in url]
