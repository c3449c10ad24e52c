#!/bin/bash
# Relays (docs/API.md, "Relays"), against the real binaries in a
# network-namespace lab:
#   1. n1, n2, n3 join one network (allow-all) and run daemons: a full mesh,
#      n3 -> n2 pings over the mesh;
#   2. the wan cuts n3's direct path to n2 (nftables in ${P}wan only: UDP
#      between their wan addresses is dropped): n3 -> n2 no longer pings;
#   3. PUT /networks/NET/nodes/{n1}/relay {"relayed": [n3]}: within a few
#      seconds n3's only peer is n1, n2 has n1 but not n3, n1 has both;
#      n3 <-> n2 ping over the mesh (IPv4 and IPv6) through n1, whose
#      nftables table forwards them (relay rules with counters);
#      `meshgate status` on n3 says it is relayed by n1;
#   4. DELETE the relay: n3 has n2 as a peer again and the direct path is
#      used (the ping fails while the wan drop holds); the drop removed,
#      n3 -> n2 pings directly; n1's table is gone (no other role).
# Cleanup (namespaces, processes, the wan's table) by lib.sh's traps.
# Prints "ok - ..." / "not ok - ..." lines; exit 1 when anything failed.

set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

NET=relaylab
NET4=10.77.0.0/24
NET6=fd00:77::/64
NODES=(n1 n2 n3)
declare -A PK=() M4=() M6=() HID=()

lab_init


# --- the lab and the control side ------------------------------------------------

lab_up 1 2 3 || fatal "lab: namespaces, veth links and routes"
ok "lab: ${P}wan router, ${P}srv, ${P}n1..${P}n3"
check_within "lab: n1 reaches the server over the wan" 5 mesh_ping n1 "$SRV_IP" ||
	fatal "lab: no route through the wan"
command -v nft >/dev/null 2>&1 || fatal "nft not installed (the wan's drop needs it)"

broker_setup || fatal "broker: tools/broker-setup.sh"
broker_start || fatal "broker: mosquitto listens on $SRV_IP:$BROKER_PORT"
server_start || fatal "server: meshgated listens on $SRV_IP:8080"
api_setup || fatal "server: setup and admin login"
name=$(api POST /networks "{\"name\":\"$NET\",\"ipv4_range\":\"$NET4\",\"ipv6_range\":\"$NET6\"}" | jget name)
[ "$name" = "$NET" ] || fatal "server: create network $NET"
TOKEN=$(api POST /enrollment-keys "{\"networks\":[\"$NET\"],\"uses\":3}" | jget token)
[ -n "$TOKEN" ] || fatal "server: create an enrollment key with 3 uses"

# --- helpers ----------------------------------------------------------------------


show_peers() {
	local n
	for n in "${NODES[@]}"; do
		note "$n (${PK[$n]}) peers:" "$(peers "$n")"
	done
}

# no_ping FROM TO_ADDR: two echoes, 1 s each, none answered.
no_ping() { ! nsx "$1" ping -c 2 -W 1 -n "$2" >/dev/null 2>&1; }

# The wan drops UDP between n3's and n2's wan addresses (their WireGuard path).
WAN_TABLE=mge_relay_cut
wan_cut() {
	local a b
	a=$(wan_ip n3)
	b=$(wan_ip n2)
	nsx wan nft -f - <<-EOF
		table inet $WAN_TABLE {
			chain forward {
				type filter hook forward priority 0; policy accept;
				ip saddr $a ip daddr $b meta l4proto udp counter drop
				ip saddr $b ip daddr $a meta l4proto udp counter drop
			}
		}
	EOF
}
wan_uncut() { nsx wan nft delete table inet "$WAN_TABLE"; }
# wan_dropped: the cut has dropped packets.
wan_dropped() { nsx wan nft list table inet "$WAN_TABLE" 2>/dev/null | grep -Eq 'counter packets [1-9]'; }

# relay_counted NODE: NODE's relay rules have forwarded packets.
relay_counted() {
	agent "$1" nat show 2>/dev/null | grep -E 'relay (to|from) @relayed4' | grep -Eq 'packets [1-9]'
}

# --- 1. a full mesh ----------------------------------------------------------------

for n in "${NODES[@]}"; do
	if node_join "$n" "$TOKEN"; then
		ok "$n: meshgate join -t -"
	else
		not_ok "$n: meshgate join -t - exited non-zero"
		note "$(grep -v '[│┌└]' "$T/join-$n.log" | tail -n 5)"
	fi
	learn "$n" || fatal "$n: status --json gives its key, addresses and host id (nothing else can work)"
	daemon_start "$n"
	check_within "$n: daemon subscribed to its update topic" 10 \
		count_above "$T/agent-$n.log" "subscribed to updates" 0
