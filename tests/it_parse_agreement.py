#!/usr/bin/python3
"""Agreement between `helsefeed parse` and python3-feedparser.

For every fixture in tests/data/feeds/ that helsefeed accepts as a feed,
compare id, title, link, published, updated, author and categories of each
entry.  Every disagreement must be listed in tests/data/feeds/AGREEMENT.txt
as "fixture field reason"; an unlisted one fails the test, and so does a
listed one that no longer occurs, so the list stays true.
"""
import calendar
import html
import json
import os
import re
import subprocess
import sys
import time
import unicodedata

try:
    import feedparser
except ImportError:
    print("python3-feedparser is not installed", file=sys.stderr)
    sys.exit(77)

HELSEFEED = os.environ.get("HELSEFEED")
SRC = os.environ.get("HF_SRC", os.path.join(os.path.dirname(__file__), ".."))
FEEDS = os.path.join(SRC, "tests", "data", "feeds")
if not HELSEFEED or not os.access(HELSEFEED, os.X_OK):
    print("HELSEFEED is not set to the binary", file=sys.stderr)
    sys.exit(77)

# Fixtures that need what a fetch would have passed along.
CONTENT_TYPES = {
    "rss20_latin1_http_charset.xml": "application/rss+xml; charset=ISO-8859-1",
}
# Attack fixtures: feedparser expands the quadratic blowup into gigabytes,
# which says nothing about agreement and takes minutes.
ATTACKS = {"quadratic_blowup.xml", "billion_laughs.xml"}
FIELDS = ("id", "title", "link", "published", "updated", "author", "categories")


def text(s):
    """Plain text as both sides should see it: tags gone, entities decoded,
    whitespace collapsed, NFC."""
    if s is None:
        return None
    s = re.sub(r"<[^>]*>", "", s)
    s = html.unescape(s)
    s = re.sub(r"\s+", " ", s.replace("\u00a0", " ")).strip()
    s = unicodedata.normalize("NFC", s)
    return s or None


def plain(s):
    """helsefeed's text fields are plain text already: only whitespace
    and NFC are evened out."""
    if s is None:
        return None
    s = re.sub(r"\s+", " ", s).strip()
    return unicodedata.normalize("NFC", s) or None


def short(v):
    r = repr(v)
    return r if len(r) <= 100 else r[:100] + "..."


def date(st):
    if not st:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(calendar.timegm(st)))


def from_feedparser(path, ctype):
    headers = {"content-type": ctype} if ctype else {}
    with open(path, "rb") as f:
        d = feedparser.parse(f.read(), response_headers=headers)
    out = []
    for e in d.entries:
        tags = [text(t.get("term") or t.get("label")) for t in e.get("tags", [])]
        cats = []
        for t in tags:
            if t and t not in cats:
                cats.append(t)
        # feedparser writes "Name (email)"; compare the names, or the
        # address where there is no name, joined as helsefeed joins them.
        names = [text(a.get("name") or a.get("email")) for a in e.get("authors", [])]
        names = [n for n in names if n]
        published = date(e.get("published_parsed"))
        out.append({
            "id": (e.get("id") or "").strip() or None,
            "title": (plain if e.get("title_detail", {}).get("type") == "text/plain" else text)(e.get("title")),
            "link": e.get("link") or None,
            "published": published,
            # feedparser copies a lone date into `updated`: compare the
            # latest known date on both sides.
            "updated": date(e.get("updated_parsed")) or published,
            "author": ", ".join(dict.fromkeys(names)) or None,
            "categories": cats,
        })
    return out


def from_helsefeed(path, ctype):
    cmd = [HELSEFEED, "parse", path]
    if ctype:
        cmd += ["--content-type", ctype]
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    if p.returncode != 0:
        return None
    doc = json.loads(p.stdout.decode("utf-8"))
    out = []
    for e in doc["entries"]:
        out.append({
            "id": e["id"],
            "title": plain(e["title"]),
            "link": e["link"],
            "published": e["published"],
            "updated": e["updated"] or e["published"],
            "author": plain(e["author"]),
            "categories": [plain(c) for c in e["categories"]],
        })
    return out


def load_known():
    known = {}
    with open(os.path.join(FEEDS, "AGREEMENT.txt"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 3:
                print(f"AGREEMENT.txt:{n}: want 'fixture field reason'", file=sys.stderr)
                sys.exit(1)
            known[(parts[0], parts[1])] = parts[2]
    return known


def main():
    known = load_known()
    seen = set()
    compared = 0
    failures = []
    for name in sorted(os.listdir(FEEDS)):
        if name.endswith((".txt", ".json")) or name in ATTACKS:
            continue
        path = os.path.join(FEEDS, name)
        ctype = CONTENT_TYPES.get(name)
        ours = from_helsefeed(path, ctype)
        if ours is None:
            continue
        theirs = from_feedparser(path, ctype)
        compared += 1
        if len(ours) != len(theirs):
            seen.add((name, "entries"))
            if (name, "entries") not in known:
                failures.append(f"{name} entries: helsefeed {len(ours)}, feedparser {len(theirs)}")
        for a, b in zip(ours, theirs):
            for field in FIELDS:
                if a[field] == b[field]:
                    continue
                seen.add((name, field))
                if (name, field) not in known:
                    failures.append(f"{name} {field}: helsefeed {short(a[field])}, feedparser {short(b[field])}")
    for key in sorted(set(known) - seen):
        failures.append(f"{key[0]} {key[1]}: listed in AGREEMENT.txt but no longer disagrees")
    print(f"compared {compared} feeds, {len(seen)} known disagreements")
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
