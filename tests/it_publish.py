#!/usr/bin/python3
"""it_publish - the published files, checked by the tools that read them.

The offline sample (examples/, copied into $HF_TMP) is fetched with the
real binary and published; then:
  - every Atom file validates against RFC 4287's RELAX NG (tests/atom.rng,
    with xmllint) and the schema rejects broken fixtures, and the two
    Schematron rules of the RFC (author, alternate link or content) hold;
  - feedparser reads every feed with bozo false and the entry counts the
    database predicts;
  - newsboat loads them all over HTTP from 127.0.0.1 and imports
    feeds.opml;
  - every item is in all.atom once, a story carried by several feeds once
    with a rel="via" link per other feed;
  - markup planted in the sample (script, onerror, javascript:) arrives
    inert;
  - a second publish rewrites nothing but the status files;
  - every page passes HTML Tidy (tidy -errors) with no warning;
  - headless Chromium renders index.html with the expected number of
    items, no console error, and a screenshot; all.atom through feed.xsl
    (xsltproc) is a page with one article per entry.
Exit 77 (skip) while the binary has no `fetch` or `publish` command.
"""
import functools
import glob
import html.parser
import http.server
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

from itlib import NO_SERVERS, copy_sample

HF = os.environ.get("HELSEFEED", "")
SRC = os.environ["HF_SRC"]
TMP = os.environ["HF_TMP"]
ATOM = "{http://www.w3.org/2005/Atom}"
INDEX_ITEMS = 10  # PUBLISH_INDEX_ITEMS in publish.h
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120,
                          **kw)


def has_command(name):
    r = run(HF, name, "--help")
    return r.returncode == 0 and "unknown command" not in r.stderr