done
check_within "full mesh: n1 has n2 and n3" 5 peers_are n1 n2 n3
check_within "full mesh: n2 has n1 and n3" 5 peers_are n2 n1 n3
check_within "full mesh: n3 has n1 and n2" 5 peers_are n3 n1 n2
check_within "full mesh: ping n3 -> n2 over the mesh (IPv4 ${M4[n2]})" "$HANDSHAKE_WAIT" mesh_ping n3 "${M4[n2]}"

# --- 2. the wan cuts n3 <-> n2 -----------------------------------------------------

check "wan: nftables drop of UDP between $(wan_ip n3) and $(wan_ip n2) in ${P}wan" wan_cut ||
	fatal "wan: cannot install the drop"
check "wan cut: ping n3 -> n2 over the mesh fails" no_ping n3 "${M4[n2]}"
check "wan cut: the drop counted n3's packets" wan_dropped
check_within "wan cut: n3 -> n1 still pings (its path to the relay)" "$HANDSHAKE_WAIT" mesh_ping n3 "${M4[n1]}"

# --- 3. n3 relayed through n1 ------------------------------------------------------

t0=$(now_ms)
got=$(api PUT "/networks/$NET/nodes/${HID[n1]}/relay" "{\"relayed\":[${HID[n3]}]}" | jget relay)
check "PUT relay on n1 for n3 (relay: '$got')" test "$got" = "${HID[n3]}"
got=$(api GET "/networks/$NET/nodes/${HID[n3]}" | jget relayed_by)
check "n3's node: relayed_by n1 (got '$got')" test "$got" = "${HID[n1]}"
check_within "relayed: wg show on n3 lists only n1" 5 peers_are n3 n1 || show_peers
check_within "relayed: n2 has n1 but not n3" 5 peers_are n2 n1 || show_peers
check_within "relayed: n1 has n2 and n3" 5 peers_are n1 n2 n3 || show_peers
note "relay applied in $(($(now_ms) - t0)) ms"
check_within "relayed: ping n3 -> n2 over the mesh via n1 (IPv4)" "$HANDSHAKE_WAIT" mesh_ping n3 "${M4[n2]}"
check_within "relayed: ping n2 -> n3 over the mesh via n1 (IPv4)" "$HANDSHAKE_WAIT" mesh_ping n2 "${M4[n3]}"
check_within "relayed: ping n3 -> n2 over the mesh via n1 (IPv6 ${M6[n2]})" "$HANDSHAKE_WAIT" mesh_ping n3 "${M6[n2]}"
check "relayed: n1's relay rules counted the forwarded packets" relay_counted n1 ||
	note "$(agent n1 nat show 2>&1 | tail -n 40)"
check "relayed: n3's allowed IPs for n1 carry n2's address" \
	eval "nsx n3 wg show $(ifname n3) allowed-ips | grep -F '${PK[n1]}' | grep -qF '${M4[n2]}/32'"
status=$(agent n3 status 2>&1)
check "relayed: meshgate status on n3 says 'relayed by n1'" grep -q "relayed by n1" <<<"$status" ||
	note "$status"
status=$(agent n1 status 2>&1)
check "relayed: meshgate status on n1 says 'relay for n3'" grep -q "relay for n3" <<<"$status" ||
	note "$status"

# --- 4. un-relayed -----------------------------------------------------------------

st=$(api_status DELETE "/networks/$NET/nodes/${HID[n1]}/relay")
check "DELETE relay on n1: 200 (got $st)" test "$st" = 200
check_within "un-relayed: n3 has n1 and n2 again" 5 peers_are n3 n1 n2 || show_peers
check_within "un-relayed: n2 has n1 and n3 again" 5 peers_are n2 n1 n3 || show_peers
check "un-relayed: ping n3 -> n2 takes the direct path again (the wan drop holds: fails)" \
	no_ping n3 "${M4[n2]}"
check "wan: drop removed" wan_uncut
check_within "un-relayed: ping n3 -> n2 directly once the wan lets it through" "$HANDSHAKE_WAIT" mesh_ping n3 "${M4[n2]}"
check_within "un-relayed: n1 has no relay role left (no nftables table)" 5 \
	eval "! agent n1 nat show >/dev/null 2>&1"

e2e_summary
[ "$E2E_FAILED" -eq 0 ]
