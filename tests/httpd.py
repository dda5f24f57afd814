#!/usr/bin/python3
"""A scripted HTTP/1.1 server on 127.0.0.1 for the fetch tests.

    httpd.py --dir FEEDDIR [--port-file FILE] [--lifetime SECONDS]

Binds an ephemeral port, prints it on the first line of stdout (and writes
it to --port-file), and serves until SIGTERM/SIGINT or --lifetime (default
120 s) has passed, whichever comes first, so a crashed test never leaves it
behind.  Feed files are read from FEEDDIR on every request: a test changes
a feed between runs by rewriting the file.

Paths (NAME is a file in FEEDDIR; Content-Type follows its extension):

  /feeds/NAME            ETag + Last-Modified; 304 for a matching
                         If-None-Match, else for If-Modified-Since >= mtime
  /gzip/NAME             as /feeds, Content-Encoding: gzip when accepted
  /maxage/N/NAME         as /feeds, with Cache-Control: max-age=N
  /slow/NAME             Content-Length sent, then one byte per second
  /delay/SECS/NAME       as /feeds, but nothing at all (not even the status
                         line) before SECS seconds have passed; a stopping
                         server cuts the wait short and closes
  /trickle/SECS/NAME     Content-Length sent, then the body in even slices
                         every 0.1 s over SECS seconds
  /big/BYTES             a body of BYTES bytes (Content-Length declared)
  /bigchunked/BYTES      the same with chunked encoding (no length known)
  /bomb/MIB              gzip of MIB MiB of spaces (a decompression bomb)
  /status/CODE           that status (404, 410, 500, ...) with a short body
  /retry/CODE/secs/N     status CODE with Retry-After: N
  /retry/CODE/date/N     status CODE with Retry-After: <HTTP-date now+N>
  /r301/K/NAME           K hops of 301 ending at /feeds/NAME (also r302,
                         r307, r308)
  /mixed/NAME            301 then 302 then /feeds/NAME
  /loop/X                302 to /loop/X again, forever
  /tofile                302 to file:///etc/passwd
  /goto/HOST/NAME        302 to http://HOST:PORT/feeds/NAME, HOST as
                         written (localhost, 2130706433, 0, [::1], ...)
  /reset/NAME            half of the body, then a TCP reset
  /html                  an HTML page with status 200
  /changing              RSS whose guids change on every request
  /_stats                JSON: {"count": {path: n}, "c304": {path: n},
                         "ua": {path: last User-Agent},
                         "ae": {path: last Accept-Encoding},
                         "inm": {path: last If-None-Match},
                         "ims": {path: last If-Modified-Since},
                         "done": {path: trickles sent whole}}

Counts are per path without the query string.
"""
import argparse
import email.utils
import gzip
import hashlib
import http.server
import io
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

MIME = {".xml": "application/rss+xml", ".rss": "application/rss+xml",
        ".atom": "application/atom+xml", ".rdf": "application/rdf+xml"}

HTML = (b"<!DOCTYPE html><html><head><title>Helse</title></head><body>"
        b"<p>Dette er ikke en feed.</p></body></html>\n")


