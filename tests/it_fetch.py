#!/usr/bin/python3
"""Integration tests of `helsefeed fetch` and `helsefeed status`.

Starts tests/httpd.py on 127.0.0.1, writes one configuration per case
(database under $HF_TMP), runs the real binary and checks what the
database and `status` say.  Every case carries a healthy feed next to the
scripted one and checks that it was not disturbed.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import traceback

from itlib import NO_SERVERS, NO_SERVERS_SKIP

HF = os.environ.get("HELSEFEED", "")
SRC = os.environ.get("HF_SRC", os.path.join(os.path.dirname(__file__), ".."))
TMP = os.environ.get("HF_TMP", "/tmp/hf-it-fetch")

# Per-run bound: the slowest case (the trickling server) ends after
# low_speed_time = 2 s; anything near this is a hang.
RUN_TIMEOUT = 60
# HF_VALGRIND=1 runs every helsefeed process under valgrind; a leak or a
# memory error fails the run through its exit status.
VALGRIND = (["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
             "--errors-for-leak-kinds=definite"]
            if os.environ.get("HF_VALGRIND") == "1" else [])
INTERVAL = 600


# The story every scripted feed tells, and the healthy feed's own: told
# alike, the two merge as near-duplicates, and which feed's items count as
# new would then depend on which transfer finished first.
STORY = ("nytt sykehus i Bod\u00f8", "Kommunene f\u00e5r midler til helse- og omsorgstenester.")
OK_STORY = ("legevakta i Hammerfest held open heile natta",
            "Fastlegane i Finnmark f\u00e5r ein ny avtale om vaktordning.")


def rss(title, items, prefix, story=STORY):
    body = "".join(
        "<item><title>%s %d: %s</title>"
        "<link>http://example.no/%s/%d</link>"
        "<guid isPermaLink=\"false\">%s-%d</guid>"
        "<pubDate>Mon, 23 May 2022 10:%02d:00 +0200</pubDate>"
        "<description>%s</description>"
        "</item>" % (title, i, story[0], prefix, i, prefix, i, i % 60, story[1])
        for i in range(items))
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>"
            "<title>%s</title><link>http://example.no/</link>%s</channel></rss>\n"
            % (title, body))


class Server:
    def __init__(self, feeddir):
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(SRC, "tests", "httpd.py"),
             "--dir", feeddir, "--lifetime", "400"],
            stdout=subprocess.PIPE)
        self.port = int(self.proc.stdout.readline())

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stats(self):
        import urllib.request
        with urllib.request.urlopen(self.url("/_stats"), timeout=10) as r:
            return json.load(r)

    def count(self, path):
        return self.stats()["count"].get(path, 0)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


# The [helsefeed] keys of every case; a case may override some.
SETTINGS = (("database", "state/db/helsefeed.db"), ("output", "out"),
            ("base_url", "http://helsenytt.example.no/"), ("title", "Test"),
            ("interval", "%ds" % INTERVAL), ("contact", "mailto:drift@example.no"),
            ("connect_timeout", "5s"), ("timeout", "30s"),
            ("low_speed_limit", "100"), ("low_speed_time", "2s"),
            ("max_body", "1048576"), ("max_redirects", "5"),
            ("max_connections", "8"), ("max_per_host", "4"),
            ("stale_after", "1h"))


class Case:
    """One configuration + database: the healthy feed `ok` plus `feeds`.
    `settings` overrides [helsefeed] keys of SETTINGS."""

    def __init__(self, name, feeds, extra="", settings=None):
        self.settings = dict(SETTINGS, **(settings or {}))
        self.dir = os.path.join(TMP, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.conf = os.path.join(self.dir, "feeds.conf")
        self.db = os.path.join(self.dir, "state", "db", "helsefeed.db")
        self.write(feeds, extra)

    def write(self, feeds, extra=""):
        feeds = dict(feeds)
        feeds.setdefault("ok", SERVER.url("/feeds/ok.xml"))
        text = "[helsefeed]\n%s%s\n" % (
            "".join("%s = %s\n" % kv for kv in self.settings.items()), extra)
        for name, url in feeds.items():
            if isinstance(url, tuple):
                url, more = url
            else:
                more = ""
            text += "[feed %s]\nurl = %s\n%s\n" % (name, url, more)
        with open(self.conf, "w") as f:
            f.write(text)

    def run(self, *args, expect=0):
        t0 = int(time.time())
        p = subprocess.run(VALGRIND + [HF, "-c", self.conf] + list(args),
                           capture_output=True, text=True,
                           timeout=RUN_TIMEOUT * (5 if VALGRIND else 1))
        t1 = int(time.time())
        if expect is not None and p.returncode != expect:
            raise AssertionError("exit %d (want %d) for %s\nstdout: %s\nstderr: %s"
                                 % (p.returncode, expect, args, p.stdout, p.stderr))
        self.t0, self.t1, self.out, self.err = t0, t1, p.stdout, p.stderr
        return p

    def fetch(self, *args, expect=0):
        return self.run("fetch", *(args or ("--all",)), expect=expect)

    def due(self, expect=0):
        """A plain `fetch`: only the feeds whose time has come."""
        return self.run("fetch", expect=expect)

    def q(self, sql, *a):
        con = sqlite3.connect(self.db)
        try:
            con.row_factory = sqlite3.Row
            return con.execute(sql, a).fetchall()
        finally:
            con.close()

    def feed(self, name):
        rows = self.q("SELECT * FROM feeds WHERE name = ?", name)
        assert rows, "no feed row for %s" % name
        return rows[0]

    def items(self, name):
        """Stories the feed carried (item_sources_all): an entry deduplicated
        into another feed's item still counts for its own feed."""
        return self.q("SELECT count(*) FROM item_sources_all s JOIN feeds f"
                      " ON f.id = s.feed_id WHERE f.name = ?", name)[0][0]

    def fetches(self, name):
        return self.q("SELECT x.* FROM fetches x JOIN feeds f ON f.id = x.feed_id"
                      " WHERE f.name = ? ORDER BY x.id", name)

    def status_json(self):
        self.run("status", "--json")
        return {f["name"]: f for f in json.loads(self.out)["feeds"]}

    def healthy(self, runs):
        """The healthy feed: fetched every run, 3 items, no failure."""
        f = self.feed("ok")
        assert f["failures"] == 0 and f["last_error"] is None, dict(f)
        assert f["last_status"] in (200, 304), dict(f)
        assert self.items("ok") == 3
        assert len(self.fetches("ok")) == runs, len(self.fetches("ok"))

    def failed(self, name, failures=1):
        f = self.feed(name)
        assert f["failures"] == failures, dict(f)
        assert f["last_error"], dict(f)
        assert f["failing_since"] is not None
        return f


