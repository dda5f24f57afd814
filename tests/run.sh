#!/bin/sh
# The whole test suite: build helsefeed three times, as shipped, with
# AddressSanitizer + UndefinedBehaviorSanitizer and with ThreadSanitizer,
# and run every test of tests/ and fuzz/ through ctest in each build.
# Every build treats warnings as errors (HF_WERROR) and has the test
# hooks the crash and digest tests need (HF_TEST_HOOKS); a binary to
# install is built without them.  Exits non-zero when any build or test
# fails.
#
#   sh tests/run.sh            all three builds
#   sh tests/run.sh build      only the normal one
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-2}
variants=${*:-build build-asan build-tsan}
for variant in $variants; do
	case $variant in
	build) opts=-DHF_SANITIZE=OFF ;;
	build-asan) opts=-DHF_SANITIZE=ON ;;
	build-tsan) opts=-DHF_TSAN=ON ;;
	*) echo "tests/run.sh: unknown build '$variant' (build, build-asan, build-tsan)" >&2; exit 2 ;;
	esac
	echo "== $variant"
	cmake -S "$src" -B "$src/$variant" -DHF_WERROR=ON -DHF_TEST_HOOKS=ON $opts >/dev/null
	cmake --build "$src/$variant" -j "$jobs"
	ctest --test-dir "$src/$variant" --output-on-failure -j "$jobs"
done
