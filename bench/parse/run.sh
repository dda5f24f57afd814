#!/bin/sh
# Parse benchmark: helsefeed parse vs sfeed vs python3-feedparser on the same
# files, in the same run.  usage: bench/parse/run.sh [BUILD_DIR] [MB]
#   BUILD_DIR  a Release/RelWithDebInfo build (default build-bench, configured
#              and built here if missing)
#   MB         size of each generated file (default 40)
# feedparser runs on a cut of the RSS file (FP_MB, default 2 MB) and its
# throughput is reported per MB of that cut.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-bench}
MB=${2:-40}
FP_MB=${FP_MB:-2}
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

# run NAME FILE CMD... : prints name, file, MB, seconds, MB/s, max RSS (KB)
run() {
	name=$1; file=$2; shift 2
	bytes=$(stat -c %s "$file")
	/usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/err.txt" || {
		echo "$name failed:"; cat "$WORK/err.txt"; exit 1; }
	set -- $(cat "$WORK/time.txt")
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

awk '{ for (i = 1; i <= NF; i++) if ($i == "MB/s") r[NR] = $(i - 1) }
     END { printf "\nhelsefeed/sfeed: rss %.2f, atom %.2f; helsefeed/feedparser (2 MB cut): %.0fx\n",
                  r[1] / r[2], r[3] / r[4], r[6] / r[5] }' "$WORK/results.txt"
