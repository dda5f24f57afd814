"""Digests end to end: the offline sample fetched, `helsefeed digest` run
against a real SMTP server on 127.0.0.1 (tests/smtpd.py), with the clock
set through HELSEFEED_TEST_NOW and crashes through HELSEFEED_TEST_CRASH
(test hooks, see include/helsefeed/digest.h).

Checks: MIME structure, header fields, RFC 2047 subject, every story
exactly once in both parts, dry run == what is sent, SMTP and the spool
the same bytes, a refused recipient, 451 then success, a connection
dropped before the final reply, SIGKILL after recording and after
sending, and the HTML part rendered by headless Chromium.
"""

import email
import email.policy
import html.parser
import json
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time

SRC = os.environ.get("HF_SRC", os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(SRC, "tests"))
from itlib import NO_HOOKS, NO_SERVERS, NO_SERVERS_SKIP, have_test_hooks  # noqa: E402
if NO_SERVERS:
    print(NO_SERVERS_SKIP)
    sys.exit(77)
import smtpd  # noqa: E402  (tests/smtpd.py)
import itlib  # noqa: E402  (tests/itlib.py)

BIN = os.environ.get("HELSEFEED")
TMP = os.environ.get("HF_TMP") or "/tmp/hf-it-digest"
SUBJECT = "Nytt fra Helse- og omsorgsdepartementet og Sjukehus i Nord-Norge – {date}: {count} saker"
TO = ["presse@example.no", "vakt@example.no"]
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)
    return cond


def commands():
    if not BIN or not os.path.exists(BIN):
        return set()
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30)
    return set(re.findall(r"^\s+([a-z]+)\b", r.stdout, re.M))


def write_conf(root, port):
    """The sample's configuration with our group; port None: no [smtp],
    the digests go to the spool (out/spool, as the sample sets)."""
    with open(os.path.join(SRC, "examples", "helsefeed.conf"), encoding="utf-8") as f:
        text = f.read()
    # The sample's own group goes; ours is for every category.
    text = text[: text.index("[digest ")]
    if port is not None:
        text += (
            "[smtp]\n"
            "url = smtp://127.0.0.1:%d\n"
            "from = Helsenytt Sør <helsenytt@example.no>\n"
            "starttls = opportunistic\n"
            "timeout = 20s\n\n" % port
        )
    # The sample's items are years old: max_age lets them count as new.
    text += (
        "[digest test]\n"
        "title = Presse Sør\n"
        "from = Helsenytt Sør <helsenytt@example.no>\n"
        "contact = Redaksjonen <redaksjon@example.no>\n"
        "to = %s\n"
        "time = 07:00\n"
        "timezone = Europe/Oslo\n"
        "max_age = 10000d\n"
        "subject = %s\n" % (", ".join(TO), SUBJECT)
    )
    with open(os.path.join(root, "helsefeed.conf"), "w", encoding="utf-8") as f:
        f.write(text)


def hf(root, *args, now=None, crash=None):
    env = dict(os.environ)
    env.pop("HELSEFEED_TEST_CRASH", None)
    if now is not None:
        env["HELSEFEED_TEST_NOW"] = str(now)
    if crash:
        env["HELSEFEED_TEST_CRASH"] = crash
    return subprocess.run([BIN, "-c", os.path.join(root, "helsefeed.conf")] + list(args),
                          capture_output=True, env=env, timeout=120)


def db(root):
    return sqlite3.connect(os.path.join(root, "out", "helsefeed.db"))


def rows(root):
    with db(root) as c:
        return c.execute("SELECT window_start, window_end, state, attempts, message_id,"
                         " last_error FROM digests ORDER BY window_start").fetchall()


class Anchors(html.parser.HTMLParser):
    """Texts of the item titles: <a> and <strong> inside <li>."""

    def __init__(self):
        super().__init__()
        self.titles, self.cur, self.depth = [], None, 0
        self.tags = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag in ("a", "strong"):
            self.cur = ""

    def handle_endtag(self, tag):
        if tag in ("a", "strong") and self.cur is not None:
            self.titles.append(self.cur)
            self.cur = None

    def handle_data(self, data):
        if self.cur is not None:
            self.cur += data


def parts(msg):
    text = msg.get_body(preferencelist=("plain",))
    htm = msg.get_body(preferencelist=("html",))
    return text, htm


