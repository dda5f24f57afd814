#!/usr/bin/python3
"""evaluate.py - helsefeed's judgement measured on the labelled corpus.

    /usr/bin/python3 tests/corpus/evaluate.py BINARY [--part test|dev|all]
        [--conf FEEDS.CONF] [--json OUT] [--workdir DIR]

The corpus (tests/data/corpus/{dev,test}.jsonl, collected and labelled by
the rules in tests/data/corpus/README.md) is turned into one RSS 2.0 file
per publisher: each item's headline as <title>, its lead as
<description>, its URL as <link> and <guid>, its date at 12:00 Oslo time
as <pubDate>.  helsefeed then reads them through file:// URLs with the
[category] sections of the shipped feeds.conf and no feed-level
categories, and the database says what it made of them:

  same story   run 1, the items' own dates: every pair of corpus items
               that ended up in one stored item is a merge.  Recall is
               the share of same-story pairs (items of one group) merged;
               a false merge is a merged pair of two different stories.
  worst case   run 2, every item of the corpus (dev and test) published
               on one day: the false merges then.
  categories   run 3, the items a day apart, so that none merges with
               another: each item's stored categories against its
               labels, per category precision and recall, for all items
               of the part and for its nynorsk items alone.

Prints the figures; with --json also writes them.  Exit 0 unless
helsefeed fails.
"""
import argparse
import datetime
import html
import itertools
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zoneinfo

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(SRC, "tests", "data", "corpus")
CATEGORIES = ("hospitals", "municipal", "covid")
OSLO = zoneinfo.ZoneInfo("Europe/Oslo")
KINDS = {"ministry": "ministry", "directorate": "directorate",
         "hospital": "hospital", "municipal": "municipal"}


def load(part):
    rows = []
    names = ("dev", "test") if part == "all" else (part,)
    for name in names:
        with open(os.path.join(DATA, name + ".jsonl"), encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    r["part"] = name
                    rows.append(r)
    return rows


def category_sections(conf):
    """The [category NAME] sections of a feeds.conf, as text."""
    out, keep = [], False
    with open(conf, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*\[([^\]]+)\]", line)
            if m:
                keep = m.group(1).split()[0] == "category"
            if keep:
                out.append(line)
    return "".join(out)


def rfc822(t):
    return t.strftime("%a, %d %b %Y %H:%M:%S %z")


def write_feeds(rows, when, workdir):
    """One RSS file per publisher; `when(row, i)` gives the pubDate."""
    by_pub = {}
    for i, r in enumerate(rows):
        by_pub.setdefault(r["publisher"], []).append((i, r))
    feeds = []
    for n, (pub, items) in enumerate(sorted(by_pub.items())):
        name = "p%03d" % n
        path = os.path.join(workdir, "feeds", name + ".xml")
        parts = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
                 "<title>%s</title><link>https://example.invalid/%s</link>"
                 % (html.escape(pub), name)]
        for i, r in items:
            parts.append("<item><title>%s</title><link>%s</link>"
                         "<guid isPermaLink=\"true\">%s</guid>"
                         "<description>%s</description><pubDate>%s</pubDate></item>"
                         % (html.escape(r["title"]), html.escape(r["url"]),
                            html.escape(r["url"]), html.escape(r["lead"]),
                            rfc822(when(r, i))))
        parts.append("</channel></rss>\n")
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(parts))
        feeds.append((name, pub, KINDS.get(items[0][1]["kind"], "other"), path))
    return feeds


