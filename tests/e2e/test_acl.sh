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
#   6. packet filters (nftables, chains acl_input / acl_forward): back to
#      deny-all with the n1 <-> n2 rule; a rule denying icmp from n2 to n1
#      stops n2's pings to n1 while the tunnel stays and n1 still pings n2
#      (a port/protocol rule holds one way); ${P}gw (egress gateway for the
#      LAN of ${P}db, a real PostgreSQL) joins: n3 gets no tunnel to it until
#      a rule allows tcp/5432 from n3 to the egress range $DB_IP/32; then
#      psql from n3 to db works, ping from n3 to db and to gw does not, and
#      gw's acl_forward counters show both; neither gw's mesh address nor
#      its own LAN address answers n3 (not even on 5432); deleting the rule
#      takes n3's tunnel away again.
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


# --- the lab and the control side ------------------------------------------------

lab_up 1 2 3 || fatal "lab: namespaces, veth links and routes"
ok "lab: ${P}wan router, ${P}srv, ${P}n1..${P}n3"
check_within "lab: n1 reaches the server over the wan" "$HANDSHAKE_WAIT" mesh_ping n1 "$SRV_IP" ||
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
	learn4 "$n" || fatal "$n: status --json gives its key, address and host id (nothing else can work)"
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

# reported_peers: "NAME=N" per node, as the server has them from check-ins (NODE "peers").
reported_peers() {
	api GET "/networks/$NET/nodes" | python3 -c 'import json, sys
print(" ".join("%s=%s" % (n["host_name"], n["peers"]) for n in sorted(json.load(sys.stdin), key=lambda n: n["host_name"])))'
}
reported_is() { [ "$(reported_peers)" = "$1" ]; }
check_within "deny policy: the server has each node's check-in: 0 peers each (the console's count)" 10 \
	reported_is "n1=0 n2=0 n3=0" || note "reported: $(reported_peers)"

# --- 2. an allow rule n1 <-> n2 -----------------------------------------------------------

t0=$(now_ms)
ALLOW12=$(add_rule n1 n2 allow)
check "allow rule n1 <-> n2 created (id '$ALLOW12')" is_id "$ALLOW12"
within2 "allow n1 <-> n2: n1's only peer is n2" "$t0" peers_are n1 n2
within2 "allow n1 <-> n2: n2's only peer is n1" "$t0" peers_are n2 n1
check_within "allow n1 <-> n2: ping n1 -> n2 over the mesh (IPv4 ${M4[n2]})" "$HANDSHAKE_WAIT" mesh_ping n1 "${M4[n2]}"
check_within "allow n1 <-> n2: ping n2 -> n1 over the mesh (IPv4 ${M4[n1]})" "$HANDSHAKE_WAIT" mesh_ping n2 "${M4[n1]}"
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
check_within "policy allow: ping n1 -> n3 over the mesh (IPv4)" "$HANDSHAKE_WAIT" mesh_ping n1 "${M4[n3]}"
check_within "policy allow: ping n3 -> n2 over the mesh (IPv4)" "$HANDSHAKE_WAIT" mesh_ping n3 "${M4[n2]}"

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
check_within "deny n1 <-> n3: ping n1 -> n2 still works" "$HANDSHAKE_WAIT" mesh_ping n1 "${M4[n2]}"
check_within "deny n1 <-> n3: ping n3 -> n2 still works" "$HANDSHAKE_WAIT" mesh_ping n3 "${M4[n2]}"
check "deny n1 <-> n3: the split holds" split_13 || show_peers

# --- 5. the deny rule deleted -------------------------------------------------------------------

t0=$(now_ms)
st=$(api_status DELETE "/networks/$NET/acl/rules/$DENY13")
check "DELETE the deny rule: 204 (got $st)" test "$st" = 204
within2 "deny rule gone: n1 lists n2 and n3 again" "$t0" peers_are n1 n2 n3
within2 "deny rule gone: n3 lists n1 and n2 again" "$t0" peers_are n3 n1 n2
check "deny rule gone: n2 still lists n1 and n3" peers_are n2 n1 n3 || show_peers
check_within "deny rule gone: ping n1 -> n3 over the mesh (IPv4)" "$HANDSHAKE_WAIT" mesh_ping n1 "${M4[n3]}"
check_within "deny rule gone: ping n3 -> n1 over the mesh (IPv4)" "$HANDSHAKE_WAIT" mesh_ping n3 "${M4[n1]}"

# --- 5b. a pair that finds each other again starts one handshake, not two -----------------------
#
# Deleting the deny rule hands n1 and n3 each other at the same moment. If
# both turned keepalive on at once, both would initiate and, when the two
# initiations cross, WireGuard has no session until its retry 5 s later
# (apply.c, hold_first_keepalives). So: eight rounds of deny + delete, each
# first ping within 2.5 s, both ends' keepalive on within 2 s, and the
# smaller key's agent (only it) logged the hold every round.

