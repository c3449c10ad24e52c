#!/bin/bash
# Issue 10, DNS: meshgated keeps a hosts file per network in --dns-dir and a
# real dnsmasq serves them (--hostsdir: it notices the atomic replacements by
# inotify, no signal needed):
#   1. n1 and n2 join: from n1, `dig @SRV n2.NETWORK` answers n2's mesh
#      addresses (A and AAAA), and n1 pings n2 by the address it got;
#   2. a custom entry (POST /networks/NET/dns) answers at once;
#   3. n2 renamed to n2b (PATCH /hosts/ID): within 2 s n2b.NETWORK answers
#      and n2.NETWORK no longer does;
#   4. n2 leaves: its name goes.
# dnsmasq listens on the server's wan address, port 53, in ${P}srv.
# Prints "ok - ..." / "not ok - ..." lines; exit 1 when anything failed.

set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

NET=dnslab
NET4=10.78.0.0/24
NET6=fd00:78::/64
DNS_PID=

lab_init

fatal() {
	not_ok "$*"
	e2e_summary
	exit 1
}

command -v dnsmasq >/dev/null 2>&1 || { echo "skip - e2e dns: dnsmasq not installed"; exit 0; }
command -v dig >/dev/null 2>&1 || { echo "skip - e2e dns: dig (dnsutils) not installed"; exit 0; }

# Like lib.sh's server_start, with --dns-dir.
dns_server_start() {
	[ -d "$T/srv" ] || mkdir -m 700 "$T/srv"
	rm -f "$T/srv/port"
	ip netns exec "$(ns srv)" "$MESHGATED" --data-dir "$T/srv" --listen "$SRV_IP:8080" --port-file "$T/srv/port" \
		--public-url "$API_URL" --broker "mqtt://$SRV_IP:$BROKER_PORT" \
		--broker-admin-file "$T/broker/broker-admin" --dns-dir "$T/dns" --log-level debug \
		>>"$T/meshgated.log" 2>&1 &
	SRVD_PID=$!
	wait_for "meshgated port file" 10 test -s "$T/srv/port" &&
		nsx srv python3 "$MGAPI" wait-tcp "$SRV_IP" 8080 10
}

dnsmasq_start() {
	ip netns exec "$(ns srv)" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--listen-address="$SRV_IP" --port=53 --bind-interfaces --hostsdir="$T/dns" \
		--pid-file="$T/dnsmasq.pid" --log-facility=- --log-queries >>"$T/dnsmasq.log" 2>&1 &
	DNS_PID=$!
	wait_for "dnsmasq answers" 10 answers n1 "probe.$NET" ""
}

# lookup NODE NAME TYPE: the addresses dnsmasq gives NODE for NAME, sorted; fails without a reply.
lookup() {
	local out
	out=$(nsx "$1" dig +short +time=1 +tries=1 "@$SRV_IP" "$2" "$3" 2>/dev/null) || return 1
	sort <<<"$out"
}

