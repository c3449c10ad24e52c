#!/bin/bash
# Issue 4, "Done when", against the real binaries in a network-namespace lab:
#   1. n1, n2, n3 join with one token: full-mesh pings (IPv4 and IPv6) and
#      `wg show` on each lists exactly the other two;
#   2. n4 joins: the others get it within 2 s, existing peers are not
#      re-handshaked (timestamps unchanged, counters not reset); n4 <-> n1 ping;
#   3. n4 leaves: removed from every other node within 2 s;
#   (4. broker isolation: tests/api/test_broker.py)
#   5. meshgated and mosquitto stopped: the mesh still works; n1's agent
#      restarted with its interface gone comes back from its state file;
#      server and broker restarted: every agent's revision equals the server's;
#   6. a wrong / malformed / expired / used-up token: clear error, nothing left.
#   7. meshgate pull restores a peer removed by hand; meshgate uninstall removes
#      the interface, the state and the host (the others drop it) and its daemon stops.
# Prints "ok - ..." / "not ok - ..." lines; exit 1 when anything failed.

set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

NET=e2e
NET4=10.77.0.0/24
NET6=fd00:77::/64
OLD=(n1 n2 n3)
ALL=(n1 n2 n3 n4)
declare -A PK=() M4=() M6=() HID=()

lab_init


# --- the lab and the control side ------------------------------------------------

lab_up || fatal "lab: namespaces, veth links and routes"
ok "lab: ${P}wan router, ${P}srv, ${P}n1..${P}n4 on 198.18.0.0/15"
check_within "lab: n1 reaches the server over the wan" 5 mesh_ping n1 "$SRV_IP" ||
	fatal "lab: no route through the wan"

broker_setup || fatal "broker: tools/broker-setup.sh"
broker_start || fatal "broker: mosquitto listens on $SRV_IP:$BROKER_PORT"
server_start || fatal "server: meshgated listens on $SRV_IP:8080"
api_setup || fatal "server: setup and admin login"
api POST /networks "{\"name\":\"$NET\",\"ipv4_range\":\"$NET4\",\"ipv6_range\":\"$NET6\"}" >/dev/null ||
	fatal "server: create network $NET"
TOKEN=$(api POST /enrollment-keys "{\"networks\":[\"$NET\"],\"uses\":4}" | jget token)
[ -n "$TOKEN" ] || fatal "server: create an enrollment key with 4 uses"
ok "control side: mosquitto + meshgated in ${P}srv, network $NET ($NET4, $NET6), a 4-use key"

# --- helpers ----------------------------------------------------------------------

# others NODE NODES...: the keys of NODES other than NODE, sorted.
others_keys() {
	local me=$1 n
	shift
	for n in "$@"; do
		[ "$n" = "$me" ] || echo "${PK[$n]}"
	done | sort
}

# peers_exactly NODE NODES...: NODE's WireGuard peers are exactly the other NODES.
peers_exactly() {
	local me=$1
	shift
	[ "$(peers "$me")" = "$(others_keys "$me" "$@")" ]
}

all_have_peer() {
	local key=$1 n
	shift
	for n in "$@"; do has_peer "$n" "$key" || return 1; done
}

all_lack_peer() {
	local key=$1 n
	shift
	for n in "$@"; do lacks_peer "$n" "$key" || return 1; done
}

subscribed_count() { count_in "$T/agent-$1.log" "subscribed to updates"; }

# ping_pair A B: A pings B's mesh addresses (v4, and v6), bounded:
# HANDSHAKE_WAIT each (a first handshake and one retry of it included), 2 s
# once a ping failed (a broken mesh should fail fast, not take minutes).
PING_WAIT=$HANDSHAKE_WAIT
ping_check() {
	check_within "$1" "$PING_WAIT" mesh_ping "$2" "$3" || PING_WAIT=2
}
ping_pair() {
	local a=$1 b=$2
	ping_check "ping $a -> $b over the mesh (IPv4 ${M4[$b]})" "$a" "${M4[$b]}"
	ping_check "ping $a -> $b over the mesh (IPv6 ${M6[$b]})" "$a" "${M6[$b]}"
}

# wg_table NODE WHAT: `wg show IF WHAT` (latest-handshakes, transfer).
wg_table() { nsx "$1" wg show "$(ifname "$1")" "$2" 2>/dev/null | sort; }

