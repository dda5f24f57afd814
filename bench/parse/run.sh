#!/bin/sh
# Parse benchmark: helsefeed parse vs sfeed vs python3-feedparser on the same
# files, in the same run.  usage: bench/parse/run.sh [BUILD_DIR] [MB]
#   BUILD_DIR  a Release/RelWithDebInfo build (default build-bench, configured
#              and built here if missing)
#   MB         size of each generated file (default 40)
# feedparser runs on a cut of the RSS file (FP_MB, default 8 MB), and
# helsefeed on the same cut.  RUNS=N (default 1) runs each pair of commands
# N times, alternating, and keeps each one's fastest run: on a shared
# machine the least disturbed one, with the load spread over both.
# HF2=BINARY also times a second helsefeed binary on the big files in the
# same rounds (another build, to compare), reported after the others.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-bench}
MB=${2:-40}
FP_MB=${FP_MB:-8}
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
# first escaped description of big.rss, in the first summary of big.atom).
# libxml2 recovers and the parse streams on: the same number of entries,
# about the same peak memory.
/usr/bin/python3 - "$WORK" <<'PY'
import sys
for ext, tag in (("rss", b"<description>&lt;"), ("atom", b"<summary>")):
    data = open("%s/big.%s" % (sys.argv[1], ext), "rb").read()
    i = data.index(tag) + data[data.index(tag):].index(b">") + 1
    open("%s/big-broken.%s" % (sys.argv[1], ext), "wb").write(data[:i] + b"<b>" + data[i:])
PY

# once ID CMD... : appends "microseconds maxRSS-KB" of one run to $WORK/t.ID
# (wall time from date(1), the peak from /usr/bin/time)
once() {
	id=$1; shift
	t0=$(date +%s%N)
	/usr/bin/time -f "%M" -o "$WORK/mem.txt" "$@" >/dev/null 2>"$WORK/err.txt" || {
		echo "$id failed:"; cat "$WORK/err.txt"; exit 1; }
	t1=$(date +%s%N)
	echo "$(( (t1 - t0) / 1000 )) $(cat "$WORK/mem.txt")" >> "$WORK/t.$id"
}

# report ID NAME FILE : the fastest run (and the largest peak) of ID
report() {
	bytes=$(stat -c %s "$3")
	awk -v n="$2" -v f="$(basename "$3")" -v b="$bytes" '
		NR == 1 || $1 < s { s = $1 } $2 > m { m = $2 }
		END { s /= 1e6; mb = b / 1048576
		      printf "%-22s %-16s %6.1f MB %7.3f s %8.1f MB/s %8d KB max RSS (%.2fx file)\n",
		             n, f, mb, s, mb / s, m, m * 1024 / b }' "$WORK/t.$1" | tee -a "$WORK/results.txt"
}

rm -f "$WORK"/t.*
: > "$WORK/results.txt"
i=0
while [ $i -lt "$RUNS" ]; do
	for f in big.rss big.atom; do
		once "hf-$f" "$HF" parse "$WORK/$f"
		once "sfeed-$f" sh -c 'sfeed < "$1"' sh "$WORK/$f"
		[ -z "${HF2:-}" ] || once "hf2-$f" "$HF2" parse "$WORK/$f"
	done
	once fp /usr/bin/python3 -c 'import feedparser, sys; feedparser.parse(open(sys.argv[1], "rb").read())' "$WORK/cut.rss"
	once hf-cut "$HF" parse "$WORK/cut.rss"
	for f in big-broken.rss big-broken.atom; do
		once "hf-$f" "$HF" parse "$WORK/$f"
	done
	i=$((i + 1))
done
for f in big.rss big.atom; do
	report "hf-$f" "helsefeed parse" "$WORK/$f"
	report "sfeed-$f" "sfeed" "$WORK/$f"
done
report fp python3-feedparser "$WORK/cut.rss"
report hf-cut "helsefeed parse" "$WORK/cut.rss"
for f in big-broken.rss big-broken.atom; do
	report "hf-$f" "helsefeed parse" "$WORK/$f"
done

awk '{ for (i = 1; i <= NF; i++) if ($i == "MB/s") r[NR] = $(i - 1); else if ($i == "KB") m[NR] = $(i - 1) }
     END { printf "\nhelsefeed/sfeed: rss %.2f, atom %.2f; helsefeed/feedparser (%s MB cut): %.0fx\n",
                  r[1] / r[2], r[3] / r[4], fpmb, r[6] / r[5]
           printf "peak RSS malformed/well-formed: rss %.2f, atom %.2f\n", m[7] / m[1], m[8] / m[3] }' \
    fpmb="$FP_MB" "$WORK/results.txt"
if [ -n "${HF2:-}" ]; then
	for f in big.rss big.atom; do
		report "hf2-$f" "HF2 parse" "$WORK/$f"
	done
	awk '{ for (i = 1; i <= NF; i++) if ($i == "MB/s") r[NR] = $(i - 1) }
	     END { printf "HF2/sfeed: rss %.2f, atom %.2f\n", r[9] / r[2], r[10] / r[4] }' "$WORK/results.txt"
fi
for ext in rss atom; do
	a=$("$HF" parse "$WORK/big.$ext" | grep -o '"id":' | wc -l)
	b=$("$HF" parse "$WORK/big-broken.$ext" 2>/dev/null | grep -o '"id":' | wc -l)
	echo "big-broken.$ext: $b entries, big.$ext: $a"
done
