#!/usr/bin/python3
"""`helsefeed parse` against the expected output of odd but honest feeds.

Every tests/data/feeds/NAME.json is the whole JSON that `helsefeed parse`
must print for NAME.xml when the feed is read as a file:// feed (its own
path as the base URL, as a feed configured with a file:// URL is).  The
JSON files are written by hand from what the feed means, not from what
the parser prints: a difference fails the test with the entry and field.
"""
import json
import os
import subprocess
import sys

HELSEFEED = os.environ.get("HELSEFEED")
SRC = os.environ.get("HF_SRC", os.path.join(os.path.dirname(__file__), ".."))
FEEDS = os.path.join(SRC, "tests", "data", "feeds")
if not HELSEFEED or not os.access(HELSEFEED, os.X_OK):
    print("HELSEFEED is not set to the binary", file=sys.stderr)
    sys.exit(77)


def differences(path, want, got):
    out = []
    for key in sorted(set(want) | set(got)):
        if key == "entries":
            continue
        if want.get(key) != got.get(key):
            out.append(f"{path}: feed {key}: want {want.get(key)!r}, got {got.get(key)!r}")
    we, ge = want.get("entries", []), got.get("entries", [])
    if len(we) != len(ge):
        out.append(f"{path}: {len(ge)} entries, want {len(we)}")
    for i, (a, b) in enumerate(zip(we, ge)):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                out.append(f"{path}: entry {i} {key}: want {a.get(key)!r}, got {b.get(key)!r}")
    return out


def main():
    names = sorted(n[:-5] for n in os.listdir(FEEDS) if n.endswith(".json"))
    if not names:
        print("no expected JSON in tests/data/feeds", file=sys.stderr)
        return 1
    failures = []
    for name in names:
        xml = os.path.join(FEEDS, name + ".xml")
        if not os.path.exists(xml):
            failures.append(f"{name}.json: no {name}.xml beside it")
            continue
        base = "file://" + os.path.abspath(xml)
        p = subprocess.run([HELSEFEED, "parse", xml, "--base", base],
                           capture_output=True, timeout=60)
        if p.returncode != 0:
            failures.append(f"{name}.xml: helsefeed parse exited {p.returncode}: "
                            f"{p.stderr.decode('utf-8', 'replace').strip()}")
            continue
        got = json.loads(p.stdout.decode("utf-8"))
        with open(os.path.join(FEEDS, name + ".json"), encoding="utf-8") as f:
            want = json.load(f)
        failures += differences(name + ".xml", want, got)
    print(f"compared {len(names)} feeds with their expected JSON")
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