# keepalive_for NODE PEER: NODE's persistent keepalive for PEER ("20", "off").
keepalive_for() {
	nsx "$1" wg show "$(ifname "$1")" persistent-keepalive 2>/dev/null | awk -v k="${PK[$2]}" '$1 == k { print $2 }'
}
keepalives_on() { [ "$(keepalive_for n1 n3)" = 20 ] && [ "$(keepalive_for n3 n1)" = 20 ]; }
both_see_13() { peers_are n1 n2 n3 && peers_are n3 n1 n2; }

# Which of n1, n3 has the smaller public key (it is the one that waits).
if python3 -c 'import base64, sys; sys.exit(base64.b64decode(sys.argv[1]) >= base64.b64decode(sys.argv[2]))' \
	"${PK[n1]}" "${PK[n3]}"; then
	small=n1 great=n3
else
	small=n3 great=n1
fi
HELD="get persistent keepalive on the next pass"
held_small=$(count_in "$T/agent-$small.log" "$HELD")
held_great=$(count_in "$T/agent-$great.log" "$HELD")

fast=0
slow=""
kept=0
for round in 1 2 3 4 5 6 7 8; do
	id=$(add_rule n3 n1 deny)
	if ! is_id "$id" || ! wait_for "round $round: split" 5 split_13; then
		not_ok "round $round: deny rule n3 <-> n1 splits n1 and n3"
		is_id "$id" && api_status DELETE "/networks/$NET/acl/rules/$id" >/dev/null
		break
	fi
	api_status DELETE "/networks/$NET/acl/rules/$id" >/dev/null
	wait_for "round $round: n1 and n3 peers again" 5 both_see_13 || {
		not_ok "round $round: n1 and n3 list each other again after the delete"
		break
	}
	if wait_for "round $round: first ping n1 -> n3" 2.5 mesh_ping n1 "${M4[n3]}"; then
		fast=$((fast + 1))
	else
		slow="$slow $round"
	fi
	wait_for "round $round: keepalive on at both ends" 2 keepalives_on && kept=$((kept + 1))
done
check "new pair, 8 rounds: the first ping n1 -> n3 answered within 2.5 s every time (slow rounds:${slow:- none})" \
	test "$fast" = 8
check "new pair, 8 rounds: both ends have persistent keepalive 20 within 2 s every time ($kept of 8)" test "$kept" = 8
n=$(($(count_in "$T/agent-$small.log" "$HELD") - held_small))
check "new pair, 8 rounds: $small (the smaller key) held its keepalive for $great each time (logged $n times)" test "$n" -ge 8
n=$(($(count_in "$T/agent-$great.log" "$HELD") - held_great))
check "new pair, 8 rounds: $great (the greater key) never held it (logged $n times)" test "$n" = 0

# --- 6. packet filters: protocol and port rules, egress ranges -------------------------------------

# acl_packets NODE CHAIN COMMENT: packets counted by NODE's ACL rules with that comment.
acl_packets() {
	agent "$1" nat show --json 2>/dev/null | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(sum(r["packets"] for c in d["chains"] if c["name"] == sys.argv[1]
          for r in c["rules"] if r.get("comment") == sys.argv[2]))' "$2" "$3" 2>/dev/null
}
grew() { local now; now=$(acl_packets "$1" "$2" "$3"); [ -n "$now" ] && [ "$now" -gt "$4" ]; }
psql_fails() { ! psql_db "$@"; }

t0=$(now_ms)
pol=$(api PATCH "/networks/$NET" '{"default_policy":"deny"}' | jget default_policy)
check "PATCH default_policy deny again (got '$pol')" test "$pol" = deny
within2 "deny again: n3 has no peer" "$t0" no_peers n3
check_within "deny again: n1 -> n2 still pings (the allow rule)" "$HANDSHAKE_WAIT" mesh_ping n1 "${M4[n2]}"
check_within "n1: its nftables table has the inbound filter (chain acl_input)" 5 \
	eval 'agent n1 nat show 2>/dev/null | grep -q "chain acl_input "'

ICMP21=$(api POST "/networks/$NET/acl/rules" "{\"src\":$(sel_node n2),\"dst\":$(sel_node n1),\"action\":\"deny\",\"proto\":\"icmp\"}" |
	jget id)