revisions_match() {
	local n a s
	for n in "$@"; do
		a=$(agent_revision "$n")
		s=$(server_revision "${HID[$n]}")
		[ -n "$a" ] && [ "$a" = "$s" ] || return 1
	done
}

# --- 1. three nodes, one token --------------------------------------------------------

for n in "${OLD[@]}"; do
	if node_join "$n" "$TOKEN"; then
		ok "$n: meshgate join -t - (one token for all)"
	else
		not_ok "$n: meshgate join -t - exited $?"
		note "$(grep -v '[│┌└]' "$T/join-$n.log" | tail -n 5)"
	fi
	learn "$n" || fatal "$n: status --json gives its key, addresses and host id (nothing else can work)"
	before=$(subscribed_count "$n")
	daemon_start "$n"
	check_within "$n: daemon subscribed to its update topic" 10 \
		count_above "$T/agent-$n.log" "subscribed to updates" "$before"
done

for n in "${OLD[@]}"; do
	check_within "$n: wg show lists exactly the other two" 5 peers_exactly "$n" "${OLD[@]}"
done
for a in "${OLD[@]}"; do
	for b in "${OLD[@]}"; do
		[ "$a" = "$b" ] || ping_pair "$a" "$b"
	done
done

# --- 2. a fourth node joins -----------------------------------------------------------

declare -A HS_BEFORE=() TX_BEFORE=()
for n in "${OLD[@]}"; do
	HS_BEFORE[$n]=$(wg_table "$n" latest-handshakes)
	TX_BEFORE[$n]=$(wg_table "$n" transfer)
done
# Two peers, both with a handshake: otherwise "unchanged" would prove nothing.
hs_set() { awk '$2 > 0 { n++ } END { exit n != 2 }' <<<"$1"; }
for n in "${OLD[@]}"; do
	check "$n: both existing peers have a handshake before n4 joins" hs_set "${HS_BEFORE[$n]}" ||
		note "${HS_BEFORE[$n]}"
done

t0=$(now_ms)
if node_join n4 "$TOKEN"; then
	ok "n4: joins with the same token"
else
	not_ok "n4: meshgate join exited non-zero"
	note "$(grep -v '[│┌└]' "$T/join-n4.log" | tail -n 5)"
fi
learn n4 || not_ok "n4: status --json gives its key, addresses and host id"
daemon_start n4
if [ -n "${PK[n4]}" ] && wait_for "n4 on n1,n2,n3" 5 all_have_peer "${PK[n4]}" "${OLD[@]}"; then
	took=$(($(now_ms) - t0))
	if [ "$took" -le 2000 ]; then
		ok "n1, n2, n3 have n4 as a peer within 2 s of the join (${took} ms)"
	else
		not_ok "n1, n2, n3 have n4 as a peer within 2 s of the join (took ${took} ms)"
	fi
else
	not_ok "n1, n2, n3 have n4 as a peer within 2 s of the join (not within 5 s)"
fi

for n in "${OLD[@]}"; do
	hs_after=$(wg_table "$n" latest-handshakes)
	tx_after=$(wg_table "$n" transfer)
	others=$(others_keys "$n" "${OLD[@]}")
	old_after=$(grep -F -f <(echo "$others") <<<"$hs_after")
	if [ -n "$old_after" ] && [ "$old_after" = "$(grep -F -f <(echo "$others") <<<"${HS_BEFORE[$n]}")" ]; then
		ok "$n: handshake timestamps of its existing peers unchanged by n4's join"
	else
		not_ok "$n: handshake timestamps of its existing peers unchanged by n4's join"
		note "before:" "${HS_BEFORE[$n]}" "after:" "$hs_after"
	fi
	# Counters of the old peers must not have gone down (a removed and re-added peer starts at 0).
	if awk 'NR == FNR { rx[$1] = $2; tx[$1] = $3; next }
		($1 in rx) { seen++; if ($2 < rx[$1] || $3 < tx[$1]) bad = 1 }
		END { exit bad || seen < 2 }' <(echo "${TX_BEFORE[$n]}") <(echo "$tx_after"); then
		ok "$n: transfer counters of its existing peers did not reset"
	else
		not_ok "$n: transfer counters of its existing peers did not reset"
		note "before:" "${TX_BEFORE[$n]}" "after:" "$tx_after"
	fi