class State:
    def __init__(self, root):
        self.root = root
        self.lock = threading.Lock()
        self.stats = {"count": {}, "c304": {}, "ua": {}, "ae": {},
                      "inm": {}, "ims": {}, "done": {}}
        self.changing = 0
        self.bombs = {}
        self.stop = threading.Event()

    def note(self, key, path, value=None):
        with self.lock:
            d = self.stats[key]
            if value is None:
                d[path] = d.get(path, 0) + 1
            else:
                d[path] = value

    def bomb(self, mib):
        with self.lock:
            if mib not in self.bombs:
                out = io.BytesIO()
                # Level 1: a quarter of the time of level 9 for a body
                # that is still over 200:1.
                with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) as z:
                    chunk = b" " * (1 << 20)
                    for _ in range(mib):
                        z.write(chunk)
                self.bombs[mib] = out.getvalue()
            return self.bombs[mib]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "helsefeed-test/1"

    def log_message(self, fmt, *args):
        pass

    # --- helpers ---------------------------------------------------------

    @property
    def st(self):
        return self.server.state

    def base(self):
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_port
        return "http://" + host

    def send(self, code, body=b"", ctype="text/plain; charset=utf-8", headers=()):
        self.send_response(code)
        if body is not None and code != 304:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        if code != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if code != 304 and self.command != "HEAD" and body:
            self.wfile.write(body)

    def redirect(self, code, location):
        self.send(code, b"moved\n", headers=[("Location", location)])

    def feed_file(self, name):
        if "/" in name or name.startswith("."):
            return None
        path = os.path.join(self.st.root, name)
        try:
            with open(path, "rb") as f:
                data = f.read()
            mtime = os.stat(path).st_mtime
        except OSError:
            return None
        ext = os.path.splitext(name)[1]
        return data, int(mtime), MIME.get(ext, "application/xml")

    def serve_feed(self, name, path, gz=False, extra=()):
        got = self.feed_file(name)
        if got is None:
            self.send(404, b"no such feed\n")
            return
        data, mtime, ctype = got
        etag = '"%s"' % hashlib.sha1(data).hexdigest()[:16]
        lastmod = email.utils.formatdate(mtime, usegmt=True)
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        fresh = False
        # RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since.
        if inm is not None:
            fresh = etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        elif ims is not None:
            t = email.utils.parsedate_to_datetime(ims) if ims else None
            fresh = t is not None and int(t.timestamp()) >= mtime
        hdrs = [("ETag", etag), ("Last-Modified", lastmod)] + list(extra)
        if fresh:
            self.st.note("c304", path)
            self.send(304, None, headers=hdrs)
            return
        if gz and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            data = gzip.compress(data)
            hdrs.append(("Content-Encoding", "gzip"))
        self.send(200, data, ctype, hdrs)

    def headers_of(self, name):
        """Send the status line and headers of feed file `name` with its
        full Content-Length; its bytes, or None after a 404."""
        got = self.feed_file(name)
        if got is None:
            self.send(404, b"no such feed\n")
            return None
        data, _, ctype = got
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        return data

    def delay(self, secs, name, path):
        # Ends with the server's lifetime: a wait never outlives it.
        if self.st.stop.wait(secs):
            self.close_connection = True
            return
        self.serve_feed(name, path)

    def trickle(self, name):
        data = self.headers_of(name)
        if data is None:
            return
        for i in range(len(data)):
            if self.st.stop.wait(1.0):
                break
            try:
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
            except OSError:
                break
        self.close_connection = True

    def trickle_over(self, secs, name, path):
        data = self.headers_of(name)
        if data is None:
            return
        ticks = max(1, int(secs * 10))
        start = time.monotonic()
        sent = 0
        for i in range(1, ticks + 1):
            # Paced from the start, so slow writes do not add up.
            if self.st.stop.wait(max(0.0, start + i * 0.1 - time.monotonic())):
                break
            end = len(data) * i // ticks
            try:
                self.wfile.write(data[sent:end])
                self.wfile.flush()
            except OSError:
                break
            sent = end
        if sent == len(data):
            self.st.note("done", path)
        self.close_connection = True

    def reset(self, name):
        data = self.headers_of(name)
        if data is None:
            return
        self.wfile.write(data[:len(data) // 2])
        self.wfile.flush()
        time.sleep(0.2)
        # SO_LINGER with a zero time-out makes close() send RST.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.close_connection = True

    def chunked(self, size):
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < size:
                n = min(len(chunk), size - sent)
                self.wfile.write(b"%x\r\n" % n + chunk[:n] + b"\r\n")
                sent += n
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        self.close_connection = True

    def changing(self):
        with self.st.lock:
            self.st.changing += 1
            n = self.st.changing
        items = "".join(
            "<item><title>Endring %d.%d</title><guid isPermaLink=\"false\">"
            "chg-%d-%d</guid><link>http://example.no/chg/%d/%d</link></item>"
            % (n, i, n, i, n, i) for i in range(3))
        body = ("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\">"
                "<channel><title>Skiftende</title><link>http://example.no/</link>"
                "%s</channel></rss>" % items).encode()
        self.send(200, body, "application/rss+xml")

    # --- dispatch ----------------------------------------------------------

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        parts = path.strip("/").split("/")
        st = self.st
        st.note("count", path)
        st.note("ua", path, self.headers.get("User-Agent", ""))
        st.note("ae", path, self.headers.get("Accept-Encoding", ""))
        st.note("inm", path, self.headers.get("If-None-Match", ""))
        st.note("ims", path, self.headers.get("If-Modified-Since", ""))
        head = parts[0]
        try:
            if head == "_stats":
                with st.lock:
                    body = json.dumps(st.stats).encode()
                self.send(200, body, "application/json")
            elif head == "feeds" and len(parts) == 2:
                self.serve_feed(parts[1], path)
            elif head == "gzip" and len(parts) == 2:
                self.serve_feed(parts[1], path, gz=True)
            elif head == "maxage" and len(parts) == 3:
                self.serve_feed(parts[2], path,
                                extra=[("Cache-Control", "public, max-age=%d" % int(parts[1]))])
            elif head == "slow" and len(parts) == 2:
                self.trickle(parts[1])
            elif head == "delay" and len(parts) == 3:
                self.delay(float(parts[1]), parts[2], path)
            elif head == "trickle" and len(parts) == 3:
                self.trickle_over(float(parts[1]), parts[2], path)
            elif head == "big" and len(parts) == 2:
                self.send(200, b"x" * int(parts[1]), "application/rss+xml")
            elif head == "bigchunked" and len(parts) == 2:
                self.chunked(int(parts[1]))
            elif head == "bomb" and len(parts) == 2:
                self.send(200, st.bomb(int(parts[1])), "application/rss+xml",
                          [("Content-Encoding", "gzip")])
            elif head == "status" and len(parts) == 2:
                code = int(parts[1])
                self.send(code, b"status %d\n" % code)
            elif head == "retry" and len(parts) == 4:
                code, n = int(parts[1]), int(parts[3])
                if parts[2] == "secs":
                    v = str(n)
                else:
                    v = email.utils.formatdate(time.time() + n, usegmt=True)
                self.send(code, b"slow down\n", headers=[("Retry-After", v)])
            elif head in ("r301", "r302", "r307", "r308") and len(parts) == 3:
                k = int(parts[1])
                nxt = ("/%s/%d/%s" % (head, k - 1, parts[2]) if k > 1
                       else "/feeds/" + parts[2])
                self.redirect(int(head[1:]), self.base() + nxt)
            elif head == "mixed" and len(parts) == 2:
                self.redirect(301, self.base() + "/r302/1/" + parts[1])
            elif head == "loop":
                self.redirect(302, self.base() + path)
            elif head == "tofile":
                self.redirect(302, "file:///etc/passwd")
            elif head == "goto" and len(parts) == 3:
                port = self.server.server_address[1]
                self.redirect(302, "http://%s:%d/feeds/%s" % (parts[1], port, parts[2]))
            elif head == "reset" and len(parts) == 2:
                self.reset(parts[1])
            elif head == "html":
                self.send(200, HTML, "text/html; charset=utf-8")
            elif head == "changing":
                self.changing()
            else:
                self.send(404, b"not found\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # Clients hanging up (size limits, time-outs) are what the tests
        # provoke; anything else is a bug in this server.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file")
    ap.add_argument("--lifetime", type=float, default=120.0)
    a = ap.parse_args()

    srv = Server(("127.0.0.1", 0), Handler)
    srv.state = State(os.path.abspath(a.dir))
    port = srv.server_address[1]
    # Build the tests' bomb before serving: made on first request, it
    # kept the client waiting long enough on a loaded machine to trip its
    # low-speed limit instead of its size limit.
    srv.state.bomb(64)

    def stop(*_):
        srv.state.stop.set()

    # Before the port is announced: a client may stop us right away.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, a.port_file)
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()

    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True)
    t.start()
    # Short waits: a SIGTERM delivered to a handler thread only runs the
    # Python handler once the main thread wakes up.
    end = time.monotonic() + a.lifetime
    while not srv.state.stop.wait(0.2) and time.monotonic() < end:
        pass
    srv.state.stop.set()
    srv.shutdown()
    srv.server_close()


if __name__ == "__main__":
    main()
