#!/bin/bash
# Issue 10, DNS: meshgated keeps a hosts file per network in --dns-dir, gw is
# the network's DNS server node (PUT /networks/NET/nodes/GW/dns) and a real
# dnsmasq runs in ${P}gw on gw's WireGuard interface (--interface, --bind-dynamic,
# --hostsdir = meshgated's --dns-dir: the namespaces share the filesystem and
# the PID namespace, so meshgated's SIGHUP via --dnsmasq-pidfile reaches it);
# other names go to an "upstream" dnsmasq in ${P}srv.
#   1. gw, n1, n2 join; gw becomes ingress gateway and DNS server node: within
#      2 s the agents' configurations name it (n1: "server", gw: "serve");
#   2. from n1, `dig @GW n2.NETWORK` answers n2's mesh addresses (A, AAAA);
#      with /etc/netns/${P}n1/resolv.conf naming gw's mesh address,
#      `getent hosts n2.NETWORK` answers them, and n1 pings n2 by that name;
#      a name outside the mesh is answered by the upstream; n1's agent runs
#      with --resolver auto and no system bus: it logs that resolv.conf is
#      left alone and leaves it so;
#   3. the phone: an ext client made without DNS; its .conf has exactly one
#      `DNS =` line, gw's mesh address; wireguard-go + wg setconf with that
#      .conf, that address in /etc/netns/${P}phone/resolv.conf, and
#      `getent hosts n2.NETWORK` from the phone answers n2's addresses;
#   4. a custom entry (POST /networks/NET/dns) answers at once;
#   5. n2 renamed to n2b (PATCH /hosts/ID): within 2 s n2b.NETWORK answers and
#      n2.NETWORK no longer does, from n1 and from the phone;
#   5b. deny-all: n1's only peer is the DNS server node, names still resolve
#      from n1 and the phone (udp/tcp 53 open on it), pinging it does not;
#   6. n2 leaves: its name goes; gw stops being the DNS server node: the
#      agents' configurations drop it and a fresh .conf has no DNS line.
# Prints "ok - ..." / "not ok - ..." lines; exit 1 when anything failed.
# Needs, beyond lib.sh's tools: dnsmasq, dig, getent, wg-quick.

set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

NET=dnslab
NET4=10.78.0.0/24
NET6=fd00:78::/64
UPSTREAM_NAME=www.upstream.test
UPSTREAM_ADDR=192.0.2.80
DNS_PID=
UP_PID=
PHONE_PID=
NETNS_DIRS=()
declare -A M4=() M6=() HID=()

lab_init
PHONE_IF=$(ifname phone)

# The EXIT trap: our /etc/netns/${P}* directories, then the lab.
dns_lab_down() {
	local rc=$? d
	for d in "${NETNS_DIRS[@]}"; do
		rm -rf "$d"
	done
	rmdir /etc/netns 2>/dev/null
	(exit "$rc")
	lab_down
}
trap dns_lab_down EXIT


for tool in dnsmasq dig getent wg-quick; do
	command -v "$tool" >/dev/null 2>&1 || { echo "skip - e2e dns: $tool not installed"; exit 0; }
done

# Like lib.sh's server_start, with --dns-dir and --dnsmasq-pidfile.
dns_server_start() {
	[ -d "$T/srv" ] || mkdir -m 700 "$T/srv"
	rm -f "$T/srv/port"
	ip netns exec "$(ns srv)" "$MESHGATED" --data-dir "$T/srv" --listen "$SRV_IP:8080" --port-file "$T/srv/port" \
		--public-url "$API_URL" --broker "mqtt://$SRV_IP:$BROKER_PORT" \
		--broker-admin-file "$T/broker/broker-admin" --dns-dir "$T/dns" --dnsmasq-pidfile "$T/dnsmasq.pid" \
		--log-level debug >>"$T/meshgated.log" 2>&1 &
	SRVD_PID=$!
	wait_for "meshgated port file" 10 test -s "$T/srv/port" &&
		nsx srv python3 "$MGAPI" wait-tcp "$SRV_IP" 8080 10
}

# The "upstream resolver": a dnsmasq in ${P}srv that knows one name outside the mesh.
upstream_start() {
	ip netns exec "$(ns srv)" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--listen-address="$SRV_IP" --port=53 --bind-interfaces --address="/$UPSTREAM_NAME/$UPSTREAM_ADDR" \
		--pid-file="$T/upstream.pid" --log-facility=- >>"$T/upstream-dnsmasq.log" 2>&1 &
	UP_PID=$!
	wait_for "upstream dnsmasq answers" 10 dig_ok srv "$SRV_IP" "$UPSTREAM_NAME"
}

