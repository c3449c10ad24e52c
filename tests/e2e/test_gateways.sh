#!/bin/bash
# Issue 5, "Done when", against the real binaries in a network-namespace lab:
# ${P}wan router; ${P}srv (meshgated + mosquitto); ${P}gw (agent, egress and
# ingress gateway, with a private LAN leg to ${P}db); ${P}db (a real
# PostgreSQL listening only on its LAN address, no route to the mesh, no
# default route); ${P}n1 (an ordinary node); ${P}phone (an ext client:
# wireguard-go + wg, with exactly the .conf read back from the QR code).
#   1. gw egress for db's LAN (NAT on): psql from n1 to db works, and the
#      egress / masquerade counters in `meshgate nat show --json` grow;
#   2. NAT off (db has no return route): psql from n1 fails; NAT on again: works;
#   3. the phone's .conf from zbarimg equals GET .../config byte for byte;
#      wg-quick strip + wireguard-go + wg setconf bring it up; phone pings n1
#      through ingress and runs psql through ingress -> egress;
#   4. disabling the client cuts it within 2 s; re-enabling restores it; an
#      expired client is cut and shows "expired";
#   5. a name or an extra_allowed_ips entry carrying a newline: 400;
#   6. table inet meshgate exists while gw is a gateway, a foreign table in
#      gw's namespace survives every change, and dropping both roles removes
#      table inet meshgate (an invalid apply leaving the previous table in
#      force is tests/unit/test_nat.c's);
#   7. gw as an internet gateway: n1 gets 0.0.0.0/1 + 128.0.0.0/1 and ::/1 +
#      8000::/1 into the mesh and host routes (proto 157, via its wan router)
#      for gw's endpoint and the server; ${P}inet (198.18.99.2, behind the wan,
#      neither mesh nor LAN) sees n1's connections come from gw's wan address
#      (masquerade on gw); mesh pings keep working, and with the wan dropping
#      n1 <-> gw a restarted n1 daemon still checks in directly; with the role
#      gone n1 reaches ${P}inet directly again and has only its mesh routes.
# Prints "ok - ..." / "not ok - ..." lines; exit 1 when anything failed.
# Needs, beyond lib.sh's tools: nft, psql, PostgreSQL 15 server binaries,
# zbarimg, wg-quick, runuser.

set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

NET=e2egw
NET4=10.78.0.0/24
NET6=fd00:78::/64
INET_IP=198.18.99.2	# ${P}inet: "the internet" for section 7
INET_PORT=7777
declare -A PK=() M4=() M6=() HID=()

lab_init
PHONE_IF=$(ifname phone)


for tool in zbarimg wg-quick; do
	command -v "$tool" >/dev/null 2>&1 || fatal "$tool not installed"
done
msg=$(db_tools_missing) && fatal "$msg"

# --- helpers ----------------------------------------------------------------------


psql_fails() { ! psql_db "$@"; }

# nat_json: `meshgate nat show --json` on gw.
nat_json() { agent gw nat show --json 2>/dev/null; }

# nat_packets CHAIN COMMENT_PREFIX: packets counted by gw's rules of CHAIN whose
# comment starts with COMMENT_PREFIX (empty when there is no table).
nat_packets() {
	nat_json | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(sum(r["packets"] for c in d["chains"] if c["name"] == sys.argv[1]
          for r in c["rules"] if (r.get("comment") or "").startswith(sys.argv[2])))' "$1" "$2" 2>/dev/null
}

# nat_rules CHAIN COMMENT_PREFIX: how many such rules gw's table has.
nat_rules() {
	nat_json | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(sum(1 for c in d["chains"] if c["name"] == sys.argv[1]
          for r in c["rules"] if (r.get("comment") or "").startswith(sys.argv[2])))' "$1" "$2" 2>/dev/null
}