done
check_within "n4: wg show lists exactly n1, n2, n3" 5 peers_exactly n4 "${ALL[@]}"
ping_pair n4 n1
ping_pair n1 n4

# --- 3. n4 leaves -----------------------------------------------------------------------

t0=$(now_ms)
if agent n4 leave >>"$T/leave-n4.log" 2>&1; then
	ok "n4: meshgate leave"
else
	not_ok "n4: meshgate leave exited non-zero"
	note "$(tail -n 5 "$T/leave-n4.log")"
fi
if [ -n "${PK[n4]}" ] && wait_for "n4 gone from n1,n2,n3" 5 all_lack_peer "${PK[n4]}" "${OLD[@]}"; then
	took=$(($(now_ms) - t0))
	if [ "$took" -le 2000 ]; then
		ok "n4 removed from n1, n2, n3 within 2 s of the leave (${took} ms)"
	else
		not_ok "n4 removed from n1, n2, n3 within 2 s of the leave (took ${took} ms)"
	fi
else
	not_ok "n4 removed from n1, n2, n3 within 2 s of the leave (not within 5 s)"
fi
check_within "n4: its running daemon stops after the leave" 10 daemon_gone n4
check_within "n4: interface and UAPI socket removed after leave" 5 if_gone n4
check "n4: state removed after leave" test ! -e "$(state_dir n4)/state.json"

# --- 5. the server and the broker go away -------------------------------------------------

server_stop
check "meshgated exits 0 on SIGTERM" test $? -eq 0
broker_stop
check "meshgated and mosquitto stopped" test -z "$(ip netns pids "$(ns srv)")"
for a in "${OLD[@]}"; do
	for b in "${OLD[@]}"; do
		[ "$a" = "$b" ] || ping_check "server down: ping $a -> $b (IPv4)" "$a" "${M4[$b]}"
	done
done
ping_check "server down: ping n2 -> n3 (IPv6)" n2 "${M6[n3]}"

# Restart n1's agent with its interface gone: the daemon rebuilds it from the state file.
daemon_stop n1
check "n1: daemon exits 0 on SIGTERM (stopped for the restart)" test $? -eq 0
wgpids=$(for p in $(ip netns pids "$(ns n1)"); do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = wireguard-go ] && echo "$p"
done)
nsx n1 ip link del "$(ifname n1)" 2>/dev/null
# shellcheck disable=SC2086
kill_wait $wgpids
wait_for "n1's wireguard-go gone" 5 if_gone n1
check "n1: interface and wireguard-go gone before the restart" if_gone n1
daemon_start n1
check_within "n1: daemon restarted with the server down recreates its interface with both peers" 10 \
	peers_exactly n1 "${OLD[@]}"
for b in n2 n3; do
	ping_pair n1 "$b"
	ping_check "ping $b -> n1 after n1's restart (IPv4)" "$b" "${M4[n1]}"
done
check "n1: daemon still running" daemon_alive n1

# Bring the control side back: every agent catches up.
declare -A SUBS=()
for n in "${OLD[@]}"; do SUBS[$n]=$(subscribed_count "$n"); done
broker_start || not_ok "broker restarts"
server_start || not_ok "server restarts"
api_login || not_ok "admin login after the restart"
check_within "after the restart: each agent's revision equals the server's for its host" 45 \
	revisions_match "${OLD[@]}"
for n in "${OLD[@]}"; do
	check_within "$n: daemon re-subscribed after the broker came back" 40 \
		count_above "$T/agent-$n.log" "subscribed to updates" "${SUBS[$n]}"
done
rev_before=$(server_revision "${HID[n1]}")
api PATCH "/networks/$NET" '{"keepalive": 21}' >/dev/null || not_ok "PATCH network keepalive"
rev_after=$(server_revision "${HID[n1]}")
if [ -n "$rev_before" ] && [ -n "$rev_after" ] && [ "$rev_after" -gt "$rev_before" ]; then
	check_within "a change after the restart reaches every agent (revisions equal)" 10 \
		revisions_match "${OLD[@]}"
else
	note "PATCH /networks/$NET did not bump host revision ($rev_before -> $rev_after)"
fi
ping_check "after the restart: ping n1 -> n2 (IPv4)" n1 "${M4[n2]}"
ping_check "after the restart: ping n3 -> n1 (IPv6)" n3 "${M6[n1]}"

