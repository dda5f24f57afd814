"""it_metrics - the service's metrics_file and keep, with `run --once` on
the offline sample: the file is the Prometheus text format (checked line
by line against the exposition format's grammar) with every feed's up,
last success, failures and items and the cycle's figures; keep = 3y
prunes, at the end of the pass, the items that are older and were first
seen longer ago, and no other.
"""
import os
import re
import sqlite3
import subprocess

from itlib import BIN, FAILS, check, copy_sample, run_main

TMP = os.environ["HF_TMP"]
SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})? -?[0-9.e+]+$')


def run(*args):
    return subprocess.run((BIN,) + args, capture_output=True, text=True,
                          timeout=300)


def main():
    if not BIN or not os.access(BIN, os.X_OK):
        print("no binary in $HELSEFEED")
        return 77
    conf = copy_sample(TMP)
    ex = os.path.dirname(conf)
    metrics = os.path.join(ex, "out", "metrics", "helsefeed.prom")
    os.makedirs(os.path.dirname(metrics))
    text = open(conf, encoding="utf-8").read().replace(
        "allow_file_urls = yes", "allow_file_urls = yes\nmetrics_file = out/metrics/"
        "helsefeed.prom\nkeep = 3y", 1)
    open(conf, "w", encoding="utf-8").write(text)
    r = run("-c", conf, "check")
    check(r.returncode == 0, "check accepts metrics_file and keep: %s" % r.stderr)

    r = run("-c", conf, "run", "--once")
    check(r.returncode == 0, "run --once: %d %s" % (r.returncode, r.stderr[-500:]))
    if not check(os.path.exists(metrics), "metrics_file written"):
        return 1
    lines = open(metrics, encoding="utf-8").read().splitlines()
    for line in lines:
        if line.startswith("#"):
            check(re.match(r"^# (HELP|TYPE) [a-z_]+ .+$", line), "comment: " + line)
        else:
            check(SAMPLE.match(line), "sample line: " + line)
    values = {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1])
              for l in lines if not l.startswith("#")}
    check(values.get('helsefeed_feed_up{feed="fhi"}') == 1, "fhi is up")
    check(values.get('helsefeed_feed_up{feed="dmp"}') == 0, "dmp (a HTML page) is down")
    check(values.get('helsefeed_feed_failures{feed="dmp"}') == 1, "dmp failed once")
    check(values.get('helsefeed_feed_items{feed="fhi"}') == 3, "fhi carried 3")
    check(values.get('helsefeed_feed_last_success_timestamp_seconds{feed="fhi"}', 0)
          > 1.7e9, "last success is a time")
    for name in ("helsefeed_digests_sent_total", "helsefeed_digests_failed_total",
                 "helsefeed_cycle_duration_seconds", "helsefeed_publish_duration_seconds",
                 "helsefeed_last_cycle_timestamp_seconds"):
        check(name in values, name + " present")
    check("# TYPE helsefeed_digests_sent_total counter" in lines, "counters typed")
    leftovers = [f for f in os.listdir(os.path.dirname(metrics)) if f.startswith(".")]
    check(not leftovers, "no temporary file left: %r" % leftovers)

    # keep = 3y: the 2022 items were first seen just now, so they stay.
    db = sqlite3.connect(os.path.join(ex, "out", "helsefeed.db"))
    old = db.execute("SELECT count(*) FROM items WHERE published < "
                     "strftime('%s', 'now', '-3 years')").fetchone()[0]
    total = db.execute("SELECT count(*) FROM items").fetchone()[0]
    check(old >= 2, "the sample has items older than 3 years: %d" % old)
    # As if they had been here since they were published.
    db.execute("UPDATE items SET first_seen = published WHERE published < "
               "strftime('%s', 'now', '-3 years')")
    db.commit()
    r = run("-c", conf, "run", "--once")
    check(r.returncode == 0, "second run --once: %s" % r.stderr[-300:])
    check("pruned %d items older than keep" % old in r.stderr,
          "the prune is logged: %s" % r.stderr[-600:])
    left = db.execute("SELECT count(*) FROM items").fetchone()[0]
    check(left == total - old, "%d items left, want %d" % (left, total - old))
    return 1 if FAILS else 0


if __name__ == "__main__":
    run_main(main)