def run(binary, conf_text, rows, when, workdir, label):
    d = os.path.join(workdir, label)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "feeds"))
    feeds = write_feeds(rows, when, d)
    conf = os.path.join(d, "helsefeed.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write("[helsefeed]\ndatabase = %s\noutput = %s\nbase_url = https://helsenytt.example.no/\n"
                "timezone = Europe/Oslo\nallow_file_urls = yes\ninterval = 1h\n\n"
                % (os.path.join(d, "hf.db"), os.path.join(d, "public")))
        f.write(conf_text)
        for name, pub, kind, path in feeds:
            f.write("\n[feed %s]\nurl = file://%s\ntitle = %s\nkind = %s\n"
                    % (name, path, pub.replace("\n", " "), kind))
    p = subprocess.run([binary, "-q", "-c", conf, "fetch", "--all"],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit("helsefeed fetch failed in run %s (exit %d)" % (label, p.returncode))
    return sqlite3.connect(os.path.join(d, "hf.db"))


def stories(db):
    """Corpus URL -> stored item id, over primary and merged sources."""
    where = {}
    for item, link in db.execute("SELECT id, link FROM items"):
        where.setdefault(link, item)
    for item, link in db.execute("SELECT item_id, link FROM item_sources WHERE link IS NOT NULL"):
        where.setdefault(link, item)
    return where


def pairs(ids):
    return set(itertools.combinations(sorted(ids), 2))


def merge_figures(rows, db):
    where = stories(db)
    by_item = {}
    missing = [r["id"] for r in rows if r["url"] not in where]
    for r in rows:
        if r["url"] in where:
            by_item.setdefault(where[r["url"]], []).append(r["id"])
    merged = set()
    for ids in by_item.values():
        merged |= pairs(ids)
    groups = {}
    for r in rows:
        if r.get("story"):
            groups.setdefault(r["story"], []).append(r["id"])
    gold = set()
    for ids in groups.values():
        gold |= pairs(ids)
    hit = merged & gold
    false = sorted(merged - gold)
    return {"items": len(rows), "groups": len(groups), "pairs": len(gold),
            "merged": len(hit),
            "recall": round(len(hit) / len(gold), 3) if gold else None,
            "false_merges": len(false), "false_pairs": false[:20],
            "missed_pairs": sorted(gold - merged)[:40], "not_stored": missing}


def category_figures(rows, db):
    where = stories(db)
    got = {}
    for item, cat in db.execute("SELECT DISTINCT item_id, category FROM item_categories"):
        got.setdefault(item, set()).add(cat)
    out = {}
    for subset, sel in (("all", lambda r: True), ("nn", lambda r: r["lang"] == "nn")):
        figs = {}
        for c in CATEGORIES:
            tp = fp = fn = 0
            for r in rows:
                if not sel(r):
                    continue
                pred = c in got.get(where.get(r["url"]), set())
                gold = c in r["categories"]
                tp += pred and gold
                fp += pred and not gold
                fn += gold and not pred
            figs[c] = {"precision": round(tp / (tp + fp), 3) if tp + fp else None,
                       "recall": round(tp / (tp + fn), 3) if tp + fn else None,
                       "tp": tp, "fp": fp, "fn": fn}
        out[subset] = figs
    return out


def noon(r, i):
    d = datetime.date.fromisoformat(r["date"])
    return datetime.datetime(d.year, d.month, d.day, 12, 0, tzinfo=OSLO)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--part", default="test", choices=("test", "dev", "all"))
    ap.add_argument("--conf", default=os.path.join(SRC, "feeds.conf"))
    ap.add_argument("--json")
    ap.add_argument("--workdir")
    a = ap.parse_args()
    rows = load(a.part)
    everything = load("all")
    cats = category_sections(a.conf)
    work = a.workdir or tempfile.mkdtemp(prefix="hf-corpus-")
    one_day = datetime.datetime(2024, 6, 4, 12, 0, tzinfo=OSLO)
    apart = datetime.datetime(2000, 1, 1, 12, 0, tzinfo=OSLO)

    res = {"part": a.part}
    db = run(a.binary, cats, rows, noon, work, "dates")
    res["same_story"] = merge_figures(rows, db)
    db = run(a.binary, cats, everything, lambda r, i: one_day, work, "one-day")
    worst = merge_figures(everything, db)
    res["worst_case"] = {"items": worst["items"], "false_merges": worst["false_merges"],
                         "false_pairs": worst["false_pairs"]}
    db = run(a.binary, cats, rows, lambda r, i: apart + datetime.timedelta(days=i), work, "apart")
    res["categories"] = category_figures(rows, db)

    s = res["same_story"]
    print("corpus %s part: %d items, %d same-story groups, %d same-story pairs"
          % (a.part, s["items"], s["groups"], s["pairs"]))
    print("same story: %d of %d pairs merged (recall %s), %d false merges"
          % (s["merged"], s["pairs"], s["recall"], s["false_merges"]))
    print("worst case (all %d items of the corpus on one day): %d false merges"
          % (res["worst_case"]["items"], res["worst_case"]["false_merges"]))
    for subset in ("all", "nn"):
        for c in CATEGORIES:
            f = res["categories"][subset][c]
            print("category %-9s %-3s precision %-5s recall %-5s (tp %d, fp %d, fn %d)"
                  % (c, subset, f["precision"], f["recall"], f["tp"], f["fp"], f["fn"]))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(res, f, ensure_ascii=False, indent=1)
    if not a.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
