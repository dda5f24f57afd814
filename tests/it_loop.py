"""`helsefeed run` is one loop: a slow feed holds up nothing but itself.

Against tests/httpd.py on 127.0.0.1, three feeds: `slow`, whose server
trickles the body over TRICKLE_S seconds (about 170 bytes/s, above the
configured low_speed_limit of 100 bytes/s, inside `timeout`), `fast`
(/changing: three new items on every request) and `static` (a file, 304
after the first fetch).  While the slow transfer runs:

  - ROUNDS times SIGUSR1: each time the fast feeds are fetched again at
    once, and their new items are published (log lines and all.atom),
    all before the slow transfer ends; the slow feed, in flight, is
    never requested a second time;
  - the systemd watchdog is pinged all along (when built with libsystemd:
    WATCHDOG_USEC of one second wants a ping every half second).
Then the slow document completes and is stored and published.  SIGUSR1
starts it again, and SIGTERM during that transfer must end the daemon
with exit 0 within STOP_BOUND_S (DAEMON_STOP_GRACE_S plus a margin), the
transfer aborted and not recorded; afterwards PRAGMA integrity_check is
ok, the fast feeds' items are all in the database and the slow feed has
exactly one fetch record, its successful one.

The assertions use log lines, the server's request counts and the
published file; time appears only in the bounds (STOP_BOUND_S, WAIT).
"""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import json
import urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from itlib import BIN, FAILS, NO_SERVERS, NO_SERVERS_SKIP, Notify, SRC, WAIT, check, have_systemd, read, run_main, serve_sample, start_daemon, titles, wait_for  # noqa: E402

TMP = os.environ.get("HF_TMP") or "/tmp/hf-it-loop"
TRICKLE_S = 30      # the slow feed's transfer
ROUNDS = 3          # SIGUSR1 rounds of the fast feeds during it
STOP_BOUND_S = 15   # SIGTERM to exit: DAEMON_STOP_GRACE_S (5) and a margin
SLOW = "/trickle/%d/hod.rss" % TRICKLE_S


def conf_text(port):
    with open(os.path.join(SRC, "examples", "helsefeed.conf"), encoding="utf-8") as f:
        text = f.read()
    head = text[: text.index("[feed ")]
    head = head.replace("interval  = 15m", "interval  = 1m\nlow_speed_limit = 100\n"
                        "low_speed_time = 20s\ntimeout = 60s")
    head = head.replace("allow_file_urls = yes", "allow_file_urls = no")
    base = "http://127.0.0.1:%d" % port
    return (head + "[feed slow]\nurl = %s%s\nkind = ministry\n\n"
            "[feed fast]\nurl = %s/changing?f=fast\nkind = other\n\n"
            "[feed static]\nurl = %s/feeds/fhi.rss\nkind = directorate\n\n"
            % (base, SLOW, base, base))