def check_message(raw, titles, label):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    check(msg.get_content_type() == "multipart/alternative", label + ": multipart/alternative")
    subs = list(msg.iter_parts())
    check([p.get_content_type() for p in subs] == ["text/plain", "text/html"],
          label + ": text/plain then text/html")
    for p in subs:
        check(p.get_content_charset() == "utf-8", label + ": %s is UTF-8" % p.get_content_type())
    for h in ("Date", "Message-ID", "MIME-Version", "From", "To", "Subject"):
        check(msg[h] is not None, label + ": header " + h)
    check(msg["Auto-Submitted"] == "auto-generated", label + ": Auto-Submitted")
    check(msg["MIME-Version"] == "1.0", label + ": MIME-Version 1.0")
    check(str(msg["From"]) == "Helsenytt Sør <helsenytt@example.no>", label + ": From decodes")
    # To: the list; the recipients are in the envelope only.
    check([a.addr_spec for a in msg["To"].addresses] == ["helsenytt@example.no"],
          label + ": To is the list address: %r" % str(msg["To"]))
    check(str(msg["To"]) == "Presse Sør <helsenytt@example.no>", label + ": To names the list")
    head = raw.split(b"\r\n\r\n", 1)[0]
    check(not any(a.encode() in head for a in TO), label + ": no recipient in the header")
    check(msg["List-Id"] == "test <test.example.no>", label + ": List-Id %r" % msg["List-Id"])
    check(msg["List-Unsubscribe"] == "<mailto:redaksjon@example.no?subject=Avmelding%20test>",
          label + ": List-Unsubscribe %r" % msg["List-Unsubscribe"])
    check(msg["Date"].datetime is not None and msg["Date"].datetime.utcoffset() is not None,
          label + ": Date parses with an offset")
    subj = str(msg["Subject"])
    check(subj.startswith("Nytt fra Helse- og omsorgsdepartementet og Sjukehus i Nord-Norge – "),
          label + ": subject decodes to the Norwegian text: %r" % subj)
    check(re.search(r"\d\d\.\d\d\.\d{4}: %d saker$" % len(titles), subj) is not None,
          label + ": subject has date and count: %r" % subj)
    # The raw header is ASCII, encoded-words at most 75 characters.
    head = raw.split(b"\r\n\r\n", 1)[0]
    check(all(b < 0x80 for b in head), label + ": header block is ASCII")
    for w in re.findall(rb"=\?[^?]+\?[BQbq]\?[^?]*\?=", head):
        check(len(w) <= 75, label + ": encoded-word of %d chars" % len(w))
    text, htm = parts(msg)
    tbody, hbody = text.get_content(), htm.get_content()
    lines = [l[2:] for l in tbody.splitlines() if l.startswith("* ")]
    a = Anchors()
    a.feed(hbody)
    # One line per stored story: two feeds with the same title are two
    # stories until dedup merges them.
    for t in set(titles):
        want = titles.count(t)
        check(lines.count(t) == want, label + ": %r %d times in text/plain (%d)" % (t, want, lines.count(t)))
        check(a.titles.count(t) == want, label + ": %r %d times in text/html (%d)" % (t, want, a.titles.count(t)))
    check(len(lines) == len(titles), label + ": no other stories in text/plain")
    # The heading is the group's title; the footer says which list, its
    # categories, whom to write to, and where the pages are.
    check(tbody.startswith("Presse Sør\r\n"), label + ": heading is the title: %r" % tbody[:40])
    check("listen «Presse Sør» (kategorier: alle kategorier)." in " ".join(tbody.split()),
          label + ": footer names the list")
    check("skriv til redaksjon@example.no" in tbody, label + ": footer names the contact")
    check(re.search(r"Alle saker på nett: https?://", tbody), label + ": link to the pages")
    check("mailto:redaksjon@example.no" in hbody, label + ": contact link in text/html")
    check(not ({"script", "img", "iframe", "link", "style"} & a.tags),
          label + ": no script, image or external resource")
    return msg


