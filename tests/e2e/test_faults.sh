#!/bin/bash
# Issue 9, fault tests in the namespace lab:
#   1. broker restart: every agent resubscribes, and a change made after the
#      restart reaches all of them within a bounded time;
#   2. agent killed mid-apply: kill -9 n1's daemon during a burst of host
#      registrations (fake keys) that it is busy applying; restarted, its
#      interface has exactly the peers the server wants (and its state file's
#      config agrees);
#   3. secrets in logs: no host private key, host token, broker password,
#      enrollment token or admin password in any log of the lab
#      (meshgated at --log-level debug, agents at debug).
# Prints "ok - ..." / "not ok - ..." lines; exit 1 when anything failed.

set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

NET=flt
NET4=10.78.0.0/16
NODES=(n1 n2 n3)
BURST=${E2E_FAULT_BURST:-60}
declare -A PK=()

lab_init


lab_up 1 2 3 || fatal "lab: namespaces, veth links and routes"
broker_setup || fatal "broker: tools/broker-setup.sh"
broker_start || fatal "broker: mosquitto listens on $SRV_IP:$BROKER_PORT"
server_start || fatal "server: meshgated listens on $SRV_IP:8080"
api_setup || fatal "server: setup and admin login"
api POST /networks "{\"name\":\"$NET\",\"ipv4_range\":\"$NET4\"}" >/dev/null || fatal "server: create network $NET"
TOKEN=$(api POST /enrollment-keys "{\"networks\":[\"$NET\"],\"unlimited\":true}" | jget token)
[ -n "$TOKEN" ] || fatal "server: an unlimited enrollment key"
ok "control side up: mosquitto + meshgated in ${P}srv, network $NET, an unlimited key"

subscribed_count() { count_in "$T/agent-$1.log" "subscribed to updates"; }

for n in "${NODES[@]}"; do
	node_join "$n" "$TOKEN" || fatal "$n: meshgate join"
	PK[$n]=$(pubkey "$n")
	before=$(subscribed_count "$n")
	daemon_start "$n"
	check_within "$n: daemon subscribed to its update topic" 10 \
		count_above "$T/agent-$n.log" "subscribed to updates" "$before" || fatal "$n: no subscription"
done

# wanted_peers NODE: the public keys of every other host the server has (one network: full mesh).
wanted_peers() {
	api GET /hosts | python3 -c '
import json, sys
me = sys.argv[1]
print("\n".join(sorted(h["public_key"] for h in json.load(sys.stdin) if h["public_key"] != me)))' "${PK[$1]}"
}

# converged NODE: its WireGuard peers are what the server wants.
converged() {
	local want
	want=$(wanted_peers "$1") || return 1
	[ -n "$want" ] && [ "$(peers "$1")" = "$want" ]
}

all_converged() {
	local n
	for n in "${NODES[@]}"; do converged "$n" || return 1; done
}

# state_peers NODE: the peer keys in the agent's saved configuration.
state_peers() {
	python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))
print("\n".join(sorted(p["public_key"] for p in (st.get("config") or {}).get("peers", []))))' \
		"$(state_dir "$1")/state.json" 2>/dev/null
}