# The DNS server node's dnsmasq: in ${P}gw, on gw's WireGuard interface only.
gw_dnsmasq_start() {
	ip netns exec "$(ns gw)" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--interface="$(ifname gw)" --bind-dynamic --hostsdir="$T/dns" --server="$SRV_IP" \
		--pid-file="$T/dnsmasq.pid" --log-facility=- --log-queries >>"$T/dnsmasq.log" 2>&1 &
	DNS_PID=$!
	wait_for "gw's dnsmasq answers on ${M4[gw]}" 10 dig_ok n1 "${M4[gw]}" "probe.$NET"
}

# dig_ok NODE SERVER NAME: SERVER replies (any answer) to NODE's query for NAME.
dig_ok() { nsx "$1" dig +time=1 +tries=1 "@$2" "$3" A >/dev/null 2>&1; }

# lookup NODE NAME TYPE: the addresses gw's dnsmasq gives NODE for NAME, sorted; fails without a reply.
lookup() {
	local out
	out=$(nsx "$1" dig +short +time=1 +tries=1 "@${M4[gw]}" "$2" "$3" 2>/dev/null) || return 1
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

# resolv_conf NODE ADDR: /etc/netns/${P}NODE/resolv.conf naming ADDR (ip netns exec bind-mounts it).
resolv_conf() {
	local d=/etc/netns/$(ns "$1")
	mkdir -p "$d" || return 1
	NETNS_DIRS+=("$d")
	printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$2" >"$d/resolv.conf"
}

# getent_addrs NODE NAME: every address the system resolver of NODE gives for NAME, sorted.
getent_addrs() { nsx "$1" timeout 5 getent ahosts "$2" 2>/dev/null | awk '{ print $1 }' | sort -u; }

# resolves NODE NAME ADDR...: `getent hosts NAME` answers one of ADDR..., and
# `getent ahosts NAME` exactly ADDR... (any order).
resolves() {
	local n=$1 name=$2 first
	shift 2
	first=$(nsx "$n" timeout 5 getent hosts "$name" 2>/dev/null | awk 'NR == 1 { print $1 }')
	[ -n "$first" ] && printf '%s\n' "$@" | grep -qxF -- "$first" || return 1
	[ "$(getent_addrs "$n" "$name")" = "$(printf '%s\n' "$@" | sort -u)" ]
}

# unknown NODE NAME: the system resolver of NODE finds no address for NAME.
unknown() { ! nsx "$1" timeout 5 getent hosts "$2" >/dev/null 2>&1; }

# config_dns NODE: NETWORK's "dns" entry in NODE's stored configuration, as "SERVER SERVE" ("" without one).
config_dns() {
	agent "$1" status --json 2>/dev/null | python3 -c 'import json, sys
d = json.load(sys.stdin)
for n in d.get("networks") or []:
    if n["name"] == sys.argv[1] and "dns" in n:
        print(n["dns"]["server"], str(n["dns"]["serve"]).lower(), n["dns"]["domain"])' "$NET"
}
config_dns_is() { [ "$(config_dns "$1")" = "$2" ]; }

# An agent daemon with --resolver auto and no system bus to reach (as on a
# host without systemd-resolved; a resolved of the machine running the lab is
# never asked about a namespace's interface).
daemon_start_resolver() {
	local n=$1
	ip netns exec "$(ns "$n")" env MESHGATE_STATE_DIR="$(state_dir "$n")" MESHGATE_INTERFACE="$(ifname "$n")" \
		DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/no-system-bus" \
		"$MESHGATE" --log-level debug daemon --checkin-interval "${E2E_CHECKIN:-30}" --resolver auto \
		>>"$T/agent-$n.log" 2>&1 &
	DAEMON_PID[$n]=$!
}

# --- the lab and the control side ------------------------------------------------

lab_up 1 2 || fatal "lab: namespaces, veth links and routes"
lab_leaf gw 20 || fatal "lab: ${P}gw on the wan"
lab_leaf phone 21 || fatal "lab: ${P}phone on the wan"
LAB_IFS+=("$(ifname gw)" "$PHONE_IF")
ok "lab: ${P}wan router, ${P}srv, ${P}gw, ${P}n1, ${P}n2, ${P}phone"
broker_setup || fatal "broker: tools/broker-setup.sh"
broker_start || fatal "broker: mosquitto listens on $SRV_IP:$BROKER_PORT"
dns_server_start || fatal "server: meshgated --dns-dir listens on $SRV_IP:8080"
api_setup || fatal "server: setup and admin login"
api POST /networks "{\"name\":\"$NET\",\"ipv4_range\":\"$NET4\",\"ipv6_range\":\"$NET6\"}" >/dev/null ||
	fatal "server: create network $NET"
check "meshgated wrote $NET.hosts" test -f "$T/dns/$NET.hosts"
upstream_start || fatal "upstream: dnsmasq in ${P}srv on $SRV_IP:53"
TOKEN=$(api POST /enrollment-keys "{\"networks\":[\"$NET\"],\"uses\":3}" | jget token)
[ -n "$TOKEN" ] || fatal "server: create an enrollment key"

# --- 1. three nodes join; gw becomes ingress and DNS server node --------------------------

for n in gw n1 n2; do
	node_join "$n" "$TOKEN" || fatal "$n: meshgate join"
	M4[$n]=$(mesh_ip "$n" 4)
	M6[$n]=$(mesh_ip "$n" 6)
	HID[$n]=$(agent_host_id "$n")
	[ -n "${M4[$n]}" ] && [ -n "${M6[$n]}" ] && [ -n "${HID[$n]}" ] || fatal "$n: status gives addresses and host id"
	if [ "$n" = n1 ]; then daemon_start_resolver "$n"; else daemon_start "$n"; fi
	wait_for "$n: daemon subscribed" 10 count_above "$T/agent-$n.log" "subscribed to updates" 0 ||
		not_ok "$n: daemon subscribed to its update topic"
done
ok "gw (${M4[gw]}), n1 (${M4[n1]}) and n2 (${M4[n2]}) joined $NET"

api PUT "/networks/$NET/nodes/${HID[gw]}/ingress" >/dev/null || not_ok "PUT ingress on gw"
node=$(api PUT "/networks/$NET/nodes/${HID[gw]}/dns")
check "PUT .../nodes/${HID[gw]}/dns: gw is the DNS server node" test "$(jget dns_server <<<"$node")" = true
check "the network's dns_address is gw's mesh address" \
	test "$(api GET "/networks/$NET" | jget dns_address)" = "${M4[gw]}"
check_within "n1: its configuration names gw's address as $NET's DNS server within 2 s" 2 \
	config_dns_is n1 "${M4[gw]} false $NET"
check_within "gw: its configuration says it serves $NET's names" 2 config_dns_is gw "${M4[gw]} true $NET"
gw_dnsmasq_start || fatal "gw: dnsmasq listens on ${M4[gw]}:53 ($(ifname gw)) with --hostsdir=$T/dns"
ok "dnsmasq in ${P}gw on $(ifname gw) (${M4[gw]}:53) serves $T/dns"
check "gw's dnsmasq does not answer on gw's wan address" \
	bash -c "! ip netns exec $(ns n1) dig +time=1 +tries=1 @$(wan_ip gw) n2.$NET >/dev/null 2>&1"

# --- 2. n1: dig, getent hosts, ping by name, a name upstream, the agent's resolver -----------

check_within "n1: dig @${M4[gw]} n2.$NET answers n2's mesh addresses (${M4[n2]}, ${M6[n2]})" 2 \
	answers n1 "n2.$NET" "${M4[n2]}" "${M6[n2]}" || note "$(lookup n1 "n2.$NET" A)" "$(cat "$T/dns/$NET.hosts")"
resolv_conf n1 "${M4[gw]}" || fatal "n1: /etc/netns/$(ns n1)/resolv.conf"
RESOLV_N1=$(cat "/etc/netns/$(ns n1)/resolv.conf")
check_within "n1: getent hosts n2.$NET answers n2's mesh address (via gw's dnsmasq)" 2 \
	resolves n1 "n2.$NET" "${M4[n2]}" "${M6[n2]}" || note "getent: $(getent_addrs n1 "n2.$NET" | tr '\n' ' ')"
check_within "n1 pings n2.$NET by name" "$HANDSHAKE_WAIT" nsx n1 ping -c 1 -W 1 "n2.$NET"
check "n1: getent hosts $UPSTREAM_NAME: gw's dnsmasq forwards it upstream ($UPSTREAM_ADDR)" \
	resolves n1 "$UPSTREAM_NAME" "$UPSTREAM_ADDR"
check "n1: a name the mesh does not have is not found (nosuch.$NET)" unknown n1 "nosuch.$NET"
check_within "n1 (--resolver auto, no systemd-resolved): logs that resolv.conf is left alone" 2 \
	count_above "$T/agent-n1.log" "resolv.conf is left alone (the mesh's DNS: ${M4[gw]} for ~$NET)" 0
check "n1: its resolv.conf untouched by the agent" test "$(cat "/etc/netns/$(ns n1)/resolv.conf")" = "$RESOLV_N1"
check "n1: status --json says resolver auto (kept in its state)" \
	test "$(agent n1 status --json 2>/dev/null | jget resolver)" = auto
agent n1 daemon --resolver maybe >>"$T/usage-n1.log" 2>&1
rc=$?
check "n1: daemon --resolver maybe is a usage error (exit $rc)" test "$rc" -eq 2

# --- 3. the phone: its .conf carries gw's address as DNS ----------------------------------

EXT=$(api POST /extclients "{\"network\":\"$NET\",\"gateway_host_id\":${HID[gw]},\"name\":\"phone\"}")
EXT_ID=$(jget id <<<"$EXT")
PHONE_KEY=$(jget public_key <<<"$EXT")
{ [ -n "$EXT_ID" ] && [ "$EXT_ID" != null ] && [ -n "$PHONE_KEY" ]; } ||
	fatal "POST /extclients: ext client 'phone' on gw"
CONF=$T/$PHONE_IF.conf
api_download "/extclients/$EXT_ID/config" "$CONF" || fatal "GET /extclients/$EXT_ID/config"
dns_line=$(grep '^DNS' "$CONF")
check "phone: the .conf has one DNS line, gw's mesh address (got: '$dns_line')" \
	test "$dns_line" = "DNS = ${M4[gw]}"
PHONE_DNS=${dns_line#DNS = }
check_within "gw: the phone is a peer of its interface" 5 has_peer gw "$PHONE_KEY"
wg-quick strip "$CONF" >"$T/phone-stripped.conf" 2>>"$T/wg-quick.log" || not_ok "phone: wg-quick strip $CONF"
ip netns exec "$(ns phone)" wireguard-go -f "$PHONE_IF" >>"$T/wireguard-go-phone.log" 2>&1 &
PHONE_PID=$!
check_within "phone: wireguard-go brings up $PHONE_IF" 5 test -S "/var/run/wireguard/$PHONE_IF.sock"
conf_list() { sed -n "s/^$1 = //p" "$CONF" | tr ',' '\n' | tr -d ' '; }
up=0
nsx phone wg setconf "$PHONE_IF" "$T/phone-stripped.conf" || up=1
for a in $(conf_list Address); do nsx phone ip addr add "$a" dev "$PHONE_IF" || up=1; done
mtu=$(conf_list MTU)
nsx phone ip link set "$PHONE_IF" ${mtu:+mtu "$mtu"} up || up=1
for r in $(conf_list AllowedIPs); do nsx phone ip route add "$r" dev "$PHONE_IF" || up=1; done
check "phone: wg setconf, Address, link up, routes for AllowedIPs ($(conf_list AllowedIPs | tr '\n' ' '))" \
	test "$up" = 0
resolv_conf phone "$PHONE_DNS" || fatal "phone: /etc/netns/$(ns phone)/resolv.conf"
check_within "phone: getent hosts n2.$NET answers n2's mesh address (DNS from its .conf)" 10 \
	resolves phone "n2.$NET" "${M4[n2]}" "${M6[n2]}" || note "getent: $(getent_addrs phone "n2.$NET" | tr '\n' ' ')"
check "phone: getent hosts phone.$NET answers its own address" resolves phone "phone.$NET" \
	"$(jget address <<<"$EXT")" "$(jget address6 <<<"$EXT")"

# --- 4. a custom entry ------------------------------------------------------------------

api POST "/networks/$NET/dns" '{"name":"db","address":"192.0.2.10"}' >/dev/null ||
	not_ok "server: add the custom entry db.$NET"
check_within "n1: getent hosts db.$NET answers the custom entry within 2 s" 2 resolves n1 "db.$NET" 192.0.2.10

# --- 5. rename ----------------------------------------------------------------------------

hups0=$(count_in "$T/dnsmasq.log" "read $T/dns/$NET.hosts")
t0=$(now_ms)
api PATCH "/hosts/${HID[n2]}" '{"name":"n2b"}' >/dev/null || not_ok "server: rename n2 to n2b"
renamed() {
	resolves "$1" "n2b.$NET" "${M4[n2]}" "${M6[n2]}" && unknown "$1" "n2.$NET"
}
for n in n1 phone; do
	if wait_for "$n: n2b.$NET answers, n2.$NET does not" 2 renamed "$n"; then
		ok "rename, from $n: n2b.$NET answers n2's addresses and n2.$NET no longer does, within 2 s ($(($(now_ms) - t0)) ms)"
	else
		not_ok "rename, from $n: n2b.$NET answers n2's addresses and n2.$NET no longer does, within 2 s"
		note "n2b: $(getent_addrs "$n" "n2b.$NET" | tr '\n' ' ')" "n2: $(getent_addrs "$n" "n2.$NET" | tr '\n' ' ')" \
			"$(cat "$T/dns/$NET.hosts")"
	fi
done
check "dnsmasq re-read $NET.hosts after the rename" count_above "$T/dnsmasq.log" "read $T/dns/$NET.hosts" "$hups0"
check "n1.$NET still answers after the rename" resolves n1 "n1.$NET" "${M4[n1]}" "${M6[n1]}"

# --- 5b. deny-all: names still resolve, nothing else opens ------------------------------------

pol=$(api PATCH "/networks/$NET" '{"default_policy":"deny"}' | jget default_policy)
check "PATCH default_policy deny (got '$pol')" test "$pol" = deny
only_gw() { [ "$(peers n1)" = "$(pubkey gw)" ]; }
check_within "deny-all: n1's only peer is the DNS server node gw" 3 only_gw || note "n1 peers: $(peers n1)"
check_within "deny-all: n1 still resolves n2b.$NET through gw (port 53 stays open)" 3 \
	resolves n1 "n2b.$NET" "${M4[n2]}" "${M6[n2]}"
check "deny-all: the phone still resolves n2b.$NET" resolves phone "n2b.$NET" "${M4[n2]}" "${M6[n2]}"
check "deny-all: n1 cannot ping gw (only DNS is open)" eval "! nsx n1 ping -c 2 -W 1 -n ${M4[gw]} >/dev/null 2>&1"
pol=$(api PATCH "/networks/$NET" '{"default_policy":"allow"}' | jget default_policy)
check "PATCH default_policy allow again (got '$pol')" test "$pol" = allow
check_within "allow-all: n1 pings gw again" "$HANDSHAKE_WAIT" eval "nsx n1 ping -c 1 -W 1 -n ${M4[gw]} >/dev/null 2>&1"

# --- 6. leave; gw stops serving ---------------------------------------------------------------

daemon_stop n2
agent n2 leave >>"$T/leave-n2.log" 2>&1 || not_ok "n2: meshgate leave"
check_within "leave: n2b.$NET no longer answers within 2 s" 2 unknown n1 "n2b.$NET"
check "leave: the custom entry db.$NET stays" resolves n1 "db.$NET" 192.0.2.10

node=$(api DELETE "/networks/$NET/nodes/${HID[gw]}/dns")
check "DELETE .../nodes/${HID[gw]}/dns: gw is no longer the DNS server node" \
	test "$(jget dns_server <<<"$node")" = false
check_within "n1: its configuration no longer names a DNS server within 2 s" 2 config_dns_is n1 ""
check_within "gw: neither does gw's" 2 config_dns_is gw ""
api_download "/extclients/$EXT_ID/config" "$T/phone-after.conf" || not_ok "GET /extclients/$EXT_ID/config again"
check "phone: a .conf downloaded now has no DNS line" test "$(grep -c '^DNS' "$T/phone-after.conf")" = 0

# --- shutdown -------------------------------------------------------------------------------

daemon_stop n1
check "n1: daemon exits 0 on SIGTERM" test $? -eq 0
daemon_stop gw
stop_proc "$PHONE_PID"
stop_proc "$DNS_PID"
stop_proc "$UP_PID"
server_stop
check "meshgated exits 0 on SIGTERM" test $? -eq 0
broker_stop
sanitizer=$(grep -lE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$T"/*.log 2>/dev/null)
check "no sanitizer report in any log${sanitizer:+ (see: $sanitizer)}" test -z "$sanitizer"

e2e_summary
[ "$E2E_FAILED" -eq 0 ]
