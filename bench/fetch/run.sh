#!/bin/sh
# Fetch benchmark: 1,000 feeds of 50 items served by nginx on 127.0.0.1,
# `helsefeed fetch --all` (first pass: everything new; second pass: every
# feed answers 304) side by side with `newsboat -x reload` on the same URL
# list.  Peak memory from /usr/bin/time -v.
#
#   sh bench/fetch/run.sh [HELSEFEED] [NFEEDS] [NITEMS]
#
# Needs nginx (apt-get install nginx-light) and newsboat.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
hf=${1:-$here/../../build/helsefeed}
n=${2:-1000}
m=${3:-50}
port=${PORT:-18931}
dir=$(mktemp -d /tmp/hf-bench-fetch.XXXXXX)
chmod 755 "$dir"  # nginx workers run as another user
trap 'nginx -p "$dir" -c nginx.conf -s stop 2>/dev/null; rm -rf "$dir"' EXIT

python3 "$here/gen.py" "$dir" "$port" "$n" "$m"
# Static files with ETag/Last-Modified and 304s, keep-alive, no logging:
# nginx must not be the bottleneck.
cat > "$dir/nginx.conf" <<NGX
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000;
  types { application/rss+xml xml; }
  server {
    listen 127.0.0.1:$port;
    root $dir/www;
  }
}
NGX
nginx -p "$dir" -c nginx.conf
sleep 0.3

# newsboat at its defaults (one reload thread: the floors of the
# simplification issue are quoted against it), and with the concurrency
# of helsefeed's max_connections.
mkdir -p "$dir/nb" "$dir/nb16"
printf 'show-read-feeds yes\n' > "$dir/nb/config"
printf 'reload-threads 16\nshow-read-feeds yes\n' > "$dir/nb16/config"

measure() { # label, command...
	label=$1; shift
	/usr/bin/time -v "$@" >"$dir/out" 2>"$dir/time" || true
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/time")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time")
	user=$(sed -n 's/.*User time (seconds): //p' "$dir/time")
	sys=$(sed -n 's/.*System time (seconds): //p' "$dir/time")
	printf '%-26s wall %8s  user %6s  sys %6s  peak RSS %7s KiB\n' "$label" "$wall" "$user" "$sys" "$rss"
	grep '^fetch:' "$dir/out" || true
}

echo "== $n feeds x $m items, $(du -sh "$dir/www" | cut -f1) on disk"
measure "helsefeed pass 1 (new)" "$hf" -q -c "$dir/feeds.conf" fetch --all
measure "helsefeed pass 2 (304)" "$hf" -q -c "$dir/feeds.conf" fetch --all
measure "newsboat pass 1 (new)" newsboat -u "$dir/urls" -c "$dir/nb/cache.db" -C "$dir/nb/config" -x reload
measure "newsboat pass 2 (304)" newsboat -u "$dir/urls" -c "$dir/nb/cache.db" -C "$dir/nb/config" -x reload
measure "newsboat-16 pass 1 (new)" newsboat -u "$dir/urls" -c "$dir/nb16/cache.db" -C "$dir/nb16/config" -x reload
measure "newsboat-16 pass 2 (304)" newsboat -u "$dir/urls" -c "$dir/nb16/cache.db" -C "$dir/nb16/config" -x reload
python3 - "$dir" <<PY
import sqlite3, sys
d = sys.argv[1]
a = sqlite3.connect(d + "/state/helsefeed.db").execute("select count(*) from items").fetchone()[0]
b = sqlite3.connect(d + "/nb/cache.db").execute("select count(*) from rss_item").fetchone()[0]
print("items stored: helsefeed %d, newsboat %d" % (a, b))
PY