masq_rules_are() { [ "$(nat_rules postrouting "masquerade @")" = "$1" ]; }
table_present() { nsx gw nft list table inet meshgate >/dev/null 2>&1; }
table_gone() { ! table_present; }
foreign_intact() { nsx gw nft list chain inet other c >/dev/null 2>&1; }
# client filters in gw's table: "client ADDR allowed" / "client ADDR other" rules
client_rules_present() { [ "$(nat_rules forward "client ")" -gt 0 ] 2>/dev/null; }
client_rules_gone() { [ "$(nat_rules forward "client ")" = 0 ]; }

# routed_via NODE DST IF: NODE's route to DST leaves by IF.
routed_via() { nsx "$1" ip route get "$2" 2>/dev/null | grep -q "dev $3 "; }
not_routed_via() { ! routed_via "$@"; }

# inet_sees NODE: the source address ${P}inet's responder saw for NODE's connection.
inet_sees() {
	nsx "$1" timeout 5 python3 -c 'import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
print(s.makefile().readline().strip())' "$INET_IP" "$INET_PORT" 2>/dev/null
}
inet_sees_as() { [ "$(inet_sees "$1")" = "$2" ]; }
inet_unreachable() { ! inet_sees "$1" >/dev/null; }

# proto_routes NODE: NODE's routes of protocol 157 (IPv4 and IPv6), one a line.
proto_routes() { nsx "$1" ip -4 route show proto 157; nsx "$1" ip -6 route show proto 157; }

# split_on NODE: the four /1 routes of an internet gateway, into NODE's mesh interface.
split_on() {
	local r
	r=$(proto_routes "$1")
	for d in 0.0.0.0/1 128.0.0.0/1 ::/1 8000::/1; do
		grep -q "^$d dev $(ifname "$1") " <<<"$r" || return 1
	done
}

# kept_direct NODE ADDR: a host route of ours to ADDR via NODE's wan router, and
# the kernel picks it.
kept_direct() {
	local gwip
	gwip=$(wan_ip "$1")
	gwip=${gwip%.2}.1
	nsx "$1" ip -4 route show proto 157 "$2/32" | grep -q "via $gwip dev eth0" &&
		nsx "$1" ip route get "$2" | grep -q "via $gwip dev eth0 "
}

# only_mesh_routes NODE: every route of ours (if any: the mesh prefix itself
# covers the peers) goes into NODE's mesh interface, with no gateway, and none
# is a /1 (an internet gateway's).
only_mesh_routes() {
	local r
	r=$(proto_routes "$1") || return 1
	! grep -v " dev $(ifname "$1") " <<<"$r" | grep -q . &&
		! grep -q " via " <<<"$r" &&
		! grep -qE '^(0\.0\.0\.0/1|128\.0\.0\.0/1|::/1|8000::/1) ' <<<"$r"
}

host_field() { api GET "/hosts/$1" | jget "$2"; }
checked_in_since() { [ "$(host_field "$1" last_checkin)" != "$2" ]; }

# a change to gw's roles must never touch a foreign table
foreign_check() {
	check "foreign table inet other in gw's namespace intact ($1)" foreign_intact
}

# ping_ok DESC FROM ADDR: FROM pings ADDR within HANDSHAKE_WAIT (a first handshake included).
ping_ok() { check_within "$1" "$HANDSHAKE_WAIT" mesh_ping "$2" "$3"; }
ping_fails() { ! mesh_ping "$@"; }

phone_cut() { lacks_peer gw "$PHONE_KEY"; }
ext_field() { api GET "/extclients/$EXT_ID" | jget "$1"; }

# --- the lab ---------------------------------------------------------------------------

lab_up 1 || fatal "lab: namespaces, veth links and routes"
lab_leaf gw 20 || fatal "lab: ${P}gw on the wan"
lab_leaf phone 21 || fatal "lab: ${P}phone on the wan"
LAB_IFS+=("$(ifname gw)" "$PHONE_IF")
lab_leaf inet 99 || fatal "lab: ${P}inet on the wan"
db_lab_up gw || fatal "lab: ${P}db and the LAN leg gw <-> db ($LAN)"
ok "lab: ${P}wan router, ${P}srv, ${P}n1, ${P}gw, ${P}phone on 198.18.0.0/15; ${P}gw <-> ${P}db on $LAN"
check "db: no default route and no route beyond its LAN" \
	test "$(nsx db ip -4 route show | grep -vc "^$LAN ")" = 0
