#!/bin/bash
# Benchmark 6: the data plane. iperf3 (TCP, one stream, a bounded run) in the
# e2e namespace lab (tests/e2e/lib.sh) with the real binaries: ${P}wan router;
# ${P}srv (meshgated + mosquitto); ${P}n1, ${P}n2 (agents, `meshgate join -t -`
# + `meshgate daemon`, wireguard-go); ${P}gw (agent, egress gateway) with a LAN
# leg to ${P}db (no default route, nothing beyond its LAN).
#
#   anchor  n1 -> n2 over their plain wan addresses (veth through the wan
#           router, no WireGuard): what the lab carries without the mesh
#   (a)     n1 -> n2 over their mesh addresses (wireguard-go on both ends)
#   (b)     n1 -> db's LAN address through gw, egress with NAT (masquerade)
#   (c)     the same with NAT off; db gets a return route to the mesh range
#           via gw's LAN address
#
# Reports Mbit/s (receiver side) for each, (b)/(a), (c)/(a) and (a)/anchor.
# db's iperf3 server log shows the source address it saw: gw's LAN address
# with NAT, n1's mesh address without; a run that does not match fails.
#
#   bash tests/bench/bench_dataplane.sh RESULT.json
#   BENCH_DP_SECONDS=5 (iperf3 -t)  BENCH_DP_OMIT=1 (iperf3 -O, slow start left out)
#   BENCH_DP_RUNS=3 (runs per path; the median is reported)
#
# Human lines on stdout; diagnostics on stderr; exit 1 when it cannot run.
# Everything lives in mgbd$$-prefixed namespaces and a temp dir, removed on
# exit (lib.sh's EXIT trap), whatever happens.

