#!/bin/sh
# The whole test suite: build helsefeed twice, as shipped and with
# AddressSanitizer + UndefinedBehaviorSanitizer, and run every test of
# tests/ and fuzz/ through ctest in both builds.  Exits non-zero when any
# build or test fails.
#
#   sh tests/run.sh            both builds
#   sh tests/run.sh build      only the normal one
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-2}
variants=${*:-build build-asan}
for variant in $variants; do
	case $variant in
	build) opts=-DHF_SANITIZE=OFF ;;
	build-asan) opts=-DHF_SANITIZE=ON ;;
	*) echo "tests/run.sh: unknown build '$variant' (build, build-asan)" >&2; exit 2 ;;
	esac
	echo "== $variant"
	cmake -S "$src" -B "$src/$variant" $opts >/dev/null
	cmake --build "$src/$variant" -j "$jobs"
	ctest --test-dir "$src/$variant" --output-on-failure -j "$jobs"
done