check_within "lab: gw reaches the server over the wan" 5 mesh_ping gw "$SRV_IP" ||
	fatal "lab: no route through the wan"

# "The internet": a responder on ${P}inet that answers with the address it sees.
ip netns exec "$(ns inet)" python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
while True:
    c, a = s.accept()
    try:
        c.sendall((a[0] + "\n").encode())
    except OSError:
        pass
    c.close()' "$INET_IP" "$INET_PORT" >>"$T/inet.log" 2>&1 &
nsx inet python3 "$MGAPI" wait-tcp "$INET_IP" "$INET_PORT" 10 || fatal "lab: the responder on $INET_IP:$INET_PORT"
check "lab: n1 reaches ${P}inet directly (it sees $(wan_ip n1))" inet_sees_as n1 "$(wan_ip n1)"

# A foreign table in gw's namespace: nat/ must never touch it.
{ nsx gw nft add table inet other && nsx gw nft add chain inet other c; } ||
	fatal "nft: add table inet other / chain c in gw's namespace"

# --- PostgreSQL on db, listening only on its LAN address -------------------------------
pg_start || fatal "db: initdb + pg_ctl start (PostgreSQL on $DB_IP:5432)"
listening=$(nsx db ss -Hltn | awk '{ print $4 }' | sort -u | tr '\n' ' ')
check "db: PostgreSQL listens on $DB_IP:5432 only (listening: $listening)" test "$listening" = "$DB_IP:5432 "
check_within "gw: psql to db over the LAN (the database works)" 10 psql_db gw

# --- the control side and the two agents -----------------------------------------------

broker_setup || fatal "broker: tools/broker-setup.sh"
broker_start || fatal "broker: mosquitto listens on $SRV_IP:$BROKER_PORT"
server_start || fatal "server: meshgated listens on $SRV_IP:8080"
api_setup || fatal "server: setup and admin login"
api POST /networks "{\"name\":\"$NET\",\"ipv4_range\":\"$NET4\",\"ipv6_range\":\"$NET6\"}" >/dev/null ||
	fatal "server: create network $NET"
TOKEN=$(api POST /enrollment-keys "{\"networks\":[\"$NET\"],\"uses\":2}" | jget token)
[ -n "$TOKEN" ] || fatal "server: create an enrollment key with 2 uses"
ok "control side: mosquitto + meshgated in ${P}srv, network $NET ($NET4, $NET6)"

for n in gw n1; do
	node_join "$n" "$TOKEN" || {
		not_ok "$n: meshgate join exited non-zero"
		note "$(grep -v '[│┌└]' "$T/join-$n.log" | tail -n 5)"
	}
	learn "$n" || fatal "$n: status --json gives its key, addresses and host id"
	daemon_start "$n"
	check_within "$n: daemon subscribed to its update topic" 10 \
		count_above "$T/agent-$n.log" "subscribed to updates" 0
done
ok "gw and n1 joined ($(wan_ip gw):$WG_PORT, $(wan_ip n1):$WG_PORT)"
ping_ok "ping n1 -> gw over the mesh" n1 "${M4[gw]}"
check "gw: no table inet meshgate before it has a gateway role" table_gone

# --- 1. egress with NAT ------------------------------------------------------------------

api PUT "/networks/$NET/nodes/${HID[gw]}/egress" "{\"ranges\":[{\"range\":\"$LAN\",\"nat\":true}]}" >/dev/null ||
	not_ok "PUT egress $LAN (nat) on gw"
