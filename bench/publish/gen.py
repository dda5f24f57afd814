#!/usr/bin/env python3
"""Fill a helsefeed database with synthetic items for the publish benchmark.

    gen.py DB NITEMS

DB must already hold the schema (`helsefeed publish` on an empty database
creates it).  Writes 12 feeds of every kind and NITEMS items spread over
ten years; categories: hospitals on 30 % of the items, covid on 10 %,
municipal on 0.5 % (a sparse one); one item in twenty carried by a second
feed.  Content is a few hundred bytes of HTML, as in the real feeds.
"""
import random
import sqlite3
import sys

db, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(4287)
con = sqlite3.connect(db, isolation_level=None)
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA synchronous=OFF")
kinds = ["ministry", "directorate", "directorate", "hospital", "hospital",
         "hospital", "hospital", "municipal", "municipal", "other", "other",
         "directorate"]
feeds = []
for i, k in enumerate(kinds):
    name = "feed%02d" % i
    con.execute("INSERT OR IGNORE INTO feeds (name, url, kind, title, last_success)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, "https://kilde%02d.example.no/rss" % i, k,
                 "Kilde %d" % i, 1712743200))
    feeds.append(con.execute("SELECT id FROM feeds WHERE name = ?",
                             (name,)).fetchone()[0])

T0 = 1712743200
SPAN = 10 * 365 * 86400
body = ("<p>Helse- og omsorgsdepartementet har i dag lagt fram en ny plan for "
        "sykehusene og kommunene. Planen gjelder fra 1. januar og omfatter "
        "ventetider, fastleger og legevakt.</p><p>Les mer på nettsidene.</p>")


def rows():
    for i in range(1, n + 1):
        f = feeds[i % len(feeds)]
        t = T0 - rnd.randrange(SPAN)
        pub = None if i % 200 == 0 else t   # 0.5 % undated
        key = "https://kilde.example.no/sak/%d" % i
        yield (i, f, key, i * 2654435761 % (1 << 62), key,
               "Sak nummer %d om sykehus og kommuner" % i, key, key, pub, None,
               None, "Sammendrag av sak %d" % i, body, t, t)


con.execute("BEGIN")
con.executemany(
    "INSERT INTO items (id, feed_id, key, raw_hash, guid, title, link,"
    " canon_url, published, updated, author, summary, content, first_seen,"
    " last_changed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows())
# The item is its own primary source (schema step 7); item_sources holds
# the merged ones.
con.executemany(
    "INSERT INTO item_sources (item_id, feed_id, key, raw_hash, link,"
    " first_seen) VALUES (?, ?, ?, 0, ?, 0)",
    ((i, feeds[(i + 1) % len(feeds)], "copy/%d" % i,
      "https://kopi.example.no/%d" % i) for i in range(20, n + 1, 20)))


# Categories, a row per item, category and origin (item_categories):
# hospitals; covid and hospitals; covid, hospitals and municipal.
sets = [["hospitals"], ["covid", "hospitals"],
        ["covid", "hospitals", "municipal"]]


def cats():
    for i in range(1, n + 1):
        r = rnd.random()
        k = 2 if r < 0.005 else 1 if r < 0.10 else 0 if r < 0.30 else None
        if k is not None:
            for c in sets[k]:
                yield (i, c)


con.executemany("INSERT INTO item_categories (item_id, category, origin)"
                " VALUES (?, ?, 'rule')", cats())
con.execute("COMMIT")
# Leave no WAL behind: the first publish must not pay for our checkpoint.
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
con.close()
