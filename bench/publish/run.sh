#!/bin/sh
# Publish benchmark: `helsefeed publish` from databases of 10,000 and
# 1,000,000 synthetic items (gen.py), each run twice (first: every file
# written; second: nothing changed, nothing written).  Wall and CPU time
# and peak RSS of the whole process from /usr/bin/time -v; publish_ms is
# publish_run alone (its debug line), without opening and closing the
# store.
#
#   sh bench/publish/run.sh [HELSEFEED] [SIZES...]
#
# Needs python3 (sqlite3 module) and GNU time (apt-get install time).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
hf=${1:-$here/../../build/helsefeed}
[ $# -gt 0 ] && shift
sizes=${*:-10000 1000000}
dir=$(mktemp -d /tmp/hf-bench-publish.XXXXXX)
trap 'rm -rf "$dir"' EXIT

conf() {
	cat > "$dir/$1.conf" <<CONF
[helsefeed]
database = $1/helsefeed.db
output   = $1/public
base_url = https://helsenytt.example.no/
title    = Helsenytt
[category hospitals]
title = Sykehus
match = sykehus*
[category covid]
title = Covid-19
match = covid*
[category municipal]
title = Kommunale helse- og omsorgstjenester
match = kommun*
CONF
	i=0
	for k in ministry directorate directorate hospital hospital hospital \
	         hospital municipal municipal other other directorate; do
		printf '[feed feed%02d]\nurl = https://kilde%02d.example.no/rss\ntitle = Kilde %d\nkind = %s\n' \
			"$i" "$i" "$i" "$k" >> "$dir/$1.conf"
		i=$((i + 1))
	done
}

printf "%-9s %-6s %8s %8s %10s %10s %s\n" items run wall_s cpu_s publish_ms peak_kib files
for n in $sizes; do
	mkdir -p "$dir/$n"
	conf "$n"
	# An empty database gets its schema from the first run.
	"$hf" -q -c "$dir/$n.conf" publish > /dev/null
	python3 "$here/gen.py" "$dir/$n/helsefeed.db" "$n"
	rm -rf "$dir/$n/public"
	# Flush the generator's hundreds of MB first: otherwise the first
	# publish's fsync waits for them (ext4 commits its journal in order)
	# and the benchmark times the generator's disk writes.
	sync
	for run in first second; do
		/usr/bin/time -v "$hf" -v -c "$dir/$n.conf" publish \
			> "$dir/out" 2> "$dir/time"
		secs=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/time" |
		       awk -F: '{ print $(NF-1) * 60 + $NF }')
		kib=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time")
		cpu=$(sed -n 's/.*\(User\|System\) time (seconds): //p' "$dir/time" |
		      awk '{ s += $1 } END { print s }')
		ms=$(sed -n 's/^debug: publish: .* in \([0-9]*\) ms$/\1/p' "$dir/time")
		printf '%-9s %-6s %8s %8s %10s %10s %s\n' "$n" "$run" "$secs" "$cpu" "$ms" "$kib" \
			"$(sed 's/published //; s/ into.*//' "$dir/out")"
	done
done