set -u
OUT_JSON=${1:?usage: bench_dataplane.sh RESULT.json}
rm -f "$OUT_JSON"	# no stale figures when this run fails
E2E_PREFIX=${BENCH_DP_PREFIX:-mgbd$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/../e2e/lib.sh"

SECS=${BENCH_DP_SECONDS:-5}
OMIT=${BENCH_DP_OMIT:-1}
RUNS=${BENCH_DP_RUNS:-3}
NET=bench
NET4=10.79.0.0/24
NET6=fd00:79::/64
LAN=172.31.79.0/24
GW_LAN_IP=172.31.79.1
DB_IP=172.31.79.2
IPERF_PORT=5201
declare -A M4=() HID=()

# lib.sh prints the lab's logs on a failure to stdout; here they go with the
# other diagnostics.
lab_dump_logs() {
	local f
	for f in "$T"/*.log; do
		[ -s "$f" ] || continue
		echo "--- last lines of $(basename "$f") ---"
		grep -v '[│┌└]' "$f" | tail -n 15 | sed 's/^/  /'
	done >&2
}

die() {
	echo "bench_dataplane: $*" >&2
	exit 1
}

say() { echo "  $*"; }

case $SECS$OMIT$RUNS in *[!0-9]*) die "BENCH_DP_SECONDS, BENCH_DP_OMIT, BENCH_DP_RUNS: whole numbers" ;; esac
{ [ "$RUNS" -ge 1 ] && [ "$SECS" -ge 1 ]; } || die "BENCH_DP_SECONDS and BENCH_DP_RUNS: at least 1"
for tool in iperf3 nft timeout; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not installed"
done
for bin in "$MESHGATE" "$MESHGATED"; do
	[ -x "$bin" ] || die "$bin not built"
done

lab_init
# A trap runs with the redirections of the function call it interrupts (nsx
# ... >file): the traps first put stdout and stderr back, so the message and
# lib.sh's log dump are seen.
exec 8>&1 9>&2
trap 'exec 1>&8 2>&9; echo "bench_dataplane: interrupted" >&2; exit 130' INT
trap 'exec 1>&8 2>&9; echo "bench_dataplane: stopped by SIGTERM (run.sh: BENCH_DP_TIMEOUT)" >&2; exit 143' TERM

# --- the lab ---------------------------------------------------------------------

lab_up 1 2 || die "lab: namespaces, veth links and routes"
lab_leaf gw 20 || die "lab: ${P}gw on the wan"
LAB_IFS+=("$(ifname gw)")
lab_ns_add db || die "lab: ${P}db"
{
	ip -n "$(ns gw)" link add lan0 type veth peer name eth0 netns "$(ns db)" &&
		ip -n "$(ns gw)" addr add "$GW_LAN_IP/24" dev lan0 &&
		ip -n "$(ns gw)" link set lan0 up &&
		ip -n "$(ns db)" addr add "$DB_IP/24" dev eth0 &&
		ip -n "$(ns db)" link set eth0 up
} || die "lab: the LAN leg gw <-> db ($LAN)"
wait_for "n1 reaches n2 over the wan" 5 mesh_ping n1 "$(wan_ip n2)" || die "lab: no route through the wan"

# iperf3 servers: n2 on every address (wan and mesh), db on its LAN address.
# lab_down kills them with everything else in the namespaces.
ip netns exec "$(ns n2)" iperf3 -s -p "$IPERF_PORT" --forceflush >>"$T/iperf3-server-n2.log" 2>&1 &
ip netns exec "$(ns db)" iperf3 -s -B "$DB_IP" -p "$IPERF_PORT" --forceflush >>"$T/iperf3-server-db.log" 2>&1 &
listening() { nsx "$1" ss -Hltn "sport = :$IPERF_PORT" 2>/dev/null | grep -q .; }
wait_for "iperf3 -s in n2" 5 listening n2 || die "iperf3 server in ${P}n2 did not start"
wait_for "iperf3 -s in db" 5 listening db || die "iperf3 server in ${P}db did not start"

# --- the control side and three agents ------------------------------------------------

broker_setup || die "broker: tools/broker-setup.sh"
broker_start || die "broker: mosquitto on $SRV_IP:$BROKER_PORT"
server_start || die "server: meshgated on $SRV_IP:8080"
api_setup || die "server: setup and admin login"
api POST /networks "{\"name\":\"$NET\",\"ipv4_range\":\"$NET4\",\"ipv6_range\":\"$NET6\"}" >/dev/null ||
	die "server: create network $NET"
TOKEN=$(api POST /enrollment-keys "{\"networks\":[\"$NET\"],\"uses\":3}" | jget token)
[ -n "$TOKEN" ] || die "server: create an enrollment key"

for n in n1 n2 gw; do
	node_join "$n" "$TOKEN" || die "$n: meshgate join failed: $(grep -v '[│┌└]' "$T/join-$n.log" | tail -n 3)"
	M4[$n]=$(mesh_ip "$n" 4)
	HID[$n]=$(agent_host_id "$n")
	if [ -z "${M4[$n]}" ] || [ -z "${HID[$n]}" ]; then
		die "$n: no mesh address or host id in status --json"
	fi
	daemon_start "$n"
	wait_for "$n subscribed" 10 count_above "$T/agent-$n.log" "subscribed to updates" 0 ||
		die "$n: the daemon did not subscribe to its updates"
done
wait_for "mesh ping n1 -> n2" 10 mesh_ping n1 "${M4[n2]}" || die "no mesh path n1 -> ${M4[n2]}"
wait_for "mesh ping n2 -> n1" 10 mesh_ping n2 "${M4[n1]}" || die "no mesh path n2 -> ${M4[n1]}"
wait_for "mesh ping n1 -> gw" 10 mesh_ping n1 "${M4[gw]}" || die "no mesh path n1 -> ${M4[gw]}"
MTU=$(nsx n1 cat "/sys/class/net/$(ifname n1)/mtu" 2>/dev/null)

# --- measuring ------------------------------------------------------------------------

# iperf NAME FROM ADDR: RUNS bounded iperf3 runs ($T/iperf-NAME.I.json); the
# median one (by receiver Mbit/s) is copied to $T/iperf-NAME.json.
iperf() {
	local name=$1 from=$2 addr=$3 i
	for i in $(seq 1 "$RUNS"); do
		ip netns exec "$(ns "$from")" timeout -k 5 $((SECS + OMIT + 20)) iperf3 -c "$addr" -p "$IPERF_PORT" -t "$SECS" -O "$OMIT" \
			--connect-timeout 3000 -J >"$T/iperf-$name.$i.json" 2>>"$T/iperf3-client.log" ||
			die "iperf3 $name ($from -> $addr) failed: $(grep -o '"error":.*' "$T/iperf-$name.$i.json" 2>/dev/null)"
	done
	python3 - "$T" "$name" "$RUNS" <<-'PY' || die "iperf3 $name: unreadable JSON"
		import json, shutil, sys
		t, name, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
		files = ["%s/iperf-%s.%d.json" % (t, name, i) for i in range(1, runs + 1)]
		bps = [json.load(open(f))["end"]["sum_received"]["bits_per_second"] for f in files]
		order = sorted(range(runs), key=lambda i: bps[i])
		shutil.copy(files[order[(runs - 1) // 2]], "%s/iperf-%s.json" % (t, name))
		with open("%s/iperf-%s.all" % (t, name), "w") as f:
		    f.write(" ".join("%.1f" % (b / 1e6) for b in bps))
	PY
}

# mbps NAME: the receiver's Mbit/s of the median run.
mbps() {
	python3 -c 'import json, sys; print("%.1f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))' \
		"$T/iperf-$1.json"
}

# result DESC NAME: the human line for one path.
result() {
	local all=
	[ "$RUNS" -gt 1 ] && all="  (runs: $(cat "$T/iperf-$2.all"))"
	say "$(printf '%-44s %10s Mbit/s%s' "$1" "$(mbps "$2")" "$all")"
}

# db_saw: the source address of the last connection db's iperf3 server accepted.
db_saw() { sed -n 's/.*Accepted connection from \([^,]*\),.*/\1/p' "$T/iperf3-server-db.log" | tail -n 1; }

masq_rules() {
	agent gw nat show --json 2>/dev/null | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(sum(1 for c in d["chains"] if c["name"] == "postrouting"
          for r in c["rules"] if (r.get("comment") or "").startswith("masquerade @")))' 2>/dev/null
}
masq_rules_are() { [ "$(masq_rules)" = "$1" ]; }
routed_via() { nsx "$1" ip route get "$2" 2>/dev/null | grep -q "dev $3 "; }

say "TCP, 1 stream, iperf3 -t $SECS -O $OMIT, median of $RUNS run(s) per path; mesh MTU ${MTU:-?}; receiver-side Mbit/s"

# anchor: no WireGuard
iperf wan n1 "$(wan_ip n2)"
result "anchor: n1 -> n2 plain wan (no WireGuard)" wan

# (a) the plain mesh
iperf mesh n1 "${M4[n2]}"
result "(a) n1 -> n2 over the mesh (wireguard-go)" mesh

# (b) egress with NAT
api PUT "/networks/$NET/nodes/${HID[gw]}/egress" "{\"ranges\":[{\"range\":\"$LAN\",\"nat\":true}]}" >/dev/null ||
	die "PUT egress $LAN (NAT on) on gw"
wait_for "gw: a masquerade rule" 10 masq_rules_are 1 || die "gw: no masquerade rule for $LAN"
wait_for "n1 routes $LAN into the mesh" 10 routed_via n1 "$DB_IP" "$(ifname n1)" ||
	die "n1: no route to $LAN through the mesh"
wait_for "n1 -> db through gw (NAT)" 10 mesh_ping n1 "$DB_IP" || die "n1 cannot reach $DB_IP through gw (NAT on)"
iperf egress_nat n1 "$DB_IP"
SAW_NAT=$(db_saw)
[ "$SAW_NAT" = "$GW_LAN_IP" ] || die "with NAT on, db saw $SAW_NAT, not gw's $GW_LAN_IP"
result "(b) n1 -> db through gw, egress with NAT" egress_nat

# (c) egress without NAT: db routes the mesh range back through gw
api PUT "/networks/$NET/nodes/${HID[gw]}/egress" "{\"ranges\":[{\"range\":\"$LAN\",\"nat\":false}]}" >/dev/null ||
	die "PUT egress $LAN (NAT off) on gw"
wait_for "gw: the masquerade rule gone" 10 masq_rules_are 0 || die "gw: the masquerade rule is still there"
nsx db ip route add "$NET4" via "$GW_LAN_IP" || die "db: ip route add $NET4 via $GW_LAN_IP"
wait_for "n1 -> db through gw (no NAT)" 10 mesh_ping n1 "$DB_IP" || die "n1 cannot reach $DB_IP through gw (NAT off)"
iperf egress_nonat n1 "$DB_IP"
SAW_NONAT=$(db_saw)
[ "$SAW_NONAT" = "${M4[n1]}" ] || die "with NAT off, db saw $SAW_NONAT, not n1's mesh address ${M4[n1]}"
result "(c) n1 -> db through gw, egress without NAT" egress_nonat

# --- the result ------------------------------------------------------------------------

python3 - "$T" "$OUT_JSON" "$SECS" "$OMIT" "$RUNS" "${MTU:-0}" "$SAW_NAT" "$SAW_NONAT" "$(wireguard-go --version 2>/dev/null | head -n 1)" \
	"$(iperf3 --version 2>/dev/null | head -n 1)" <<'PY' || die "cannot write $OUT_JSON"
import json, sys
t, out, secs, omit, runs_n, mtu, saw_nat, saw_nonat, wggo, iperf = sys.argv[1:]
runs = {}
paths = {"wan": "n1 -> n2, plain wan addresses through the wan router (no WireGuard)",
         "mesh": "n1 -> n2, mesh addresses (wireguard-go both ends)",
         "egress_nat": "n1 -> db's LAN address through gw, egress with NAT (source seen by db: %s)" % saw_nat,
         "egress_nonat": "n1 -> db's LAN address through gw, egress without NAT, db routes the mesh back via gw "
                         "(source seen by db: %s)" % saw_nonat}
for name in paths:
    e = json.load(open("%s/iperf-%s.json" % (t, name)))["end"]
    cpu = e.get("cpu_utilization_percent", {})
    runs[name] = {"mbps": round(e["sum_received"]["bits_per_second"] / 1e6, 1),
                  "sender_mbps": round(e["sum_sent"]["bits_per_second"] / 1e6, 1),
                  "retransmits": e["sum_sent"].get("retransmits"),
                  "sender_cpu_pct": round(cpu.get("host_total", 0), 1),
                  "receiver_cpu_pct": round(cpu.get("remote_total", 0), 1),
                  "all_runs_mbps": [float(x) for x in open("%s/iperf-%s.all" % (t, name)).read().split()],
                  "path": paths[name]}
m = runs["mesh"]["mbps"]
res = {"bench": "dataplane", "tool": iperf, "protocol": "tcp", "streams": 1, "seconds": int(secs), "omit_s": int(omit),
       "runs_per_path": int(runs_n), "reported": "median run, receiver side",
       "wireguard": "wireguard-go (userspace), %s" % wggo, "mesh_mtu": int(mtu),
       "plain_wan_mbps": runs["wan"]["mbps"], "mesh_mbps": m,
       "egress_nat_mbps": runs["egress_nat"]["mbps"], "egress_nonat_mbps": runs["egress_nonat"]["mbps"],
       "ratio_nat": round(runs["egress_nat"]["mbps"] / m, 3) if m else None,
       "ratio_nonat": round(runs["egress_nonat"]["mbps"] / m, 3) if m else None,
       "ratio_mesh_to_wan": round(m / runs["wan"]["mbps"], 4) if runs["wan"]["mbps"] else None,
       "anchor": "(a) plain mesh for (b) and (c); the plain wan veth path (no WireGuard) for (a)",
       "note": "all namespaces, wireguard-go instances and iperf3 ends share the same cores",
       "runs": runs}
with open(out, "w") as f:
    json.dump(res, f)
    f.write("\n")
print("  %-44s %10.3f" % ("ratio (b)/(a) egress NAT / plain mesh", res["ratio_nat"] or 0))
print("  %-44s %10.3f" % ("ratio (c)/(a) egress no NAT / plain mesh", res["ratio_nonat"] or 0))
print("  %-44s %10.4f  (userspace WireGuard cost)" % ("ratio (a)/anchor mesh / plain wan", res["ratio_mesh_to_wan"] or 0))
PY
