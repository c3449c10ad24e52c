#!/bin/bash
# The web console suite: Playwright (playwright-core from npm) driving
# Debian's chromium, headless, against a real meshgated on a loopback port
# serving web/. Prints the test lines and closes with "N passed, N failed"
# alone on a line; exits 1 when anything failed. Without node, npm, chromium
# or zbarimg it prints "skip - web: REASON" and exits 0.
#
#   BUILD=build bash tests/web/run.sh
#
# Screenshots of each screen land in tests/web/screenshots/ (or
# $MG_SCREENSHOTS); KEEP_TMP=1 keeps the server's data dir and log.

set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM

skip() {
	echo "skip - web: $*"
	exit 0
}

command -v node >/dev/null 2>&1 || skip "node not installed"
command -v npm >/dev/null 2>&1 || skip "npm not installed"
[ -x "$CHROMIUM" ] || skip "$CHROMIUM not installed (apt-get install chromium)"
command -v zbarimg >/dev/null 2>&1 || skip "zbarimg not installed (apt-get install zbar-tools)"
major=$(node -e 'process.stdout.write(process.versions.node.split(".")[0])')
[ "$major" -ge 18 ] 2>/dev/null || skip "node $major is older than 18"

fail() {
	echo "not ok - web: $*"
	echo "0 passed, 1 failed"
	exit 1
}

[ -x "$BUILD/meshgated" ] || fail "$BUILD/meshgated not built"
if [ ! -d tests/web/node_modules/playwright-core ]; then
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/web --no-audit --no-fund --loglevel=error >/dev/null 2>&1 ||
		skip "npm ci --prefix tests/web failed (no registry access?)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshgate-web.XXXXXX") || exit 1
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "# web: kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -m 700 "$tmp/data"
"$BUILD/meshgated" --data-dir "$tmp/data" --listen 127.0.0.1:0 --port-file "$tmp/port" \
	--web-dir "$PWD/web" --log-level warn >"$tmp/meshgated.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	[ -s "$tmp/port" ] && [ -s "$tmp/data/setup-token" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
if ! [ -s "$tmp/port" ]; then
	cat "$tmp/meshgated.log"
	fail "meshgated did not start"
fi
port=$(cat "$tmp/port")

MG_BASE="http://127.0.0.1:$port" MG_DATA="$tmp/data" \
	timeout -k 10 "${WEB_TIMEOUT:-120}" \
	node --test --test-reporter=tap tests/web/console.test.mjs >"$tmp/tap" 2>&1
rc=$?
# The TAP report without its closing counters; "ok"/"not ok" lines stay.
grep -Ev '^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$tmp/tap"
passed=$(grep -Ec '^ok [0-9]+ ' "$tmp/tap")
failed=$(grep -Ec '^not ok [0-9]+ ' "$tmp/tap")
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	echo "not ok - web: node --test exited with status $rc"
	failed=$((failed + 1))
fi

# Stop the server: SIGTERM, a clean exit 0 expected.
kill -TERM "$pid"
for _ in $(seq 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
if kill -0 "$pid" 2>/dev/null; then
	echo "not ok - web: meshgated still running 5 s after SIGTERM"
	failed=$((failed + 1))
else
	wait "$pid"
	src=$?
	pid=
	if [ "$src" -eq 0 ]; then
		echo "ok - web: meshgated exited 0 on SIGTERM"
		passed=$((passed + 1))
	else
		echo "not ok - web: meshgated exited with status $src on SIGTERM"
		sed 's/^/# /' "$tmp/meshgated.log" | tail -n 20
		failed=$((failed + 1))
	fi
fi
if [ "$failed" -ne 0 ]; then
	echo "# web: server log:"
	sed 's/^/#   /' "$tmp/meshgated.log" | tail -n 30
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
