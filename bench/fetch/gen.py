#!/usr/bin/python3
"""Write N RSS 2.0 feeds of M items each into DIR/www/feeds/, plus the
helsefeed configuration (DIR/feeds.conf) and a newsboat urls file
(DIR/urls) that list them at http://127.0.0.1:PORT/feeds/.

    gen.py DIR PORT [N [M]]

Items look like the sector's news: Norwegian titles (bokmål and nynorsk),
a link, a guid, a date and a paragraph of description.  Their words
(VOCAB in the environment):

- corpus (the default): drawn from the words of the real headlines and
  leads of tests/data/corpus/, as often as they occur there, so that the
  vocabulary is the sector's, common words common and rare ones rare;
- syllables: invented words of two to four Norwegian syllables, almost
  every one of them new (the benchmark's text before 2026-12-07: a
  worst case for anything that looks words up or indexes them).

Either way every item is a draw of its own, so deduplication merges
nothing: this is a benchmark of the fetch path, not of the dedup rules.
"""
import glob
import json
import os
import random
import re
import sys

WORDS = ("sykehus sjukehus kommunene kommunar helse omsorg tenester tjenester "
         "fastlege legevakt vaksine korona beredskap pasient rusomsorg psykisk "
         "helsedirektoratet folkehelseinstituttet regjeringen tilskudd "
         "spesialisthelsetjenesten Bodø Tromsø Ålesund Førde").split()


# Synthetic words from Norwegian-looking syllables: every item gets its
# own text, so deduplication finds no near-duplicates (a benchmark of the
# fetch path, not of the dedup rules).
SYL = ("hel se sju ke hus kom mu ne om sorg tje nes te fast le ge vakt vak sin "
       "pa si ent rus psy kisk til skudd bo dø trom sø åle sund før de bered skap "
       "spe si a list fyl ke råd ar beid plan stat lov for skrift").split()


def corpus_words():
    here = os.path.dirname(os.path.abspath(__file__))
    counts = {}
    for path in sorted(glob.glob(os.path.join(here, "../../tests/data/corpus/*.jsonl"))):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                for w in re.findall(r"[\w-]+", (r.get("title") or "") + " " + (r.get("lead") or "")):
                    counts[w] = counts.get(w, 0) + 1
    if not counts:
        sys.exit("gen.py: no corpus under tests/data/corpus/ (VOCAB=syllables needs none)")
    words = sorted(counts)
    return words, [counts[w] for w in words]


VOCAB = os.environ.get("VOCAB", "corpus")
if VOCAB == "corpus":
    CWORDS, CWEIGHTS = corpus_words()
elif VOCAB != "syllables":
    sys.exit("gen.py: VOCAB is corpus or syllables")


def text(seed, n):
    r = random.Random(seed)
    if VOCAB == "corpus":
        return " ".join(r.choices(CWORDS, CWEIGHTS, k=n))
    return " ".join(WORDS[r.randrange(len(WORDS))] if r.random() < 0.2 else
                    "".join(r.choice(SYL) for _ in range(r.randint(2, 4)))
                    for _ in range(n))


def feed(f, m):
    items = []
    for i in range(m):
        s = f * 1000 + i
        items.append(
            "<item><title>%s</title><link>https://www.example.no/f%d/nyhet-%d</link>"
            "<guid isPermaLink=\"false\">f%d-i%d</guid>"
            "<pubDate>Mon, %02d May 2022 %02d:%02d:00 +0200</pubDate>"
            "<category>%s</category>"
            "<description>&lt;p&gt;%s&lt;/p&gt;</description></item>"
            % (text(2 * s, 8).capitalize(), f, i, f, i, 1 + i % 28, i % 24, i % 60,
               WORDS[s % len(WORDS)], text(2 * s + 1, 60)))
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>"
            "<title>Kjelde %d</title><link>https://www.example.no/f%d/</link>"
            "<description>Nyheiter</description>%s</channel></rss>\n"
            % (f, f, "".join(items)))


def main():
    out, port = sys.argv[1], int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    m = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    www = os.path.join(out, "www", "feeds")
    os.makedirs(www, exist_ok=True)
    conf = ["[helsefeed]", "database = state/helsefeed.db", "output = public",
            "base_url = http://helsenytt.example.no/", "title = Bench",
            "interval = 1h", "max_connections = 16", "max_per_host = 16", ""]
    urls = []
    for f in range(n):
        name = "f%04d" % f
        with open(os.path.join(www, name + ".xml"), "w") as fh:
            fh.write(feed(f, m))
        url = "http://127.0.0.1:%d/feeds/%s.xml" % (port, name)
        conf += ["[feed %s]" % name, "url = " + url, ""]
        urls.append(url)
    with open(os.path.join(out, "feeds.conf"), "w") as fh:
        fh.write("\n".join(conf))
    with open(os.path.join(out, "urls"), "w") as fh:
        fh.write("\n".join(urls) + "\n")


if __name__ == "__main__":
    main()
