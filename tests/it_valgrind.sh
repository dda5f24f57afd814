#!/bin/bash
# Memcheck over the main job on the offline sample: every command that
# touches the database or the network code runs under valgrind, and any
# error or leak fails the test.  Skipped in the sanitizer builds (ASan or
# TSan and valgrind do not mix) and where valgrind is not installed.
set -eu
[ "${HF_SANITIZE:-0}" = 1 ] && { echo "skip: sanitizer build"; exit 77; }
command -v valgrind >/dev/null || { echo "skip: no valgrind"; exit 77; }

tmp=${HF_TMP:?}
rm -rf "$tmp" && mkdir -p "$tmp"
cp -r "$HF_SRC/examples" "$tmp/examples"
rm -rf "$tmp/examples/out"
conf=$tmp/examples/helsefeed.conf

# The parser processes are forked, not exec'd: the host from the daemon
# at start, a watcher and a parser child per document from the host.  At
# their _exit they still hold what they inherited, which memcheck may
# call "possibly lost" (interior pointers; it does in a build with
# Debian's flags).  That is no leak of their own, so the errors are
# definite and indirect leaks and every memory error.  A parser child's
# error shows as "the parser failed (exit 99)", a watcher's as "the
# parser process ended ..." when the command ends; either
# fails the test below.  The parse command checks the parser itself in
# one process.
vg() {
	valgrind -q --error-exitcode=99 --child-silent-after-fork=yes --leak-check=full \
		--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
		"$HELSEFEED" "$@"
}

for cmd in "check" "run --once" "run --once" "status" "publish" "digest --dry-run"; do
	echo "== $cmd"
	rc=0
	vg -c "$conf" $cmd >"$tmp/out.txt" 2>"$tmp/err.txt" || rc=$?
	cat "$tmp/err.txt"
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: helsefeed $cmd exited $rc under valgrind"
		exit 1
	fi
	if grep -q -e "the parser failed" -e "the parser process ended" "$tmp/err.txt"; then
		echo "FAIL: a parser process of helsefeed $cmd failed under valgrind"
		exit 1
	fi
done
for f in "$HF_SRC"/examples/feeds/*; do
	rc=0
	vg parse "$f" >/dev/null 2>"$tmp/err.txt" || rc=$?
	# 1 is the documented exit code for a non-feed; 99 is valgrind's.
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
		cat "$tmp/err.txt"
		echo "FAIL: helsefeed parse $f exited $rc under valgrind"
		exit 1
	fi
done
echo "valgrind: no errors, no leaks"
