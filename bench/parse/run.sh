#!/bin/sh
# Parse benchmark: helsefeed parse vs sfeed vs python3-feedparser on the same
# files, in the same run.  usage: bench/parse/run.sh [BUILD_DIR] [MB]
#   BUILD_DIR  a Release/RelWithDebInfo build (default build-bench, configured
#              and built here if missing)
#   MB         size of each generated file (default 40)
# feedparser runs on a cut of the RSS file (FP_MB, default 2 MB) and its
# throughput is reported per MB of that cut.  RUNS=N (default 1) times each
# command N times and keeps the fastest run: on a shared machine the least
# disturbed one.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-bench}
MB=${2:-40}
FP_MB=${FP_MB:-2}
RUNS=${RUNS:-1}
WORK=${BENCH_TMP:-/tmp/helsefeed-bench}
mkdir -p "$WORK"

if [ ! -x "$BUILD/helsefeed" ]; then
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BUILD" --target helsefeed -j2 >/dev/null
fi
HF=$BUILD/helsefeed
[ -f "$WORK/big.rss" ] && [ -f "$WORK/big.atom" ] || /usr/bin/python3 "$SRC/bench/parse/gen.py" "$WORK" "$MB"
# A cut of the RSS file that is still a complete feed, for feedparser.
/usr/bin/python3 - "$WORK/big.rss" "$WORK/cut.rss" "$FP_MB" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
end = data.rfind(b"</item>", 0, int(float(sys.argv[3]) * 1024 * 1024)) + len(b"</item>\n")
open(sys.argv[2], "wb").write(data[:end] + b"</channel>\n</rss>\n")
PY

# Malformed twins of the big files: a raw, unclosed <b> early on (in the
# first escaped description of big.rss, which libxml2's push parser reads;
# in the first summary of big.atom, read by its pull parser).  libxml2
# recovers and the parse streams on: the same number of entries, about the
# same peak memory.
/usr/bin/python3 - "$WORK" <<'PY'
import sys
for ext, tag in (("rss", b"<description>&lt;"), ("atom", b"<summary>")):
    data = open("%s/big.%s" % (sys.argv[1], ext), "rb").read()
    i = data.index(tag) + data[data.index(tag):].index(b">") + 1
    open("%s/big-broken.%s" % (sys.argv[1], ext), "wb").write(data[:i] + b"<b>" + data[i:])
PY

# run NAME FILE CMD... : prints name, file, MB, seconds, MB/s, max RSS (KB)
# of the fastest of RUNS runs (max RSS: the largest of them)
run() {
	name=$1; file=$2; shift 2
	bytes=$(stat -c %s "$file")
	: > "$WORK/times.txt"
	i=0
	while [ $i -lt "$RUNS" ]; do
		/usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/err.txt" || {
			echo "$name failed:"; cat "$WORK/err.txt"; exit 1; }
		cat "$WORK/time.txt" >> "$WORK/times.txt"
		i=$((i + 1))
	done
	set -- $(awk 'NR == 1 || $1 < s { s = $1 } $2 > m { m = $2 } END { print s, m }' "$WORK/times.txt")
	awk -v n="$name" -v f="$(basename "$file")" -v b="$bytes" -v s="$1" -v m="$2" 'BEGIN {
		mb = b / 1048576; if (s < 0.01) s = 0.01;
		printf "%-22s %-9s %7.1f MB %7.2f s %8.1f MB/s %8d KB max RSS (%.2fx file)\n",
		       n, f, mb, s, mb / s, m, m * 1024 / b }' | tee -a "$WORK/results.txt"
}

: > "$WORK/results.txt"
for f in big.rss big.atom; do
	run "helsefeed parse" "$WORK/$f" "$HF" parse "$WORK/$f"
	run "sfeed" "$WORK/$f" sh -c 'sfeed < "$1"' sh "$WORK/$f"
done
run "python3-feedparser" "$WORK/cut.rss" /usr/bin/python3 -c 'import feedparser, sys; feedparser.parse(open(sys.argv[1], "rb").read())' "$WORK/cut.rss"
run "helsefeed parse" "$WORK/cut.rss" "$HF" parse "$WORK/cut.rss"

for f in big-broken.rss big-broken.atom; do
	run "helsefeed parse" "$WORK/$f" "$HF" parse "$WORK/$f"
done

awk '{ for (i = 1; i <= NF; i++) if ($i == "MB/s") r[NR] = $(i - 1); else if ($i == "KB") m[NR] = $(i - 1) }
     END { printf "\nhelsefeed/sfeed: rss %.2f, atom %.2f; helsefeed/feedparser (2 MB cut): %.0fx\n",
                  r[1] / r[2], r[3] / r[4], r[6] / r[5]
           printf "peak RSS malformed/well-formed: rss %.2f, atom %.2f\n", m[7] / m[1], m[8] / m[3] }' "$WORK/results.txt"
for ext in rss atom; do
	a=$("$HF" parse "$WORK/big.$ext" | grep -o '"id":' | wc -l)
	b=$("$HF" parse "$WORK/big-broken.$ext" 2>/dev/null | grep -o '"id":' | wc -l)
	echo "big-broken.$ext: $b entries, big.$ext: $a"
done
