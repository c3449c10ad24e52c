#!/bin/sh
# Image self-test, run by meshgate-selftest.service only when the kernel
# command line has meshgate.selftest=1 (image/test.sh boots it that way).
# Commands arrive one per line on the second serial port (/dev/ttyS1);
# results go to the console as "SELFTEST PASS|FAIL|INFO ..." lines:
#   JOIN TOKEN     the appliance's agent joins with TOKEN over HTTPS, verifying
#                  the appliance's certificate (MESHGATE_CA_FILE; an agent
#                  without it must refuse the server) (kernel WireGuard,
#                  then meshgate-agent.service), then two network namespaces
#                  each join with it too and ping each other and the
#                  appliance over kernel WireGuard interfaces set by the agent
#   PEER PUBKEY    wait for PUBKEY (an ext client) on meshgate0, and for the
#                  agent's nftables table inet meshgate
#   SECURITY       "SELFTEST SECURITY UNIT EXPOSURE" per unit
#   SH COMMAND     run COMMAND as root, output as "SELFTEST OUT ..." lines
#                  (diagnostics; whoever can set the kernel command line
#                  owns the machine anyway)
#   POWEROFF       end
set -u
CTL=${MESHGATE_SELFTEST_TTY:-/dev/ttyS1}
ST=/run/meshgate-selftest
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

