#!/usr/bin/python3
"""it_identity - an entry's atom:id is ours, every source keeps its text,
corrections show.

Feeds are files read through file:// URLs, rewritten between fetches;
each scenario has a database of its own.  After every publish all.atom
validates against RFC 4287's RELAX NG (tests/atom.rng, xmllint), and
feedparser reads it.
  - collision: a feed that reuses another item's URI guid makes a second
    entry with an id of its own; neither id is the guid;
  - primary: a ministry release merged into a trust's earlier item
    becomes the credited source; the entry keeps its id and its
    atom:updated, and links the trust with rel="via";
  - takeover: of two feeds of one rank, the one that published first
    is the main item; the other's own title and text are stored, and so
    are its later revisions, and the pages link it;
  - correction: a change of markup or white space is none; a new
    source moves nothing; a changed word shows "Oppdatert" with the
    local time before the text, the category "oppdatert", and moves
    atom:updated;
  - repeated guid: a feed that gives one guid to two entries keeps two
    items, told apart by their links, in either order, reports no update
    on the fetches after, and says so once; a third entry with the guid
    and link of one of them is left out.
"""
import os
import re
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from itlib import BIN, FAILS, SRC, WAIT, check, run_main  # noqa: E402

TMP = os.environ.get("HF_TMP") or "/tmp/hf-it-identity"
ATOM_NS = "{http://www.w3.org/2005/Atom}"
PUB = "Mon, 30 Nov 2026 09:00:00 +0100"


def rss(items):
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
           "<title>t</title><link>https://example.no/</link>"]
    for it in items:
        out.append("<item><title>%s</title><link>%s</link>"
                   '<guid isPermaLink="false">%s</guid><pubDate>%s</pubDate>'
                   "<description><![CDATA[%s]]></description></item>"
                   % (it["title"], it["link"], it["guid"], PUB, it["text"]))
    out.append("</channel></rss>\n")
    return "".join(out)


class Site:
    """One database and output, its feeds as files under `d`."""

    def __init__(self, name, feeds):
        self.d = os.path.join(TMP, name)
        shutil.rmtree(self.d, ignore_errors=True)
        os.makedirs(self.d)
        self.out = os.path.join(self.d, "out", "public")
        self.db = os.path.join(self.d, "out", "helsefeed.db")
        with open(os.path.join(SRC, "examples", "helsefeed.conf"), encoding="utf-8") as f:
            text = f.read()
        head = text[: text.index("[feed ")]
        head = head.replace("database  = out/helsefeed.db", "database = %s" % self.db)
        head = head.replace("output    = out/public", "output = %s" % self.out)
        head = head.replace("spool     = out/spool", "spool = %s/out/spool" % self.d)
        self.conf = os.path.join(self.d, "feeds.conf")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(head)
            for name, (kind, title) in feeds.items():
                f.write("\n[feed %s]\nurl = file://%s/%s.rss\nkind = %s\ntitle = %s\n"
                        % (name, self.d, name, kind, title))
                self.put(name, [])

    def put(self, feed, items):
        with open(os.path.join(self.d, feed + ".rss"), "w", encoding="utf-8") as f:
            f.write(rss(items))

    def hf(self, *args):
        r = subprocess.run([BIN, "-c", self.conf] + list(args), capture_output=True,
                           text=True, timeout=WAIT)
        check(r.returncode == 0, "%s %s: exit %d: %s" % (self.d, " ".join(args),
                                                           r.returncode, r.stderr))
        return r

    def cycle(self):
        """Fetch every feed, publish, validate; the entries of all.atom
        as feedparser reads them."""
        import feedparser
        self.hf("fetch", "--all")
        self.hf("publish")
        atom = os.path.join(self.out, "all.atom")
        r = subprocess.run(["xmllint", "--noout", "--relaxng",
                            os.path.join(SRC, "tests", "atom.rng"), atom],
                           capture_output=True, text=True, timeout=WAIT)
        check(r.returncode == 0, "%s: all.atom does not validate: %s" % (self.d, r.stderr))
        d = feedparser.parse(atom)
        check(not d.bozo, "%s: feedparser: %r" % (self.d, d.get("bozo_exception")))
        return d.entries

    def q(self, sql, *args):
        try:
            with sqlite3.connect("file:%s?mode=ro" % self.db, uri=True) as db:
                return db.execute(sql, args).fetchall()
        except sqlite3.Error as e:
            check(False, "%s: %s: %s" % (self.d, sql, e))
            return []

    def page(self, name):
        with open(os.path.join(self.out, name), encoding="utf-8") as f:
            return f.read()


