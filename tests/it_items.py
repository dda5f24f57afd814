"""it_items - the admin's commands on the offline sample, with the real
binary: `items` with its filters and full-text search (æ, ø, å kept,
prefixes), `items show`, `hide` and `unhide` (an item leaves every
published file and comes back), `status --check` (one line, exit 0/1/2
as monitoring plugins have it) and `status --json`, whose schema is the
published status.json's.
"""
import json
import os
import sqlite3
import subprocess
import xml.etree.ElementTree as ET

from itlib import BIN, FAILS, check, copy_sample, run_main

TMP = os.environ["HF_TMP"]
ATOM = "{http://www.w3.org/2005/Atom}"


def run(*args):
    return subprocess.run((BIN,) + args, capture_output=True, text=True,
                          timeout=120)


def ids_in(path):
    """The data-id of every story on a page."""
    text = open(path, encoding="utf-8").read()
    return {int(x.split('"')[1]) for x in text.split("data-id=")[1:]}


def titles(path):
    return [e.findtext(ATOM + "title")
            for e in ET.parse(path).getroot().findall(ATOM + "entry")]


def keys(obj, prefix=""):
    """Every key path of a JSON document: its schema, values left out."""
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.add(prefix + k)
            out |= keys(v, prefix + k + ".")
    elif isinstance(obj, list):
        for v in obj:
            out |= keys(v, prefix + "[].")
    return out