def main():
    if not HF or not os.access(HF, os.X_OK):
        print("no binary in $HELSEFEED")
        return 77
    for cmd in ("fetch", "publish"):
        if not has_command(cmd):
            print("skip: the binary has no '%s' command yet" % cmd)
            return 77
    conf = copy_sample(TMP)
    ex = os.path.dirname(conf)
    out = os.path.join(ex, "out", "public")

    r = run(HF, "-c", conf, "fetch", "--all")
    check(r.returncode == 0, "fetch --all: exit %d: %s" % (r.returncode, r.stderr))
    r = run(HF, "-c", conf, "publish")
    check(r.returncode == 0, "publish: exit %d: %s" % (r.returncode, r.stderr))
    check(r.stdout.startswith("published ") and out in r.stdout,
          "publish prints its summary: %r" % r.stdout)
    r = run(HF, "-c", os.path.join(ex, "missing.conf"), "publish")
    check(r.returncode == 2, "a missing config is exit 2, got %d" % r.returncode)

    db = sqlite3.connect(os.path.join(ex, "out", "helsefeed.db"))
    nitems = db.execute("SELECT count(*) FROM items").fetchone()[0]
    check(nitems > 10, "the sample gave %d items" % nitems)
    expect = {"all.atom": min(nitems, 100)}
    for name in ("hospitals", "municipal", "covid"):
        n = db.execute("SELECT count(DISTINCT item_id) FROM item_categories"
                       " WHERE category = ?", (name,)).fetchone()[0]
        expect[name + ".atom"] = min(n, 100)
    for (kind, n) in db.execute("SELECT f.kind, count(*) FROM items i JOIN feeds f"
                                " ON f.id = i.feed_id GROUP BY f.kind"):
        expect.setdefault(kind + ".atom", min(n, 100))

    atoms = sorted(glob.glob(os.path.join(out, "*.atom")))
    names = {os.path.basename(a) for a in atoms}
    for f in ("index.html", "status.html", "status.json", "feeds.opml", "feed.xsl"):
        check(os.path.exists(os.path.join(out, f)), f + " written")
    for f in ("all.atom", "hospitals.atom", "covid.atom", "municipal.atom",
              "ministry.atom", "directorate.atom", "hospital.atom"):
        check(f in names, f + " written")
    check("other.atom" not in names, "no other.atom: no feed of that kind")

    # --- RELAX NG (RFC 4287 Appendix B) ---------------------------------
    rng = os.path.join(SRC, "tests", "atom.rng")
    for a in atoms:
        r = run("xmllint", "--noout", "--relaxng", rng, a)
        check(r.returncode == 0, "%s validates: %s" % (a, r.stderr[-600:]))
    for bad in glob.glob(os.path.join(SRC, "tests", "data", "publish", "bad_*.atom")):
        r = run("xmllint", "--noout", "--relaxng", rng, bad)
        check(r.returncode != 0, "the schema rejects " + bad)

    # --- the RFC's Schematron rules, ids, order -------------------------
    for a in atoms:
        feed = ET.parse(a).getroot()
        entries = feed.findall(ATOM + "entry")
        ids = [e.findtext(ATOM + "id") for e in entries]
        check(len(ids) == len(set(ids)), a + ": entry ids unique")
        pubs = [e.findtext(ATOM + "published") for e in entries]
        check(pubs == sorted(pubs, reverse=True), a + ": newest first")
        for e in entries:
            check(e.find(ATOM + "author/" + ATOM + "name") is not None,
                  a + ": every entry has an author")
            check(e.find(ATOM + "link[@rel='alternate']") is not None or
                  e.find(ATOM + "content") is not None,
                  a + ": alternate link or content")
            check(e.find(ATOM + "source/" + ATOM + "id") is not None,
                  a + ": atom:source names the origin")
        if entries:
            newest = max(e.findtext(ATOM + "updated") for e in entries)
            check(feed.findtext(ATOM + "updated") == newest,
                  a + ": feed updated is the newest entry's")

    # --- feedparser -------------------------------------------------------
    import feedparser
    for a in atoms:
        d = feedparser.parse(a)
        name = os.path.basename(a)
        check(not d.bozo, "%s: feedparser bozo %r" % (name, d.get("bozo_exception")))
        check(d.version == "atom10", "%s: feedparser sees %s" % (name, d.version))
        if name in expect:
            check(len(d.entries) == expect[name], "%s: %d entries, expected %d" %
                  (name, len(d.entries), expect[name]))

    # --- one entry per item; a merged story once, with its other sources --
    all_feed = ET.parse(os.path.join(out, "all.atom")).getroot()
    by_title = {}
    for e in all_feed.findall(ATOM + "entry"):
        by_title.setdefault(e.findtext(ATOM + "title"), []).append(e)
    for (title, nsrc) in db.execute(
            "SELECT i.title, (SELECT count(DISTINCT feed_id) FROM item_sources_all s"
            " WHERE s.item_id = i.id) FROM items i"):
        n_same = db.execute("SELECT count(*) FROM items WHERE title = ?",
                            (title,)).fetchone()[0]
        got = by_title.get(title, [])
        check(len(got) == n_same, "%r: %d entries for %d items" % (title, len(got), n_same))
        if nsrc > 1 and n_same == 1:
            vias = got[0].findall(ATOM + "link[@rel='via']")
            check(len(vias) == nsrc - 1, "%r: %d via links for %d sources" %
                  (title, len(vias), nsrc))
    merged = db.execute("SELECT count(*) FROM (SELECT item_id FROM item_sources_all"
                        " GROUP BY item_id HAVING count(DISTINCT feed_id) > 1)"
                        ).fetchone()[0]
    if not merged:
        print("note: no story merged in the sample (dedup not active);"
              " test_publish covers the merged case")

    # --- markup from the feeds arrives inert ------------------------------
    class Tags(html.parser.HTMLParser):
        def __init__(self, banned=("script", "iframe", "object", "embed", "style")):
            super().__init__()
            self.bad = []
            self.banned = banned

        def handle_starttag(self, tag, attrs):
            if tag in self.banned:
                self.bad.append(tag)
            for (k, v) in attrs:
                if k.startswith("on"):
                    self.bad.append(k)
                if v and "".join(v.split()).lower().startswith(("javascript:", "data:", "vbscript:")):
                    self.bad.append(v)

    for a in atoms:
        for e in ET.parse(a).getroot().iter():
            if e.tag in (ATOM + "content", ATOM + "summary") and e.text:
                p = Tags()
                p.feed(e.text)
                check(not p.bad, "%s: live markup %r" % (a, p.bad))
    page = open(os.path.join(out, "index.html"), encoding="utf-8").read()
    # The page's own inline <style> is the one element allowed there.
    p = Tags(("script", "iframe", "object", "embed", "img"))
    p.feed(page)
    check(not p.bad, "index.html: live markup %r" % p.bad)

    # --- a second run rewrites nothing but the status files --------------
    # status.html and status.json say when they were generated: a second
    # later they change, every other file (pages included: their "made"
    # stamp moves only with their content) stays as it was.
    def tree():
        return {os.path.relpath(os.path.join(d, f), out): os.stat(os.path.join(d, f))
                for d, _, fs in os.walk(out) for f in fs}
    before = tree()
    time.sleep(1.1)
    r = run(HF, "-c", conf, "publish")
    check("(2 changed)" in r.stdout, "second publish: %r" % r.stdout)
    for f, st in before.items():
        now = os.stat(os.path.join(out, f))
        same = (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
        if f in ("status.html", "status.json"):
            check(not same, f + " generated again by the second run")
        else:
            check(same, f + " untouched by the second run")
    check(sorted(tree()) == sorted(before), "no temporary files left")

    validate_html(out)
    newsboat(out, atoms)
    chromium(out, db)

    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


class Quiet(http.server.SimpleHTTPRequestHandler):
    # The types a web server's mime.types gives (nginx, Apache): the
    # browser applies feed.xsl only to a document served as XML.
    extensions_map = dict(http.server.SimpleHTTPRequestHandler.extensions_map,
                          **{".atom": "application/atom+xml",
                             ".xsl": "text/xsl", ".opml": "text/x-opml"})

    def log_message(self, *args):
        pass


def newsboat(out, atoms):
    if NO_SERVERS:
        print("note: newsboat not run: it needs a loopback server (HF_NO_SERVERS=1)")
        return
    if not shutil.which("newsboat"):
        print("note: newsboat absent, not checked")
        return
    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=out))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        nb = os.path.join(TMP, "newsboat")
        os.makedirs(nb, exist_ok=True)
        port = srv.server_address[1]
        urls = os.path.join(nb, "urls")
        with open(urls, "w") as f:
            for a in atoms:
                f.write("http://127.0.0.1:%d/%s\n" % (port, os.path.basename(a)))
        open(os.path.join(nb, "config"), "w").close()
        env = dict(os.environ, HOME=nb)
        r = run("newsboat", "-u", urls, "-c", os.path.join(nb, "cache.db"),
                "-C", os.path.join(nb, "config"), "-x", "reload", "print-unread",
                env=env)
        ids = set()
        for a in atoms:
            ids.update(e.findtext(ATOM + "id") for e in
                       ET.parse(a).getroot().findall(ATOM + "entry"))
        # newsboat keeps one article per id, whichever feeds carry it.
        check(r.stdout.strip() == "%d unread articles" % len(ids),
              "newsboat: %r (expected %d), %s" % (r.stdout, len(ids), r.stderr[-300:]))
        imported = os.path.join(nb, "imported")
        open(imported, "w").close()
        r = run("newsboat", "-u", imported, "-C", os.path.join(nb, "config"),
                "-c", os.path.join(nb, "cache2.db"), "-i",
                os.path.join(out, "feeds.opml"), env=env)
        lines = [l for l in open(imported).read().splitlines() if l.strip()]
        opml = ET.parse(os.path.join(out, "feeds.opml")).getroot()
        n = len(opml.findall(".//outline[@type='rss']"))
        check(r.returncode == 0 and len(lines) == n,
              "newsboat imports feeds.opml: %d of %d feeds; %s" %
              (len(lines), n, r.stderr[-300:]))
    finally:
        srv.shutdown()
        srv.server_close()