api PUT "/networks/$NET/nodes/${HID[gw]}/ingress" >/dev/null || not_ok "PUT ingress on gw"
check_within "gw: table inet meshgate with a masquerade rule for the egress range" 5 masq_rules_are 1
check "gw: nft list table inet meshgate (in gw's namespace)" table_present
check "gw: forwarding enabled for the gateway role" test "$(nsx gw sysctl -n net.ipv4.ip_forward)" = 1
foreign_check "egress + ingress on"
check_within "n1: routes $LAN into the mesh" 5 routed_via n1 "$DB_IP" "$(ifname n1)"

fwd0=$(nat_packets forward "egress @")
masq0=$(nat_packets postrouting "masquerade @")
check_within "n1: psql -h $DB_IP -c 'select 1' through the egress gateway (NAT on)" 15 psql_db n1
fwd1=$(nat_packets forward "egress @")
masq1=$(nat_packets postrouting "masquerade @")
if [ -n "$fwd0" ] && [ -n "$fwd1" ] && [ "$fwd1" -gt "$fwd0" ] && [ -n "$masq1" ] && [ "$masq1" -gt "$masq0" ]; then
	ok "gw: nat show counters grew (egress forward $fwd0 -> $fwd1, masquerade $masq0 -> $masq1 packets)"
else
	not_ok "gw: nat show counters grew (egress forward '$fwd0' -> '$fwd1', masquerade '$masq0' -> '$masq1')"
	note "$(agent gw nat show 2>&1)"
fi
nat_text=$(agent gw nat show 2>&1)
check "gw: meshgate nat show (text) lists the rules with counters" \
	grep -q "packets [0-9]* bytes [0-9]*.*masquerade" <<<"$nat_text"

# --- 2. NAT off: no return route on db -------------------------------------------------

api PUT "/networks/$NET/nodes/${HID[gw]}/egress" "{\"ranges\":[{\"range\":\"$LAN\",\"nat\":false}]}" >/dev/null ||
	not_ok "PUT egress $LAN (no NAT) on gw"
check_within "gw: the masquerade rule is gone (NAT off)" 5 masq_rules_are 0
foreign_check "NAT off"
fwd0=$(nat_packets forward "egress @")
t0=$(now_ms)
check "n1: psql to db fails with NAT off (db has no route back to the mesh)" psql_fails n1
note "psql took $(($(now_ms) - t0)) ms: $(tail -n 1 "$T/psql-n1.log")"
fwd1=$(nat_packets forward "egress @")
check "gw: the SYNs were still forwarded (egress counter $fwd0 -> $fwd1)" test "${fwd1:-0}" -gt "${fwd0:-0}"

api PUT "/networks/$NET/nodes/${HID[gw]}/egress" "{\"ranges\":[{\"range\":\"$LAN\",\"nat\":true}]}" >/dev/null ||
	not_ok "PUT egress $LAN (NAT on again) on gw"
check_within "gw: the masquerade rule is back (NAT on)" 5 masq_rules_are 1
foreign_check "NAT on again"
check_within "n1: psql to db works again with NAT on" 15 psql_db n1

# --- 3. the phone: .conf from the QR code, wireguard-go + wg setconf ----------------------

EXT=$(api POST /extclients "{\"network\":\"$NET\",\"gateway_host_id\":${HID[gw]},\"name\":\"phone\"}")
EXT_ID=$(jget id <<<"$EXT")
PHONE_KEY=$(jget public_key <<<"$EXT")
PHONE_ADDR=$(jget address <<<"$EXT")
{ [ -n "$EXT_ID" ] && [ -n "$PHONE_KEY" ] && [ "$EXT_ID" != null ]; } ||
	fatal "POST /extclients: ext client 'phone' on gw (server-generated keys)"
ok "ext client phone (id $EXT_ID, $PHONE_ADDR) on gw"
check_within "gw: the phone is a peer of its interface" 5 has_peer gw "$PHONE_KEY"
check_within "gw: a client filter for the phone in table inet meshgate" 5 client_rules_present ||
	note "$(agent gw nat show 2>&1)"
foreign_check "ext client added"

