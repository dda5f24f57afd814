#!/usr/bin/python3
"""Soak benchmark driver: `helsefeed run` against N changing loopback feeds.

    soak.py HELSEFEED [--duration S] [--feeds N] [--interval 1m] [--dir DIR]

Starts server.py (127.0.0.1, bounded lifetime), writes a configuration of
N feeds at `interval`, runs `helsefeed run` for `duration` seconds, samples
the daemon every --sample seconds (VmRSS, open fds, utime+stime) and again
whenever a `published ...` line appears on its stderr.  The daemon has no
cycles: the first pass ends with the log line of the N-th distinct feed;
CPU is reported per feed fetch after it (fetch attempts counted from the
fetches table between two samples).  At the end: SIGTERM (the time to exit
is reported), then a report from the samples, the log and the fetches
table (per-feed gaps between fetch attempts against the interval +10 %
jitter bound).  Everything is written to DIR (report.txt, samples.tsv,
publishes.tsv, daemon.log); the report is also printed.
"""
import argparse
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TICK = os.sysconf("SC_CLK_TCK")


def proc_sample(pid):
    """(rss_kib, nfds, cpu_s) of pid, or None once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            rss = int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))
        nfds = len(os.listdir("/proc/%d/fd" % pid))
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICK   # utime, stime (14, 15)
        return rss, nfds, cpu
    except (OSError, AttributeError, IndexError):
        return None


def kids_pss(pid):
    """PSS in KiB of the processes below pid (the parser host, its watchers
    and parser children): what the daemon's memory leaves out."""
    ppid = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open("/proc/%s/stat" % e) as f:
                    st = f.read().rsplit(")", 1)[1].split()
                if st[0] != "Z":
                    ppid[int(e)] = int(st[1])
            except (OSError, IndexError):
                pass
    below, todo = [], [pid]
    while todo:
        q = todo.pop()
        for c, pp in ppid.items():
            if pp == q:
                below.append(c)
                todo.append(c)
    total = 0
    for c in below:
        try:
            with open("/proc/%d/smaps_rollup" % c) as f:
                total += int(re.search(r"^Pss:\s+(\d+)", f.read(), re.M).group(1))
        except (OSError, AttributeError):
            pass
    return total