def write_feed(name, text):
    path = os.path.join(FEEDDIR, name)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


# --- cases ------------------------------------------------------------------

def test_etag_then_304_changes_nothing():
    c = Case("etag", {"hod": SERVER.url("/feeds/hod.xml")})
    c.fetch()
    f = c.feed("hod")
    assert f["last_status"] == 200 and f["etag"] and f["last_modified"], dict(f)
    assert c.items("hod") == 5
    x = c.fetches("hod")
    assert len(x) == 1 and x[0]["http_status"] == 200 and x[0]["items_new"] == 5
    items_before = c.q("SELECT id, raw_hash, last_changed, revision FROM items ORDER BY id")
    c.fetch()
    x = c.fetches("hod")
    assert len(x) == 2, len(x)
    assert x[1]["http_status"] == 304 and x[1]["not_modified"] == 1
    assert x[1]["items_new"] == 0 and x[1]["items_updated"] == 0
    assert c.feed("hod")["etag"] == f["etag"]
    st = SERVER.stats()
    assert st["c304"]["/feeds/hod.xml"] >= 1
    assert st["inm"]["/feeds/hod.xml"] == f["etag"]
    assert st["ua"]["/feeds/hod.xml"].startswith("helsefeed/")
    assert "(+mailto:drift@example.no)" in st["ua"]["/feeds/hod.xml"]
    after = c.q("SELECT id, raw_hash, last_changed, revision FROM items ORDER BY id")
    assert [tuple(r) for r in after] == [tuple(r) for r in items_before]
    assert "304" in c.err and "hod" in c.err
    # A changed document is fetched in full and adds its new item.
    write_feed("hod.xml", rss("HOD", 6, "hod"))
    c.fetch()
    x = c.fetches("hod")
    assert x[2]["http_status"] == 200 and x[2]["items_new"] == 1, dict(x[2])
    assert c.items("hod") == 6
    assert "feed hod: 200, 1 new, 0 updated" in c.err, c.err
    c.healthy(3)
    write_feed("hod.xml", rss("HOD", 5, "hod"))


