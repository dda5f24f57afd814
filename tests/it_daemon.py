"""`helsefeed run` end to end, against tests/httpd.py on 127.0.0.1.

The daemon runs with a config of http:// feeds (interval 1m, the floor).
Fetches are driven by signals rather than by waiting for the schedule:
SIGUSR1 makes the daemon fetch every feed at once, SIGHUP reloads the
configuration, after which the feeds then due are fetched.  Every
completed transfer logs one "feed NAME: ..." line, every publish one
"published ..." line; the test waits for those.

systemd's notification protocol is checked through a NOTIFY_SOCKET of
the test's own (READY, STATUS, RELOADING + MONOTONIC_USEC, STOPPING,
WATCHDOG with WATCHDOG_USEC set) when the binary was built with
libsystemd.

Checks: the first fetches are published in all.atom; an item added on
the server is fetched and published; the open file descriptors do not
grow over rounds of fetches; a valid reload adds a feed (fetched at
once) and keeps the items, and (with python3-aiosmtpd) adds an [smtp]
section and a digest group that is due, whose digest is sent to
tests/smtpd.py right after the reload; an invalid reload logs file:line
and keeps the running configuration; SIGTERM exits 0; `run --once` and a
broken configuration at start.
"""

import os
import re
import signal
import subprocess
import sys
import time
import email
import email.policy
import json
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from itlib import BIN, FAILS, NO_SERVERS, NO_SERVERS_SKIP, Notify, SRC, WAIT, check, commands, have_systemd, read, run_main, serve_sample, start_daemon, titles, wait_for, write_atomic  # noqa: E402

TMP = os.environ.get("HF_TMP") or "/tmp/hf-it-daemon"
try:
    import smtpd  # noqa: E402  (tests/smtpd.py, needs python3-aiosmtpd)
except ImportError:
    smtpd = None


def conf_text(port, feeds, extra="", mail=""):
    """The sample's [helsefeed] and categories with our own paths and
    http:// feeds; `extra` is appended to the first feed's section, `mail`
    to the end."""
    with open(os.path.join(SRC, "examples", "helsefeed.conf"), encoding="utf-8") as f:
        text = f.read()
    head = text[: text.index("[feed ")]
    head = head.replace("interval  = 15m", "interval  = 1m")
    head = head.replace("allow_file_urls = yes", "allow_file_urls = no")
    out = [head]
    for i, (name, file, kind) in enumerate(feeds):
        out.append("[feed %s]\nurl = http://127.0.0.1:%d/feeds/%s\nkind = %s\n%s\n"
                   % (name, port, file, kind, extra if i == 0 else ""))
    out.append("[digest presse]\nto = presse@example.no\ntime = 07:00\n"
               "timezone = Europe/Oslo\n\n")
    out.append(mail)
    return "".join(out)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def add_item(path, title, guid):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    item = ("<item>\n<title>%s</title>\n<link>https://www.regjeringen.no/no/aktuelt/%s/</link>\n"
            "<description>Ny sak om sykehus og ventetid.</description>\n"
            "<guid isPermaLink=\"false\">%s</guid>\n"
            "<pubDate>Mon, 22 Apr 2024 09:00:00 +0200</pubDate>\n</item>\n"
            % (title, guid, guid))
    write_atomic(path, text.replace("<item>", item + "<item>", 1))
    # Later than any If-Modified-Since the daemon could send.
    t = time.time() + 5
    os.utime(path, (t, t))


def mail_texts(outdir, accepted):
    out = []
    for rec in accepted:
        with open(os.path.join(outdir, rec["file"]), "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        out.append("\n".join(part.get_content() for part in msg.walk()
                             if part.get_content_type() == "text/plain"))
    return out