def by_title(entries, title):
    return [e for e in entries if e.title == title]


def test_collision():
    s = Site("collision", {"fhi": ("directorate", "Folkehelseinstituttet"),
                           "evil": ("other", "Billig")})
    guid = "https://www.fhi.no/nyheter/2026/vaksine-til-eldre/"
    s.put("fhi", [{"title": "Ny vaksine til eldre i vinter", "link": guid, "guid": guid,
                   "text": "<p>FHI anbefaler vaksine til alle over 65.</p>"}])
    s.cycle()
    s.put("evil", [{"title": "Kjøp billige piller på nett", "guid": guid,
                    "link": "https://billig.example/piller",
                    "text": "<p>Rabatt i dag.</p>"}])
    entries = s.cycle()
    ids = [e.id for e in entries]
    check(len(entries) == 2, "collision: two entries, got %d" % len(entries))
    check(len(set(ids)) == len(ids), "collision: the entries share an id: %r" % ids)
    check(guid not in ids, "collision: a feed's guid is an entry's id: %r" % ids)
    check(all(i.startswith("urn:uuid:") for i in ids), "collision: ids %r" % ids)


def test_primary_change():
    s = Site("primary", {"sus": ("hospital", "Helse Stavanger"),
                         "hod": ("ministry", "Helse- og omsorgsdepartementet")})
    link = "https://www.regjeringen.no/no/aktuelt/akuttmottak/id3000001/"
    s.put("sus", [{"title": "Nytt akuttmottak ved Stavanger universitetssjukehus",
                   "link": link, "guid": "sus-1",
                   "text": "<p>Akuttmottaket opnar i desember.</p>"}])
    first = s.cycle()
    check(len(first) == 1, "primary: one entry, got %d" % len(first))
    if not first:
        return
    s.put("hod", [{"title": "Regjeringen åpner nytt akuttmottak i Stavanger",
                   "link": link, "guid": link,
                   "text": "<p>Helseministeren åpner akuttmottaket.</p>"}])
    after = s.cycle()
    check(len(after) == 1, "primary: still one entry, got %d" % len(after))
    if not after:
        return
    e = after[0]
    check(e.id == first[0].id, "primary: the id changed: %s -> %s" % (first[0].id, e.id))
    check(e.source.get("title") == "Helse- og omsorgsdepartementet",
          "primary: credited %r" % e.source.get("title"))
    check(e.updated == first[0].updated,
          "primary: atom:updated moved with the new source: %s -> %s"
          % (first[0].updated, e.updated))
    vias = [link_["href"] for link_ in e.links if link_.get("rel") == "via"]
    check(vias == [link], "primary: via links %r" % vias)
    # The trust's own text is kept beside the ministry's.
    rows = s.q("SELECT s.title FROM item_sources s JOIN feeds f ON f.id = s.feed_id"
               " WHERE f.name = 'sus'")
    check(rows == [("Nytt akuttmottak ved Stavanger universitetssjukehus",)],
          "primary: the trust's own title %r" % rows)


def test_takeover():
    s = Site("takeover", {"kopi": ("other", "Kopisiden"),
                          "eigar": ("other", "Utgjevaren")})
    link = "https://www.helsedirektoratet.no/nyheter/ny-rettleiar-for-legevakt"
    s.put("kopi", [{"title": "Kopi: ny rettleiar for legevakt", "link": link,
                    "guid": "kopi-1", "text": "<p>Kort omtale.</p>"}])
    s.cycle()
    own = {"title": "Ny rettleiar for legevakt", "link": link, "guid": "eigar-1",
           "text": "<p>Rettleiaren gjeld frå 1. januar for alle legevakter.</p>"}
    s.put("eigar", [own])
    entries = s.cycle()
    check(len(entries) == 1, "takeover: one entry, got %d" % len(entries))
    sql = ("SELECT s.title, s.summary, s.link, s.revision FROM item_sources s"
           " JOIN feeds f ON f.id = s.feed_id WHERE f.name = 'eigar'")
    rows = s.q(sql)
    check(len(rows) == 1 and rows[0][0] == own["title"] and "1. januar" in (rows[0][1] or "")
          and rows[0][2] == link and rows[0][3] == 1,
          "takeover: the publisher's own text is not stored: %r" % rows)
    # Its revision is stored too.
    own = dict(own, title="Ny rettleiar for legevakt (retta)",
               text="<p>Rettleiaren gjeld frå 1. februar for alle legevakter.</p>")
    s.put("eigar", [own])
    s.cycle()
    rows = s.q(sql)
    check(len(rows) == 1 and rows[0][0] == own["title"] and "1. februar" in (rows[0][1] or "")
          and rows[0][3] == 2,
          "takeover: the publisher's revision is not stored: %r" % rows)
    page = s.page("index.html") + s.page("kjelde/other.html")
    check('Også omtalt av: <a href="%s">Utgjevaren</a>' % link in page,
          "takeover: the pages do not link the other source")