def test_gzip_feed_is_stored():
    c = Case("gzip", {"gz": SERVER.url("/gzip/gz.xml")})
    c.fetch()
    assert c.feed("gz")["last_status"] == 200
    assert c.items("gz") == 4
    assert "gzip" in SERVER.stats()["ae"]["/gzip/gz.xml"]
    c.healthy(1)


def test_slow_trickle_is_aborted():
    c = Case("slow", {"slow": SERVER.url("/slow/hod.xml")})
    c.fetch()
    f = c.failed("slow")
    assert "/slow/hod.xml" in f["last_error"], f["last_error"]
    assert c.items("slow") == 0
    assert c.fetches("slow")[0]["error"]
    c.healthy(1)


def test_slow_path_holds_up_no_other_feed_of_its_host():
    # One host, three paths: /delay/30 answers after 30 s, the other two
    # at once.  Feeds start in name order, so the slow one opens the host's
    # first connection.  With CURLOPT_PIPEWAIT the fast ones waited for its
    # answer and then failed on their own time-out ("Operation timed out
    # after 4 milliseconds").  The 4 s time-out ends the slow one long
    # before the server would answer; the low-speed check, off here, would
    # end it earlier.
    c = Case("slowhost", {"aslow": SERVER.url("/delay/30/hod.xml"),
                          "bfast": SERVER.url("/feeds/gz.xml")},
             settings={"timeout": "4s", "low_speed_limit": "0"})
    c.fetch()
    assert c.t1 - c.t0 < 20, (c.t0, c.t1)
    f = c.failed("aslow")
    assert "/delay/30/hod.xml" in f["last_error"], f["last_error"]
    assert "timed out" in f["last_error"], f["last_error"]
    assert c.items("aslow") == 0
    f = c.feed("bfast")
    assert f["failures"] == 0 and f["last_error"] is None, dict(f)
    assert f["last_status"] == 200 and c.items("bfast") == 4, dict(f)
    assert "fetch: 3 feeds, 2 ok" in c.out, c.out
    c.healthy(1)
    # Stored while the slow one was still pending: neither waited for it.
    for n in ("bfast", "ok"):
        x = c.fetches(n)[0]
        assert x["error"] is None and x["duration_ms"] < 4000, (n, dict(x))


def test_body_over_limit_and_gzip_bomb_are_refused():
    c = Case("big", {"big": SERVER.url("/big/2000000"),
                     "chunked": SERVER.url("/bigchunked/2000000"),
                     "bomb": SERVER.url("/bomb/64")})
    c.fetch()
    for n in ("big", "chunked", "bomb"):
        f = c.failed(n)
        assert c.items(n) == 0
        assert f["etag"] is None
    assert "larger than 1048576 bytes" in c.feed("bomb")["last_error"]
    c.healthy(1)


def test_404_and_500_back_off():
    c = Case("errors", {"nf": SERVER.url("/status/404"), "ise": SERVER.url("/status/500")})
    c.fetch()
    for n, code in (("nf", 404), ("ise", 500)):
        f = c.failed(n, 1)
        assert f["last_status"] == code
        assert "HTTP %d" % code in f["last_error"]
        # First failure: one interval, +-10 %.
        assert c.t0 + INTERVAL * 0.9 - 1 <= f["next_fetch"] <= c.t1 + INTERVAL * 1.1 + 1
    c.fetch()
    for n in ("nf", "ise"):
        f = c.failed(n, 2)
        assert c.t0 + 2 * INTERVAL * 0.9 - 1 <= f["next_fetch"] <= c.t1 + 2 * INTERVAL * 1.1 + 1
    c.fetch()
    f = c.failed("ise", 3)
    assert c.t0 + 4 * INTERVAL * 0.9 - 1 <= f["next_fetch"] <= c.t1 + 4 * INTERVAL * 1.1 + 1
    s = c.status_json()
    assert s["ise"]["failures"] == 3 and s["ise"]["last_status"] == 500
    assert s["ise"]["state"] == "failing"
    assert s["ise"]["stale"] is False  # failing for seconds, stale_after is 1h
    c.healthy(3)


def test_410_is_gone_and_not_retried():
    c = Case("gone", {"gone": SERVER.url("/status/410")})
    c.fetch()
    f = c.feed("gone")
    assert f["gone"] == 1 and f["last_status"] == 410
    c.fetch()
    c.due()
    assert SERVER.count("/status/410") == 1
    assert len(c.fetches("gone")) == 1
    c.run("status")
    assert "gone: borte: Tjeneren svarer 410 Gone" in c.out
    assert c.status_json()["gone"]["state"] == "gone"
    # Naming the feed fetches it anyway: the admin checks whether it is back.
    c.fetch("gone", expect=1)
    assert SERVER.count("/status/410") == 2
    c.healthy(2)


