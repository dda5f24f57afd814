#!/usr/bin/python3
"""split.py - join the collected parts of the corpus and split them into
a dev part (for tuning) and a test part (frozen before any tuning).

    /usr/bin/python3 tests/corpus/split.py LINKS.tsv PART.jsonl...

The parts were collected side by side, so one story may have items in
several parts, and one page may have been collected twice:
  - a URL collected twice is kept once (its first item); the other ids
    become that item;
  - same-story groups are joined across parts where they share an item,
    and where LINKS.tsv (lines "ID<TAB>ID<TAB>why") says two items of
    different parts tell the same story;
  - a hard negative inside a joined group is dropped.
The unit of the split is the joined group (an item in no group is a
group of its own), so that a story is never half in each part; a group
goes to the test part when the first byte of SHA-256 of its smallest
item id is odd: about half, decided by nothing but the ids.  Writes
tests/data/corpus/dev.jsonl and test.jsonl.

The test part was frozen (committed before any tuning) when parts a to f
were all there was.  Parts collected later (g on) only add to the dev
part: a group with an item of theirs goes to dev, and their negatives
stay inside the dev part.  Such a group must not hold an item of the
frozen test part (the collector leaves out an item whose story may be a
test item's), and test.jsonl must come out byte for byte as it was:
otherwise nothing is written and the exit status is 1.
"""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "data", "corpus"))
KEYS = ("id", "url", "date", "publisher", "kind", "lang", "title", "lead",
        "categories", "story", "negatives", "note")
FROZEN = tuple("corpus-%s-" % c for c in "abcdef")


class Sets:
    def __init__(self):
        self.up = {}

    def find(self, x):
        self.up.setdefault(x, x)
        while self.up[x] != x:
            self.up[x] = self.up[self.up[x]]
            x = self.up[x]
        return x

    def join(self, a, b):
        a, b = self.find(a), self.find(b)
        if a != b:
            self.up[max(a, b)] = min(a, b)


def main(links, paths):
    rows, by_url, alias = [], {}, {}
    sets = Sets()
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                if r["story"]:
                    sets.join("story:" + r["story"], r["id"])
                if r["url"] in by_url:
                    first = by_url[r["url"]]
                    alias[r["id"]] = first["id"]
                    sets.join(first["id"], r["id"])
                    continue
                by_url[r["url"]] = r
                rows.append(r)
    with open(links, encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                a, b = line.split("\t")[:2]
                sets.join(a.strip(), b.strip())
    # A group is the set of kept items under one root.
    members = {}
    for r in rows:
        members.setdefault(sets.find(r["id"]), []).append(r)
    kept = {r["id"] for r in rows}
    parts = {"dev": [], "test": []}
    part_of = {}
    for root, items in members.items():
        first = min(r["id"] for r in items)
        late = [r["id"] for r in items if not r["id"].startswith(FROZEN)]
        old = [r["id"] for r in items if r["id"].startswith(FROZEN)]
        part = "test" if old and hashlib.sha256(min(old).encode()).digest()[0] & 1 else "dev"
        if late and part == "test":
            sys.exit("split.py: %s (collected after the freeze) tells the story of "
                     "test item %s; leave it out" % (", ".join(late), min(old)))
        for r in items:
            part_of[r["id"]] = part
    for root, items in members.items():
        first = min(r["id"] for r in items)
        story = ("s-" + first) if len(items) > 1 else None
        part = part_of[first]
        ids = {r["id"] for r in items}
        for r in items:
            neg = []
            for n in r["negatives"]:
                n = alias.get(n, n)
                if (n in kept and n not in ids and n not in neg and
                        (r["id"].startswith(FROZEN) and n.startswith(FROZEN) or
                         part_of[n] == part)):
                    neg.append(n)
            r["story"], r["negatives"] = story, neg
            parts[part].append({k: r.get(k) for k in KEYS} |
                               {k: v for k, v in r.items() if k not in KEYS})
    # Negatives both ways, after the aliasing.
    every = {r["id"]: r for items in parts.values() for r in items}
    for r in every.values():
        for n in r["negatives"]:
            if r["id"] not in every[n]["negatives"]:
                every[n]["negatives"].append(r["id"])
    text = {}
    for name, items in parts.items():
        items.sort(key=lambda r: r["id"])
        text[name] = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items)
    frozen = os.path.join(OUT, "test.jsonl")
    if os.path.exists(frozen):
        with open(frozen, encoding="utf-8") as f:
            if f.read() != text["test"]:
                sys.exit("split.py: the test part would change; it is frozen")
    for name, items in parts.items():
        with open(os.path.join(OUT, name + ".jsonl"), "w", encoding="utf-8") as f:
            f.write(text[name])
        groups = {r["story"] for r in items if r["story"]}
        negs = sum(len(r["negatives"]) for r in items) // 2
        print("%s: %d items (%d nynorsk), %d same-story groups, %d hard-negative links"
              % (name, len(items), sum(r["lang"] == "nn" for r in items), len(groups), negs))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
