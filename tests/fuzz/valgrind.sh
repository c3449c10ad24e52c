#!/bin/sh
# Runs the unit tests and the server API tests under valgrind (memcheck).
#
#   BUILD=build sh tests/fuzz/valgrind.sh [unit|api]...
#
# BUILD must be a build without sanitizers (valgrind and ASan don't mix).
#   - unit: each $BUILD/tests/unit/test_* (built from tests/unit/test_*.c)
#     under valgrind --error-exitcode=1 --leak-check=full
#     --errors-for-leak-kinds=definite; a non-zero exit fails it.
#   - api: python3 tests/api/run.py with meshgated and meshgatectl wrapped
#     in the same valgrind; every process writes a log, and any log with
#     errors or definitely lost bytes fails the run (a process killed with
#     SIGKILL on purpose writes no summary and is not counted).
#     VALGRIND_API_ARGS: the run.py modules; by default all but
#     test_faults: load and timing tests (1,000 clients, kill -9 bursts,
#     deadlines of seconds) that a 20-50x slower server cannot meet.
# Logs are kept in $BUILD/valgrind/. Prints one line per suite and exits 1
# when anything failed.

set -u

cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SUITES=${*:-unit api}
VG="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite"

if ! command -v valgrind >/dev/null 2>&1; then
	echo "not ok - valgrind is not installed"
	exit 1
fi
tmp=$BUILD/valgrind
rm -rf "$tmp" && mkdir -p "$tmp" || exit 1
tmp=$(cd "$tmp" && pwd)

failed=0
for suite in $SUITES; do
	case $suite in
	unit)
		n=0
		for src in tests/unit/test_*.c; do
			t=$BUILD/tests/unit/$(basename "$src" .c)
			[ -x "$t" ] || { echo "not ok - valgrind $t: not built"; failed=$((failed + 1)); continue; }
			n=$((n + 1))
			if CMOCKA_MESSAGE_OUTPUT=TAP $VG "$t" >"$tmp/unit.log" 2>&1; then
				echo "ok - valgrind $t"
			else
				echo "not ok - valgrind $t"
				grep -E '^==[0-9]+==|^not ok' "$tmp/unit.log" | head -n 60
				cp "$tmp/unit.log" "$tmp/$(basename "$t").log"
				failed=$((failed + 1))
			fi
		done
		;;
	api)
		mkdir -p "$tmp/vg" "$tmp/bin"
		for prog in meshgated meshgatectl; do
			cat >"$tmp/bin/$prog" <<-EOF
			#!/bin/sh
			exec $VG --log-file=$tmp/vg/$prog.%p.log $(cd "$BUILD" && pwd)/$prog "\$@"
			EOF
			chmod +x "$tmp/bin/$prog"
		done
		if [ -z "${VALGRIND_API_ARGS:-}" ]; then
			VALGRIND_API_ARGS=$(ls tests/api/test_*.py | sed 's|.*/||; s|\.py$||' | grep -vx -e test_faults | tr '\n' ' ')
		fi
		MESHGATED=$tmp/bin/meshgated MESHGATECTL=$tmp/bin/meshgatectl \
			python3 tests/api/run.py ${VALGRIND_API_ARGS:-} >"$tmp/api.log" 2>&1
		rc=$?
		summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$tmp/api.log" | tail -n 1)
		bad=$(grep -lE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]|Invalid (read|write|free)|uninitialised' \
			"$tmp"/vg/*.log 2>/dev/null)
		# -q leaves a log empty unless something was reported.
		noisy=$(find "$tmp/vg" -type f -name '*.log' -size +0 | wc -l)
		logs=$(ls "$tmp"/vg | wc -l)
		if [ "$rc" -ne 0 ] || [ -n "$bad" ]; then
			echo "not ok - valgrind api: ${summary:-no summary} (status $rc), $logs processes, $noisy with reports"
			grep -E '^(not ok|FAIL)' "$tmp/api.log" | head -n 30
			for f in $bad; do
				echo "# $f"
				head -n 60 "$f"
			done
			failed=$((failed + 1))
		else
			echo "ok - valgrind api: $summary, $logs processes, $noisy with reports"
		fi
		;;
	*)
		echo "not ok - valgrind: unknown suite '$suite'"
		failed=$((failed + 1))
		;;
	esac
done
[ "$failed" -eq 0 ]