def first_start(met):
    """The first window of a group met at `met`: from the 07:00 (Oslo)
    before its first send time, the first 07:00 after `met`."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo
    oslo = ZoneInfo("Europe/Oslo")
    t = datetime.fromtimestamp(met, oslo)
    due = t.replace(hour=7, minute=0, second=0, microsecond=0)
    if due.timestamp() <= met:
        due = (t + timedelta(days=1)).replace(hour=7, minute=0, second=0, microsecond=0)
    return int((due - timedelta(days=1)).replace(tzinfo=oslo).timestamp())


def window_of(msg):
    m = re.match(r"<digest\.test\.(\d+)\.[0-9a-f]{16}@example\.no>$", msg["Message-ID"])
    check(m is not None, "Message-ID shape: %r" % msg["Message-ID"])
    return int(m.group(1)) if m else None


def received(srv):
    out = []
    for rec in srv.handler.accepted():
        with open(os.path.join(srv.handler.outdir, rec["file"]), "rb") as f:
            raw = f.read()
        out.append((rec, raw, email.message_from_bytes(raw, policy=email.policy.default)))
    return out


def fresh(base, name, port):
    root = os.path.join(TMP, name)
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(base, root)
    write_conf(root, port)
    return root


def render_html(htm_text, name):
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if not chromium:
        print("chromium not installed: HTML rendering not checked")
        return False
    d = os.path.join(TMP, "chromium-" + name)
    os.makedirs(d, exist_ok=True)
    page = os.path.join(d, "part.html")
    png = os.path.join(d, "out.png")
    with open(page, "w", encoding="utf-8") as f:
        f.write(htm_text)
    r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        "--user-data-dir=" + os.path.join(d, "profile"),
                        "--screenshot=" + png, "--window-size=800,1200", "file://" + page],
                       capture_output=True, timeout=180)
    check(r.returncode == 0, "chromium exit %d: %s" % (r.returncode, r.stderr[-500:]))
    ok = os.path.exists(png)
    check(ok, "chromium wrote a screenshot")
    if ok:
        with open(png, "rb") as f:
            data = f.read(32)
        check(data[:8] == b"\x89PNG\r\n\x1a\n", "screenshot is a PNG")
        w, h = struct.unpack(">II", data[16:24])
        check((w, h) == (800, 1200), "screenshot is 800x1200, not %dx%d" % (w, h))
    return True


def add_feed_item(root, title, guid):
    """A story published now at the top of the root's hod-korona.rss
    (its feed's categories: covid)."""
    path = os.path.join(root, "feeds", "hod-korona.rss")
    with open(path, encoding="iso-8859-1") as f:   # as the file declares
        text = f.read()
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
    item = ("<item>\n<title>%s</title>\n<link>https://www.regjeringen.no/no/aktuelt/%s/</link>\n"
            "<guid>%s</guid>\n<description>Ny sak.</description>\n<pubDate>%s</pubDate>\n"
            "</item>\n" % (title, guid, guid, when))
    i = text.index("<item>")
    with open(path, "w", encoding="iso-8859-1") as f:
        f.write(text[:i] + item + text[i:])
    r = hf(root, "fetch", "--all")
    check(r.returncode in (0, 1), "fetch after adding %s: %s" % (guid, r.stderr[-300:]))


def stories(msg):
    return [l[2:] for l in parts(msg)[0].get_content().splitlines() if l.startswith("* ")]


def set_conf(root, old, new):
    path = os.path.join(root, "helsefeed.conf")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    check(old in text, "configuration has %r" % old)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new))


def archive_and_immediate(base, srv, now):
    h = srv.handler
    # --- max_age (default 48 h): the sample's archive is never new ------
    root = fresh(base, "archive", srv.port)
    set_conf(root, "max_age = 10000d\n", "")
    n = len(h.accepted())
    r = hf(root, "digest", now=now)
    rw = rows(root)
    check(r.returncode == 0 and len(h.accepted()) == n and len(rw) == 1
          and rw[0][2] == "sent" and rw[0][4] is None,
          "years-old stories are not mailed as new: %r" % (rw,))
    add_feed_item(root, "Nye råd om koronavaksine i dag", "hf-test-today")
    r = hf(root, "digest", "--send-now", "--group", "test", now=now + 120)
    got = received(srv)[n:]
    check(r.returncode == 0 and len(got) == 1, "--send-now sends today's story (%d)" % len(got))
    if got:
        check(stories(got[0][2]) == ["Nye råd om koronavaksine i dag"],
              "only today's story is new: %r" % stories(got[0][2]))
    with db(root) as c:
        (k,) = c.execute("SELECT count(*) FROM items").fetchone()
    check(k > 10, "the archive is stored all the same (%d)" % k)

    # --- frequency = immediate: each new story once, per cycle ----------
    root = fresh(base, "immediate", srv.port)
    set_conf(root, "time = 07:00\n", "frequency = immediate\n")
    n = len(h.accepted())
    r = hf(root, "digest", now=now)
    check(r.returncode == 0 and len(h.accepted()) == n and rows(root) == [],
          "immediate: what was stored before the group is not mailed")
    add_feed_item(root, "Hastevarsel om covid-19", "hf-test-urgent")
    r = hf(root, "digest", now=now + 60)
    got = received(srv)[n:]
    check(r.returncode == 0 and len(got) == 1 and stories(got[0][2]) == ["Hastevarsel om covid-19"],
          "immediate: the new story in one message: %r" % [stories(g[2]) for g in got])
    r = hf(root, "digest", now=now + 120)
    check(len(h.accepted()) == n + 1, "immediate: never twice")
    with db(root) as c:
        kinds = [k for (k,) in c.execute("SELECT kind FROM digests")]
    check(kinds == ["immediate"], "immediate windows: %r" % kinds)


