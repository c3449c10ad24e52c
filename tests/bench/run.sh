#!/bin/sh
# make bench: runs each benchmark, writes tests/bench/results/NAME.json and
# prints a short table. Figures are ratios against an anchor measured in the
# same run, never pass/fail on timings; this script fails only when a
# benchmark cannot run. Needs root (network namespaces, WireGuard, nftables).
#
#   BUILD=build sh tests/bench/run.sh [NAME...]     NAME: qr nat wg scale dataplane (default: all)
#   BENCH_SIZES=1000,10000  BENCH_REG_BUDGET=90 (s of HTTP registration; the rest is seeded)
#   BENCH_DP_SECONDS=5 BENCH_DP_OMIT=1 (iperf3 -t / -O of each data-plane run), BENCH_DP_RUNS=3 (median)
#   BENCH_DP_TIMEOUT=300 (s, the whole data-plane benchmark)  KEEP_TMP=1 (keep its lab dir)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) BIN=$BUILD ;; *) BIN=$ROOT/$BUILD ;; esac
OUT=$HERE/results
LOG=$OUT/logs
mkdir -p "$OUT" "$LOG"
[ $# -eq 0 ] && rm -f "$OUT"/*.json
WG_IF=mgbw$$
DP_P=mgbd$$
DP_TMP=

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	# bench_wg removes its interface itself; after a SIGKILL its wireguard-go
	# is still there: removing the UAPI socket makes it exit.
	[ -e "/var/run/wireguard/$WG_IF.sock" ] && rm -f "/var/run/wireguard/$WG_IF.sock"
	# bench_dataplane's lab removes itself; after a SIGKILL (its timeout) its
	# namespaces (${DP_P}*), their processes and its UAPI sockets are left.
	for n in $(ip netns list 2>/dev/null | awk -v p="$DP_P" 'index($1, p) == 1 { print $1 }'); do
		pids=$(ip netns pids "$n" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
	rm -f /var/run/wireguard/"$DP_P"*.sock
	[ -n "$DP_TMP" ] && [ -z "${KEEP_TMP:-}" ] && rm -rf "$DP_TMP"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (network namespaces, WireGuard, nftables)" >&2
	exit 1
fi
missing=
for t in nft:nftables wg:wireguard-tools wireguard-go:wireguard-go mosquitto:mosquitto \
	mosquitto_sub:mosquitto-clients mosquitto_ctrl:mosquitto-clients qrencode:qrencode wrk:wrk iperf3:iperf3 python3:python3; do
	command -v "${t%%:*}" >/dev/null 2>&1 || missing="$missing ${t#*:}"
done
if [ -n "$missing" ]; then
	echo "bench: missing tools; apt-get install -y$missing" >&2
	exit 1
fi

kwg=no
if ip link add "${WG_IF}k" type wireguard 2>/dev/null; then
	ip link del "${WG_IF}k"
	kwg=yes
fi
cores=$(nproc)
kernel=$(uname -r)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
wggo=$(wireguard-go --version 2>/dev/null | head -n 1)
cat > "$OUT/machine.json" <<JSON
{"cores": $cores, "kernel": "$kernel", "cpu": "$cpu", "wireguard_backend": "wireguard-go (userspace, UAPI)",
 "wireguard_go": "$wggo", "kernel_wireguard_available": "$kwg", "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"}
JSON
echo "meshgate benchmarks — $cores cores ($cpu), kernel $kernel"
echo "WireGuard backend: wireguard-go ($wggo), userspace UAPI (kernel WireGuard present: $kwg, not used)"

failed=
run() {
	name=$1
	shift
	echo
	echo "== $name"
	if ! "$@" 2>"$LOG/$name.err"; then
		echo "bench: $name could not run; its stderr:" >&2
		grep -v '[│┌└]' "$LOG/$name.err" | tail -n 20 | sed 's/^/  /' >&2
		failed="$failed $name"
	fi
}

want() { [ $# -eq 0 ] || case " $* " in *" $NAME "*) return 0 ;; *) return 1 ;; esac; }

for NAME in qr nat wg scale dataplane; do
	want "$@" || continue
	case $NAME in
	qr) run "5. ext-client .conf + QR PNG vs qrencode CLI" "$BIN/tests/bench/bench_qr" "$OUT/qr.json" ;;
	nat) run "3. nftables apply (1,000 egress ranges + 1,000 ext clients) vs nft -f" \
		"$BIN/tests/bench/bench_nat" "$OUT/nat.json" ;;
	wg) run "2. WireGuard apply (10,000 peers, wireguard-go) vs wg setconf" \
		env MGBENCH_IF="$WG_IF" "$BIN/tests/bench/bench_wg" "$OUT/wg.json" ;;
	scale) run "1. control plane scale (meshgated + mosquitto) and 4. API (wrk)" \
		env BUILD="$BUILD" python3 "$HERE/bench_scale.py" --out "$OUT/scale.json" --api-out "$OUT/api.json" \
		--sizes "${BENCH_SIZES:-1000,10000}" ;;
	# The lab (tests/e2e/lib.sh) cleans up on SIGTERM; SIGKILL 15 s later,
	# then cleanup() above. Its temp dir lives in DP_TMP (711: mosquitto
	# drops to its own user and must traverse it).
	dataplane)
		if DP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/meshgate-bench-dp.XXXXXX") && chmod 711 "$DP_TMP"; then
			run "6. data plane (iperf3 wan, mesh, egress with and without NAT)" \
				env BUILD="$BUILD" TMPDIR="$DP_TMP" BENCH_DP_PREFIX="$DP_P" \
				timeout --foreground -k 15 "${BENCH_DP_TIMEOUT:-300}" \
				bash "$HERE/bench_dataplane.sh" "$OUT/dataplane.json"
		else
			echo "bench: dataplane: cannot create a temp dir" >&2
			failed="$failed dataplane"
		fi ;;
	esac
done

echo
python3 "$HERE/summary.py" "$OUT" || failed="$failed summary"
if [ -n "$failed" ]; then
	echo "bench: could not run:$failed" >&2
	exit 1
fi
exit 0