CONF=$T/$PHONE_IF.conf
api_download "/extclients/$EXT_ID/config" "$CONF" || not_ok "GET /extclients/$EXT_ID/config"
api_download "/extclients/$EXT_ID/qr.png" "$T/phone-qr.png" || not_ok "GET /extclients/$EXT_ID/qr.png"
zbarimg --raw -q -Sbinary "$T/phone-qr.png" >"$T/phone-qr.conf" 2>>"$T/zbarimg.log"
check "phone: zbarimg --raw of qr.png decodes (status $?)" test -s "$T/phone-qr.conf"
if cmp -s "$CONF" "$T/phone-qr.conf"; then
	ok "phone: the QR code holds the .conf byte for byte ($(wc -c <"$CONF") bytes)"
else
	not_ok "phone: the QR code holds the .conf byte for byte"
	note "$(diff <(od -c "$CONF") <(od -c "$T/phone-qr.conf") | head -n 10)"
fi
check "phone: the .conf's Endpoint is gw's wan address ($(wan_ip gw):$WG_PORT)" \
	grep -qx "Endpoint = $(wan_ip gw):$WG_PORT" "$CONF"
check "phone: no private key in the ext client's JSON" test "$(grep -c '"private_key"' <<<"$EXT")" = 0

# The phone uses the .conf read back from the QR code.
cp "$T/phone-qr.conf" "$CONF"
wg-quick strip "$CONF" >"$T/phone-stripped.conf" 2>>"$T/wg-quick.log" ||
	not_ok "phone: wg-quick strip $CONF"
ip netns exec "$(ns phone)" wireguard-go -f "$PHONE_IF" >>"$T/wireguard-go-phone.log" 2>&1 &
check_within "phone: wireguard-go brings up $PHONE_IF" 5 test -S "/var/run/wireguard/$PHONE_IF.sock"
check "phone: wg setconf $PHONE_IF (the stripped .conf)" nsx phone wg setconf "$PHONE_IF" "$T/phone-stripped.conf"
conf_list() { sed -n "s/^$1 = //p" "$CONF" | tr ',' '\n' | tr -d ' '; }
up=0
for a in $(conf_list Address); do nsx phone ip addr add "$a" dev "$PHONE_IF" || up=1; done
mtu=$(conf_list MTU)
nsx phone ip link set "$PHONE_IF" ${mtu:+mtu "$mtu"} up || up=1
for r in $(conf_list AllowedIPs); do nsx phone ip route add "$r" dev "$PHONE_IF" || up=1; done
check "phone: Address, link up, routes for AllowedIPs ($(conf_list AllowedIPs | tr '\n' ' '))" test "$up" = 0
check "phone: its public key is the ext client's" test "$(pubkey phone)" = "$PHONE_KEY"
grep -q "^AllowedIPs = .*$LAN" "$CONF" || not_ok "phone: $LAN (gw's egress) in the .conf's AllowedIPs"

ping_ok "phone -> n1 through ingress (IPv4 ${M4[n1]})" phone "${M4[n1]}"
ping_ok "phone -> n1 through ingress (IPv6 ${M6[n1]})" phone "${M6[n1]}"
check_within "phone: psql to db through ingress -> egress" 15 psql_db phone