def test_retry_after_is_respected():
    c = Case("retry", {"secs": SERVER.url("/retry/429/secs/7200"),
                       "date": SERVER.url("/retry/429/date/10800"),
                       "unavail": SERVER.url("/retry/503/secs/5000")})
    c.fetch()
    for n, d in (("secs", 7200), ("date", 10800), ("unavail", 5000)):
        f = c.failed(n)
        assert c.t0 + d - 2 <= f["next_fetch"] <= c.t1 + d + 2, (n, dict(f), c.t0)
        assert f["retry_after"] and abs(f["retry_after"] - f["next_fetch"]) <= 2
    c.healthy(1)


def test_retry_after_holds_fetch_all_and_run_once_unless_forced():
    # A cron job running `fetch --all` or `run --once` every few minutes
    # must not ask again before the hour the server asked for is over.
    path = "/retry/503/secs/3600"
    c = Case("retryforce", {"wait": SERVER.url(path)})
    c.fetch()
    assert SERVER.count(path) == 1
    c.fetch()
    assert SERVER.count(path) == 1
    assert "wait: the server asked for no fetch before" in c.err, c.err
    c.run("run", "--once")
    assert SERVER.count(path) == 1
    assert "wait: the server asked for no fetch before" in c.err, c.err
    c.fetch("--all", "--force")
    assert SERVER.count(path) == 2
    c.run("run", "--once", "--force")
    assert SERVER.count(path) == 3
    # Naming the feed fetches it, as for a gone one (and it fails again).
    c.fetch("wait", expect=1)
    assert SERVER.count(path) == 4
    c.fetch("--force", expect=2)
    c.run("run", "--force", expect=2)
    assert SERVER.count(path) == 4
    c.healthy(5)


def test_permanent_redirects_move_the_feed():
    # Every hop stays on this machine: the test allows it.
    c = Case("moved", {"p301": SERVER.url("/r301/2/m1.xml"),
                       "p308": SERVER.url("/r308/3/m2.xml"),
                       "t302": SERVER.url("/r302/1/m1.xml")},
             extra="allow_networks = 127.0.0.0/8")
    c.fetch()
    assert c.feed("p301")["effective_url"] == SERVER.url("/feeds/m1.xml")
    assert c.feed("p308")["effective_url"] == SERVER.url("/feeds/m2.xml")
    assert c.feed("t302")["effective_url"] is None
    assert c.items("p301") == 2 and c.items("p308") == 2 and c.items("t302") == 2
    assert "update feeds.conf: url = " + SERVER.url("/feeds/m1.xml") in c.err
    c.fetch()
    # The new URL is used directly: the old chain is not asked again.
    assert SERVER.count("/r301/2/m1.xml") == 1
    assert SERVER.count("/r308/3/m2.xml") == 1
    assert SERVER.count("/r302/1/m1.xml") == 2
    assert c.fetches("p301")[1]["http_status"] == 304
    c.run("status")
    assert "flyttet" in c.out
    assert ("p308: flyttet: Flyttet permanent: sett url = " + SERVER.url("/feeds/m2.xml")
            + " i feeds.conf.") in c.out
    c.healthy(2)


def test_redirect_into_internal_networks_is_refused():
    """A redirect never reaches a loopback, private, link-local or
    unspecified address, however it is written, unless allow_networks
    names it; the configured URL itself always works; nothing of the
    target's answer is stored, and the refusal names feed and target."""
    forms = {"lo": "127.0.0.1", "name": "localhost", "dec": "2130706433",
             "zero": "0", "hex": "0x7f000001", "v6": "[::1]", "meta": "169.254.169.254"}
    feeds = {"direct": SERVER.url("/feeds/m1.xml")}
    for k, host in forms.items():
        feeds["to_" + k] = SERVER.url("/goto/%s/m2.xml" % host)
    c = Case("internal", feeds)
    before = SERVER.count("/feeds/m2.xml")
    c.fetch(expect=None)
    assert c.items("direct") == 2
    for k, host in forms.items():
        n = "to_" + k
        f = c.failed(n)
        assert c.items(n) == 0, n
        assert "refused" in (f["last_error"] or "") or k == "v6" and f["last_error"], (n, f["last_error"])
    for k in ("lo", "name", "dec", "zero", "hex", "meta"):
        assert "redirect to http://" in c.failed("to_" + k)["last_error"]
        assert "is not a public address" in c.failed("to_" + k)["last_error"]
    # The internal answer was never asked for: the server saw no request.
    assert SERVER.count("/feeds/m2.xml") == before
    # Allowed by the admin, the same redirect works.
    c2 = Case("internal-allowed", {"to_lo": SERVER.url("/goto/127.0.0.1/m2.xml")},
              extra="allow_networks = 127.0.0.0/8")
    c2.fetch()
    assert c2.items("to_lo") == 2


