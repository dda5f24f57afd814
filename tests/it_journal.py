"""it_journal - log lines carry their sd-daemon priority ("<4>warn: ...")
exactly when JOURNAL_STREAM names the stream stderr is (systemd.exec(5)),
so that `journalctl -p warning` finds the warnings; with the variable
naming another stream (inherited from a parent) or absent, lines are
plain.  The offline sample's dmp feed gives a warning, the others info.
"""
import os
import subprocess

from itlib import BIN, FAILS, check, copy_sample, run_main

TMP = os.environ["HF_TMP"]


def fetch(conf, journal):
    """Run fetch --all with stderr a pipe; JOURNAL_STREAM set to that
    pipe (journal=True), to another file (False) or unset (None)."""
    r, w = os.pipe()
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    if journal is not None:
        st = os.fstat(w if journal else 0)
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
    p = subprocess.Popen([BIN, "-c", conf, "fetch", "--all"], stderr=w,
                         stdout=subprocess.DEVNULL, env=env)
    os.close(w)
    with os.fdopen(r, encoding="utf-8") as f:
        text = f.read()
    p.wait(120)
    return text.splitlines()


def main():
    if not BIN or not os.access(BIN, os.X_OK):
        print("no binary in $HELSEFEED")
        return 77
    conf = copy_sample(TMP)
    lines = fetch(conf, True)
    check(lines and all(l[:3] in ("<3>", "<4>", "<6>", "<7>") for l in lines),
          "every line has a priority: %r" % lines)
    check(any(l.startswith("<4>warn: feed dmp: ") for l in lines),
          "the broken feed's warning is priority 4: %r" % lines)
    check(any(l.startswith("<6>info: feed fhi: 200") for l in lines),
          "info is priority 6: %r" % lines)
    for journal in (False, None):
        lines = fetch(conf, journal)
        check(lines and not any(l.startswith("<") for l in lines),
              "no prefix when stderr is not the journal (%r): %r" % (journal, lines))
        check(any(l.startswith("warn: feed dmp: ") for l in lines),
              "plain lines keep their level: %r" % lines)
    return 1 if FAILS else 0


if __name__ == "__main__":
    run_main(main)
