#!/bin/bash
# Access control between nodes (docs/API.md, "Access control (admin)"),
# against the real binaries in a network-namespace lab. Only whole tunnels:
# a pair that is denied is not even a peer.
#   1. a network created with "default_policy": "deny"; n1, n2, n3 join with
#      one token and run daemons: none of them has any peer;
#   2. an allow rule n1 <-> n2 (node selectors): within 2 s n1 and n2 have
#      each other as their only peer and ping over the mesh (IPv4); n3 still
#      has no peer and n1 -> n3 does not ping;
#   3. PATCH default_policy allow: within 2 s everyone has the other two;
#   4. a deny rule n1 <-> n3: within 2 s n1 and n3 drop each other while n2
#      keeps both;
#   5. the deny rule deleted: within 2 s n1 <-> n3 come back and ping.
# Prints "ok - ..." / "not ok - ..." lines; exit 1 when anything failed.

set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

NET=acllab
NET4=10.79.0.0/24
NET6=fd00:79::/64
NODES=(n1 n2 n3)
declare -A PK=() M4=() HID=()

lab_init

fatal() {
	not_ok "$*"
	e2e_summary
	exit 1
}

# --- the lab and the control side ------------------------------------------------

lab_up 1 2 3 || fatal "lab: namespaces, veth links and routes"
ok "lab: ${P}wan router, ${P}srv, ${P}n1..${P}n3"
check_within "lab: n1 reaches the server over the wan" 5 mesh_ping n1 "$SRV_IP" ||
	fatal "lab: no route through the wan"

broker_setup || fatal "broker: tools/broker-setup.sh"
broker_start || fatal "broker: mosquitto listens on $SRV_IP:$BROKER_PORT"
server_start || fatal "server: meshgated listens on $SRV_IP:8080"
api_setup || fatal "server: setup and admin login"
pol=$(api POST /networks "{\"name\":\"$NET\",\"ipv4_range\":\"$NET4\",\"ipv6_range\":\"$NET6\",\"default_policy\":\"deny\"}" |
	jget default_policy)
check "server: network $NET created with default_policy deny (got '$pol')" test "$pol" = deny ||
	fatal "server: create network $NET with default_policy deny"
TOKEN=$(api POST /enrollment-keys "{\"networks\":[\"$NET\"],\"uses\":3}" | jget token)
[ -n "$TOKEN" ] || fatal "server: create an enrollment key with 3 uses"

# --- helpers ----------------------------------------------------------------------

# no_peers NODE: its interface exists and lists no peer at all.
no_peers() {
	local out
	out=$(nsx "$1" wg show "$(ifname "$1")" peers 2>/dev/null) || return 1
	[ -z "$out" ]
}

all_no_peers() {
	local n
	for n in "$@"; do no_peers "$n" || return 1; done
}

# peers_are NODE [PEER...]: NODE's peers are exactly the PEERs.
peers_are() {
	local me=$1 n
	shift
	[ "$(peers "$me")" = "$(for n in "$@"; do echo "${PK[$n]}"; done | sort)" ]
}

# learn NODE: its public key, IPv4 mesh address and host id.
learn() {
	local n=$1
	PK[$n]=$(pubkey "$n")
	M4[$n]=$(mesh_ip "$n" 4)
	HID[$n]=$(agent_host_id "$n")
	[ -n "${PK[$n]}" ] && [ -n "${M4[$n]}" ] && [ -n "${HID[$n]}" ]
}

is_id() { [ -n "$1" ] && [ "$1" != null ]; }

sel_node() { printf '{"kind":"node","value":"%s"}' "${HID[$1]}"; }

# add_rule A B ACTION: a rule between nodes A and B; prints its id.
add_rule() {
	api POST "/networks/$NET/acl/rules" "{\"src\":$(sel_node "$1"),\"dst\":$(sel_node "$2"),\"action\":\"$3\"}" |
		jget id
}

# within2 DESC T0 CMD...: ok when CMD holds within 2 s of T0 (ms); waits up to
# 5 s so a late change is reported with its time rather than as missing.
within2() {
	local desc=$1 t0=$2 took
	shift 2
	if wait_for "$desc" 5 "$@"; then
		took=$(($(now_ms) - t0))
		if [ "$took" -le 2000 ]; then
			ok "$desc within 2 s (${took} ms)"
			return 0
		fi
		not_ok "$desc within 2 s (took ${took} ms)"
	else
		not_ok "$desc within 2 s (not within 5 s)"
	fi
	return 1
}

show_peers() {
	local n
	for n in "${NODES[@]}"; do
		note "$n ($(pubkey "$n")) peers:" "$(peers "$n")"
	done
}

# no_ping FROM TO_ADDR: two echoes, 1 s each, none answered.
no_ping() { ! nsx "$1" ping -c 2 -W 1 -n "$2" >/dev/null 2>&1; }

# --- 1. deny by default: three nodes, no tunnels ----------------------------------------

for n in "${NODES[@]}"; do
	if node_join "$n" "$TOKEN"; then
		ok "$n: meshgate join -t - (one token for all)"
	else
		not_ok "$n: meshgate join -t - exited non-zero"
		note "$(grep -v '[│┌└]' "$T/join-$n.log" | tail -n 5)"
	fi
	learn "$n" || fatal "$n: status --json gives its key, address and host id (nothing else can work)"
	daemon_start "$n"
	check_within "$n: daemon subscribed to its update topic" 10 \
		count_above "$T/agent-$n.log" "subscribed to updates" 0