def test_redirect_loop_and_file_target_are_refused():
    c = Case("refused", {"loop": SERVER.url("/loop/x"), "tofile": SERVER.url("/tofile"),
                         "toolong": SERVER.url("/r301/6/m1.xml")},
             extra="allow_file_urls = yes\nallow_networks = 127.0.0.0/8")
    c.fetch()
    for n in ("loop", "tofile", "toolong"):
        f = c.failed(n)
        assert c.items(n) == 0
        assert f["effective_url"] is None
    assert c.q("SELECT count(*) FROM items WHERE summary LIKE '%root:%'")[0][0] == 0
    c.healthy(1)


def test_reset_mid_body_keeps_old_items():
    c = Case("reset", {"r": SERVER.url("/feeds/r.xml")})
    c.fetch()
    assert c.items("r") == 4
    c.write({"r": SERVER.url("/reset/r.xml")})
    c.fetch()
    c.failed("r")
    assert c.items("r") == 4
    c.healthy(2)


def test_html_page_keeps_items_and_validators():
    write_feed("page.xml", rss("Side", 3, "page"))
    c = Case("html", {"page": SERVER.url("/feeds/page.xml"), "html": SERVER.url("/html")})
    c.fetch()
    before = c.feed("page")
    assert c.items("page") == 3 and before["etag"]
    write_feed("page.xml", "<!DOCTYPE html><html><body><p>Vedlikehald</p></body></html>\n")
    c.fetch()
    f = c.failed("page")
    assert f["etag"] == before["etag"] and f["last_modified"] == before["last_modified"]
    assert c.items("page") == 3
    c.failed("html", 2)
    assert c.items("html") == 0
    # The old validator is sent again: the repaired feed (same text as
    # before) is confirmed with a 304, and a changed one is fetched whole.
    write_feed("page.xml", rss("Side", 3, "page"))
    c.fetch()
    f = c.feed("page")
    assert f["failures"] == 0 and f["last_status"] == 304, dict(f)
    assert SERVER.stats()["inm"]["/feeds/page.xml"] == before["etag"]
    write_feed("page.xml", rss("Side", 4, "page"))
    c.fetch()
    f = c.feed("page")
    assert f["last_status"] == 200 and f["etag"] != before["etag"], dict(f)
    assert c.items("page") == 4
    c.healthy(4)


def test_changing_guids_add_items_and_lose_none():
    c = Case("changing", {"chg": SERVER.url("/changing")})
    for n in range(1, 4):
        c.fetch()
        assert c.items("chg") == 3 * n
    c.healthy(3)


def test_max_age_never_beyond_interval():
    c = Case("maxage", {"long": SERVER.url("/maxage/86400/hod.xml")})
    c.fetch()
    f = c.feed("long")
    assert c.t0 + INTERVAL - 1 <= f["next_fetch"] <= c.t1 + INTERVAL + 1, dict(f)
    c.healthy(1)


def test_due_run_fetches_nothing_early():
    c = Case("due", {"hod": SERVER.url("/feeds/hod.xml")})
    c.fetch()
    n = SERVER.count("/feeds/hod.xml")
    c.due()
    assert SERVER.count("/feeds/hod.xml") == n
    assert "fetch: 0 feeds" in c.out, c.out
    c.healthy(1)


def test_feed_user_agent_override():
    c = Case("ua", {"own": (SERVER.url("/feeds/ua.xml"), "user_agent = Eigen/2.0")})
    c.fetch()
    assert SERVER.stats()["ua"]["/feeds/ua.xml"] == "Eigen/2.0"
    c.healthy(1)


