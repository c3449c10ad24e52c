#!/bin/sh
# Runs each fuzzer for a bounded time over a throw-away copy of its corpus.
#
#   FUZZ_SECONDS=20 FUZZ_BUILD=build/fuzz sh tests/fuzz/run.sh [TARGET...]
#
# For each target: every committed seed (tests/fuzz/corpus/TARGET/, which
# includes the inputs of crashes found before: regression tests) and every
# saved crash (tests/fuzz/crashes/TARGET-*) runs once, then libFuzzer
# explores for FUZZ_SECONDS in a temporary working corpus. Nothing is
# written into the repository; a crashing input is kept under
# $FUZZ_BUILD/artifacts/. Prints one line per target and exits 1 when any
# target crashed.
#
# Extra libFuzzer flags: FUZZ_FLAGS (e.g. "-jobs=2 -workers=2").
#
# FUZZ_RUNS=N instead of a time bound: N inputs in all (the corpus
# included) from a fixed random seed, so the same tree on the same machine
# explores the same inputs every time (the smoke run in .ci/run: `make
# fuzz-smoke`; FUZZ_FLAGS such as -jobs would undo that).

set -u

cd "$(dirname "$0")/../.." || exit 1
FUZZ_BUILD=${FUZZ_BUILD:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
FUZZ_FLAGS=${FUZZ_FLAGS:-}
FUZZ_RUNS=${FUZZ_RUNS:-}
if [ -n "$FUZZ_RUNS" ]; then
	LIMIT="-runs=$FUZZ_RUNS -seed=1"
else
	LIMIT="-max_total_time=$FUZZ_SECONDS"
fi
ALL="json_body cidr names enrollment_token mqtt_update uapi_reply netlink_reply extclient_conf gateway_config"
[ $# -gt 0 ] && ALL="$*"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshgate-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$FUZZ_BUILD/artifacts"

# Leaks fail a run; crashes stop it with the input kept.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
for t in $ALL; do
	bin=$FUZZ_BUILD/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "not ok - fuzz $t: $bin not built"
		failed=$((failed + 1))
		continue
	fi
	work=$tmp/$t
	log=$tmp/$t.log
	mkdir -p "$work"
	[ -d "tests/fuzz/corpus/$t" ] && cp tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null

	# Saved crashes first: each must now run clean.
	crashes=$(ls tests/fuzz/crashes/"$t"-* 2>/dev/null)
	if [ -n "$crashes" ]; then
		# shellcheck disable=SC2086
		if ! "$bin" -runs=1 $crashes >"$log" 2>&1; then
			echo "not ok - fuzz $t: a saved crash still crashes"
			tail -n 40 "$log"
			failed=$((failed + 1))
			continue
		fi
	fi

	# shellcheck disable=SC2086
	"$bin" $LIMIT -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
		-print_final_stats=1 -artifact_prefix="$FUZZ_BUILD/artifacts/$t-" $FUZZ_FLAGS \
		"$work" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	# libFuzzer reports 0/s for a run shorter than a second.
	[ "$rate" = 0 ] && rate="all in under 1 s: >$execs"
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ]; then
		echo "not ok - fuzz $t: crashed (status $rc); input in $FUZZ_BUILD/artifacts/"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*Assertion|artifact_prefix|Test unit written)' "$log" | head -n 20
		grep -E '^ +#[0-9]+ ' "$log" | head -n 15
		failed=$((failed + 1))
	else
		echo "ok - fuzz $t: ${execs:-?} execs (${rate:-?}/s), ${cov:-cov: ?}, ${ft:-ft: ?}, corpus $(ls "$work" | wc -l) files"
	fi
done
[ "$failed" -eq 0 ]
