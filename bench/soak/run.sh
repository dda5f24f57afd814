#!/bin/sh
# Soak benchmark: `helsefeed run` with 1,000 loopback feeds whose content
# changes, at interval = 1m, for DURATION seconds (default 600); samples
# RSS, open fds and CPU time every 10 s and checks the fetch schedule.
#
#   sh bench/soak/run.sh [HELSEFEED] [DURATION] [NFEEDS]
#
# Output (report.txt, samples.tsv, publishes.tsv, daemon.log, the database)
# stays in $SOAK_DIR (default: a new /tmp/hf-soak.XXXXXX).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
hf=${1:-$here/../../build/helsefeed}
duration=${2:-600}
n=${3:-1000}
dir=${SOAK_DIR:-$(mktemp -d /tmp/hf-soak.XXXXXX)}
exec /usr/bin/python3 "$here/soak.py" "$hf" --duration "$duration" --feeds "$n" \
	--interval 1m --sample 10 --dir "$dir"
