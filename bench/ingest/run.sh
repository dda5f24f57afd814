#!/bin/sh
# Ingest benchmark: 20,000 feeds x 50 entries (1,000,000) through the real
# pipeline into one database, one transaction per feed.  Compiles
# bench_ingest.c against the library of a build directory.
#
#   sh bench/ingest/run.sh [BUILD-DIR] [NFEEDS] [NITEMS]
#
# The categories and keyword rules of the shipped feeds.conf are used.
#
# BUILD-DIR defaults to build/ (cmake --build it first); the database goes
# to a fresh directory under ${TMPDIR:-/var/tmp} and is removed after.
# Peak memory from /usr/bin/time (Debian: time).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
n=${2:-20000}
m=${3:-50}
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/hf-bench-ingest.XXXXXX")
trap 'rm -rf "$dir"' EXIT

cc -std=c11 -D_GNU_SOURCE -O2 -I "$here/../../include" \
   -o "$dir/bench_ingest" "$here/bench_ingest.c" "$build/libhelsefeed_core.a" \
   $(pkg-config --libs libcurl libxml-2.0 sqlite3 libutf8proc) -lstemmer -lm
/usr/bin/time -f 'peak RSS: %M KiB' \
	"$dir/bench_ingest" "$dir/bench.db" "$n" "$m" "$here/../../feeds.conf"
ls -l "$dir/bench.db" | awk '{printf "database: %.0f MB\n", $5 / 1048576}'