def status_json(root):
    r = hf(root, "status", "--json")
    check(r.returncode == 0, "status --json: exit %d: %s" % (r.returncode, r.stderr[-300:]))
    try:
        return {g["group"]: g for g in json.loads(r.stdout)["digests"]}
    except (ValueError, KeyError) as e:
        check(False, "status --json has no digests: %s" % e)
        return {}


def rcpt_rows(root):
    with db(root) as c:
        return c.execute("SELECT digest_id, address, state, attempts, reply"
                         " FROM digest_recipients ORDER BY digest_id, address").fetchall()


def failure_scenarios(base, srv, titles, now, first):
    h = srv.handler

    # --- 554: the message refused for good --------------------------------
    root = fresh(base, "reject", srv.port)
    n = len(h.accepted())
    h.reject = 1
    r = hf(root, "digest", now=now)
    h.reject = 0
    err = r.stderr.decode()
    check(r.returncode == 1, "554: exit 1")
    check(re.search(r"^error: digest test: .* refused for good: .*554", err, re.M),
          "554 logged at error: %s" % err[-400:])
    rw = rows(root)
    check(len(rw) == 1 and rw[0][2] == "rejected" and "554" in (rw[0][5] or ""),
          "554 recorded as rejected: %r" % (rw,))
    # Three hours on, but before the next 07:00: the window after it is
    # due then, and rightly sent (run between 02:00 and 05:00 UTC, this
    # check met it).
    later = max(now + 60, min(now + 3 * 3600, first_start(now) + 86400 - 60))
    r = hf(root, "digest", now=later)
    check(r.returncode == 0 and len(h.accepted()) == n and rows(root)[0][3] == 1,
          "a rejected window is never retried")
    g = status_json(root).get("test", {})
    check(g.get("state") == "rejected" and "554" in (g.get("last_error") or ""),
          "status --json shows the rejected window: %r" % g)
    r = hf(root, "status")
    check(re.search(rb"^test .*avvist.*554", r.stdout, re.M),
          "status shows the rejected window:\n%s" % r.stdout.decode()[-600:])
    r = hf(root, "publish")
    page = read_out(root, "status.html")
    check('id="digest-test"' in page and "avvist" in page and "554" in page,
          "status.html shows the rejected window")
    js = json.loads(read_out(root, "status.json") or "{}")
    check([d.get("state") for d in js.get("digests", [])] == ["rejected"],
          "status.json shows the rejected window: %r" % js.get("digests"))
    # The next digest carries the rejected window's stories: nothing lost.
    r = hf(root, "digest", now=now + 86400)
    got = received(srv)[n:]
    check(r.returncode == 0 and len(got) == 1, "the next digest goes out (%d)" % len(got))
    if got:
        check_message(got[0][1], titles, "after a rejected window")
    rw = rows(root)
    check(len(rw) == 2 and rw[1][0] == rw[0][0] and rw[1][2] == "sent",
          "the next window starts where the rejected one did: %r" % (rw,))

    # --- 550 for one address: the other gets it, status names it ----------
    root = fresh(base, "refuse-status", srv.port)
    n = len(h.accepted())
    h.refuse = {"vakt@example.no"}
    r = hf(root, "digest", now=now)
    h.refuse = set()
    acc = h.accepted()[n:]
    check(r.returncode == 0 and len(acc) == 1 and acc[0]["rcpt"] == ["presse@example.no"],
          "550 for one: the other still gets it")
    rr = rcpt_rows(root)
    check([(a, s) for _, a, s, _, _ in rr] == [("presse@example.no", "sent"),
                                               ("vakt@example.no", "refused")],
          "recipients recorded: %r" % rr)
    g = status_json(root).get("test", {})
    check(any("vakt@example.no refused" in x and "550" in x for x in g.get("recipients", [])),
          "status names the refused address: %r" % g)
    check(g.get("state") == "recipients", "status flags the group: %r" % g.get("state"))
    # An empty window the next day does not hide the refusal.
    r = hf(root, "digest", now=now + 86400)
    check(len(rows(root)) == 2 and len(h.accepted()) == n + 1, "the next window is empty")
    g = status_json(root).get("test", {})
    check(any("vakt@example.no refused" in x for x in g.get("recipients", [])),
          "status still names the refused address: %r" % g)

    # --- 450 for one address: retried for it alone, then reported ---------
    root = fresh(base, "rcpt-450", srv.port)
    n = len(h.accepted())
    h.rcpt_tempfail = {"vakt@example.no": 1}
    r = hf(root, "digest", now=now)
    got = received(srv)[n:]
    check(r.returncode == 0 and len(got) == 1 and got[0][0]["rcpt"] == ["presse@example.no"],
          "450 for one: the other gets it at once")
    check(rows(root)[0][2] == "sent", "the window is sent")
    check(("vakt@example.no", "deferred") in [(a, s) for _, a, s, _, _ in rcpt_rows(root)],
          "the 450 address waits: %r" % rcpt_rows(root))
    r = hf(root, "digest", now=now + 60)
    check(len(h.accepted()) == n + 1, "no retry before the delay")
    r = hf(root, "digest", now=now + 300)
    got = received(srv)[n:]
    check(len(got) == 2 and got[1][0]["rcpt"] == ["vakt@example.no"],
          "retried for that address alone: %r" % [g[0]["rcpt"] for g in got])
    if len(got) == 2:
        check(got[1][2]["Message-ID"] == got[0][2]["Message-ID"], "the retry is the same message")
    check(all(s == "sent" for _, _, s, _, _ in rcpt_rows(root)), "both have it now")

    root = fresh(base, "rcpt-450-always", srv.port)
    n = len(h.accepted())
    h.rcpt_tempfail = {"vakt@example.no": 100}
    e0 = len(h.events())
    for k in range(7):
        hf(root, "digest", now=now + k * 7 * 3600)
    h.rcpt_tempfail = {}
    tries = sum(1 for e in h.events()[e0:] if e["event"] == "rcpt-tempfail")
    check(tries == 5, "the 450 address was tried 5 times, not %d" % tries)
    rr = [x for x in rcpt_rows(root) if x[1] == "vakt@example.no"]
    check(rr and rr[0][2] == "refused" and "gave up after 5 attempts" in (rr[0][4] or "")
          and "450 4.2.1" in (rr[0][4] or ""),
          "an address that always answers 450 is reported with the server's words: %r" % rr)
    check(all(a["rcpt"] == ["presse@example.no"] for a in h.accepted()[n:]),
          "the other address got it once, the 450 one never")
    g = status_json(root).get("test", {})
    check(any("vakt@example.no refused" in x for x in g.get("recipients", [])),
          "status reports the 450 address: %r" % g)


