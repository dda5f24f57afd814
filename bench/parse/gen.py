#!/usr/bin/python3
"""Write a large RSS 2.0 and a large Atom 1.0 file for the parse benchmark.

usage: gen.py OUTDIR [MEGABYTES]   (default 40 MB each)

Norwegian text in bokmål and nynorsk, descriptions as HTML in CDATA and as
escaped HTML, realistic dates, guids, categories and enclosures.
Deterministic: the same arguments give the same bytes.
"""
import os
import random
import sys

WORDS = ("helse omsorg sykehus sjukehus kommunene kommunar pasienter pårørende "
         "behandling helseforetak regionale spesialisthelsetjenesten fastlege "
         "legevakt sykehjem sjukeheim smittevern covid-19 vaksine forskrift "
         "tilskudd tilskot rammevilkår ventetider samhandling folkehelse "
         "helsepersonell sykepleiere jordmødre psykisk rus eldreomsorg "
         "departementet direktoratet regjeringen Stortinget budsjett milliarder "
         "kroner tiltak råd befolkningen tilsyn kvalitet pasientsikkerhet "
         "nasjonal plan 2024–2027 rødt nivå «koronasituasjonen» nærområdene "
         "økt livskvalitet Tromsø Bodø Ålesund Førde Kirkenes").split()
CATS = ["Sykehus", "Kommunale helse- og omsorgstjenester", "Covid-19",
        "Folkehelse", "Legemidler", "Psykisk helse", "Eldreomsorg"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def sentence(r, n):
    s = " ".join(r.choice(WORDS) for _ in range(n))
    return s[0].upper() + s[1:] + "."


def html_body(r):
    parts = []
    for _ in range(r.randint(2, 5)):
        parts.append("<p>%s <strong>%s</strong> %s <a href=\"/no/aktuelt/id%d/\">les mer</a></p>"
                     % (sentence(r, 12), r.choice(WORDS), sentence(r, 18), r.randint(1000, 999999)))
    return "".join(parts)


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def rss(path, size, r):
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/" '
                'xmlns:content="http://purl.org/rss/1.0/modules/content/">\n<channel>\n'
                '<title>Helse- og omsorgsdepartementet</title>\n'
                '<link>https://www.regjeringen.no/no/dep/hod/id421/</link>\n'
                '<description>Nyheter</description>\n')
        i = 0
        while f.tell() < size:
            i += 1
            body = html_body(r)
            desc = "<![CDATA[%s]]>" % body if i % 2 else esc(body)
            f.write("<item>\n<title>%s</title>\n<link>https://www.regjeringen.no/no/aktuelt/sak-%d/id%d/</link>\n"
                    "<description>%s</description>\n<guid isPermaLink=\"false\">%d</guid>\n"
                    "<pubDate>%s, %02d %s %d %02d:%02d:00 +0200</pubDate>\n"
                    "<category>%s</category>\n<dc:creator>Helse- og omsorgsdepartementet</dc:creator>\n"
                    "%s</item>\n"
                    % (esc(sentence(r, 8)), i, 2900000 + i, desc, 2900000 + i,
                       DAYS[i % 7], i % 28 + 1, MONTHS[i % 12], 2015 + i % 10, i % 24, i % 60,
                       r.choice(CATS),
                       '<content:encoded><![CDATA[%s]]></content:encoded>\n' % html_body(r) if i % 5 == 0 else ""))
        f.write("</channel>\n</rss>\n")


def atom(path, size, r):
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
                '<title>Helsedirektoratet</title>\n<link href="https://www.helsedirektoratet.no/"/>\n'
                '<id>tag:helsedirektoratet.no,2024:feed</id>\n<updated>2024-04-10T12:00:00Z</updated>\n')
        i = 0
        while f.tell() < size:
            i += 1
            f.write("<entry>\n<id>tag:helsedirektoratet.no,2024:%d</id>\n<title>%s</title>\n"
                    "<link rel=\"alternate\" type=\"text/html\" href=\"https://www.helsedirektoratet.no/nyheter/%d\"/>\n"
                    "<published>%d-%02d-%02dT%02d:%02d:00+02:00</published>\n<updated>%d-%02d-%02dT%02d:%02d:00Z</updated>\n"
                    "<author><name>Helsedirektoratet</name></author>\n<summary>%s</summary>\n"
                    "<content type=\"html\">%s</content>\n<category term=\"%s\"/>\n</entry>\n"
                    % (i, esc(sentence(r, 8)), i, 2015 + i % 10, i % 12 + 1, i % 28 + 1, i % 24, i % 60,
                       2016 + i % 9, i % 12 + 1, i % 28 + 1, i % 24, i % 60,
                       esc(sentence(r, 20)), esc(html_body(r)), esc(r.choice(CATS))))
        f.write("</feed>\n")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    size = int(float(sys.argv[2]) * 1024 * 1024) if len(sys.argv) > 2 else 40 * 1024 * 1024
    os.makedirs(out, exist_ok=True)
    rss(os.path.join(out, "big.rss"), size, random.Random(1))
    atom(os.path.join(out, "big.atom"), size, random.Random(2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
