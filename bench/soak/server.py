#!/usr/bin/python3
"""Loopback feed server for the soak benchmark: N RSS feeds whose content
changes while they are fetched.

    server.py [--feeds N] [--lifetime SECONDS] [--p-new P] [--burst B]
              [--keep K] [--seed S]

Binds 127.0.0.1 on an ephemeral port, prints the port on the first line of
stdout and serves until SIGTERM/SIGINT or --lifetime (default 900 s),
whichever comes first, so an interrupted benchmark never leaves it behind.

/f/N (0 <= N < feeds) is an RSS 2.0 feed of the K (default 20) newest
items of feed N.  Every request for it first adds B (default 1) new items
with probability P (default 0.5; drawn from a generator seeded with
--seed, N and the request number, so a run is reproducible given the same
order of requests per feed).  A larger B churns the daemon's caches
faster: its memory reaches its bound in minutes instead of hours.  Responses carry an ETag (the feed's version) and
answer 304 to a matching If-None-Match, like a static server.  Every item
has its own words, so deduplication merges nothing.

/_stats answers JSON: requests, 200s, 304s and items published so far.
"""
import argparse
import http.server
import json
import random
import signal
import sys
import threading
import time

SYL = ("hel se sju ke hus kom mu ne om sorg tje nes te fast le ge vakt vak sin "
       "pa si ent rus psy kisk til skudd bo dø trom sø åle sund før de bered skap "
       "spe si a list fyl ke råd ar beid plan stat lov for skrift").split()


def words(r, n):
    return " ".join("".join(r.choice(SYL) for _ in range(r.randint(2, 4))) for _ in range(n))


class Feed:
    __slots__ = ("items", "requests", "version", "lock", "body", "etag")

    def __init__(self):
        self.items = []        # newest first: (serial, title, description, pubdate)
        self.requests = 0
        self.version = 0
        self.lock = threading.Lock()
        self.body = None
        self.etag = None


class State:
    def __init__(self, n, p_new, burst, keep, seed):
        self.feeds = [Feed() for _ in range(n)]
        self.p_new, self.burst, self.keep, self.seed = p_new, burst, keep, seed
        self.lock = threading.Lock()
        self.stats = {"requests": 0, "ok": 0, "not_modified": 0, "items": 0}
        self.stop = threading.Event()
        for i, f in enumerate(self.feeds):   # a first item for every feed
            self.add(i, f, random.Random("%d/%d/init" % (seed, i)))
            self.render(i, f)

    def add(self, i, f, r):
        f.version += 1
        serial = f.version
        f.items.insert(0, (serial, "Soak %d.%d: %s" % (i, serial, words(r, 5)),
                           words(r, 30), time.time()))
        del f.items[self.keep:]
        with self.lock:
            self.stats["items"] += 1

    def render(self, i, f):
        out = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
               "<title>Soak feed %d</title><link>http://soak.example.no/%d/</link>"
               "<description>Soak</description>" % (i, i)]
        for serial, title, desc, t in f.items:
            out.append("<item><title>%s</title><link>http://soak.example.no/%d/%d</link>"
                       "<guid isPermaLink=\"false\">soak-%d-%d</guid>"
                       "<pubDate>%s</pubDate><description>%s</description></item>"
                       % (title, i, serial, i, serial,
                          time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t)), desc))
        out.append("</channel></rss>\n")
        f.body = "".join(out).encode()
        f.etag = '"v%d-%d"' % (i, f.version)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "helsefeed-soak/1"

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body=b"", ctype="text/plain", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if code != 304:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if code != 304 and body:
            self.wfile.write(body)

    def do_GET(self):
        st = self.server.state
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        try:
            if parts == ["_stats"]:
                with st.lock:
                    body = json.dumps(st.stats).encode()
                self.send(200, body, "application/json")
                return
            if len(parts) != 2 or parts[0] != "f" or not parts[1].isdigit() \
                    or int(parts[1]) >= len(st.feeds):
                self.send(404, b"not found\n")
                return
            i = int(parts[1])
            f = st.feeds[i]
            with f.lock:
                f.requests += 1
                r = random.Random("%d/%d/%d" % (st.seed, i, f.requests))
                if r.random() < st.p_new:
                    for _ in range(st.burst):
                        st.add(i, f, r)
                    st.render(i, f)
                body, etag = f.body, f.etag
            with st.lock:
                st.stats["requests"] += 1
            if self.headers.get("If-None-Match") == etag:
                with st.lock:
                    st.stats["not_modified"] += 1
                self.send(304, headers=[("ETag", etag)])
            else:
                with st.lock:
                    st.stats["ok"] += 1
                self.send(200, body, "application/rss+xml", [("ETag", etag)])
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--lifetime", type=float, default=900.0)
    ap.add_argument("--p-new", type=float, default=0.5)
    ap.add_argument("--burst", type=int, default=1)
    ap.add_argument("--keep", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.state = State(a.feeds, a.p_new, a.burst, a.keep, a.seed)

    def stop(*_):
        srv.state.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(srv.server_address[1], flush=True)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    t.start()
    end = time.monotonic() + a.lifetime
    while not srv.state.stop.wait(0.2) and time.monotonic() < end:
        pass
    srv.shutdown()
    srv.server_close()
    with srv.state.lock:
        print(json.dumps(srv.state.stats), flush=True)


if __name__ == "__main__":
    main()
