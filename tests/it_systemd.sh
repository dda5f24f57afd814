#!/bin/bash
# The service unit's sandbox, as systemd itself scores it: the overall
# exposure of systemd/helsefeed.service must stay at 2.0 ("OK") or lower.
# Skipped where systemd-analyze is not installed.
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