# --- 6. bad tokens leave nothing behind ------------------------------------------------------

# bad_join CASE TOKEN PATTERN: join from n4 with a fresh interface and state dir.
bad_join() {
	local case=$1 token=$2 pattern=$3 ifn="${P}x$4" sd="$T/bad-$4" out rc
	LAB_IFS+=("$ifn")
	[ "$4" = 1 ] && mkdir -m 700 "$sd"	# one case with an existing, empty state dir
	out=$(printf '%s\n' "$token" | nsx n4 env MESHGATE_STATE_DIR="$sd" MESHGATE_INTERFACE="$ifn" \
		"$MESHGATE" join -t - --name "bad$4" --port "$WG_PORT" 2>&1)
	rc=$?
	echo "$out" >>"$T/bad-join.log"
	if [ "$rc" -ne 0 ] && grep -qiE -- "$pattern" <<<"$out"; then
		ok "$case token: join fails (status $rc) with a clear message: $(head -n 1 <<<"$out")"
	else
		not_ok "$case token: join fails with a message matching /$pattern/ (status $rc: $out)"
	fi
	if ! nsx n4 ip link show "$ifn" >/dev/null 2>&1 && [ ! -e "/var/run/wireguard/$ifn.sock" ]; then
		ok "$case token: no interface and no UAPI socket left"
	else
		not_ok "$case token: no interface and no UAPI socket left"
	fi
	if [ ! -e "$sd" ] || [ -z "$(find "$sd" -mindepth 1)" ]; then
		ok "$case token: no state left"
	else
		not_ok "$case token: no state left ($(find "$sd" -mindepth 1 -printf '%f '))"
	fi
}

bad_join wrong "$(python3 "$MGAPI" faketoken "$API_URL")" "invalid enrollment token" 1
bad_join malformed "not-a-token" "invalid token" 2
exp=$(($(date +%s) + 2))
EXPIRED=$(api POST /enrollment-keys "{\"networks\":[\"$NET\"],\"expires_at\":$exp}" | jget token)
if [ -n "$EXPIRED" ] && wait_for "the key's expiry" 5 past "$exp"; then
	bad_join expired "$EXPIRED" "expired" 3
else
	not_ok "expired token: create a key that expires in 2 s"
fi
bad_join used-up "$TOKEN" "no uses left" 4

# --- 7. meshgate pull and uninstall ----------------------------------------------------------

pulled() { grep -q "revision [0-9][0-9]*, [0-9][0-9]* peer" <<<"$1"; }
nsx n3 wg set "$(ifname n3)" peer "${PK[n1]}" remove
check "pull: n1's peer removed from n3 by hand" lacks_peer n3 "${PK[n1]}"
out=$(agent n3 pull 2>&1)
check "pull: meshgate pull on n3 fetches the configuration ($out)" pulled "$out"
check "pull: n3 has n1 as a peer again" has_peer n3 "${PK[n1]}"
check_within "pull: ping n3 -> n1 over the mesh (IPv4)" "$HANDSHAKE_WAIT" mesh_ping n3 "${M4[n1]}"

out=$(agent n3 uninstall 2>&1)
check "uninstall: meshgate uninstall on n3 exits 0 ($out)" test $? -eq 0
check_within "uninstall: n3's interface and UAPI socket are gone" 5 if_gone n3
check "uninstall: n3's state is gone" test ! -e "$(state_dir n3)/state.json"
check_within "uninstall: n3's running daemon stops" 10 daemon_gone n3
check_within "uninstall: the server let n3 go, so n1 and n2 drop it" 5 all_lack_peer "${PK[n3]}" n1 n2
OLD=(n1 n2)	# n3's daemon is gone

# --- shutdown: clean exits, no sanitizer reports ------------------------------------------

for n in "${OLD[@]}"; do
	daemon_stop "$n"
	check "$n: daemon exits 0 on SIGTERM" test $? -eq 0
done
server_stop
check "meshgated exits 0 on SIGTERM (after the restart)" test $? -eq 0
broker_stop
sanitizer=$(grep -lE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$T"/*.log 2>/dev/null)
check "no sanitizer report in any log${sanitizer:+ (see: $sanitizer)}" test -z "$sanitizer"

e2e_summary
[ "$E2E_FAILED" -eq 0 ]