check "deny icmp from n2 to n1 (id '$ICMP21')" is_id "$ICMP21"
check_within "deny icmp n2 -> n1: n2's pings to n1 stop" 5 no_ping n2 "${M4[n1]}"
check "deny icmp n2 -> n1: the tunnel stays (n1 and n2 still peers)" eval 'peers_are n1 n2 && peers_are n2 n1'
check_within "deny icmp n2 -> n1: n1 still pings n2 (one way only)" "$HANDSHAKE_WAIT" mesh_ping n1 "${M4[n2]}"
check "deny icmp n2 -> n1: n1's acl_input counted the drops" grew n1 acl_input "rule $ICMP21" 0
api_status DELETE "/networks/$NET/acl/rules/$ICMP21" >/dev/null
check_within "icmp rule deleted: n2 pings n1 again" "$HANDSHAKE_WAIT" mesh_ping n2 "${M4[n1]}"

msg=$(db_tools_missing) && fatal "$msg"
lab_leaf gw 20 || fatal "lab: ${P}gw on the wan"
LAB_IFS+=("$(ifname gw)")
db_lab_up gw || fatal "lab: ${P}db and the LAN leg gw <-> db ($LAN)"
pg_start || fatal "db: PostgreSQL on $DB_IP:5432"
check_within "gw: psql to db over its LAN (the database works)" 10 psql_db gw
GWTOKEN=$(api POST /enrollment-keys "{\"networks\":[\"$NET\"],\"uses\":1}" | jget token)
node_join gw "$GWTOKEN" || not_ok "gw: meshgate join exited non-zero"
learn4 gw || fatal "gw: status --json gives its key, address and host id"
daemon_start gw
check_within "gw: daemon subscribed to its update topic" 10 count_above "$T/agent-gw.log" "subscribed to updates" 0
api PUT "/networks/$NET/nodes/${HID[gw]}/egress" "{\"ranges\":[{\"range\":\"$LAN\",\"nat\":true}]}" >/dev/null ||
	not_ok "PUT egress $LAN (nat) on gw"
check_within "gw: acl_forward chain for its egress range" 5 \
	eval 'agent gw nat show 2>/dev/null | grep -q "chain acl_forward "'
check "deny-all: n3 has no peer (not even the gateway)" no_peers n3 || show_peers
check "deny-all: no psql from n3 to db" psql_fails n3

t0=$(now_ms)
PG3=$(api POST "/networks/$NET/acl/rules" "{\"src\":$(sel_node n3),\"dst\":{\"kind\":\"egress\",\"value\":\"$DB_IP/32\"},\"action\":\"allow\",\"proto\":\"tcp\",\"ports\":\"5432\"}" |
	jget id)
check "allow tcp/5432 from n3 to egress $DB_IP/32 (id '$PG3')" is_id "$PG3"
within2 "tcp/5432 rule: n3's only peer is gw" "$t0" peers_are n3 gw
within2 "tcp/5432 rule: gw's only peer is n3" "$t0" peers_are gw n3
check "tcp/5432 rule: n1 and n2 still only have each other" eval 'peers_are n1 n2 && peers_are n2 n1'
check_within "tcp/5432 rule: psql from n3 to db through gw" 15 psql_db n3
check "tcp/5432 rule: gw's acl_forward counted the allowed connection" grew gw acl_forward "rule $PG3" 0
drops=$(acl_packets gw acl_forward "default deny")
check "tcp/5432 rule: ping n3 -> db ($DB_IP) is blocked" no_ping n3 "$DB_IP"
check "tcp/5432 rule: gw's acl_forward dropped the pings (default deny)" grew gw acl_forward "default deny" "${drops:-0}"
check "tcp/5432 rule: ping n3 -> gw's mesh address is blocked" no_ping n3 "${M4[gw]}"
check "tcp/5432 rule: ping n3 -> gw's own LAN address ($GW_LAN_IP) is blocked" no_ping n3 "$GW_LAN_IP"
no_tcp() { ! nsx "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }
nsx gw timeout 60 python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5432)); s.listen(4)
while True: s.accept()[0].close()' >>"$T/gw-listener.log" 2>&1 &
check_within "gw: a listener on its own port 5432 answers locally" 5 eval "nsx gw timeout 2 bash -c 'exec 3<>/dev/tcp/$GW_LAN_IP/5432'"
check "tcp/5432 rule: n3 cannot open gw's own port 5432 (the rule names db, not gw)" no_tcp n3 "$GW_LAN_IP" 5432
check "tcp/5432 rule: psql from n1 (no rule) fails" psql_fails n1

t0=$(now_ms)
st=$(api_status DELETE "/networks/$NET/acl/rules/$PG3")
check "DELETE the tcp/5432 rule: 204 (got $st)" test "$st" = 204
within2 "tcp/5432 rule gone: n3 has no peer" "$t0" no_peers n3
check "tcp/5432 rule gone: no psql from n3" psql_fails n3
NODES+=(gw)

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
