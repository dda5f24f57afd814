"""What the integration tests that run the daemon share.

The environment ctest passes (HELSEFEED, HF_SRC, HF_BUILD), one list of
failures with check(), waiting with a bound, the offline sample served
by tests/httpd.py on 127.0.0.1, and the run of a test's main() that
kills every process it started, whatever happened.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

SRC = os.environ.get("HF_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BIN = os.environ.get("HELSEFEED")
BUILD = os.environ.get("HF_BUILD", "")
ATOM = "{http://www.w3.org/2005/Atom}"
WAIT = 60           # seconds any single event may take at most
FAILS = []
PROCS = []          # killed by run_main() at the end


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)
    return cond


def wait_for(pred, what, timeout=WAIT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return check(False, "timed out waiting for " + what)


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def titles(atom_path):
    """Entry titles of a published Atom file; [] while it is not there."""
    try:
        root = ET.parse(atom_path).getroot()
    except (OSError, ET.ParseError):
        return []
    return [e.findtext(ATOM + "title") or "" for e in root.iter(ATOM + "entry")]


def write_atomic(path, text):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def commands():
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30)
    return set(re.findall(r"^\s+([a-z]+)\b", r.stdout, re.M))


# HF_NO_SERVERS=1 (debian/rules: the package build) starts no server on
# 127.0.0.1 and no browser: a test that needs one is skipped (exit 77)
# with NO_SERVERS_SKIP, a part of a test with a note.
NO_SERVERS = os.environ.get("HF_NO_SERVERS", "") == "1"
NO_SERVERS_SKIP = "skipped: needs a loopback server (HF_NO_SERVERS=1)"

# Why a test that moves the clock or crashes on purpose is skipped.
NO_HOOKS = ("helsefeed was built without its test hooks"
            " (configure with -DHF_TEST_HOOKS=ON, as tests/run.sh does)")


def have_test_hooks(path=None):
    """Was `path` (default: the binary under test) built with
    -DHF_TEST_HOOKS=ON?  Only then does it name the hooks' environment
    variables (include/helsefeed/digest.h) at all."""
    try:
        with open(path or BIN, "rb") as f:
            data = f.read()
    except (OSError, TypeError):
        return False
    return b"HELSEFEED_TEST_CRASH" in data and b"HELSEFEED_TEST_NOW" in data


def have_systemd():
    """Was this build made with libsystemd (sd_notify)?"""
    try:
        with open(os.path.join(BUILD, "CMakeCache.txt"), encoding="utf-8") as f:
            return re.search(r"^SYSTEMD_FOUND:INTERNAL=1$", f.read(), re.M) is not None
    except OSError:
        return False


class Notify:
    """A NOTIFY_SOCKET of the test's own: collects every datagram the
    daemon sends (sd_notify)."""

    def __init__(self, path):
        self.path = path
        self.msgs = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.msgs.append(data.decode("utf-8", "replace"))

    def all(self):
        with self.lock:
            return list(self.msgs)

    def count(self, msg):
        with self.lock:
            return sum(m == msg for m in self.msgs)

    def close(self):
        self.stop.set()
        self.t.join(5)
        self.sock.close()


def start_daemon(conf, logpath, notify):
    """`helsefeed -c conf run`, its stderr into logpath, talking to
    `notify` with a 1 s watchdog.  The process (in PROCS)."""
    env = dict(os.environ, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="1000000")
    env.pop("WATCHDOG_PID", None)
    with open(logpath, "w") as logf:
        d = subprocess.Popen([BIN, "-c", conf, "run"], stderr=logf, env=env)
    PROCS.append(d)
    return d


def copy_sample(tmp):
    """A fresh `tmp` with a copy of examples/ (its file:// feeds, without
    an earlier run's output).  Returns the copy's helsefeed.conf."""
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    ex = os.path.join(tmp, "examples")
    shutil.copytree(os.path.join(SRC, "examples"), ex,
                    ignore=shutil.ignore_patterns("out"))
    return os.path.join(ex, "helsefeed.conf")


def serve_sample(tmp, lifetime):
    """A fresh `tmp` with a copy of examples/feeds served by tests/httpd.py
    for at most `lifetime` seconds.  Returns (feed directory, port)."""
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    feeddir = os.path.join(tmp, "feeds")
    shutil.copytree(os.path.join(SRC, "examples", "feeds"), feeddir)
    httpd = subprocess.Popen([sys.executable, os.path.join(SRC, "tests", "httpd.py"),
                              "--dir", feeddir, "--lifetime", str(lifetime)],
                             stdout=subprocess.PIPE, text=True)
    PROCS.append(httpd)
    return feeddir, int(httpd.stdout.readline())


def run_main(main, after=None):
    """Exit with main()'s code (77: skipped), or 1 when a check() failed,
    every process in PROCS killed first, then after() called (servers of
    the test's own)."""
    try:
        code = main()
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait(30)
        if after:
            after()
    print("FAILED: %d" % len(FAILS) if FAILS else "ok")
    sys.exit(1 if FAILS and code in (0, None) else code)