done

for n in "${NODES[@]}"; do
	check_within "deny policy: $n has no peer at all" 3 no_peers "$n"
done
# Still none a moment later (not just before a late update).
sleep 1
check "deny policy: still no peer on n1, n2, n3 a second later" all_no_peers "${NODES[@]}" || show_peers

# --- 2. an allow rule n1 <-> n2 -----------------------------------------------------------

t0=$(now_ms)
ALLOW12=$(add_rule n1 n2 allow)
check "allow rule n1 <-> n2 created (id '$ALLOW12')" is_id "$ALLOW12"
within2 "allow n1 <-> n2: n1's only peer is n2" "$t0" peers_are n1 n2
within2 "allow n1 <-> n2: n2's only peer is n1" "$t0" peers_are n2 n1
check_within "allow n1 <-> n2: ping n1 -> n2 over the mesh (IPv4 ${M4[n2]})" 5 mesh_ping n1 "${M4[n2]}"
check_within "allow n1 <-> n2: ping n2 -> n1 over the mesh (IPv4 ${M4[n1]})" 5 mesh_ping n2 "${M4[n1]}"
check "allow n1 <-> n2: n3 still has no peer" no_peers n3 || show_peers
check "allow n1 <-> n2: n1 and n2 still have exactly one peer" eval 'peers_are n1 n2 && peers_are n2 n1'
check "allow n1 <-> n2: ping n1 -> n3 (IPv4 ${M4[n3]}) fails" no_ping n1 "${M4[n3]}"

# --- 3. default policy allow: a full mesh ----------------------------------------------------

t0=$(now_ms)
pol=$(api PATCH "/networks/$NET" '{"default_policy":"allow"}' | jget default_policy)
check "PATCH default_policy allow (got '$pol')" test "$pol" = allow
within2 "policy allow: n1 has n2 and n3" "$t0" peers_are n1 n2 n3
within2 "policy allow: n2 has n1 and n3" "$t0" peers_are n2 n1 n3
within2 "policy allow: n3 has n1 and n2" "$t0" peers_are n3 n1 n2
check_within "policy allow: ping n1 -> n3 over the mesh (IPv4)" 5 mesh_ping n1 "${M4[n3]}"
check_within "policy allow: ping n3 -> n2 over the mesh (IPv4)" 5 mesh_ping n3 "${M4[n2]}"

# --- 4. a deny rule n1 <-> n3 -----------------------------------------------------------------

# n1 and n3 drop each other; n2 keeps both.
split_13() { peers_are n1 n2 && peers_are n3 n2 && peers_are n2 n1 n3; }

t0=$(now_ms)
DENY13=$(add_rule n3 n1 deny)
check "deny rule n3 <-> n1 created (id '$DENY13')" is_id "$DENY13"
within2 "deny n1 <-> n3: n1 does not list n3 (only n2)" "$t0" peers_are n1 n2
within2 "deny n1 <-> n3: n3 does not list n1 (only n2)" "$t0" peers_are n3 n2
check "deny n1 <-> n3: n2 still lists n1 and n3" peers_are n2 n1 n3 || show_peers
check "deny n1 <-> n3: ping n1 -> n3 (IPv4) fails" no_ping n1 "${M4[n3]}"
check_within "deny n1 <-> n3: ping n1 -> n2 still works" 5 mesh_ping n1 "${M4[n2]}"
check_within "deny n1 <-> n3: ping n3 -> n2 still works" 5 mesh_ping n3 "${M4[n2]}"
check "deny n1 <-> n3: the split holds" split_13 || show_peers

# --- 5. the deny rule deleted -------------------------------------------------------------------

t0=$(now_ms)
st=$(api_status DELETE "/networks/$NET/acl/rules/$DENY13")
check "DELETE the deny rule: 204 (got $st)" test "$st" = 204
within2 "deny rule gone: n1 lists n2 and n3 again" "$t0" peers_are n1 n2 n3
within2 "deny rule gone: n3 lists n1 and n2 again" "$t0" peers_are n3 n1 n2
check "deny rule gone: n2 still lists n1 and n3" peers_are n2 n1 n3 || show_peers
check_within "deny rule gone: ping n1 -> n3 over the mesh (IPv4)" 5 mesh_ping n1 "${M4[n3]}"
check_within "deny rule gone: ping n3 -> n1 over the mesh (IPv4)" 5 mesh_ping n3 "${M4[n1]}"

# --- shutdown: clean exits, no sanitizer reports ---------------------------------------------------

for n in "${NODES[@]}"; do
	daemon_stop "$n"
	check "$n: daemon exits 0 on SIGTERM" test $? -eq 0
done
server_stop
check "meshgated exits 0 on SIGTERM" test $? -eq 0
broker_stop
sanitizer=$(grep -lE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$T"/*.log 2>/dev/null)
check "no sanitizer report in any log${sanitizer:+ (see: $sanitizer)}" test -z "$sanitizer"

e2e_summary
[ "$E2E_FAILED" -eq 0 ]
