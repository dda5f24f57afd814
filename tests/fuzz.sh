#!/bin/sh
# Every fuzz target of fuzz/ under libFuzzer (clang, ASan + UBSan) for a
# short, fixed number of runs, starting from its corpus in fuzz/corpus/
# (copied: the runs add nothing to the repository), with a fixed seed so
# that a run is repeatable.  ctest already replays each corpus in every
# build (fuzz_replay_*); this explores beyond it.  Exits non-zero when a
# target crashes.
#
#   sh tests/fuzz.sh [RUNS]        default 20000 runs per target
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-20000}
out=$src/build-fuzz
CC=clang cmake -S "$src" -B "$out" -DHF_FUZZ=ON -DHF_WERROR=ON -DHF_TEST_HOOKS=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out" -j "${JOBS:-2}"
work=$(mktemp -d "${TMPDIR:-/tmp}/hf-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
for bin in "$out"/fuzz/fuzz_*; do
	name=$(basename "$bin")
	short=${name#fuzz_}
	mkdir -p "$work/$short"
	cp -r "$src/fuzz/corpus/$short/." "$work/$short/" 2>/dev/null || true
	echo "== $name: $runs runs"
	(cd "$work" && "$bin" -seed=1 -runs="$runs" -max_total_time=120 -rss_limit_mb=2048 \
		-print_final_stats=0 "$work/$short" >"$work/$short.log" 2>&1) || {
		tail -40 "$work/$short.log"
		echo "fuzz: $name failed" >&2
		exit 1
	}
	grep -E '^Done|^#[0-9]+.*DONE' "$work/$short.log" | tail -1 || true
done
echo "fuzz: every target ran $runs times without a crash"