def test_correction():
    s = Site("correction", {"hod": ("ministry", "Helse- og omsorgsdepartementet"),
                            "relay": ("other", "Kommunen")})
    link = "https://www.regjeringen.no/no/aktuelt/fastlege/id3000002/"
    item = {"title": "Regjeringen styrker fastlegeordningen", "link": link,
            "guid": link, "text": "<p>Ordningen får 1,2 milliarder kroner.</p>"}
    s.put("hod", [item])
    first = s.cycle()
    if not check(len(first) == 1, "correction: one entry, got %d" % len(first)):
        return
    u1 = first[0].updated
    # Markup and white space only.
    s.put("hod", [dict(item, text="<div>Ordningen  får <b>1,2 milliarder</b> kroner.</div>")])
    # And a relay of the same story: a via source.
    s.put("relay", [dict(item, guid="relay-1", title="Mer penger til fastlegene")])
    e = s.cycle()[0]
    terms = [t.term for t in e.get("tags", [])]
    check("oppdatert" not in terms, "correction: markup alone counted: %r" % terms)
    check(e.updated == u1, "correction: atom:updated moved without a correction: %s -> %s"
          % (u1, e.updated))
    check(any(x.get("rel") == "via" for x in e.links), "correction: no via link")
    check("Oppdatert" not in s.page("kjelde/ministry.html"),
          "correction: the page says Oppdatert")
    # A word changes.
    s.put("hod", [dict(item, text="<p>Ordningen får 1,4 milliarder kroner.</p>")])
    e = s.cycle()[0]
    terms = [t.term for t in e.get("tags", [])]
    check("oppdatert" in terms, "correction: no category oppdatert: %r" % terms)
    check(e.updated > u1, "correction: atom:updated did not move: %s" % e.updated)
    body = (e.get("content") or [{}])[0].get("value") or e.get("summary", "")
    check(re.match(r'<p class="oppdatert"><em>Oppdatert \d\d\.\d\d\.\d{4} kl\. \d\d:\d\d'
                   r"</em></p><p>Ordningen får 1,4", body),
          "correction: the entry does not say Oppdatert first: %r" % body)
    check(re.search(r"<em>Oppdatert \d\d\.\d\d\.\d{4} kl\. \d\d:\d\d</em></p>\n"
                    r"<p>Ordningen får 1,4", s.page("kjelde/ministry.html")),
          "correction: the page does not say Oppdatert")
    check(e.id == first[0].id, "correction: the id changed")


def test_repeated_guid():
    s = Site("guid", {"kom": ("municipal", "Bergen kommune")})
    a = {"title": "Ny legevakt i Bergen", "link": "https://www.bergen.kommune.no/a",
         "guid": "nyhet", "text": "<p>Legevakta flyttar.</p>"}
    b = {"title": "Vaksinasjon mot influensa", "link": "https://www.bergen.kommune.no/b",
         "guid": "nyhet", "text": "<p>Timebestilling er open.</p>"}
    s.put("kom", [a, b])
    r = s.hf("-v", "fetch", "--all")
    check("1 updated" not in r.stderr and "2 new" in r.stderr,
          "guid: two new items the first time: %s" % r.stderr)
    check(r.stderr.count("share a guid") == 1, "guid: said once: %s" % r.stderr)
    for order in ([a, b], [b, a], [b, a, dict(b, text="<p>Kopi.</p>")]):
        s.put("kom", order)
        r = s.hf("-v", "fetch", "--all")
        check(" 0 new, 0 updated" in r.stderr,
              "guid: nothing new or updated when the feed is the same (%d entries): %s"
              % (len(order), r.stderr))
    titles = sorted(t for (t,) in s.q("SELECT title FROM items"))
    check(titles == sorted([a["title"], b["title"]]), "guid: both items kept: %r" % titles)


def main():
    if not BIN or not os.access(BIN, os.X_OK):
        print("no binary in $HELSEFEED")
        return 77
    for t in (test_collision, test_primary_change, test_takeover, test_correction,
              test_repeated_guid):
        print("--", t.__name__, flush=True)
        t()
    return 1 if FAILS else 0


if __name__ == "__main__":
    run_main(main)