say() { echo "SELFTEST $*"; }
pass() { say "PASS $*"; }
fail() { say "FAIL $*"; }
# within SECONDS CMD...: retry CMD every second.
within() {
	t=$1
	shift
	while [ "$t" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 1
		t=$((t - 1))
	done
	return 1
}
check() {
	d=$1
	shift
	if "$@" >/dev/null 2>&1; then pass "$d"; else fail "$d"; fi
}

is_kernel_wg() {	# [NS] IFNAME
	if [ $# -eq 2 ]; then
		ip -n "$1" -d link show dev "$2" 2>/dev/null | grep -q 'wireguard'
	else
		ip -d link show dev "$1" 2>/dev/null | grep -q 'wireguard'
	fi
}
addr4() {	# NS IFNAME
	ip -n "$1" -4 -o addr show dev "$2" 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }'
}
ns_agent() {	# NAME ARGS...
	n=$1
	shift
	ip netns exec "mgt-$n" meshgate --state-dir "$ST/$n" --interface "mgw$n" "$@"
}

do_join() {
	tok=$1
	mkdir -p "$ST"
	chmod 700 "$ST"
	# TLS: agents verify the API's certificate with MESHGATE_CA_FILE (from
	# /etc/meshgate/agent.env, as for meshgate-agent.service); without it the
	# self-signed certificate must be refused (before the token is spent).
	check "agent.env: MESHGATE_CA_FILE is the appliance certificate" \
		sh -c 'grep -qx "MESHGATE_CA_FILE=/etc/meshgate/tls/cert.pem" /etc/meshgate/agent.env &&
			test "$MESHGATE_CA_FILE" = /etc/meshgate/tls/cert.pem'
	check "public URL is https" grep -q '^MESHGATE_PUBLIC_URL=https://' /etc/meshgate/meshgated.env
	if printf '%s\n' "$tok" | MESHGATE_CA_FILE= meshgate --state-dir "$ST/noca" --interface mgtnoca \
		join -t - --name noca >"$ST/noca.log" 2>&1; then
		fail "agent without MESHGATE_CA_FILE refuses the self-signed API certificate (it joined)"
	elif grep -qi 'certificate' "$ST/noca.log"; then
		pass "agent without MESHGATE_CA_FILE refuses the self-signed API certificate"
	else
		fail "agent without MESHGATE_CA_FILE: $(tail -n 2 "$ST/noca.log" | tr '\n' ' ')"
	fi
	ip link del mgtnoca 2>/dev/null
	rm -rf "$ST/noca"
	# The appliance itself: root namespace, meshgate0, the agent service.
	if printf '%s\n' "$tok" | meshgate --state-dir /var/lib/meshgate join -t - --name appliance; then
		pass "appliance agent joined"
	else
		fail "appliance agent joined"
	fi
	check "meshgate0 is a kernel WireGuard link" is_kernel_wg meshgate0
	check "agent status says kernel backend" sh -c 'meshgate status | grep -q "(kernel)"'
	systemctl start meshgate-agent.service
	check "meshgate-agent.service active" within 20 systemctl is-active --quiet meshgate-agent.service
	say "INFO $(meshgate status 2>&1 | head -n 3 | tr '\n' ' ')"

	# Two namespaces on a bridge; they reach the server at its public address.
	ip link add mgt-br type bridge 2>/dev/null
	ip addr add 172.31.0.1/24 dev mgt-br 2>/dev/null
	ip link set mgt-br up
	k=2
	for n in a b; do
		ip netns add "mgt-$n"
		ip link add "mgt-$n" type veth peer name eth0 netns "mgt-$n"
		ip link set "mgt-$n" master mgt-br up
		ip -n "mgt-$n" link set lo up
		ip -n "mgt-$n" addr add "172.31.0.$k/24" dev eth0
		ip -n "mgt-$n" link set eth0 up
		ip -n "mgt-$n" route add default via 172.31.0.1
		if printf '%s\n' "$tok" | ns_agent $n join -t - --name "ns-$n" >"$ST/join-$n.log" 2>&1; then
			pass "namespace $n joined"
		else
			fail "namespace $n joined: $(tail -n 2 "$ST/join-$n.log" | tr '\n' ' ')"
		fi
		check "namespace $n: mgw$n is a kernel WireGuard link" is_kernel_wg "mgt-$n" "mgw$n"
		k=$((k + 1))
	done
	# a joined before b existed: one pull brings b in (no daemon in the namespaces).
	ns_agent a pull >/dev/null 2>&1 || fail "namespace a pull"
	a4=$(addr4 mgt-a mgwa)
	b4=$(addr4 mgt-b mgwb)
	g4=$(ip -4 -o addr show dev meshgate0 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
	say "INFO mesh addresses appliance=$g4 a=$a4 b=$b4"
	check "ping a -> b over kernel WireGuard" within 30 ip netns exec mgt-a ping -c 1 -W 2 "$b4"
	check "ping b -> a over kernel WireGuard" within 30 ip netns exec mgt-b ping -c 1 -W 2 "$a4"
	check "handshake a <-> b" sh -c "ip netns exec mgt-a wg show mgwa latest-handshakes | awk '\$2 > 0' | grep -q ."
	# The appliance learns a and b from the live update (MQTT over TLS).
	check "ping a -> appliance (daemon applied the live update)" within 60 ip netns exec mgt-a ping -c 1 -W 2 "$g4"
	say "INFO $(wg show meshgate0 peers | wc -l) peers on meshgate0"
	say "JOINED"
}

do_peer() {
	key=$1
	check "ext client peer on meshgate0" within 60 sh -c "wg show meshgate0 peers | grep -qxF '$key'"
	check "agent table inet meshgate present" within 30 nft list table inet meshgate
	check "base table inet filter intact" nft list table inet filter
	check "forwarding enabled by the agent for the ingress role" within 10 sh -c 'test "$(cat /proc/sys/net/ipv4/ip_forward)" = 1'
	say "PEERDONE"
}

do_security() {
	for u in meshgated.service meshgate-agent.service mosquitto.service dnsmasq.service; do
		e=$(systemd-analyze security --no-pager "$u" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		say "SECURITY $u ${e:-?}"
	done
	for u in meshgated mosquitto dnsmasq nftables meshgate-agent; do
		check "$u.service active" systemctl is-active --quiet "$u.service"
	done
	check "meshgated runs as meshgate" sh -c 'test "$(ps -o user= -C meshgated)" = meshgate'
	check "meshgated has no capabilities" sh -c 'grep -q "^CapEff:\s*0000000000000000" /proc/$(pidof meshgated)/status'
	check "agent has only CAP_NET_ADMIN" sh -c 'grep -q "^CapEff:\s*0000000000001000" /proc/$(pidof -s meshgate)/status'
	check "root account locked" sh -c 'passwd -S root | grep -q " L "'
	check "kernel.kptr_restrict = 2" sh -c 'test "$(sysctl -n kernel.kptr_restrict)" = 2'
	check "kernel.dmesg_restrict = 1" sh -c 'test "$(sysctl -n kernel.dmesg_restrict)" = 1'
	check "rp_filter = 1" sh -c 'test "$(sysctl -n net.ipv4.conf.all.rp_filter)" = 1'
	check "accept_redirects = 0" sh -c 'test "$(sysctl -n net.ipv4.conf.all.accept_redirects)" = 0'
	check "accept_source_route = 0" sh -c 'test "$(sysctl -n net.ipv4.conf.all.accept_source_route)" = 0'
	check "input policy drop" sh -c 'nft list chain inet filter input | grep -q "policy drop"'
	check "firewall opens 8443 (HTTPS), not 8080" sh -c 'nft list set inet filter api_ports | grep -q "elements = { 8443 }"'
	check "nothing listens on 8080" sh -c '! ss -Htln "sport = :8080" | grep -q .'
	check "meshgated: TLS 1.2+ with the appliance certificate (verified)" sh -c \
		'openssl s_client -connect 127.0.0.1:8443 -CAfile /etc/meshgate/tls/cert.pem -verify_return_error \
			-verify_ip 127.0.0.1 </dev/null 2>&1 | grep -q "Verify return code: 0 (ok)"'
	say "SECURITYDONE"
}

stty -F "$CTL" raw -echo 115200 2>/dev/null
exec 3<"$CTL"
# Only now: what arrives before the port is open and set up may be lost.
say "READY (commands on $CTL)"
while read -r cmd arg <&3; do
	case $cmd in
	JOIN) do_join "$arg" ;;
	PEER) do_peer "$arg" ;;
	SECURITY) do_security ;;
	SH) sh -c "$arg" 2>&1 | sed 's/^/SELFTEST OUT /'; say "SHDONE" ;;
	POWEROFF) say "BYE"; systemctl poweroff; exit 0 ;;
	"") ;;
	*) say "INFO unknown command $cmd" ;;
	esac
done