# The client filter with real packets: the phone widens its own AllowedIPs to
# the server's wan address (outside its grant); gw must drop what it sends
# there. A counter in srv's prerouting sees whether anything arrives.
probe_packets() {
	nsx srv nft list chain inet probe pre 2>/dev/null | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -n 1
}
gw_key_on_phone=$(nsx phone wg show "$PHONE_IF" peers | head -n 1)
granted=$(nsx phone wg show "$PHONE_IF" allowed-ips | awk '{ $1 = ""; print }' | tr -s ' ' ',' | sed 's/^,//; s/,$//')
if nsx srv nft add table inet probe &&
	nsx srv nft add chain inet probe pre '{ type filter hook prerouting priority -300; policy accept; }' &&
	nsx srv nft add rule inet probe pre ip saddr "$PHONE_ADDR" counter &&
	nsx phone wg set "$PHONE_IF" peer "$gw_key_on_phone" allowed-ips "$granted,$SRV_IP/32" &&
	nsx phone ip route add "$SRV_IP/32" dev "$PHONE_IF"; then
	drop0=$(nat_packets forward "client ${PHONE_ADDR}/32 other")
	for _ in 1 2 3; do nsx phone ping -c 1 -W 0.3 -n "$SRV_IP" >/dev/null 2>&1; done
	drop1=$(nat_packets forward "client ${PHONE_ADDR}/32 other")
	arrived=$(probe_packets)
	check "phone -> $SRV_IP (not granted): nothing reaches srv through gw ($arrived packets arrived)" \
		test "${arrived:-x}" = 0
	check "gw: the phone's drop rule counted them (${drop0:-none} -> ${drop1:-none})" \
		test "${drop1:-0}" -gt "${drop0:-0}"
else
	not_ok "phone: set up the not-granted destination probe"
fi
nsx phone ip route del "$SRV_IP/32" dev "$PHONE_IF" 2>/dev/null
nsx phone wg set "$PHONE_IF" peer "$gw_key_on_phone" allowed-ips "$granted"

# --- 4. disable, re-enable, expiry -----------------------------------------------------------

t0=$(now_ms)
api PATCH "/extclients/$EXT_ID" '{"enabled":false}' >/dev/null || not_ok "PATCH ext client enabled:false"
if wait_for "phone gone from gw" 5 phone_cut; then
	took=$(($(now_ms) - t0))
	if [ "$took" -le 2000 ]; then
		ok "disabled: gw no longer lists the phone's key within 2 s (${took} ms)"
	else
		not_ok "disabled: gw no longer lists the phone's key within 2 s (took ${took} ms)"
	fi
else
	not_ok "disabled: gw no longer lists the phone's key within 2 s (not within 5 s)"
fi
check_within "disabled: phone -> n1 ping fails (cut $(($(now_ms) - t0)) ms after the PATCH)" 2 \
	ping_fails phone "${M4[n1]}"
foreign_check "client disabled"

api PATCH "/extclients/$EXT_ID" '{"enabled":true}' >/dev/null || not_ok "PATCH ext client enabled:true"
check_within "re-enabled: gw lists the phone again" 5 has_peer gw "$PHONE_KEY"
# gw lost its session with the phone when the peer went: the phone's own
# traffic gets no answer until its WireGuard starts a new handshake, which it
# does 15 s (keepalive + rekey timeout) after its first unanswered packet.
t0=$(now_ms)
check_within "re-enabled: phone -> n1 works again (WireGuard re-handshakes within ~15 s)" 20 \
	mesh_ping phone "${M4[n1]}"
note "phone back after $(($(now_ms) - t0)) ms"
check_within "re-enabled: phone psql to db works again" 15 psql_db phone

exp=$(($(date +%s) + 3))
api PATCH "/extclients/$EXT_ID" "{\"expires_at\":$exp}" >/dev/null || not_ok "PATCH ext client expires_at now+3"
check "expiry set: phone -> n1 still works before expires_at" mesh_ping phone "${M4[n1]}"
if wait_for "the phone's expiry" 12 phone_cut; then
	if past $((exp - 1)); then
		ok "expired: gw no longer lists the phone's key ($(($(date +%s) - exp)) s after expires_at)"
	else
		not_ok "expired: gw dropped the phone before expires_at ($(date +%s) < $exp)"
	fi
else
	not_ok "expired: gw no longer lists the phone's key (not within 12 s of the PATCH)"
fi
check_within "expired: phone -> n1 ping fails" 2 ping_fails phone "${M4[n1]}"
check "expired: the client shows \"expired\": true" test "$(ext_field expired)" = true
foreign_check "client expired"

# --- 5. bad input ---------------------------------------------------------------------------

