#!/bin/bash
# What `cmake --install` puts where, and the service unit it makes:
#  - into a DESTDIR under the build's own prefix: the binary, the unit,
#    the sysusers.d file, feeds.conf and its pristine copy, both man pages;
#  - with --prefix P: all of it under P, the configuration in P's
#    sysconfdir, the unit's ExecStart naming P's binary and feeds.conf; a
#    second install keeps an edited feeds.conf;
#  - the binary has the test hooks exactly when the build asked for them
#    (HF_TEST_HOOKS);
#  - the unit's ExecCondition skips a start while feeds.conf is as
#    installed and lets it through once edited;
#  - the unit's sandbox, as systemd itself scores it: the overall exposure
#    must stay at 2.0 ("OK") or lower (skipped without systemd-analyze);
#  - the sysusers.d file makes the user the unit runs as (skipped without
#    systemd-sysusers).
set -eu
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hf-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Where a GNUInstallDirs directory of the build ($2: its CMakeCache name)
# lies for the prefix $1: an absolute one stays (Debian's /etc); for the
# prefixes /usr and / the sysconfdir is /etc rather than /usr/etc.
cache() { sed -n "s/^$1:[A-Z]*=//p" "$HF_BUILD/CMakeCache.txt"; }
dir_of() {
	d=$(cache "$2")
	[ -n "$d" ] || [ "$2" != CMAKE_INSTALL_DATADIR ] || d=$(cache CMAKE_INSTALL_DATAROOTDIR)
	case $d in
	/*) echo "$d" ;;
	*) if [ "$2" = CMAKE_INSTALL_SYSCONFDIR ] && { [ "$1" = /usr ] || [ "$1" = / ]; }; then
		echo "/$d"
	else
		echo "${1%/}/$d"
	fi ;;
	esac
}

# Every install goes into a DESTDIR: a build with absolute directories
# (the package's /etc, /lib/systemd/system) must not write to the system.
# $1: the DESTDIR, $2: the prefix; checks what it put where and sets
# $unit (the installed unit) and $confdir.
check_install() {
	local dest=$1 prefix=$2 bindir datadir unitdir f
	bindir=$(dir_of "$prefix" CMAKE_INSTALL_BINDIR)
	datadir=$(dir_of "$prefix" CMAKE_INSTALL_DATADIR)
	confdir=$(dir_of "$prefix" CMAKE_INSTALL_SYSCONFDIR)/helsefeed
	unitdir=$(dir_of "$prefix" HF_SYSTEMD_UNITDIR)
	for f in "$bindir/helsefeed" "$unitdir/helsefeed.service" \
	         "$prefix/lib/sysusers.d/helsefeed.conf" "$confdir/feeds.conf" \
	         "$datadir/helsefeed/feeds.conf" \
	         "$datadir/man/man1/helsefeed.1" "$datadir/man/man5/feeds.conf.5"; do
		[ -f "$dest$f" ] || { echo "FAIL: cmake --install (prefix $prefix) put no $f"; (cd "$dest" && find . -type f); exit 1; }
	done
	[ -x "$dest$bindir/helsefeed" ] || fail "the binary is not executable"
	unit=$dest$unitdir/helsefeed.service
	grep -qx "ExecStart=$bindir/helsefeed -c $confdir/feeds.conf run" "$unit" ||
		fail "prefix $prefix: the unit's ExecStart is $(grep '^ExecStart=' "$unit")"
	sed -e "s|@HF_BINDIR@|$bindir|g" -e "s|@HF_CONFDIR@|$confdir|g" \
	    -e "s|@HF_DATADIR@|$datadir/helsefeed|g" "$HF_SRC/systemd/helsefeed.service.in" |
		cmp -s - "$unit" || fail "the installed unit is not systemd/helsefeed.service.in made for $prefix"
	cmp -s "$dest$datadir/helsefeed/feeds.conf" "$HF_SRC/feeds.conf" || fail "the pristine copy is not feeds.conf"
}

# --- cmake --install under the configured prefix ----------------------------
dest=$tmp/dest
prefix=$(cache CMAKE_INSTALL_PREFIX)
DESTDIR=$dest cmake --install "$HF_BUILD" >/dev/null
check_install "$dest" "$prefix"
bin=$dest$(dir_of "$prefix" CMAKE_INSTALL_BINDIR)/helsefeed
"$bin" --help | grep -q "(default $confdir/feeds.conf)" ||
	fail "the binary's default configuration is not $confdir/feeds.conf"
echo "ok: cmake --install put the binary, the unit, the sysusers.d file, feeds.conf and both man pages under $prefix"

# --- the test hooks: in test builds only ------------------------------------
if grep -q HELSEFEED_TEST_ "$bin"; then
	[ "${HF_TEST_HOOKS:-0}" = 1 ] || fail "a build without HF_TEST_HOOKS has the test hooks"
	echo "ok: this test build has its test hooks (HF_TEST_HOOKS=ON)"
else
	[ "${HF_TEST_HOOKS:-0}" != 1 ] || fail "HF_TEST_HOOKS=ON but the binary has no test hooks"
	echo "ok: the binary reads no HELSEFEED_TEST_* variable"
fi

# --- cmake --install --prefix P ---------------------------------------------
P=/hf-test-prefix
pd=$tmp/pdest
DESTDIR=$pd cmake --install "$HF_BUILD" --prefix "$P" >/dev/null
check_install "$pd" "$P"
punit=$unit
echo "; edited by the admin" >>"$pd$confdir/feeds.conf"
DESTDIR=$pd cmake --install "$HF_BUILD" --prefix "$P" >/dev/null
[ "$(tail -n 1 "$pd$confdir/feeds.conf")" = "; edited by the admin" ] ||
	fail "a second cmake --install overwrote the edited feeds.conf"
echo "ok: with --prefix $P: the unit names $P's binary and $confdir/feeds.conf; an edited feeds.conf is kept"

# --- ExecCondition: no start before feeds.conf is edited --------------------
# Run from the DESTDIR: the condition's paths get its prefix.
cond=$(sed -n "s/^ExecCondition=\/bin\/sh -c '\(.*\)'$/\1/p" "$punit")
[ -n "$cond" ] || fail "the unit has no ExecCondition=/bin/sh -c '...'"
cond=$(printf '%s\n' "$cond" | sed "s| /| $pd/|g")
sh -c "$cond" 2>/dev/null || fail "ExecCondition refuses an edited feeds.conf"
cp "$HF_SRC/feeds.conf" "$pd$confdir/feeds.conf"
if msg=$(sh -c "$cond" 2>&1); then
	fail "ExecCondition lets the service start with feeds.conf as installed"
fi
case $msg in *"$confdir/feeds.conf is as installed"*) ;; *) fail "ExecCondition says: $msg" ;; esac
echo "ok: ExecCondition skips the start while feeds.conf is as installed: $msg"

# --- the sandbox ------------------------------------------------------------
user=$(sed -n 's/^User=//p' "$unit")
[ "$user" = helsefeed ] || fail "User=$user, expected helsefeed"
grep -q '^DynamicUser=' "$unit" && fail "DynamicUser= hides the published files"
grep -q '^StateDirectoryMode=0755$' "$unit" || fail "/var/lib/helsefeed must be enterable"
if command -v systemd-analyze >/dev/null; then
	out=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1) || true
	line=$(printf '%s\n' "$out" | grep 'Overall exposure level') || {
		printf '%s\n' "$out"
		fail "systemd-analyze printed no overall exposure level"
	}
	echo "$line"
	score=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9][0-9]*\.[0-9]\).*/\1/p')
	[ -n "$score" ] || fail "cannot read the score"
	if awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
		echo "ok: exposure $score <= 2.0"
	else
		printf '%s\n' "$out" | grep '✗'
		fail "exposure $score is above 2.0"
	fi
else
	echo "note: no systemd-analyze: the sandbox's score is not checked"
fi

# --- the user the unit runs as ----------------------------------------------
if command -v systemd-sysusers >/dev/null; then
	root=$tmp/root
	mkdir -p "$root/etc"
	systemd-sysusers --root="$root" "$HF_SRC/systemd/helsefeed.sysusers" >/dev/null 2>&1
	grep -q "^helsefeed:x:[0-9]*:[0-9]*:.*:/var/lib/helsefeed:" "$root/etc/passwd" ||
		fail "systemd-sysusers made no user helsefeed"
	echo "ok: systemd-sysusers makes the user $user"
else
	echo "note: no systemd-sysusers: the user is not checked"
fi