def validate_html(out):
    """Every page passes HTML Tidy (Debian's tidy, HTML5 aware) without an
    error or a warning."""
    tidy = shutil.which("tidy")
    if not tidy:
        print("note: tidy absent, pages not validated")
        return
    pages = [os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs
             if f.endswith(".html")]
    check(len(pages) >= 10, "pages to validate: %r" % pages)
    for p in pages:
        r = run(tidy, "-errors", "-q", p)
        check(r.returncode == 0 and not r.stderr.strip(),
              "tidy %s: %s" % (os.path.relpath(p, out), r.stderr[-400:]))


def chromium(out, db):
    if NO_SERVERS:
        print("note: chromium not run: no browser in the package build (HF_NO_SERVERS=1)")
        return
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        print("note: chromium absent, index.html not rendered")
        return
    # index.html: "siste" (every item) and one section per category.
    expect = min(db.execute("SELECT count(*) FROM items").fetchone()[0], INDEX_ITEMS)
    conf_cats = ("hospitals", "municipal", "covid")
    for c in conf_cats:
        n = db.execute("SELECT count(DISTINCT item_id) FROM item_categories"
                       " WHERE category = ?", (c,)).fetchone()[0]
        expect += min(n, INDEX_ITEMS)
    prof = os.path.join(TMP, "chromium")
    base = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            "--user-data-dir=" + prof, "--enable-logging=stderr", "--v=0"]
    url = "file://" + os.path.join(out, "index.html")
    r = run(*base, "--dump-dom", url)
    check(r.returncode == 0, "chromium --dump-dom: exit %d" % r.returncode)

    class Count(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.items = 0
            self.sections = 0

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "article" and a.get("class") == "item":
                self.items += 1
            if tag == "section":
                self.sections += 1

    c = Count()
    c.feed(r.stdout)
    check(c.items == expect, "chromium DOM: %d items, expected %d" % (c.items, expect))
    check(c.sections == 1 + len(conf_cats), "chromium DOM: %d sections" % c.sections)
    for line in r.stderr.splitlines():
        check("Uncaught" not in line and "ERROR:CONSOLE" not in line,
              "chromium console: " + line)
    # feed.xsl, run by libxslt (the XSLT 1.0 engine browsers share), gives
    # a page with one article per entry, which Chromium loads cleanly.
    if shutil.which("xsltproc"):
        r = run("xsltproc", "--nonet", os.path.join(out, "feed.xsl"),
                os.path.join(out, "all.atom"))
        check(r.returncode == 0, "xsltproc feed.xsl: " + r.stderr[-300:])
        n_entries = len(ET.parse(os.path.join(out, "all.atom")).getroot()
                        .findall(ATOM + "entry"))
        check(r.stdout.count('<article class="entry">') == n_entries,
              "feed.xsl renders every entry")
        # Local time (Europe/Oslo, from hf:local), never UTC: the sample's
        # newest hod item is 2024-04-19T11:30Z, 13:30 in Oslo.
        check(" UTC" not in r.stdout and "19.04.2024 kl. 13:30" in r.stdout,
              "feed.xsl shows local time")
        page = os.path.join(TMP, "all.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(r.stdout)
        r = run(*base, "--dump-dom", "file://" + page)
        check(r.stdout.count('<article class="entry">') == n_entries,
              "chromium shows every entry of the feed.xsl page")
        for line in r.stderr.splitlines():
            check("Uncaught" not in line and "ERROR:CONSOLE" not in line,
                  "chromium console (feed.xsl page): " + line)
    else:
        print("note: xsltproc absent, feed.xsl not run")
    png = os.path.join(TMP, "index.png")
    r = run(*base, "--screenshot=" + png, "--window-size=420,2000", url)
    ok = os.path.exists(png) and open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    check(ok, "chromium screenshot: %s" % r.stderr[-300:])
    if ok:
        head = open(png, "rb").read(24)
        width = int.from_bytes(head[16:20], "big")
        check(width == 420, "screenshot is %d px wide" % width)


if __name__ == "__main__":
    sys.exit(main())