def status_scenarios(base, srv, now):
    h = srv.handler
    root = fresh(base, "list-resend", srv.port)
    r = hf(root, "digest", now=now)
    n = len(h.accepted())
    r = hf(root, "digest", "--list")
    out = r.stdout.decode()
    rw = rows(root)
    check(r.returncode == 0 and rw and rw[0][4] in out and "sent" in out and "2/0/0" in out,
          "--list shows the window, state, recipients and Message-ID:\n" + out)
    with db(root) as c:
        (did,) = c.execute("SELECT id FROM digests").fetchone()
    r = hf(root, "digest", "--resend", str(did), now=now + 600)
    got = received(srv)[n:]
    check(r.returncode == 0 and len(got) == 1, "--resend sends once: %s" % r.stderr[-300:])
    if got:
        msg = got[0][2]
        check(msg["Message-ID"] != rw[0][4], "a resend has a new Message-ID")
        check(str(msg["Subject"]).endswith("(sendt på nytt)"), "a resend says so: %r"
              % str(msg["Subject"]))
    r = hf(root, "digest", "--list", "--group", "test")
    check(("resend of %d" % did) in r.stdout.decode(), "--list shows the resend")
    r = hf(root, "digest", "--resend", "999")
    check(r.returncode == 2, "--resend of an unknown id: exit 2")
    # status: the last success and the next send time
    g = status_json(root).get("test", {})
    check(g.get("last_success") and g.get("next_due") and g.get("overdue") is False,
          "status: last success, next due, not overdue: %r" % g)
    # A daily group without a digest for more than 26 h is overdue
    # (status reads the real clock: the group is met three days ago).
    root = fresh(base, "overdue", srv.port)
    with db(root) as c:
        c.execute("UPDATE digest_groups SET created = ?", (int(time.time()) - 3 * 86400,))
    g = status_json(root).get("test", {})
    check(g.get("overdue") is True and g.get("state") == "overdue" and g.get("last_success") is None,
          "status flags a group overdue: %r" % g)
    r = hf(root, "status")
    check(re.search(rb"^test +daglig +forsinket .*FORSINKET", r.stdout, re.M),
          "status shows the group late:\n%s" % r.stdout.decode()[-400:])