def test_every_feed_failing_exits_1_config_error_exits_2():
    c = Case("allfail", {"ok": SERVER.url("/status/404")})
    c.fetch(expect=1)
    assert "fetch: 1 feeds, 0 ok" in c.out, c.out
    with open(c.conf, "a") as f:
        f.write("[feed broken]\nurl = gopher://x/\nnonsense = 1\n")
    c.fetch(expect=2)
    assert "feeds.conf" in c.err
    c.run("fetch", "--bogus", expect=2)


def test_offline_file_feeds_second_run_changes_nothing():
    off = os.path.join(TMP, "offline-feeds")
    os.makedirs(off, exist_ok=True)
    for i in range(3):
        with open(os.path.join(off, "f%d.xml" % i), "w") as f:
            f.write(rss("Fil %d" % i, 4 + i, "fil%d" % i))
    c = Case("offline", {"f%d" % i: "file://" + os.path.join(off, "f%d.xml" % i)
                         for i in range(3)}, extra="allow_file_urls = yes")
    c.fetch()
    for i in range(3):
        assert c.items("f%d" % i) == 4 + i
        assert c.feed("f%d" % i)["last_status"] == 200
    snap = [tuple(r) for r in c.q("SELECT id, feed_id, key, raw_hash, revision,"
                                   " last_changed FROM items ORDER BY id")]
    c.fetch()
    assert [tuple(r) for r in c.q("SELECT id, feed_id, key, raw_hash, revision,"
                                   " last_changed FROM items ORDER BY id")] == snap
    for i in range(3):
        x = c.fetches("f%d" % i)
        assert x[1]["items_new"] == 0 and x[1]["items_updated"] == 0
    assert "0 new, 0 updated, 0 merged items" in c.out
    c.healthy(2)


def test_repeated_guid_in_one_document_keeps_each_by_link():
    # Three entries of one guid in one document, each with its own link:
    # three items, told apart by their links, on every fetch of the same
    # document, and none of them updated by another (revision 1).
    off = os.path.join(TMP, "dupguid-feed")
    os.makedirs(off, exist_ok=True)
    path = os.path.join(off, "dup.xml")
    items = "".join(
        "<item><guid isPermaLink=\"false\">samme</guid><title>%s om sykehus</title>"
        "<link>http://example.no/dup/%d</link>"
        "<pubDate>Mon, 23 May 2022 1%d:00:00 +0200</pubDate></item>" % (t, i, i)
        for i, t in enumerate(("Alfa", "Beta", "Gamma")))
    with open(path, "w") as f:
        f.write("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>"
                "<title>Dup</title><link>http://example.no/</link>%s</channel></rss>\n" % items)
    c = Case("dupguid", {"dup": "file://" + path}, extra="allow_file_urls = yes")
    for n in range(3):
        c.fetch()
        rows = c.q("SELECT i.title, i.revision FROM items i JOIN feeds f"
                   " ON f.id = i.feed_id WHERE f.name = 'dup' ORDER BY i.title")
        assert [tuple(r) for r in rows] == [("Alfa om sykehus", 1), ("Beta om sykehus", 1),
                                            ("Gamma om sykehus", 1)], (n, [tuple(r) for r in rows])
    c.healthy(3)


def main():
    global SERVER, FEEDDIR
    if not HF or not os.access(HF, os.X_OK):
        print("HELSEFEED not set or not executable; skipping")
        return 77
    if NO_SERVERS:
        print(NO_SERVERS_SKIP)
        return 77
    shutil.rmtree(TMP, ignore_errors=True)
    FEEDDIR = os.path.join(TMP, "feeds")
    os.makedirs(FEEDDIR)
    for name, n in (("hod.xml", 5), ("gz.xml", 4), ("r.xml", 4),
                    ("m1.xml", 2), ("m2.xml", 2), ("ua.xml", 1)):
        write_feed(name, rss(name[:-4].upper(), n, name[:-4]))
    write_feed("ok.xml", rss("OK", 3, "ok", OK_STORY))
    SERVER = Server(FEEDDIR)
    failed = ran = 0
    tests = [(k, v) for k, v in sorted(globals().items()) if k.startswith("test_")]
    only = sys.argv[1:]
    try:
        for name, fn in tests:
            if only and not any(o in name for o in only):
                continue
            ran += 1
            try:
                fn()
                print("ok   %s" % name)
            except Exception:
                failed += 1
                print("FAIL %s" % name)
                traceback.print_exc()
    finally:
        SERVER.stop()
    print("%d of %d failed" % (failed, ran))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