def main():
    if not BIN or not os.access(BIN, os.X_OK):
        print("no binary in $HELSEFEED")
        return 77
    conf = copy_sample(TMP)
    ex = os.path.dirname(conf)
    out = os.path.join(ex, "out", "public")
    r = run("-c", conf, "fetch", "--all")
    if not check(r.returncode == 0, "fetch --all: %s" % r.stderr):
        return 1
    db = sqlite3.connect(os.path.join(ex, "out", "helsefeed.db"))
    nitems = db.execute("SELECT count(*) FROM items").fetchone()[0]

    # --- items --------------------------------------------------------
    r = run("-c", conf, "items", "--json", "--limit", "1000")
    check(r.returncode == 0, "items --json: %s" % r.stderr)
    listed = json.loads(r.stdout)["items"]
    check(len(listed) == nitems, "items lists all %d items: %d" % (nitems, len(listed)))
    times = [i["time"] for i in listed]
    check(times == sorted(times, reverse=True), "items newest first")
    r = run("-c", conf, "items", "--limit", "3")
    check(len(r.stdout.splitlines()) == 3, "--limit 3: %r" % r.stdout)
    first = r.stdout.split()[0]
    check(first == str(listed[0]["id"]), "the table starts with the id")

    # Full-text search: a prefix, nynorsk and æ/ø/å as letters.
    want = {i for (i,) in db.execute(
        "SELECT id FROM items WHERE title LIKE '%sjukehus%' OR summary LIKE '%sjukehus%'")}
    r = run("-c", conf, "items", "--search", "sjuke", "--json")
    got = {i["id"] for i in json.loads(r.stdout)["items"]}
    check(want and want <= got, "--search sjuke finds %r: %r" % (want, got))
    r = run("-c", conf, "items", "--search", "rødt", "--json")
    found = json.loads(r.stdout)["items"]
    check([i["title"] for i in found] == ["Svar om rødt nivå"],
          "--search rødt: %r" % found)
    r = run("-c", conf, "items", "--search", "rodt", "--json")
    check(json.loads(r.stdout)["items"] == [], "ø is not o: 'rodt' finds nothing")
    r = run("-c", conf, "items", "--search", "RØDT nivå", "--json")
    check(len(json.loads(r.stdout)["items"]) == 1, "case folded, all words")
    r = run("-c", conf, "items", "--category", "covid", "--json")
    cov = json.loads(r.stdout)["items"]
    check(cov and all("covid" in i["categories"] for i in cov), "--category covid")
    r = run("-c", conf, "items", "--feed", "fhi", "--since", "2024-04-10", "--json")
    fhi = json.loads(r.stdout)["items"]
    check(fhi and all(i["time"] >= "2024-04-09T22:00:00Z" for i in fhi),
          "--since is local midnight: %r" % [i["time"] for i in fhi])
    r = run("-c", conf, "items", "--since", "yesterday")
    check(r.returncode == 2, "a bad --since is a usage error: %d" % r.returncode)
    r = run("-c", conf, "items", "--search", "  ")
    check(r.returncode == 2, "an empty search is a usage error")

    # --- items show ---------------------------------------------------
    merged = db.execute("SELECT item_id FROM item_sources LIMIT 1").fetchone()[0]
    r = run("-c", conf, "items", "show", str(merged))
    check(r.returncode == 0 and r.stdout.startswith("id:         %d" % merged),
          "items show: %r" % r.stdout[:80])
    rev = db.execute("SELECT revision FROM items WHERE id = ?", (merged,)).fetchone()[0]
    for part in ("sources:", "primary", "merged", "revisions:  %d (" % rev):
        check(part in r.stdout, "items show names %r" % part)
    r = run("-c", conf, "items", "show", "--json", str(merged))
    shown = json.loads(r.stdout)
    check(len(shown["sources"]) >= 2 and shown["sources"][0]["primary"],
          "items show --json: the primary source first")
    r = run("-c", conf, "items", "show", "999999")
    check(r.returncode == 1 and "no item 999999" in r.stderr, "unknown id")

    # --- hide, unhide -------------------------------------------------
    r = run("-c", conf, "publish")
    check(r.returncode == 0, "publish: %s" % r.stderr)
    victim = listed[0]
    page_ids = ids_in(os.path.join(out, "index.html"))
    check(victim["id"] in page_ids, "the pages carry data-id")
    r = run("-c", conf, "hide", str(victim["id"]))
    check(r.returncode == 0 and "hidden" in r.stdout, "hide: %r %r" % (r.stdout, r.stderr))
    for d, _, fs in os.walk(out):
        for f in fs:
            p = os.path.join(d, f)
            if f.endswith(".atom"):
                check(victim["title"] not in titles(p), "hidden item left " + p)
            elif f.endswith(".html"):
                check(victim["id"] not in ids_in(p), "hidden item left " + p)
    r = run("-c", conf, "items", "--json")
    check(victim["id"] not in [i["id"] for i in json.loads(r.stdout)["items"]],
          "items leaves hidden ones out")
    r = run("-c", conf, "items", "--hidden")
    check("(skjult)" in r.stdout, "--hidden marks them")
    check(db.execute("SELECT count(*) FROM items").fetchone()[0] == nitems,
          "a hidden item stays in the database")
    r = run("-c", conf, "unhide", str(victim["id"]))
    check(r.returncode == 0 and "shown again" in r.stdout, "unhide: %r" % r.stdout)
    check(victim["title"] in titles(os.path.join(out, "all.atom")), "back in all.atom")
    r = run("-c", conf, "hide", "abc")
    check(r.returncode == 2, "hide abc is a usage error")

    # --- a feed taken out of feeds.conf leaves the output -------------
    own = [t for (t,) in db.execute(
        "SELECT i.title FROM items i JOIN feeds f ON f.id = i.feed_id"
        " WHERE f.name = 'helse-nord' AND NOT EXISTS (SELECT 1 FROM item_sources s"
        " WHERE s.item_id = i.id)")]
    check(own and all(t in titles(os.path.join(out, "all.atom")) for t in own),
          "helse-nord's stories are published: %r" % own)
    text = open(conf, encoding="utf-8").read()
    start = text.index("[feed helse-nord]")
    end = text.find("\n[", start + 1)
    removed = conf + ".removed"
    with open(removed, "w", encoding="utf-8") as f:
        f.write(text[:start] + (text[end + 1:] if end >= 0 else ""))
    r = run("-c", removed, "publish")
    check(r.returncode == 0, "publish without helse-nord: %s" % r.stderr)
    for d, _, fs in os.walk(out):
        for f in fs:
            if f.endswith(".atom") and not d.endswith("arkiv"):
                left = set(own) & set(titles(os.path.join(d, f)))
                check(not left, "%s still has %r" % (f, left))
    page = open(os.path.join(out, "index.html"), encoding="utf-8").read()
    check(not any(t in page for t in own), "index.html without helse-nord")
    r = run("-c", conf, "publish")
    check(own[0] in titles(os.path.join(out, "all.atom")), "back with the feed")

    # --- status --check and --json ------------------------------------
    # The sample's dmp feed is an HTML page: failing, not yet stale.
    r = run("-c", conf, "status", "--check")
    check(r.returncode == 1, "status --check: WARNING is 1, got %d" % r.returncode)
    check(r.stdout.startswith("HELSEFEED WARNING - 5 OK · 1 feiler |")
          and len(r.stdout.splitlines()) == 1, "one summary line: %r" % r.stdout)
    r = run("-c", conf, "status", "--json")
    mine = json.loads(r.stdout)
    published = json.load(open(os.path.join(out, "status.json"), encoding="utf-8"))
    check(keys(mine) == keys(published),
          "status --json and status.json: one schema: %r" % (keys(mine) ^ keys(published)))
    check(mine["feeds"][0]["name"] == "dmp", "problems first")
    check(mine["summary"]["failing"] == 1 and mine["summary"]["severity"] == "warning",
          "summary: %r" % mine["summary"])
    check(all(f["items"] is not None for f in mine["feeds"]), "the CLI counts items")
    # The feed is gone: CRITICAL, exit 2.
    db.execute("UPDATE feeds SET gone = 1 WHERE name = 'fhi'")
    db.commit()
    r = run("-c", conf, "status", "--check")
    check(r.returncode == 2 and r.stdout.startswith("HELSEFEED CRITICAL - 4 OK · 1 borte"),
          "a gone feed is CRITICAL: %d %r" % (r.returncode, r.stdout))
    db.execute("UPDATE feeds SET gone = 0, failures = 0, failing_since = NULL,"
               " last_error = NULL, last_success = 1 WHERE name = 'dmp'")
    db.execute("UPDATE feeds SET gone = 0")
    db.commit()
    r = run("-c", conf, "status", "--check")
    check(r.returncode == 0 and r.stdout.startswith("HELSEFEED OK - 6 OK |"),
          "all well is OK, 0: %d %r" % (r.returncode, r.stdout))
    r = run("-c", os.path.join(ex, "missing.conf"), "status", "--check")
    check(r.returncode == 2 and "CRITICAL" in r.stdout, "no configuration: CRITICAL")

    # --- status only reads: an admin who may not write ------------------
    # Beside the service (here: this open connection keeps the database's
    # -wal and -shm), another user reads it; without them, the error says
    # what reading needs.
    if os.geteuid() == 0 and not reachable_by_others(ex):
        print("skip: %s is not readable by other users" % ex)
    elif os.geteuid() == 0:
        dbfile = os.path.join(ex, "out", "helsefeed.db")
        r = subprocess.run((BIN, "-c", conf, "status"), capture_output=True,
                           text=True, timeout=120, user="nobody")
        check(r.returncode == 0 and "hod" in r.stdout,
              "status as another user beside the service: %d %r" % (r.returncode, r.stderr))
        db.close()
        r = subprocess.run((BIN, "-c", conf, "status"), capture_output=True,
                           text=True, timeout=120, user="nobody")
        check(r.returncode != 0 and dbfile in r.stderr and
              "write access to the database's directory" in r.stderr,
              "status as another user, service stopped: %d %r" % (r.returncode, r.stderr))
        before = open(dbfile, "rb").read()
        r = run("-c", conf, "status")
        check(r.returncode == 0 and open(dbfile, "rb").read() == before,
              "status leaves the database as it was")
    return 1 if FAILS else 0


def reachable_by_others(path):
    """Every directory up to path lets other users in."""
    path = os.path.abspath(path)
    while True:
        if not os.stat(path).st_mode & 0o001:
            return False
        if path == "/":
            return True
        path = os.path.dirname(path)


if __name__ == "__main__":
    run_main(main)