def two_processes(base, srv, now):
    """The daemon sends over a slow server; a `digest` by hand meanwhile
    leaves the group alone.  The watchdog is pinged during the transfer."""
    h = srv.handler
    root = fresh(base, "two-processes", srv.port)
    # Met two days ago on the real clock: due at the daemon's first cycle.
    with db(root) as c:
        c.execute("UPDATE digest_groups SET created = ?", (int(time.time()) - 2 * 86400,))
    n = len(h.accepted())
    h.slow = 4
    notify = itlib.Notify(os.path.join(TMP, "notify.sock"))
    d = itlib.start_daemon(os.path.join(root, "helsefeed.conf"), os.path.join(root, "run.log"),
                           notify)
    try:
        itlib.wait_for(lambda: any(e["event"] == "slow" for e in h.events()[-3:]),
                       "the daemon's transfer in DATA")
        pings = notify.count("WATCHDOG=1")
        r = hf(root, "digest")
        check(r.returncode == 0 and b"another helsefeed process is sending it" in r.stderr,
              "digest during the daemon's send leaves it alone: %s" % r.stderr[-400:])
        itlib.wait_for(lambda: len(h.accepted()) > n, "the daemon's digest")
        if itlib.have_systemd():
            check(notify.count("WATCHDOG=1") >= pings + 4,
                  "watchdog pinged during a 4 s transfer (%d -> %d)"
                  % (pings, notify.count("WATCHDOG=1")))
    finally:
        h.slow = 0
        d.send_signal(signal.SIGTERM)
        d.wait(60)
        itlib.PROCS.remove(d)
        notify.close()
    time.sleep(1)
    check(len(h.accepted()) == n + 1, "one transfer of the digest, not two (%d)"
          % (len(h.accepted()) - n))
    check([x[2] for x in rows(root)] == ["sent"], "one window, sent: %r" % rows(root))


