"""it_serve - the README's nginx server block, with Debian's nginx on
127.0.0.1, serving the offline sample's output: every file's
Content-Type with charset=utf-8 (curl), caching that revalidates
(Cache-Control: no-cache, ETag, 304 on If-None-Match), dot files hidden;
then headless Chromium renders a category page and opens a feed link
without mojibake, and takes a 390 px wide screenshot of the page.
Exit 77 (skip) without nginx or curl.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from itlib import BIN, FAILS, PROCS, check, copy_sample, run_main

TMP = os.environ["HF_TMP"]
SRC = os.environ["HF_SRC"]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)


def readme_block():
    """The first ```nginx block of the README's "Serving" section."""
    text = open(os.path.join(SRC, "README.md"), encoding="utf-8").read()
    serving = text[text.index("## Serving"):]
    return serving.split("```nginx\n", 1)[1].split("```", 1)[0]


def free_port():
    """A port nobody listens on now (nginx cannot be told port 0)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_nginx(root, port):
    block = readme_block()
    block = re.sub(r"\n\s*listen \[::\]:80;", "", block)
    block = block.replace("listen 80;", "listen 127.0.0.1:%d;" % port)
    block = block.replace("root /var/lib/helsefeed/public;", "root %s;" % root)
    check("listen 127.0.0.1:%d;" % port in block and root in block,
          "the README's block has its listen and root lines")
    prefix = os.path.join(TMP, "nginx")
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        # As Debian's nginx.conf has it, minus what a test cannot use.
        f.write("%s\nworker_processes 1;\npid %s/nginx.pid;\n"
                "error_log %s/logs/error.log;\nevents { worker_connections 64; }\n"
                "http {\n include /etc/nginx/mime.types;\n default_type "
                "application/octet-stream;\n access_log %s/logs/access.log;\n"
                " client_body_temp_path %s/tmp;\n%s}\n"
                % ("user root;" if os.geteuid() == 0 else "", prefix, prefix,
                   prefix, prefix, block))
    r = run(NGINX, "-t", "-p", prefix, "-c", conf)
    check(r.returncode == 0, "nginx -t accepts the block: " + r.stderr[-500:])
    p = subprocess.Popen([NGINX, "-p", prefix, "-c", conf, "-g", "daemon off;"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    PROCS.append(p)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p
        except OSError:
            if p.poll() is not None:
                break
            time.sleep(0.05)
    check(False, "nginx listens on %d: %s" % (port, p.stderr.read().decode()[-500:]))
    return None


def headers(url, *extra):
    r = run("curl", "-sS", "-o", "/dev/null", "-D", "-", *extra, url)
    status = int(r.stdout.split()[1]) if r.stdout else 0
    h = {}
    for line in r.stdout.splitlines()[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            h[k.strip().lower()] = v.strip()
    return status, h


def main():
    if not BIN or not os.access(BIN, os.X_OK):
        print("no binary in $HELSEFEED")
        return 77
    if not NGINX or not shutil.which("curl"):
        print("skip: needs nginx (Debian: nginx-light) and curl")
        return 77
    conf = copy_sample(TMP)
    ex = os.path.dirname(conf)
    out = os.path.join(ex, "out", "public")
    for cmd in (("fetch", "--all"), ("publish",)):
        r = run(BIN, "-c", conf, *cmd)
        check(r.returncode == 0, "%s: %s" % (cmd, r.stderr[-300:]))
    open(os.path.join(out, ".secret"), "w").write("x")
    port = free_port()
    if not start_nginx(out, port):
        return 1
    base = "http://127.0.0.1:%d/" % port

    want = {
        "": "text/html; charset=utf-8",
        "index.html": "text/html; charset=utf-8",
        "tema/covid.html": "text/html; charset=utf-8",
        "kjelde/ministry.html": "text/html; charset=utf-8",
        "arkiv/index.html": "text/html; charset=utf-8",
        "status.html": "text/html; charset=utf-8",
        "all.atom": "application/atom+xml; charset=utf-8",
        "covid.atom": "application/atom+xml; charset=utf-8",
        "tema/covid.atom": "application/atom+xml; charset=utf-8",
        "kjelde/ministry.atom": "application/atom+xml; charset=utf-8",
        "status.json": "application/json; charset=utf-8",
        "feeds.opml": "text/x-opml; charset=utf-8",
        "feed.xsl": "text/xsl; charset=utf-8",
    }
    for path, ctype in want.items():
        status, h = headers(base + path)
        check(status == 200, "%s: HTTP %d" % (path, status))
        check(h.get("content-type") == ctype,
              "%s: Content-Type %r, want %r" % (path, h.get("content-type"), ctype))
        check(h.get("cache-control") == "no-cache", "%s: Cache-Control %r"
              % (path, h.get("cache-control")))
        check("etag" in h and "last-modified" in h, path + ": ETag and Last-Modified")
    status, h = headers(base + "all.atom")
    status2, _ = headers(base + "all.atom", "-H", "If-None-Match: " + h.get("etag", ""))
    check(status2 == 304, "a reader's conditional GET gets 304: %d" % status2)
    status, _ = headers(base + ".secret")
    check(status == 404, "dot files are not served: %d" % status)

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("note: chromium absent, pages not rendered")
        return 1 if FAILS else 0
    prof = tempfile.mkdtemp(dir=TMP)
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--no-first-run", "--user-data-dir=" + prof]
    r = run(*cmd, "--dump-dom", base + "tema/covid.html")
    dom = r.stdout
    check("Abonner (Atom)" in dom and "Covid-19-forskriften" in dom,
          "chromium renders the category page")
    check("Svar om rødt nivå" in dom and "Ã" not in dom,
          "the page has no mojibake")
    # The page's subscribe link, followed as a reader's browser would.
    link = re.search(r'class="subscribe" type="application/atom\+xml" href="([^"]+)"', dom)
    check(link is not None, "the page has a subscribe link")
    if link:
        target = base + "tema/" + link.group(1)
        target = re.sub(r"/tema/\.\./", "/", target)
        r = run(*cmd, "--dump-dom", target)
        check("Covid-19-forskriften" in r.stdout, "chromium opens the feed: %r"
              % r.stdout[:200])
        check("Svar om rødt nivå" in r.stdout and "Ã" not in r.stdout,
              "the feed shows æ, ø, å, not mojibake")
    png = os.path.join(TMP, "covid-390.png")
    r = run(*cmd, "--screenshot=" + png, "--window-size=390,900", base + "tema/covid.html")
    check(os.path.exists(png) and open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n",
          "a 390 px screenshot of the category page: " + r.stderr[-300:])
    return 1 if FAILS else 0


if __name__ == "__main__":
    run_main(main)