# answers NODE NAME A4 [A6]: NAME resolves to exactly A4 (A) and A6 (AAAA); "" = no address.
answers() {
	local a4 a6
	a4=$(lookup "$1" "$2" A) || return 1
	[ "$a4" = "$3" ] || return 1
	[ $# -lt 4 ] && return 0
	a6=$(lookup "$1" "$2" AAAA) || return 1
	[ "$a6" = "$4" ]
}

gone() { answers "$1" "$2" "" ""; }

# --- the lab and the control side ------------------------------------------------

lab_up 1 2 || fatal "lab: namespaces, veth links and routes"
ok "lab: ${P}wan router, ${P}srv, ${P}n1, ${P}n2"
broker_setup || fatal "broker: tools/broker-setup.sh"
broker_start || fatal "broker: mosquitto listens on $SRV_IP:$BROKER_PORT"
dns_server_start || fatal "server: meshgated --dns-dir listens on $SRV_IP:8080"
api_setup || fatal "server: setup and admin login"
api POST /networks "{\"name\":\"$NET\",\"ipv4_range\":\"$NET4\",\"ipv6_range\":\"$NET6\"}" >/dev/null ||
	fatal "server: create network $NET"
check "meshgated wrote $NET.hosts" test -f "$T/dns/$NET.hosts"
dnsmasq_start || fatal "dnsmasq: listens on $SRV_IP:53 with --hostsdir=$T/dns"
ok "dnsmasq in ${P}srv on $SRV_IP:53 serves $T/dns"
TOKEN=$(api POST /enrollment-keys "{\"networks\":[\"$NET\"],\"uses\":2}" | jget token)
[ -n "$TOKEN" ] || fatal "server: create an enrollment key"

# --- 1. two nodes join -----------------------------------------------------------------

declare -A M4=() M6=() HID=()
for n in n1 n2; do
	node_join "$n" "$TOKEN" || fatal "$n: meshgate join"
	M4[$n]=$(mesh_ip "$n" 4)
	M6[$n]=$(mesh_ip "$n" 6)
	HID[$n]=$(agent_host_id "$n")
	[ -n "${M4[$n]}" ] && [ -n "${M6[$n]}" ] && [ -n "${HID[$n]}" ] || fatal "$n: status gives addresses and host id"
	daemon_start "$n"
done
ok "n1 (${M4[n1]}) and n2 (${M4[n2]}) joined $NET"

check_within "n1: dig n2.$NET answers n2's mesh addresses (${M4[n2]}, ${M6[n2]})" 2 \
	answers n1 "n2.$NET" "${M4[n2]}" "${M6[n2]}" || note "$(lookup n1 "n2.$NET" A)" "$(cat "$T/dns/$NET.hosts")"
check_within "n2: dig n1.$NET answers n1's mesh addresses" 2 answers n2 "n1.$NET" "${M4[n1]}" "${M6[n1]}"
addr=$(lookup n1 "n2.$NET" A)
check_within "n1 pings n2 by the address its name resolves to ($addr)" 5 mesh_ping n1 "$addr"

# --- 2. a custom entry ------------------------------------------------------------------

api POST "/networks/$NET/dns" '{"name":"db","address":"192.0.2.10"}' >/dev/null ||
	not_ok "server: add the custom entry db.$NET"
check_within "n1: dig db.$NET answers the custom entry within 2 s" 2 answers n1 "db.$NET" 192.0.2.10

# --- 3. rename ----------------------------------------------------------------------------

t0=$(now_ms)
api PATCH "/hosts/${HID[n2]}" '{"name":"n2b"}' >/dev/null || not_ok "server: rename n2 to n2b"
renamed() { answers n1 "n2b.$NET" "${M4[n2]}" "${M6[n2]}" && gone n1 "n2.$NET"; }
if wait_for "n2b.$NET answers, n2.$NET does not" 2 renamed; then
	ok "rename: n2b.$NET answers n2's addresses and n2.$NET no longer does, within 2 s ($(($(now_ms) - t0)) ms)"
else
	not_ok "rename: n2b.$NET answers n2's addresses and n2.$NET no longer does, within 2 s"
	note "n2b: $(lookup n1 "n2b.$NET" A)" "n2: $(lookup n1 "n2.$NET" A)" "$(cat "$T/dns/$NET.hosts")"
fi
check "n1.$NET still answers after the rename" answers n1 "n1.$NET" "${M4[n1]}" "${M6[n1]}"

# --- 4. leave -------------------------------------------------------------------------------

daemon_stop n2
agent n2 leave >>"$T/leave-n2.log" 2>&1 || not_ok "n2: meshgate leave"
check_within "leave: n2b.$NET no longer answers within 2 s" 2 gone n1 "n2b.$NET"
check "leave: the custom entry db.$NET stays" answers n1 "db.$NET" 192.0.2.10

# --- shutdown -------------------------------------------------------------------------------

daemon_stop n1
check "n1: daemon exits 0 on SIGTERM" test $? -eq 0
stop_proc "$DNS_PID"
server_stop
check "meshgated exits 0 on SIGTERM" test $? -eq 0
broker_stop
sanitizer=$(grep -lE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$T"/*.log 2>/dev/null)
check "no sanitizer report in any log${sanitizer:+ (see: $sanitizer)}" test -z "$sanitizer"

e2e_summary
[ "$E2E_FAILED" -eq 0 ]