# fake_hosts PREFIX COUNT: registers COUNT hosts with random keys (fast, from ${P}srv).
fake_hosts() {
	nsx srv python3 - "$API_URL" "$TOKEN" "$1" "$2" <<'PY'
import base64, json, os, sys, urllib.request
url, token, prefix, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
bad = 0
for i in range(count):
    body = json.dumps({"token": token, "public_key": base64.b64encode(os.urandom(32)).decode(),
                       "name": "%s%d" % (prefix, i)}).encode()
    req = urllib.request.Request(url + "/api/v1/hosts/register", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            bad += r.status != 201
    except Exception as e:
        print("register %s%d: %s" % (prefix, i, e), file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
PY
}

check_within "all three agents have the peers the server wants" 10 all_converged

# --- 1. broker restart ----------------------------------------------------------------

declare -A SUBS=()
for n in "${NODES[@]}"; do SUBS[$n]=$(subscribed_count "$n"); done
broker_stop
sleep 1
broker_start || fatal "broker restarts"
for n in "${NODES[@]}"; do
	check_within "$n: resubscribed after the broker restart" 40 \
		count_above "$T/agent-$n.log" "subscribed to updates" "${SUBS[$n]}"
done
t0=$(now_ms)
fake_hosts after-broker 1 || not_ok "register a host after the broker restart"
if wait_for "the new host on every agent" 10 all_converged; then
	ok "a change after the broker restart reaches every agent ($(($(now_ms) - t0)) ms, bound 10 s)"
else
	not_ok "a change after the broker restart reaches every agent within 10 s"
	for n in "${NODES[@]}"; do note "$n: $(peers "$n" | wc -l) peers, wanted $(wanted_peers "$n" | wc -l)"; done
fi

# --- 2. agent killed mid-apply ----------------------------------------------------------

base=$(peers n1 | wc -l)
more_peers_than() { [ "$(peers n1 | wc -l)" -gt "$1" ]; }
fake_hosts burst "$BURST" >>"$T/burst.log" 2>&1 &
burst_pid=$!
# kill n1's daemon while it is applying: once it has some of the new peers, not all
wait_for "n1 applying the burst" 10 more_peers_than $((base + 5))
have=$(peers n1 | wc -l)
kill -KILL "${DAEMON_PID[n1]}" 2>/dev/null
wait "${DAEMON_PID[n1]}" 2>/dev/null
DAEMON_PID[n1]=
if wait "$burst_pid"; then
	ok "a burst of $BURST host registrations"
else
	not_ok "a burst of $BURST host registrations ($(tail -n 3 "$T/burst.log"))"
fi
want=$(wanted_peers n1 | wc -l)
note "n1 was killed (SIGKILL) with $have WireGuard peers; the server wants $want"
check "n1: the daemon is gone" daemon_gone n1
daemon_start n1
check_within "n1 restarted after kill -9: wg peers == the server's wanted peers" 20 converged n1
state_matches() { [ "$(state_peers n1)" = "$(peers n1)" ]; }
check_within "n1: the saved config's peers match the interface" 5 state_matches
check_within "n2, n3 (never killed) converge on the burst too" 20 all_converged
revisions_match() {
	local n a s
	for n in "${NODES[@]}"; do
		a=$(agent_revision "$n")
		s=$(server_revision "$(agent_host_id "$n")")
		[ -n "$a" ] && [ "$a" = "$s" ] || return 1
	done
}
check_within "every agent's revision equals the server's" 20 revisions_match
check "n1: daemon still running" daemon_alive n1

# --- 3. secrets in the logs ---------------------------------------------------------------

secrets=("$TOKEN" "$ADMIN_PASS" "$ADMIN_TOKEN")
inner=$(python3 -c 'import base64, json, sys; t = sys.argv[1]; print(json.loads(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))["key"])' "$TOKEN")
secrets+=("$inner")
for n in "${NODES[@]}"; do
	secrets+=("$(nsx "$n" wg show "$(ifname "$n")" private-key)")
	for field in host_token private_key broker.password; do
		v=$(jget "$field" <"$(state_dir "$n")/state.json")
		[ -n "$v" ] && [ "$v" != null ] && secrets+=("$v")
	done
done
leaks=
for s in "${secrets[@]}"; do
	[ ${#s} -ge 10 ] || continue
	f=$(grep -lF -- "$s" "$T"/*.log 2>/dev/null | xargs -r -n1 basename | tr '\n' ' ')
	[ -n "$f" ] && leaks="$leaks ${s:0:8}...:$f"
done
check "no host private key, host token, broker password, enrollment token or admin secret in any log (${#secrets[@]} secrets)${leaks:+ leaked:$leaks}" \
	test -z "$leaks"

# --- shutdown ---------------------------------------------------------------------------------

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
