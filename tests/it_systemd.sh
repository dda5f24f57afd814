#!/bin/bash
# The service unit's sandbox, as systemd itself scores it: the overall
# exposure of systemd/helsefeed.service must stay at 2.0 ("OK") or lower.
# Then what `cmake --install` puts where (into a DESTDIR), and that the
# sysusers.d file makes the user the unit runs as.  Skipped where
# systemd-analyze is not installed.
set -eu
command -v systemd-analyze >/dev/null || { echo "skip: no systemd-analyze"; exit 77; }
unit=$HF_SRC/systemd/helsefeed.service

out=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1) || true
line=$(printf '%s\n' "$out" | grep 'Overall exposure level') || {
	printf '%s\n' "$out"
	echo "FAIL: systemd-analyze printed no overall exposure level"
	exit 1
}
echo "$line"
score=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9][0-9]*\.[0-9]\).*/\1/p')
[ -n "$score" ] || { echo "FAIL: cannot read the score"; exit 1; }
if awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
	echo "ok: exposure $score <= 2.0"
else
	printf '%s\n' "$out" | grep '✗'
	echo "FAIL: exposure $score is above 2.0"
	exit 1
fi

# The unit runs as the user its sysusers.d file makes.
user=$(sed -n 's/^User=//p' "$unit")
[ "$user" = helsefeed ] || { echo "FAIL: User=$user, expected helsefeed"; exit 1; }
grep -q '^DynamicUser=' "$unit" && { echo "FAIL: DynamicUser= hides the published files"; exit 1; }
grep -q '^StateDirectoryMode=0755$' "$unit" || { echo "FAIL: /var/lib/helsefeed must be enterable"; exit 1; }
if command -v systemd-sysusers >/dev/null; then
	root=$(mktemp -d "${TMPDIR:-/tmp}/hf-sysusers.XXXXXX")
	trap 'rm -rf "$root"' EXIT
	mkdir -p "$root/etc"
	systemd-sysusers --root="$root" "$HF_SRC/systemd/helsefeed.sysusers" >/dev/null 2>&1
	grep -q "^helsefeed:x:[0-9]*:[0-9]*:.*:/var/lib/helsefeed:" "$root/etc/passwd" || {
		echo "FAIL: systemd-sysusers made no user helsefeed"; exit 1; }
	echo "ok: systemd-sysusers makes the user $user"
fi

# cmake --install, into a DESTDIR under the build's install prefix.
dest=$(mktemp -d "${TMPDIR:-/tmp}/hf-install.XXXXXX")
trap 'rm -rf "$dest" ${root:-}' EXIT
DESTDIR=$dest cmake --install "$HF_BUILD" >/dev/null
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$HF_BUILD/CMakeCache.txt")
etc=$prefix/etc
[ "$prefix" = /usr ] && etc=/etc
for f in "$prefix/bin/helsefeed" "$prefix/lib/systemd/system/helsefeed.service" \
         "$prefix/lib/sysusers.d/helsefeed.conf" "$etc/helsefeed/feeds.conf" \
         "$prefix/share/man/man1/helsefeed.1" "$prefix/share/man/man5/feeds.conf.5"; do
	[ -f "$dest$f" ] || { echo "FAIL: cmake --install put no $f"; (cd "$dest" && find . -type f); exit 1; }
done
[ -x "$dest$prefix/bin/helsefeed" ] || { echo "FAIL: the binary is not executable"; exit 1; }
cmp -s "$dest$prefix/lib/systemd/system/helsefeed.service" "$unit" || {
	echo "FAIL: the installed unit differs"; exit 1; }
echo "ok: cmake --install put the binary, the unit, the sysusers.d file, feeds.conf and both man pages under $prefix"