n_before=$(api GET "/extclients?network=$NET" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
st=$(api_status POST /extclients "{\"network\":\"$NET\",\"gateway_host_id\":${HID[gw]},\"name\":\"x\\n[Peer]\"}")
check "POST /extclients named \"x\\n[Peer]\": 400 (got $st)" test "$st" = 400
st=$(api_status POST /extclients "{\"network\":\"$NET\",\"gateway_host_id\":${HID[gw]},\"name\":\"site\",\"extra_allowed_ips\":[\"10.99.0.0/24\\n[Peer]\"]}")
check "POST /extclients with extra_allowed_ips [\"10.99.0.0/24\\n[Peer]\"]: 400 (got $st)" test "$st" = 400
st=$(api_status POST /extclients "{\"network\":\"$NET\",\"gateway_host_id\":${HID[gw]},\"name\":\"site\",\"extra_allowed_ips\":[\"10.99.0.0/24\",\"10.98.0.0/24\\nEndpoint = 1.2.3.4:1\"]}")
check "POST /extclients with a second extra_allowed_ips entry carrying a newline: 400 (got $st)" test "$st" = 400
st=$(api_status PATCH "/extclients/$EXT_ID" '{"name":"x\n[Peer]"}')
check "PATCH an ext client's name to \"x\\n[Peer]\": 400 (got $st)" test "$st" = 400
n_after=$(api GET "/extclients?network=$NET" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
check "bad input created no ext client ($n_before -> $n_after)" test "$n_before" = "$n_after"
check "the phone's name unchanged" test "$(ext_field name)" = phone

# --- 6. dropping the roles -------------------------------------------------------------------

st=$(api_status DELETE "/networks/$NET/nodes/${HID[gw]}/ingress")
check "DELETE ingress while gw has an ext client: 409 (got $st)" test "$st" = 409
st=$(api_status DELETE "/extclients/$EXT_ID")
check "DELETE the phone's ext client: 204 (got $st)" test "$st" = 204
api DELETE "/networks/$NET/nodes/${HID[gw]}/ingress" >/dev/null || not_ok "DELETE ingress on gw"
check_within "gw: ingress dropped, the client filters are gone" 5 client_rules_gone
check "gw: table inet meshgate still there (egress remains)" table_present
foreign_check "ingress dropped"
api DELETE "/networks/$NET/nodes/${HID[gw]}/egress" >/dev/null || not_ok "DELETE egress on gw"
check_within "gw: no role left: table inet meshgate removed" 5 table_gone
foreign_check "egress dropped"
check_within "n1: no longer routes $LAN into the mesh" 5 not_routed_via n1 "$DB_IP" "$(ifname n1)"
check "n1: psql to db fails once gw is no gateway" psql_fails n1

# --- 7. internet gateway: n1's traffic to anywhere goes through gw -------------------------

check "n1: no /1 routes before gw is an internet gateway" only_mesh_routes n1
api PUT "/networks/$NET/nodes/${HID[gw]}/egress" '{"internet_gateway": true}' >/dev/null ||
	not_ok "PUT egress {\"internet_gateway\": true} on gw"
check_within "n1: 0.0.0.0/1, 128.0.0.0/1, ::/1, 8000::/1 into the mesh" 5 split_on n1 ||
	note "$(proto_routes n1)"
check_within "n1: gw's endpoint $(wan_ip gw) stays on the wan (host route, proto 157)" 5 \
	kept_direct n1 "$(wan_ip gw)" || note "$(proto_routes n1)"
check "n1: the server $SRV_IP stays on the wan (host route, proto 157)" kept_direct n1 "$SRV_IP"
check "n1: the default route is untouched" \
	test "$(nsx n1 ip -4 route show default)" = "default via $(wan_ip n1 | sed 's/\.2$/.1/') dev eth0 "
check "n1: ${P}inet ($INET_IP) is routed into the mesh" routed_via n1 "$INET_IP" "$(ifname n1)"
check_within "gw: table inet meshgate with a masquerade rule for 0.0.0.0/0" 5 masq_rules_are 2 ||
	note "$(agent gw nat show 2>&1)"
check_within "n1 -> ${P}inet: the responder sees gw's wan address $(wan_ip gw) (NAT on gw)" 10 \
	inet_sees_as n1 "$(wan_ip gw)" || note "seen: $(inet_sees n1)"
ping_ok "ping n1 -> ${P}inet ($INET_IP) through gw" n1 "$INET_IP"
ping_ok "ping n1 -> gw over the mesh (IPv4) with the /1 routes" n1 "${M4[gw]}"
ping_ok "ping n1 -> gw over the mesh (IPv6) with the /1 routes" n1 "${M6[gw]}"
ping_ok "ping gw -> n1 over the mesh (IPv4)" gw "${M4[n1]}"
check "gw: no /1 routes of its own (its allowed IPs are not its peers')" \
	not_routed_via gw "$INET_IP" "$(ifname gw)"
foreign_check "internet gateway on"

# The gateway unreachable: the wan drops n1 <-> gw. n1 loses "the internet"
# but still checks in (its daemon, restarted, reports at once) from its own address.
if nsx wan nft add table inet cut &&
	nsx wan nft add chain inet cut c '{ type filter hook forward priority 0; policy accept; }' &&
	nsx wan nft add rule inet cut c ip saddr "$(wan_ip n1)" ip daddr "$(wan_ip gw)" drop &&
	nsx wan nft add rule inet cut c ip saddr "$(wan_ip gw)" ip daddr "$(wan_ip n1)" drop; then
	check_within "gw unreachable: n1 -> ${P}inet fails" 5 inet_unreachable n1
	before=$(host_field "${HID[n1]}" last_checkin)
	sleep 1
	daemon_stop n1
	daemon_start n1
	check_within "gw unreachable: n1's daemon still checks in" 10 checked_in_since "${HID[n1]}" "$before"
	check "gw unreachable: the server saw n1's check-in from $(wan_ip n1) (not through gw)" \
		test "$(host_field "${HID[n1]}" observed_ip)" = "$(wan_ip n1)"
	check_within "gw unreachable: n1's /1 and host routes stay" 5 kept_direct n1 "$SRV_IP"
	nsx wan nft delete table inet cut || not_ok "wan: nft delete table inet cut"
	check_within "gw reachable again: n1 -> ${P}inet through gw" 25 inet_sees_as n1 "$(wan_ip gw)"
else
	not_ok "wan: drop n1 <-> gw with nft"
fi
check "n1: routes still as they were after the restart" split_on n1

api DELETE "/networks/$NET/nodes/${HID[gw]}/egress" >/dev/null || not_ok "DELETE egress (internet gateway) on gw"
check_within "n1: the /1 and host routes are gone, only mesh routes of proto 157" 5 only_mesh_routes n1 ||
	note "$(proto_routes n1)"
check_within "gw: no role left: table inet meshgate removed" 5 table_gone
check_within "n1 -> ${P}inet directly again: the responder sees $(wan_ip n1)" 10 inet_sees_as n1 "$(wan_ip n1)"
ping_ok "ping n1 -> gw over the mesh after the internet gateway is gone" n1 "${M4[gw]}"
foreign_check "internet gateway off"

# --- shutdown: clean exits, no sanitizer reports ------------------------------------------

for n in gw n1; do
	daemon_stop "$n"
	check "$n: daemon exits 0 on SIGTERM" test $? -eq 0
done
server_stop
check "meshgated exits 0 on SIGTERM" test $? -eq 0
broker_stop
pg_stop || note "pg_ctl stop failed (the EXIT trap kills what is left)"
sanitizer=$(grep -lE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$T"/*.log 2>/dev/null)
check "no sanitizer report in any log${sanitizer:+ (see: $sanitizer)}" test -z "$sanitizer"

e2e_summary
[ "$E2E_FAILED" -eq 0 ]