def main():
    if not BIN or not os.path.exists(BIN):
        print("skip: $HELSEFEED is not set")
        return 77
    if NO_SERVERS:
        print(NO_SERVERS_SKIP)
        return 77
    feeddir, port = serve_sample(TMP, 300)

    def served(key, path):
        with urllib.request.urlopen("http://127.0.0.1:%d/_stats" % port, timeout=10) as r:
            return json.load(r)[key].get(path, 0)

    conf = os.path.join(TMP, "feeds.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(conf_text(port))
    atom = os.path.join(TMP, "out", "public", "all.atom")
    db = os.path.join(TMP, "out", "helsefeed.db")
    logpath = os.path.join(TMP, "daemon.log")
    systemd = have_systemd()
    notify = Notify(os.path.join(TMP, "notify.sock"))
    d = start_daemon(conf, logpath, notify)
    log = lambda: read(logpath)  # noqa: E731

    def lines(pat):
        return re.findall(pat, log(), re.M)

    def slow_running():
        return served("count", SLOW) == 1 and served("done", SLOW) == 0 \
            and not lines(r"^info: feed slow: ")

    # --- the fast feeds go round while the slow one trickles -------------
    wait_for(lambda: served("count", SLOW) == 1, "the slow transfer to start")
    wait_for(lambda: len(lines(r"^info: feed fast: 200")) >= 1, "the first fetch of fast")
    # Each round must find static fetched before (a 304); on a loaded
    # machine its first fetch may come after fast's.
    wait_for(lambda: len(lines(r"^info: feed static: 200")) >= 1, "the first fetch of static")
    pings0 = notify.count("WATCHDOG=1")
    seen = set()
    for k in range(1, ROUNDS + 1):
        pubs = len(lines(r"^info: published "))
        fetched = len(lines(r"^info: feed fast: 200, 3 new"))
        d.send_signal(signal.SIGUSR1)
        wait_for(lambda: len(lines(r"^info: feed fast: 200, 3 new")) > fetched,
                 "round %d: fast fetched again" % k)
        wait_for(lambda: len(lines(r"^info: published ")) > pubs,
                 "round %d: a publish" % k)
        # The round's items are out: all.atom gained titles of /changing.
        wait_for(lambda: len({t for t in titles(atom) if t.startswith("Endring ")} - seen) > 0,
                 "round %d: new items in all.atom" % k)
        seen |= {t for t in titles(atom) if t.startswith("Endring ")}
        check(slow_running(), "round %d: the slow transfer ended (or restarted) before "
              "the fast feed's round was published:\n%s" % (k, log()))
    check(len(lines(r"^info: feed static: 304 not modified")) >= ROUNDS,
          "static was not fetched on every round:\n" + log())
    check(len(lines(r"^info: published ")) >= ROUNDS,
          "fewer than %d publishes during the slow transfer" % ROUNDS)
    if systemd:
        # Half a second apart for a second's WATCHDOG_USEC; a few rounds
        # take several seconds, so even a loaded machine shows some.
        check(notify.count("WATCHDOG=1") - pings0 >= 4,
              "watchdog pings during the slow transfer: %d"
              % (notify.count("WATCHDOG=1") - pings0))

    # --- the slow document completes within its bounds ------------------
    wait_for(lambda: lines(r"^info: feed slow: 200, \d+ new"), "the slow feed stored",
             timeout=TRICKLE_S + WAIT)
    check(served("count", SLOW) == 1, "the slow feed was requested %d times while in flight"
          % served("count", SLOW))
    r = subprocess.run([BIN, "parse", os.path.join(feeddir, "hod.rss")], capture_output=True,
                       text=True, timeout=WAIT)
    slow_titles = {e["title"] for e in json.loads(r.stdout)["entries"]}
    wait_for(lambda: slow_titles & set(titles(atom)), "the slow feed's items published")

    # --- SIGTERM during a slow transfer ------------------------------------
    d.send_signal(signal.SIGUSR1)
    wait_for(lambda: served("count", SLOW) == 2, "the slow transfer to start again")
    time.sleep(1.0)
    check(served("done", SLOW) == 1, "the second slow transfer ended early")
    t0 = time.monotonic()
    d.send_signal(signal.SIGTERM)
    try:
        rc = d.wait(STOP_BOUND_S)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.monotonic() - t0
    check(rc == 0, "SIGTERM during a slow transfer: exit %r after %.1f s, want 0 within %d s"
          % (rc, took, STOP_BOUND_S))
    print("SIGTERM to exit: %.1f s" % took, flush=True)
    if rc is None:
        d.kill()
        d.wait(30)
    check(re.search(r"^info: stopping: [1-9]\d* feeds in flight", log(), re.M),
          "no stopping line with feeds in flight:\n" + log())
    check(re.search(r"^info: feed slow: transfer aborted, not recorded$", log(), re.M),
          "the slow transfer was not aborted:\n" + log())
    check(re.search(r"^info: stopped after \d+ feeds fetched", log(), re.M), "no stopped line")
    notify.close()
    if systemd:
        check(notify.count("STOPPING=1") == 1, "STOPPING=1 sent %d times"
              % notify.count("STOPPING=1"))

    con = sqlite3.connect(db, timeout=30)
    try:
        check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok",
              "integrity_check after SIGTERM")
        stored = {t for (t,) in con.execute("SELECT title FROM items")}
        slow_fetches = con.execute(
            "SELECT count(*), sum(error IS NOT NULL) FROM fetches x JOIN feeds f"
            " ON f.id = x.feed_id WHERE f.name = 'slow'").fetchone()
        failures = con.execute("SELECT failures FROM feeds WHERE name = 'slow'").fetchone()[0]
    finally:
        con.close()
    check(seen and seen <= stored, "published items of the fast feed missing from the "
          "database: %r" % sorted(seen - stored))
    check(slow_fetches == (1, 0), "slow feed: want one fetch record, successful; got %r"
          % (slow_fetches,))
    check(failures == 0, "slow feed: the aborted transfer counted as a failure")
    for line in log().splitlines():
        check(re.match(r"^(error|warn|info|debug): ", line), "log line without level: %r" % line)
    check(not re.search(r"^(error|warn): ", log(), re.M), "errors or warnings:\n" + log())
    return 1 if FAILS else 0


if __name__ == "__main__":
    run_main(main)