def parse_dur(s):
    m = re.fullmatch(r"(\d+)([smh]?)", s)
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("helsefeed")
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--interval", default="1m")
    ap.add_argument("--sample", type=float, default=10)
    ap.add_argument("--p-new", type=float, default=0.5)
    ap.add_argument("--burst", type=int, default=1)
    ap.add_argument("--dir")
    a = ap.parse_args()
    interval = parse_dur(a.interval)
    d = a.dir or tempfile.mkdtemp(prefix="hf-soak.")
    os.makedirs(d, exist_ok=True)

    srv = subprocess.Popen([sys.executable, os.path.join(HERE, "server.py"),
                            "--feeds", str(a.feeds), "--p-new", str(a.p_new),
                            "--burst", str(a.burst),
                            "--lifetime", str(a.duration + 180)],
                           stdout=subprocess.PIPE, text=True)
    port = int(srv.stdout.readline())
    conf = os.path.join(d, "soak.conf")
    with open(conf, "w") as f:
        f.write("[helsefeed]\ndatabase = %s/state/helsefeed.db\noutput = %s/public\n"
                "spool = %s/spool\nbase_url = https://soak.example.no/\ntitle = Soak\n"
                "interval = %s\ntimezone = UTC\n\n" % (d, d, d, a.interval))
        for i in range(a.feeds):
            f.write("[feed s%04d]\nurl = http://127.0.0.1:%d/f/%d\nkind = other\n\n"
                    % (i, port, i))

    log = open(os.path.join(d, "daemon.log"), "w")
    t0 = time.monotonic()
    hf = subprocess.Popen([a.helsefeed, "-c", conf, "run"], stderr=subprocess.PIPE,
                          stdout=log, text=True, errors="replace")
    pubs = []     # (t, cpu, rss, fds, ms, line)
    pub_re = re.compile(r"^info: published .*; (\d+) ms$")
    feed_re = re.compile(r"^(?:info|warn): feed (s\d+): ")
    seen = set()
    first_pass = []   # t of the log line of the last feed fetched for the first time

    def reader():
        for line in hf.stderr:
            t = time.monotonic() - t0
            log.write("%9.3f %s" % (t, line))
            m = feed_re.match(line)
            if m and m.group(1) not in seen:
                seen.add(m.group(1))
                if len(seen) == a.feeds:
                    s = proc_sample(hf.pid) or (0, 0, float("nan"))
                    first_pass.append((t, time.time()) + s)
            m = pub_re.match(line.rstrip("\n"))
            if m:
                s = proc_sample(hf.pid) or (0, 0, float("nan"))
                pubs.append((t, s[2], s[0], s[1], int(m.group(1)), line.strip()))
    rt = threading.Thread(target=reader, daemon=True)
    rt.start()

    samples = []  # (t, rss, fds, cpu, wall, wal_bytes)
    wal = os.path.join(d, "state", "helsefeed.db-wal")

    def wal_size():
        try:
            return os.path.getsize(wal)
        except OSError:
            return 0
    end = t0 + a.duration
    nxt = t0
    kids_max = 0
    while time.monotonic() < end and hf.poll() is None:
        s = proc_sample(hf.pid)
        kids_max = max(kids_max, kids_pss(hf.pid))
        if s:
            samples.append((time.monotonic() - t0,) + s + (time.time(), wal_size()))
        nxt += a.sample
        time.sleep(max(0.0, min(nxt, end) - time.monotonic()))
    s = proc_sample(hf.pid)
    if s:
        samples.append((time.monotonic() - t0,) + s + (time.time(), wal_size()))
    alive = hf.poll() is None
    stop_wall = time.time()
    stop_t = time.monotonic()
    if alive:
        hf.send_signal(signal.SIGTERM)
    try:
        hf.wait(120)
    except subprocess.TimeoutExpired:
        hf.kill()
        hf.wait()
    stop_s = time.monotonic() - stop_t
    rt.join(10)
    log.close()
    srv.send_signal(signal.SIGTERM)
    try:
        srv_stats = json.loads(srv.stdout.readline() or "{}")
        srv.wait(30)
    except (subprocess.TimeoutExpired, ValueError):
        srv.kill()
        srv_stats = {}

    with open(os.path.join(d, "samples.tsv"), "w") as f:
        f.write("t_s\trss_kib\tfds\tcpu_s\twal_kib\n")
        for t, rss, nfds, cpu, _, w in samples:
            f.write("%.1f\t%d\t%d\t%.2f\t%d\n" % (t, rss, nfds, cpu, w // 1024))
    with open(os.path.join(d, "publishes.tsv"), "w") as f:
        f.write("t_s\tcpu_s\trss_kib\tfds\tms\tline\n")
        for c in pubs:
            f.write("%.1f\t%.2f\t%d\t%d\t%d\t%s\n" % c)
    db_size = os.path.getsize(os.path.join(d, "state", "helsefeed.db"))

    # --- the schedule, from the fetches table ---------------------------
    con = sqlite3.connect(os.path.join(d, "state", "helsefeed.db"))
    rows = con.execute("SELECT f.name, x.started, x.http_status, x.error FROM fetches x"
                       " JOIN feeds f ON f.id = x.feed_id ORDER BY f.name, x.started").fetchall()
    nitems = con.execute("SELECT count(*) FROM items").fetchone()[0]
    con.close()
    per = {}
    errors = 0
    for name, started, status, err in rows:
        per.setdefault(name, []).append(started)
        errors += err is not None
    bound = interval * 1.1
    gaps = []
    late = []     # (lateness, feed, started)
    for name, ts in per.items():
        for x, y in zip(ts, ts[1:]):
            gaps.append(y - x)
            if y - x > bound:
                late.append((y - x - bound, name, y))
    late.sort(reverse=True)
    gaps.sort()
    lines = []
    p = lines.append
    p("soak: %d feeds, interval %s, %.0f s, helsefeed %s" % (a.feeds, a.interval, a.duration,
                                                              a.helsefeed))
    p("daemon %s; exit %s" % ("ran to the end" if alive else "DIED EARLY", hf.returncode))
    p("parser host and its children: at most %.1f MiB PSS at a sample (not in the RSS"
      " figures below)" % (kids_max / 1024))
    if first_pass:
        t1, w1, rss1, fds1, cpu1 = first_pass[0]
        p("first pass (every feed fetched once): %.1f s; then RSS %.1f MiB, %d fds, CPU %.2f s"
          % (t1, rss1 / 1024, fds1, cpu1))
        last = samples[-1] if samples else None
        if last and last[0] > t1:
            n = sum(1 for r in rows if r[1] >= w1 and r[1] <= last[4])
            cpu = last[3] - cpu1
            p("after the first pass (%.0f s): %d feed fetches, CPU %.2f s: %.2f ms per fetch,"
              " %.1f %% of one core" % (last[0] - t1, n, cpu, 1000 * cpu / max(1, n),
                                      100 * cpu / (last[0] - t1)))
            # Per minute: does the CPU per fetch drift?
            steps = []
            for x, y in zip(samples, samples[1:]):
                if x[0] < t1:
                    continue
                k = sum(1 for r in rows if x[4] <= r[1] < y[4])
                steps.append((y[0], k, y[3] - x[3]))
            mins = {}
            for t, k, c in steps:
                m = int(t // 60)
                mk, mc = mins.get(m, (0, 0.0))
                mins[m] = (mk + k, mc + c)
            p("CPU per fetch by minute: " + ", ".join(
                "%d: %.2f ms" % (m, 1000 * c / k) for m, (k, c) in sorted(mins.items()) if k))
        p("at the end (t=%.0f s): RSS %.1f MiB, %d fds, CPU %.2f s"
          % (samples[-1][0], samples[-1][1] / 1024, samples[-1][2], samples[-1][3])
          if samples else "no samples")
    else:
        p("first pass: NOT COMPLETED (%d of %d feeds fetched)" % (len(seen), a.feeds))
    if pubs:
        ms = sorted(c[4] for c in pubs)
        pgaps = [y[0] - x[0] for x, y in zip(pubs, pubs[1:])]
        p("publishes: %d (%.1f per minute); wall time min %d, median %d, max %d ms;"
          " min gap %.1f s" % (len(pubs), 60 * len(pubs) / max(1.0, pubs[-1][0]),
                                ms[0], ms[len(ms) // 2], ms[-1], min(pgaps) if pgaps else 0))
    if samples:
        rs = [s[1] for s in samples]
        fs = [s[2] for s in samples]
        p("samples: %d; RSS min %.1f / max %.1f MiB; fds min %d / max %d; CPU total %.2f s"
          % (len(samples), min(rs) / 1024, max(rs) / 1024, min(fs), max(fs), samples[-1][3]))
        half = [s for s in samples if first_pass and s[0] >= first_pass[0][0]]
        if len(half) >= 4:
            q = len(half) // 4
            p("RSS mean, first quarter after the first pass: %.1f MiB; last quarter: %.1f MiB"
              % (sum(s[1] for s in half[:q]) / q / 1024, sum(s[1] for s in half[-q:]) / q / 1024))
    p("SIGTERM to exit: %.1f s; database %.1f MiB; WAL while running: max %.1f MiB,"
      " last sample %.1f MiB" % (stop_s, db_size / 1048576,
                                 max((s[5] for s in samples), default=0) / 1048576,
                                 samples[-1][5] / 1048576 if samples else 0))
    p("fetch attempts recorded: %d (%d with an error) for %d feeds; items stored: %d"
      % (len(rows), errors, len(per), nitems))
    if gaps:
        p("gap between a feed's attempts: min %d, median %d, max %d s (bound: interval"
          " + 10 %% = %.0f s)" % (gaps[0], gaps[len(gaps) // 2], gaps[-1], bound))
    p("gaps over the bound: %d of %d; max lateness %.0f s%s"
      % (len(late), len(gaps), late[0][0] if late else 0,
         " (feed %s, at +%d s)" % (late[0][1], late[0][2] - min(r[1] for r in rows))
         if late else ""))
    overdue = sorted((stop_wall - ts[-1] - bound, name) for name, ts in per.items()
                     if stop_wall - ts[-1] > bound + 1)
    p("feeds overdue at the stop (last attempt more than %.0f s + 1 s before): %d%s"
      % (bound, len(overdue), ", worst %s by %.0f s" % (overdue[-1][1], overdue[-1][0])
         if overdue else ""))
    p("feeds never fetched: %d" % (a.feeds - len(per)))
    counts = sorted(len(v) for v in per.values())
    if counts:
        p("attempts per feed: min %d, max %d" % (counts[0], counts[-1]))
    p("server: %s" % json.dumps(srv_stats))
    p("files in %s" % d)
    text = "\n".join(lines) + "\n"
    with open(os.path.join(d, "report.txt"), "w") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