def read_out(root, name):
    try:
        with open(os.path.join(root, "out", "public", name), encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def main():
    cmds = commands()
    if not {"fetch", "digest"} <= cmds:
        print("helsefeed has no fetch/digest command yet: skipped")
        return 77
    if not have_test_hooks(BIN):
        print("skipped:", NO_HOOKS)
        return 77
    shutil.rmtree(TMP, ignore_errors=True)
    os.makedirs(TMP)
    srv = smtpd.Server(os.path.join(TMP, "smtp"))
    srv.start()
    try:
        return scenarios(srv)
    finally:
        srv.stop()


def scenarios(srv):
    # One fetch of the offline sample, copied for every scenario.
    base = os.path.join(TMP, "base")
    shutil.copytree(os.path.join(SRC, "examples"), base)
    shutil.rmtree(os.path.join(base, "out"), ignore_errors=True)
    write_conf(base, srv.port)
    r = hf(base, "fetch", "--all")
    if not check(r.returncode == 0, "fetch --all: %s" % r.stderr.decode()[-800:]):
        return 1
    with db(base) as c:
        titles = [t for (t,) in c.execute("SELECT title FROM items")]
    check(len(titles) >= 10, "the sample has stories (%d)" % len(titles))
    now = int(time.time()) + 3600
    h = srv.handler
    # A group is first met a day before `now`: its first digest is due
    # at 07:00 after that, not at once.  Meeting it sends nothing.
    r = hf(base, "digest", now=now - 86400)
    check(r.returncode == 0 and h.accepted() == [] and rows(base) == [],
          "a new group sends nothing at once: %s" % r.stderr.decode()[-400:])
    first = first_start(now - 86400)

    # --- normal: dry run equals what is sent; nothing twice -------------
    root = fresh(base, "normal", srv.port)
    dry = hf(root, "digest", "--dry-run", "--group", "test", now=now)
    check(dry.returncode == 0, "dry run exit 0")
    check(rows(root) == [], "dry run records nothing")
    check(h.accepted() == [], "dry run sends nothing")
    r = hf(root, "digest", now=now)
    check(r.returncode == 0, "digest exit 0: %s" % r.stderr.decode()[-800:])
    got = received(srv)
    check(len(got) == 1, "one message (%d)" % len(got))
    rec, raw, msg = got[0]
    check(sorted(rec["rcpt"]) == sorted(TO), "envelope recipients")
    check(rec["mail_from"] == "helsenytt@example.no", "envelope sender")
    check_message(raw, titles, "smtp")
    drym = check_message(dry.stdout, titles, "dry-run")
    for hname in ("Subject", "From", "To", "Date", "Auto-Submitted"):
        check(str(drym[hname]) == str(msg[hname]), "dry run and SMTP agree on " + hname)
    for a, b in zip(parts(drym), parts(msg)):
        check(a.get_content() == b.get_content(), "dry run and SMTP agree on " + a.get_content_type())
    check(window_of(msg) == first, "first window starts at the send time before the first")
    rw = rows(root)
    check(len(rw) == 1 and rw[0][2] == "sent" and rw[0][4] == msg["Message-ID"],
          "row sent with the Message-ID: %r" % (rw,))
    r = hf(root, "digest", now=now + 60)
    check(r.returncode == 0 and len(h.accepted()) == 1, "not due again a minute later")
    chromium = render_html(parts(msg)[1].get_content(), "normal")

    # --- one recipient refused: the other still gets it ----------------
    root = fresh(base, "refuse", srv.port)
    h.refuse = {"vakt@example.no"}
    r = hf(root, "digest", now=now)
    h.refuse = set()
    acc = h.accepted()
    check(r.returncode == 0, "refused recipient: exit 0")
    check(len(acc) == 2 and acc[-1]["rcpt"] == ["presse@example.no"], "delivered to the other")
    check(b"vakt@example.no" in r.stderr and b"refused" in r.stderr, "refusal logged")

    # --- 451 once: retried later with the same Message-ID --------------
    root = fresh(base, "tempfail", srv.port)
    h.tempfail = 1
    r = hf(root, "digest", now=now)
    check(r.returncode == 1, "451: exit 1")
    rw = rows(root)
    check(len(rw) == 1 and rw[0][2] == "failed" and rw[0][3] == 1 and "451" in (rw[0][5] or ""),
          "451 recorded: %r" % (rw,))
    mid = rw[0][4] if rw else None
    n = len(h.accepted())
    r = hf(root, "digest", now=now + 60)
    check(r.returncode == 0 and len(h.accepted()) == n, "no retry before the delay")
    r = hf(root, "digest", now=now + 300)
    got = received(srv)
    check(r.returncode == 0 and len(got) == n + 1, "retried after 5 minutes")
    check(got[-1][2]["Message-ID"] == mid, "retry keeps the Message-ID")
    check(window_of(got[-1][2]) == first, "retry keeps the window")
    check(rows(root)[0][2:4] == ("sent", 2), "sent on attempt 2")

    # --- connection dropped before the final reply ---------------------
    root = fresh(base, "drop", srv.port)
    h.drop = 1
    n = len(h.accepted())
    r = hf(root, "digest", now=now)
    check(r.returncode == 1 and len(h.accepted()) == n, "dropped: exit 1, nothing accepted")
    check(rows(root)[0][2] == "failed", "dropped transfer recorded as failed")
    r = hf(root, "digest", now=now + 300)
    check(r.returncode == 0 and len(h.accepted()) == n + 1, "sent once on retry")

    # --- SIGKILL right after recording: sent once by the next run ------
    root = fresh(base, "crash-record", srv.port)
    n = len(h.accepted())
    r = hf(root, "digest", now=now, crash="after-record")
    check(r.returncode == -signal.SIGKILL, "killed after recording (%d)" % r.returncode)
    check(len(h.accepted()) == n, "nothing sent before the crash")
    rw = rows(root)
    check(len(rw) == 1 and rw[0][2] == "pending" and rw[0][3] == 0, "pending row left: %r" % (rw,))
    r = hf(root, "digest", now=now + 60)
    r2 = hf(root, "digest", now=now + 120)
    got = received(srv)[n:]
    check(r.returncode == 0 and r2.returncode == 0 and len(got) == 1,
          "after the crash: exactly one message (%d)" % len(got))
    if got:
        check(got[0][2]["Message-ID"] == rw[0][4], "the recorded Message-ID went out")
        check(window_of(got[0][2]) == first, "the recorded window went out")
        check_message(got[0][1], titles, "after crash")
    # the next day continues where that window ended: nothing lost
    r = hf(root, "digest", now=now + 86400)
    rw = rows(root)
    check(len(rw) == 2 and rw[1][0] == rw[0][1] == now, "next window starts at the last end")

    # --- SIGKILL after sending: re-sent once, same Message-ID ----------
    root = fresh(base, "crash-send", srv.port)
    n = len(h.accepted())
    r = hf(root, "digest", now=now, crash="after-send")
    check(r.returncode == -signal.SIGKILL and len(h.accepted()) == n + 1, "killed after sending")
    r = hf(root, "digest", now=now + 60)
    r = hf(root, "digest", now=now + 120)
    got = received(srv)[n:]
    check(len(got) == 2 and got[0][2]["Message-ID"] == got[1][2]["Message-ID"],
          "outcome unknown: one more copy, same Message-ID (%d)" % len(got))
    check(rows(root)[0][2] == "sent", "then sent")

    # --- killed after sending twice: never a third copy ----------------
    root = fresh(base, "crash-twice", srv.port)
    n = len(h.accepted())
    hf(root, "digest", now=now, crash="after-send")
    hf(root, "digest", now=now + 60, crash="after-send")
    r = hf(root, "digest", now=now + 120)
    r2 = hf(root, "digest", now=now + 180)
    got = received(srv)[n:]
    check(len(got) == 2, "two interrupted transfers: two copies, no third (%d)" % len(got))
    rw = rows(root)
    check(rw[0][2] == "sent" and "outcome unknown" in (rw[0][5] or ""),
          "closed as unknown: %r" % (rw,))

    # --- SMTP, the spool and --dry-run carry the same bytes -------------
    # One window is recorded (and the run killed), so its Message-ID and
    # Date are fixed; then it goes out over SMTP from this directory, and
    # from a copy without [smtp] into the spool.  One builder: the bytes
    # agree, but for the From field, which a configuration without [smtp]
    # cannot have.  The dry run of the recorded window agrees entirely.
    root = fresh(base, "same-bytes", srv.port)
    r = hf(root, "digest", now=now, crash="after-record")
    check(r.returncode == -signal.SIGKILL, "same bytes: killed after recording")
    spool_root = os.path.join(TMP, "same-bytes-spool")
    shutil.rmtree(spool_root, ignore_errors=True)
    shutil.copytree(root, spool_root)
    write_conf(spool_root, None)
    dry = hf(root, "digest", "--dry-run", now=now + 60)
    n = len(h.accepted())
    r = hf(root, "digest", now=now + 60)
    r2 = hf(spool_root, "digest", now=now + 60)
    check(r.returncode == 0 and r2.returncode == 0, "same bytes: both delivered: %s %s"
          % (r.stderr.decode()[-400:], r2.stderr.decode()[-400:]))
    got = received(srv)[n:]
    spool_dir = os.path.join(spool_root, "out", "spool")
    emls = sorted(os.listdir(spool_dir)) if os.path.isdir(spool_dir) else []
    if check(len(got) == 1 and len(emls) == 1, "same bytes: one message each way (%d, %r)"
             % (len(got), emls)):
        smtp_raw = got[0][1]
        with open(os.path.join(spool_dir, emls[0]), "rb") as f:
            spool_raw = f.read()
        check(dry.stdout == smtp_raw, "dry run and SMTP: the same bytes")
        check(smtp_raw.endswith(b"\r\n") and b"\n" not in smtp_raw.replace(b"\r\n", b""),
              "SMTP copy: CRLF line ends only")
        sf = re.search(rb"^From: [^\r]*\r\n", smtp_raw, re.M)
        pf = re.search(rb"^From: [^\r]*\r\n", spool_raw, re.M)
        if check(sf and pf, "same bytes: both have a From field"):
            check(pf.group(0) == sf.group(0), "spool From from the configuration: %r"
                  % pf.group(0))
            same = spool_raw
            if not check(same == smtp_raw, "spool and SMTP: the same bytes"):
                k = next((i for i, (a, b) in enumerate(zip(same, smtp_raw)) if a != b),
                         min(len(same), len(smtp_raw)))
                print("first difference at byte %d:\n spool %r\n smtp  %r"
                      % (k, same[max(0, k - 40):k + 40], smtp_raw[max(0, k - 40):k + 40]))

    archive_and_immediate(base, srv, now)
    failure_scenarios(base, srv, titles, now, first)
    status_scenarios(base, srv, now)
    two_processes(base, srv, now)

    # --- messages per window over all scenarios: at most the copies
    # that a cut-off transfer explains -----------------------------------
    per = {}
    for rec, raw, msg in received(srv):
        per[msg["Message-ID"]] = per.get(msg["Message-ID"], 0) + 1
    check(max(per.values()) <= 2, "no Message-ID more than twice: %r" % per)

    if FAILS:
        print("%d checks failed" % len(FAILS))
        return 1
    if not chromium:
        return 77
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
