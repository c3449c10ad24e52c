#!/bin/bash
# The e2e suite: runs every tests/e2e/test_*.sh (bash, each in its own
# process with its own lab), shows their "ok - ..." / "not ok - ..." lines and
# closes with "N passed, N failed" alone on a line. Exits 1 when anything
# failed. Needs root and ip, wireguard-go, wg, mosquitto, mosquitto_ctrl, ping,
# python3; without them it prints "skip - e2e: REASON" and exits 0.
#
#   BUILD=build bash tests/e2e/run.sh [tests/e2e/test_NAME.sh ...]
#
# E2E_TIMEOUT (seconds, default 300) bounds each script; KEEP_TMP=1 keeps
# each lab's temp dir (logs, state) for a look afterwards.

set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
export BUILD

skip() {
	echo "skip - e2e: $*"
	exit 0
}

[ "$(id -u)" = 0 ] || skip "not root"
for tool in ip wireguard-go wg mosquitto mosquitto_ctrl ping python3 timeout; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
ls /usr/lib/*/mosquitto_dynamic_security.so >/dev/null 2>&1 || skip "mosquitto dynamic-security plugin not installed"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
probe=mgeprobe$$
ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces"
ip netns del "$probe"

passed=0
failed=0
tmp=$(mktemp "${TMPDIR:-/tmp}/meshgate-e2e-out.XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT
trap 'exit 130' INT TERM

for bin in meshgated meshgate; do
	if [ ! -x "$BUILD/$bin" ]; then
		echo "not ok - e2e: $BUILD/$bin not built"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

if [ $# -gt 0 ]; then
	tests=("$@")
else
	tests=(tests/e2e/test_*.sh)
fi
for t in "${tests[@]}"; do
	[ -f "$t" ] || continue
	echo "# e2e: $t"
	# A hung script gets SIGTERM (its EXIT trap cleans up), SIGKILL 15 s later.
	# --foreground keeps it in our process group, so ^C reaches it too.
	timeout --foreground -k 15 "${E2E_TIMEOUT:-300}" bash "$t" 2>&1 | tee "$tmp"
	rc=${PIPESTATUS[0]}
	n=$(grep -c '^ok ' "$tmp")
	passed=$((passed + n))
	n=$(grep -c '^not ok ' "$tmp")
	failed=$((failed + n))
	if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then
		echo "not ok - $t exited with status $rc without a failing test"
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
