"""it_classify - `helsefeed classify [--explain] ITEM-ID` on the offline
sample: what the rules say now, the categories stored with their
origins, the sources; and the errors of a wrong id or a database of
another schema version, which the read-only command never upgrades.
"""
import os
import sqlite3
import subprocess

from itlib import BIN, FAILS, check, copy_sample, run_main

TMP = os.environ["HF_TMP"]


def run(*args):
    return subprocess.run((BIN,) + args, capture_output=True, text=True,
                          timeout=120)


def main():
    if not BIN or not os.access(BIN, os.X_OK):
        print("no binary in $HELSEFEED")
        return 77
    conf = copy_sample(TMP)
    ex = os.path.dirname(conf)
    r = run("-c", conf, "fetch", "--all")
    if not check(r.returncode == 0, "fetch --all: exit %d: %s" %
                 (r.returncode, r.stderr)):
        return 1
    dbpath = os.path.join(ex, "out", "helsefeed.db")
    db = sqlite3.connect(dbpath)

    # An item with categories from the rules: the stored ones are listed
    # with their origins, the rules' verdict names the same categories.
    # detail: the item's "name/origin" pairs, sorted, joined by spaces.
    row = db.execute("SELECT i.id, (SELECT group_concat(x, ' ') FROM"
                     " (SELECT category || '/' || origin AS x"
                     " FROM item_categories WHERE item_id = i.id"
                     " ORDER BY category, origin)), f.name FROM items i"
                     " JOIN feeds f ON f.id = i.feed_id"
                     " WHERE EXISTS (SELECT 1 FROM item_categories c"
                     " WHERE c.item_id = i.id AND c.origin = 'rule')"
                     " ORDER BY i.id LIMIT 1").fetchone()
    if not check(row is not None, "the sample has an item categorised by rules"):
        return 1
    item, detail, feed = row
    r = run("-c", conf, "classify", "--explain", str(item))
    check(r.returncode == 0, "classify --explain %d: exit %d: %s" %
          (item, r.returncode, r.stderr))
    out = r.stdout
    check(out.startswith("item %d: " % item), "first line names the item: %r" % out[:80])
    lines = out.splitlines()
    rules = [l for l in lines if l.startswith("rules:")]
    ruled = sorted(t.split("/")[0] for t in detail.split() if t.endswith("/rule"))
    check(len(rules) == 1 and sorted(rules[0].split()[1:]) == ruled,
          "rules line %r names the rule categories %r" % (rules, ruled))
    stored = lines[lines.index("stored categories:") + 1:lines.index("sources:")]
    want = ["  %s %s" % tuple(t.split("/")) for t in detail.split()]
    check(stored == want, "stored categories %r, want %r" % (stored, want))
    sources = lines[lines.index("sources:") + 1:]
    check(len(sources) >= 1 and sources[0].split()[:2] == [feed, "primary"],
          "the primary source first: %r" % sources)
    nmerged = db.execute("SELECT count(*) FROM item_sources WHERE item_id = ?",
                         (item,)).fetchone()[0]
    check(len(sources) == 1 + nmerged and
          all(s.split()[1] == "merged" for s in sources[1:]),
          "one line per merged source: %r" % sources)
    # --explain shows which rule matched which words; without it, not.
    for c in ruled:
        check(any(l.startswith(c + ": ") and "\u2190 '" in l for l in lines),
              "explain: a line of %s's matched words in %r" % (c, out))
    r = run("-c", conf, "classify", str(item))
    plain = [l for l in lines if "\u2190" not in l]
    if any(l.startswith("same story: ") for l in plain):
        plain = plain[:[l.startswith("same story: ") for l in plain].index(True)]
    check(r.returncode == 0 and "\u2190" not in r.stdout and
          r.stdout.splitlines() == plain,
          "without --explain, the same without the matches: %r" % r.stdout)

    # Why a story was merged: per merged source, the link or the rule
    # with its scores and the headline words both have.
    merged = db.execute("SELECT s.item_id, f.name, s.link, i.link FROM item_sources s"
                        " JOIN feeds f ON f.id = s.feed_id JOIN items i"
                        " ON i.id = s.item_id ORDER BY s.item_id").fetchall()
    check(len(merged) >= 2, "the sample has merged stories: %r" % merged)
    kinds = set()
    for mid, mfeed, mlink, plink in merged:
        r = run("-c", conf, "classify", "--explain", str(mid))
        out = r.stdout.splitlines()
        heads = [i for i, l in enumerate(out) if l.startswith("same story: %s with " % mfeed)]
        if not check(r.returncode == 0 and len(heads) == 1,
                     "explain %d: a same-story line for %s: %r" % (mid, mfeed, r.stdout)):
            continue
        why = out[heads[0] + 1]
        if why == "  the same link":
            kinds.add("link")
            check(mlink.split("?")[0] == plink.split("?")[0],
                  "item %d: 'the same link' for %s and %s" % (mid, mlink, plink))
        else:
            kinds.add("rule")
            check(why.startswith("  rule ") and not why.startswith("  rule none") and
                  "title " in why,
                  "item %d: the rule and its scores: %r" % (mid, why))
            shared = out[heads[0] + 2]
            check(shared.startswith("  shared: ") and " = " in shared and
                  ("(same word)" in shared or "(lemma)" in shared),
                  "item %d: the shared headline words: %r" % (mid, shared))
    check(kinds == {"link", "rule"}, "merges by link and by rule explained: %r" % kinds)
    r = run("-c", conf, "classify", str(merged[0][0]))
    check("same story:" not in r.stdout, "without --explain, no merge explanation")

    # An item without categories says so.
    row = db.execute("SELECT id FROM items WHERE id NOT IN"
                     " (SELECT item_id FROM item_categories) LIMIT 1").fetchone()
    if row:
        r = run("-c", conf, "classify", str(row[0]))
        check(r.returncode == 0 and "stored categories:\nsources:" in r.stdout,
              "no stored categories: %r" % r.stdout)

    # No such item: exit 1 and a message that names the database.
    r = run("-c", conf, "classify", "999999")
    check(r.returncode == 1 and "no item 999999" in r.stderr and dbpath in r.stderr,
          "unknown id: exit %d, %r" % (r.returncode, r.stderr))
    r = run("-c", conf, "classify", "x1")
    check(r.returncode == 2, "a bad id is a usage error, got %d" % r.returncode)

    # A database of another schema version is reported, not upgraded.
    db.execute("PRAGMA user_version = 5")
    db.commit()
    r = run("-c", conf, "classify", str(item))
    check(r.returncode == 1 and "schema version 5" in r.stderr,
          "old schema: exit %d, %r" % (r.returncode, r.stderr))
    check(db.execute("PRAGMA user_version").fetchone()[0] == 5,
          "classify left the old schema alone")
    # Nor is one that `fetch` would upgrade: no upgrade, no copy.
    db.execute("PRAGMA user_version = 8")
    db.commit()
    r = run("-c", conf, "classify", str(item))
    check(r.returncode == 1 and "schema version 8" in r.stderr and
          "upgrades it" in r.stderr,
          "schema 8: exit %d, %r" % (r.returncode, r.stderr))
    check(db.execute("PRAGMA user_version").fetchone()[0] == 8 and
          not os.path.exists(dbpath + ".bak-v8"),
          "classify neither upgraded nor copied the database")
    db.close()
    return 1 if FAILS else 0


if __name__ == "__main__":
    run_main(main)
