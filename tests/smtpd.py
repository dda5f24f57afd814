"""Loopback SMTP server for the digest tests, on aiosmtpd.

Listens on 127.0.0.1 only.  Every message accepted is written to
DIR/NNNN.eml and described by one line of DIR/log.jsonl; refused and
dropped transactions are logged too, so a test can count attempts as well
as deliveries.

Behaviours are scripted and can be changed between runs of the client:
  refuse       set of recipient addresses answered 550 at RCPT TO
  rcpt_tempfail  {address: n}: the next n RCPT TO for that address are
               answered 450 (counts down)
  tempfail     number of DATA commands still to answer 451 (counts down)
  reject       number of DATA commands still to answer 554, a permanent
               refusal of the message (counts down)
  slow         seconds to wait before answering DATA (a slow server)
  drop         number of DATA commands still to answer by closing the
               connection without a reply (counts down): the client saw
               the whole message go out but never gets the final 250, the
               outcome it cannot know (RFC 5321 4.1.1.4).

Use from a test:
    srv = smtpd.Server(outdir); srv.start(); ... srv.port ...; srv.stop()
or stand-alone:
    python3 smtpd.py DIR [--refuse ADDR] [--tempfail N] [--drop N]
                     [--reject N] [--slow SECONDS]
which prints the port and serves until interrupted.
"""

import argparse
import asyncio
import json
import os
import socket
import threading

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, outdir):
        self.outdir = outdir
        self.refuse = set()
        self.rcpt_tempfail = {}
        self.tempfail = 0
        self.reject = 0
        self.slow = 0.0
        self.drop = 0
        self.count = 0
        self.lock = threading.Lock()
        os.makedirs(outdir, exist_ok=True)

    def _log(self, rec):
        with open(os.path.join(self.outdir, "log.jsonl"), "a") as f:
            f.write(json.dumps(rec) + "\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            self._log({"event": "refused", "rcpt": address})
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        with self.lock:
            n = self.rcpt_tempfail.get(address.lower(), 0)
            if n > 0:
                self.rcpt_tempfail[address.lower()] = n - 1
        if n > 0:
            self._log({"event": "rcpt-tempfail", "rcpt": address})
            return "450 4.2.1 <%s>: mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        if self.slow:
            self._log({"event": "slow", "rcpt": envelope.rcpt_tos})
            await asyncio.sleep(self.slow)
        with self.lock:
            if self.reject > 0:
                self.reject -= 1
                self._log({"event": "rejected", "rcpt": envelope.rcpt_tos})
                return "554 5.7.1 message refused by policy"
            if self.drop > 0:
                self.drop -= 1
                self._log({"event": "dropped", "rcpt": envelope.rcpt_tos})
                server.transport.close()
                return "421 4.3.0 closing"  # never reaches the client
            if self.tempfail > 0:
                self.tempfail -= 1
                self._log({"event": "tempfail", "rcpt": envelope.rcpt_tos})
                return "451 4.3.0 try again later"
            self.count += 1
            name = "%04d.eml" % self.count
            with open(os.path.join(self.outdir, name), "wb") as f:
                f.write(data)
            self._log({"event": "accepted", "file": name,
                       "mail_from": envelope.mail_from,
                       "rcpt": envelope.rcpt_tos})
        return "250 2.0.0 OK queued"

    def accepted(self):
        """The log lines of accepted messages, in order."""
        path = os.path.join(self.outdir, "log.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            recs = [json.loads(line) for line in f if line.strip()]
        return [r for r in recs if r["event"] == "accepted"]

    def events(self):
        path = os.path.join(self.outdir, "log.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]


def free_port():
    # aiosmtpd 1.4's Controller cannot bind port 0 (it connects back to
    # the port it was given), so ask the kernel for one first.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, outdir):
        self.handler = Handler(outdir)
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1",
                                     port=self.port, ready_timeout=10)

    def start(self):
        self.controller.start()

    def stop(self):
        self.controller.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--refuse", action="append", default=[])
    ap.add_argument("--tempfail", type=int, default=0)
    ap.add_argument("--drop", type=int, default=0)
    ap.add_argument("--reject", type=int, default=0)
    ap.add_argument("--slow", type=float, default=0.0)
    a = ap.parse_args()
    srv = Server(a.dir)
    srv.handler.refuse = {x.lower() for x in a.refuse}
    srv.handler.tempfail = a.tempfail
    srv.handler.drop = a.drop
    srv.handler.reject = a.reject
    srv.handler.slow = a.slow
    srv.start()
    print(srv.port, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    srv.stop()


if __name__ == "__main__":
    main()