def main():
    if not BIN or not os.path.exists(BIN):
        print("skip: $HELSEFEED is not set")
        return 77
    if NO_SERVERS:
        print(NO_SERVERS_SKIP)
        return 77
    if "run" not in commands():
        print("skip: this helsefeed has no 'run' command")
        return 77
    feeddir, port = serve_sample(TMP, 400)

    # --- a broken configuration at start: exit 2, file:line on stderr ---
    bad = os.path.join(TMP, "bad.conf")
    write_atomic(bad, conf_text(port, [("hod", "hod.rss", "ministry")], "intervall = 5m"))
    r = subprocess.run([BIN, "-c", bad, "run"], capture_output=True, text=True, timeout=WAIT)
    check(r.returncode == 2, "broken config at start: exit %d, want 2" % r.returncode)
    check(re.search(re.escape(bad) + r":\d+:", r.stderr), "broken config: no file:line in %r" % r.stderr)

    # --- run --once: every feed, publish, exit 0 ---
    once_dir = os.path.join(TMP, "once")
    os.makedirs(once_dir)
    once_conf = os.path.join(once_dir, "feeds.conf")
    write_atomic(once_conf, conf_text(port, [("hod", "hod.rss", "ministry"),
                                             ("fhi", "fhi.rss", "directorate")]))
    r = subprocess.run([BIN, "-c", once_conf, "run", "--once"], capture_output=True,
                       text=True, timeout=WAIT)
    check(r.returncode == 0, "run --once: exit %d: %s" % (r.returncode, r.stderr))
    check("once done: 2 feeds fetched (2 ok" in r.stderr, "run --once: no summary line: %s" % r.stderr)
    check(len(titles(os.path.join(once_dir, "out", "public", "all.atom"))) > 0,
          "run --once: all.atom has no entries")

    # --- the daemon ---
    run_dir = os.path.join(TMP, "run")
    os.makedirs(run_dir)
    conf = os.path.join(run_dir, "feeds.conf")
    feeds = [("hod", "hod.rss", "ministry"), ("fhi", "fhi.rss", "directorate"),
             ("helse-nord", "helse-nord.atom", "hospital")]
    write_atomic(conf, conf_text(port, feeds))
    atom = os.path.join(run_dir, "out", "public", "all.atom")
    logpath = os.path.join(run_dir, "daemon.log")
    systemd = have_systemd()
    notify = Notify(os.path.join(TMP, "notify.sock"))
    d = start_daemon(conf, logpath, notify)
    log = lambda: read(logpath)  # noqa: E731

    def fetches():
        """The "feed NAME: ..." lines of completed transfers."""
        return re.findall(r"^(?:info|warn): feed ([a-z0-9_-]+): (.*)$", log(), re.M)

    def publishes():
        return len(re.findall(r"^info: published ", log(), re.M))

    def fetch_all(want, what, publish=False):
        """SIGUSR1, then wait for `want` more fetches (and a publish after
        them when something changed); returns the new fetch lines."""
        n, p = len(fetches()), publishes()
        d.send_signal(signal.SIGUSR1)
        wait_for(lambda: len(fetches()) >= n + want, what)
        if publish:
            wait_for(lambda: publishes() > p, what + ": a publish")
        return fetches()[n:]

    wait_for(lambda: publishes() >= 1 and os.path.exists(atom), "first publish and all.atom")
    first = titles(atom)
    check(len(first) > 0, "all.atom has no entries after the first publish")
    # One thread: helsefeed starts none of its own.  The only others a
    # daemon may have are libcurl's threaded resolver's, one per name
    # lookup in flight; every feed here is at 127.0.0.1, which libcurl
    # does not look up, so an idle daemon is its main thread alone.  The
    # signals it handles come from its signalfd: the thread blocks them,
    # or a SIGTERM could be taken the default way.
    handled = [signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGUSR1]
    task_dir = "/proc/%d/task" % d.pid

    def others():
        return ["%s (%s)" % (tid, read("%s/%s/comm" % (task_dir, tid)).strip())
                for tid in os.listdir(task_dir) if tid != str(d.pid)]
    check(wait_for(lambda: not others(), "the main thread alone", timeout=5),
          "threads beside the main one while idle: %s" % others())
    blk = int(re.search(r"^SigBlk:\s*([0-9a-f]+)$",
                        read("%s/%d/status" % (task_dir, d.pid)), re.M).group(1), 16)
    blocked = [sig for sig in handled if blk >> (sig - 1) & 1]
    check(blocked == handled, "the loop takes signals: only %s blocked" % blocked)
    check(sorted(f for f, what in fetches() if what.startswith("200, ")) ==
          ["fhi", "helse-nord", "hod"], "first fetches:\n" + log())
    if systemd:
        check(wait_for(lambda: "READY=1" in "\n".join(notify.all()), "READY=1"), "READY=1")
        check(wait_for(lambda: any(m.startswith("STATUS=3 feeds, 0 failing, next digest 07:00")
                                   for m in notify.all()), "STATUS=3 feeds"),
              "STATUS after the first publish: %r" % notify.all())

    # A new item on the server, fetched at once on SIGUSR1.
    add_item(os.path.join(feeddir, "hod.rss"), "Testsak om nye sykehusbygg", "it-daemon-1")
    got = sorted(fetch_all(3, "fetches after SIGUSR1", publish=True))
    check([f for f, _ in got] == ["fhi", "helse-nord", "hod"] and
          got[0][1].startswith("304 not modified") and
          got[1][1].startswith("304 not modified") and got[2][1].startswith("200, 1 new"),
          "SIGUSR1 fetches: %r" % got)
    wait_for(lambda: "Testsak om nye sykehusbygg" in titles(atom), "the new item published")

    # File descriptors stay flat over rounds (the connections kept for
    # reuse are open from the first round on).
    fetch_all(3, "a round of fetches")
    base = fd_count(d.pid)
    counts = []
    for _ in range(6):
        fetch_all(3, "a round of fetches")
        counts.append(fd_count(d.pid))
    check(max(counts) <= base, "open fds grew over rounds: %d then %r" % (base, counts))

    # A valid reload: one feed more, fetched at once; items are kept.
    # With an SMTP server, also a digest group whose send time is the
    # next minute that starts at least 15 s after the reload: a group is
    # never sent at once when it appears, but at its first send time,
    # with what was stored in the day before it.
    feeds.append(("helsedirektoratet", "helsedirektoratet.atom", "directorate"))
    mail, srv, ndigests = "", None, 1
    if smtpd is not None:
        srv = smtpd.Server(os.path.join(TMP, "smtp"))
        srv.start()
        boundary = (int(time.time()) + 15) // 60 * 60 + 60
        mail = ("[smtp]\nurl = smtp://127.0.0.1:%d\nfrom = Helsenytt <helsenytt@example.no>\n"
                "starttls = opportunistic\ntimeout = 20s\n\n"
                "[digest vakt]\nto = vakt@example.no\ntime = %s\ntimezone = UTC\n"
                "max_age = 10000d\n"  # the sample's items are years old
                % (srv.port, time.strftime("%H:%M", time.gmtime(boundary))))
        ndigests = 2
    else:
        print("note: no aiosmtpd, the digest part is left out")
    write_atomic(conf, conf_text(port, feeds, mail=mail))
    d.send_signal(signal.SIGHUP)
    wait_for(lambda: re.search(r"^info: feed helsedirektoratet: 200, ", log(), re.M),
             "the new feed fetched after the reload")
    def published_after(pat):
        m = re.search(pat, log(), re.M)
        return m and re.search(r"^info: published ", log()[m.end():], re.M)
    wait_for(lambda: published_after(r"^info: feed helsedirektoratet: 200, "),
             "a publish after the new feed's fetch")
    check(re.search(r"^info: reloaded %s: 4 feeds, 3 categories, %d digests$"
                    % (re.escape(conf), ndigests), log(), re.M), "reload line:\n" + log())
    check("transfer aborted" not in log(), "a reload with nothing in flight aborted a transfer")
    after = titles(atom)
    if srv is not None:
        check(time.time() >= boundary or not srv.handler.accepted(),
              "the new group was sent before its send time")
        wait_for(lambda: re.search(r"^info: digests: 1 sent, 0 failed$", log(), re.M),
                 "the due digest sent after the reload", timeout=WAIT + 75)
        check(time.time() >= boundary, "the new group was sent before its send time")
        acc = srv.handler.accepted()
        if check(len(acc) == 1, "want one digest by SMTP, got %r" % acc):
            check(acc[0]["rcpt"] == ["vakt@example.no"], "digest recipients %r" % acc[0]["rcpt"])
            body = mail_texts(os.path.join(TMP, "smtp"), acc)[0]
            check(any(t and t in body for t in first), "the digest lists no stored item:\n" + body)
    r = subprocess.run([BIN, "parse", os.path.join(feeddir, "helsedirektoratet.atom")],
                       capture_output=True, text=True, timeout=WAIT)
    new = {e["title"] for e in json.loads(r.stdout)["entries"]}
    check(new & set(after), "the new feed's items were not published")
    check(all(t in after for t in first if t), "items were lost by the reload")
    if systemd:
        msgs = notify.all()
        i = next((k for k, m in enumerate(msgs) if m.startswith("RELOADING=1")), None)
        if check(i is not None, "no RELOADING=1: %r" % msgs):
            check(re.search(r"^MONOTONIC_USEC=\d+$", msgs[i], re.M), "RELOADING without MONOTONIC_USEC")
            check(any(m == "READY=1" for m in msgs[i + 1:]), "no READY=1 after RELOADING=1")

    # An invalid reload: every error with file:line, the old config stays.
    write_atomic(conf, conf_text(port, feeds + [("dmp", "dmp.rss", "directorate")],
                                 "intervall = 5m\ninterval = 10s"))
    d.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload of %s failed" % conf in log(), "the failed reload")
    check(re.search(r"^error: reload of %s failed; keeping the running configuration$"
                    % re.escape(conf), log(), re.M), "failed reload line")
    errs = re.findall(r"^error: %s:\d+: .*$" % re.escape(conf), log(), re.M)
    check(len(errs) >= 2, "want one error line per mistake with file:line, got %r" % errs)
    check(d.poll() is None, "the daemon died on an invalid reload")
    got = sorted(f for f, _ in fetch_all(4, "fetches after the failed reload"))
    check(got == ["fhi", "helse-nord", "helsedirektoratet", "hod"],
          "the running configuration was not kept: %r\n%s" % (got, log()))

    if systemd:
        check(any(m == "WATCHDOG=1" for m in notify.all()), "no WATCHDOG=1 ping")

    # SIGTERM: clean exit 0.
    d.send_signal(signal.SIGTERM)
    try:
        rc = d.wait(WAIT)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, "SIGTERM: exit %r, want 0" % rc)
    check(re.search(r"^info: stopped after \d+ feeds fetched", log(), re.M), "no stopped line")
    if systemd:
        wait_for(lambda: "STOPPING=1" in notify.all(), "STOPPING=1")
    notify.close()
    if srv is not None:
        check(len(srv.handler.accepted()) == 1, "the digest went out more than once")
        srv.stop()
    for line in log().splitlines():
        check(re.match(r"^(error|warn|info|debug): ", line), "log line without level: %r" % line)
    return 1 if FAILS else 0


if __name__ == "__main__":
    run_main(main)
