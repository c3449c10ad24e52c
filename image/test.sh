#!/bin/sh
# `make test-image`: boot image/out/meshgate.img in qemu (TCG software
# emulation, no KVM needed) and test the appliance end to end:
#   1. the setup token appears on the serial console (first boot);
#   2. HTTPS only: the appliance's self-signed certificate is copied out over
#      the self-test channel and checked against the fingerprint first boot
#      printed on the console; every API call then VERIFIES it (curl
#      --cacert), and without it, or over plain HTTP, the port must refuse;
#      over the forwarded HTTPS port: setup, login, a network, an enrollment
#      key; the appliance's own agent joins with it (sent to the in-VM
#      self-test over the second serial port), as do two network namespaces
#      inside the VM, which ping each other over KERNEL WireGuard interfaces
#      configured by the agent (and the appliance, via the live MQTT update);
#   3. the appliance becomes an ingress gateway, an ext client is created,
#      its .conf and qr.png are downloaded and the QR decoded (zbarimg) must
#      equal the .conf; the ext client appears on the kernel interface;
#   4. `systemd-analyze security` exposure of each unit must equal the
#      README's table (and meshgated's must be under 2.0).
# The VM boots the image's own kernel/initrd (-kernel/-initrd) so that
# meshgate.selftest=1 can be added to the command line; the disk is a
# copy-on-write overlay, so image/out/meshgate.img stays pristine.
# Output: TAP-like "ok"/"not ok" lines, one closing "N passed, N failed".
# Environment: MESHGATE_TEST_TIMEOUT (seconds for the whole run, default 1200),
# MESHGATE_TEST_KEEP=1 keeps image/out/test/, MESHGATE_TEST_SH=COMMAND runs
# COMMAND as root in the VM at the end and shows its output (diagnostics).
set -u
IMG_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$IMG_DIR/.." && pwd)
OUT=$IMG_DIR/out
W=$OUT/test
TOTAL=${MESHGATE_TEST_TIMEOUT:-1200}
PASSED=0
FAILED=0
QPID=

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
note() { echo "# $*"; }
finish() {
	if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null
		sleep 1
		kill -9 "$QPID" 2>/dev/null
	fi
	[ "${MESHGATE_TEST_KEEP:-0}" = 1 ] || rm -f "$W/disk.qcow2" "$W/ctl.in" "$W/ctl.out"
	echo "test-image: $PASSED passed, $FAILED failed (console log: $W/console.log)"
	[ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
	exit $?
}
trap finish EXIT
trap 'exit 130' INT TERM
die() { not_ok "$*"; exit 1; }

for t in qemu-system-x86_64 qemu-img zbarimg curl python3 openssl base64; do
	command -v "$t" >/dev/null 2>&1 || die "missing $t (make deps)"
done
for f in meshgate.img vmlinuz initrd.img cmdline; do
	[ -s "$OUT/$f" ] || die "missing $OUT/$f (run make image first)"
done
mkdir -p "$W"
rm -f "$W"/*
start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }

# --- boot -----------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=https://127.0.0.1:$PORT
API=$BASE/api/v1
CA=$W/cert.pem
qemu-img create -q -f qcow2 -b "$OUT/meshgate.img" -F raw "$W/disk.qcow2" || die "qemu-img overlay"
mkfifo "$W/ctl.in" "$W/ctl.out" || die "mkfifo"
accel=tcg,thread=multi
[ -w /dev/kvm ] && [ "${MESHGATE_TEST_KVM:-0}" = 1 ] && accel=kvm
qemu-system-x86_64 -accel "$accel" -smp 2 -m 1024 -nographic -monitor none \
	-kernel "$OUT/vmlinuz" -initrd "$OUT/initrd.img" \
	-append "$(cat "$OUT/cmdline") meshgate.selftest=1" \
	-drive "file=$W/disk.qcow2,if=virtio,format=qcow2" \
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:8443" -device virtio-net-pci,netdev=n0 \
	-serial "file:$W/console.log" -serial "pipe:$W/ctl" \
	</dev/null >"$W/qemu.log" 2>&1 &
QPID=$!
# Keep the read end of ctl.out drained so the guest never blocks on it.
cat "$W/ctl.out" >/dev/null 2>&1 &
note "qemu pid $QPID, HTTPS API forwarded to 127.0.0.1:$PORT"

# wait_console PATTERN SECONDS: a line matching PATTERN (grep -E) appears.
wait_console() {
	deadline=$(( $(date +%s) + $2 ))
	while :; do
		grep -aEq "$1" "$W/console.log" 2>/dev/null && return 0
		kill -0 "$QPID" 2>/dev/null || { note "qemu exited: $(tail -n 3 "$W/qemu.log")"; return 1; }
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		[ "$(elapsed)" -ge "$TOTAL" ] && return 1
		sleep 1
	done
}
# send CMD: one command line to the in-VM self-test (second serial port).
send() { printf '%s\n' "$*" > "$W/ctl.in"; }
# vm_sh SECONDS COMMAND: run COMMAND as root in the VM, wait for its end.
vm_sh() {
	n0=$(grep -ac 'SELFTEST SHDONE' "$W/console.log")
	send "SH $2"
	deadline=$(( $(date +%s) + $1 ))
	while [ "$(grep -ac 'SELFTEST SHDONE' "$W/console.log")" = "$n0" ]; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 1
	done
}

if wait_console 'MESHGATE-SETUP-TOKEN: ' 600; then
	ok "setup token on the serial console after $(elapsed)s"
else
	die "no setup token on the console within 600s"
fi
SETUP=$(grep -a 'MESHGATE-SETUP-TOKEN: ' "$W/console.log" | tail -n 1 | sed 's/.*MESHGATE-SETUP-TOKEN: *//' | tr -d '\r\n ')
wait_console 'SELFTEST READY' 120 || die "self-test hook did not start"

# --- the appliance's certificate --------------------------------------------------
# Copied out over the self-test channel (one base64 line), and checked against
# the fingerprint first boot printed on the console.
vm_sh 60 'echo CERT $(base64 -w0 /etc/meshgate/tls/cert.pem)' || die "self-test SH (certificate) did not finish"
grep -a 'SELFTEST OUT CERT ' "$W/console.log" | tail -n 1 | sed 's/.*SELFTEST OUT CERT //' | tr -d '\r\n ' |
	base64 -d > "$CA" 2>/dev/null
fp=$(openssl x509 -in "$CA" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)
want_fp=$(grep -a 'TLS certificate sha256 fingerprint: ' "$W/console.log" | head -n 1 | sed 's/.*fingerprint: *//' | tr -d '\r ')
if [ -n "$fp" ] && [ "$fp" = "$want_fp" ]; then
	ok "appliance certificate copied out, fingerprint as on the console ($fp)"
else
	die "appliance certificate: fingerprint '${fp:-none}', console says '${want_fp:-nothing}'"
fi

# --- HTTPS only, verified -----------------------------------------------------------
curl -s -m 30 -o /dev/null --cacert "$CA" "$BASE/"
rc=$?
[ $rc = 0 ] && ok "HTTPS with the certificate verified (curl --cacert, host 127.0.0.1)" ||
	die "HTTPS with --cacert: curl exit $rc"
curl -s -m 30 -o /dev/null "$BASE/"
rc=$?
[ $rc = 60 ] && ok "without --cacert the self-signed certificate is refused (curl exit 60)" ||
	not_ok "without --cacert: curl exit $rc (want 60, certificate not trusted)"
code=$(curl -s -m 30 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")
case $code in
2* | 3* | 4* | 5*) not_ok "plain HTTP on the API port answered HTTP $code" ;;
*) ok "no plain HTTP on the API port" ;;
esac
proto=$(curl -s -m 30 -o /dev/null -v --cacert "$CA" "$BASE/" 2>&1 |
	sed -n 's/^\* SSL connection using \(TLSv1\.[0-9]\).*/\1/p' | head -n 1)
case $proto in
TLSv1.2 | TLSv1.3) ok "TLS version $proto" ;;
*) not_ok "TLS version: ${proto:-unknown}" ;;
esac

# --- setup over the forwarded port -----------------------------------------------
TOKEN=
# api METHOD PATH [JSON]: body to stdout, status to $W/status, headers to
# $W/headers. Always verifies the appliance's certificate.
api() {
	curl -s -m 60 --cacert "$CA" -D "$W/headers" -o "$W/body" -w '%{http_code}' -X "$1" \
		${TOKEN:+-H "Authorization: Bearer $TOKEN"} -H 'Content-Type: application/json' \
		${3:+--data "$3"} "$API$2" > "$W/status"
	cat "$W/body"
}
status() { cat "$W/status"; }
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

PASS=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
api POST /setup "{\"setup_token\":\"$SETUP\",\"username\":\"admin\",\"password\":\"$PASS\"}" >/dev/null
[ "$(status)" = 201 ] && ok "setup over the forwarded API port" || die "setup: $(status) $(cat "$W/body")"
TOKEN=$(api POST /login "{\"username\":\"admin\",\"password\":\"$PASS\"}" | jget 'd["token"]')
[ "$(status)" = 200 ] && ok "login" || die "login: $(status)"
tr -d '\r' < "$W/headers" | grep -i '^set-cookie:' | grep -qi '; *secure' &&
	ok "session cookie is Secure" || not_ok "session cookie: $(grep -i '^set-cookie:' "$W/headers" | cut -c1-30)... not Secure"
api POST /networks '{"name":"office","ipv4_range":"10.77.0.0/24"}' >/dev/null
[ "$(status)" = 201 ] && ok "network created" || die "network: $(status) $(cat "$W/body")"
ENROLL=$(api POST /enrollment-keys '{"networks":["office"],"uses":3}' | jget 'd["token"]')
[ "$(status)" = 201 ] && ok "enrollment key created" || die "enrollment key: $(status)"

# --- the appliance's agent and two namespaces join (inside the VM) ---------------
send "JOIN $ENROLL"
wait_console 'SELFTEST JOINED' 400 || not_ok "self-test JOIN did not finish"
HID=$(api GET /hosts | jget '[h["id"] for h in d if h["name"] == "appliance"][0]')
[ -n "$HID" ] && ok "appliance host registered (id $HID)" || die "appliance host not found"
n=$(api GET /networks/office/nodes | jget 'len(d)')
[ "$n" = 3 ] && ok "3 nodes in the network" || not_ok "nodes in the network: $n"

# --- ingress gateway, ext client, conf and QR --------------------------------------
api PUT "/networks/office/nodes/$HID/ingress" >/dev/null
[ "$(status)" = 200 ] && ok "appliance is an ingress gateway" || not_ok "ingress: $(status) $(cat "$W/body")"
# The appliance serves the network's names: its dnsmasq (meshgate*, hostsdir
# /var/lib/meshgate-dns written by meshgated) on its mesh address.
api PUT "/networks/office/nodes/$HID/dns" >/dev/null
[ "$(status)" = 200 ] && ok "appliance is the network's DNS server node" || not_ok "dns: $(status) $(cat "$W/body")"
G4=$(api GET /networks/office | jget 'd["dns_address"]')
B4=$(api GET /networks/office/nodes | jget '[n["address"] for n in d if n["host_name"] == "ns-b"][0]')
api POST /extclients "{\"network\":\"office\",\"gateway_host_id\":$HID,\"name\":\"phone\"}" > "$W/ext.json"
if [ "$(status)" = 201 ]; then
	ok "ext client created"
else
	# gateway_host_id may be a string id
	api POST /extclients "{\"network\":\"office\",\"gateway_host_id\":\"$HID\",\"name\":\"phone\"}" > "$W/ext.json"
	[ "$(status)" = 201 ] && ok "ext client created" || die "ext client: $(status) $(cat "$W/body")"
fi
EID=$(jget 'd["id"]' < "$W/ext.json")
EPUB=$(jget 'd["public_key"]' < "$W/ext.json")
api GET "/extclients/$EID/config" > "$W/phone.conf"
[ "$(status)" = 200 ] && grep -q '^\[Interface\]' "$W/phone.conf" && ok "ext client .conf downloaded" ||
	not_ok "ext client .conf: $(status)"
api GET "/extclients/$EID/qr.png" > "$W/qr.png"
[ "$(status)" = 200 ] && ok "qr.png downloaded" || not_ok "qr.png: $(status)"
if zbarimg --raw -q "$W/qr.png" > "$W/qr.txt" 2>/dev/null &&
	python3 -c 'import sys; a=open(sys.argv[1]).read().strip(); b=open(sys.argv[2]).read().strip(); sys.exit(a != b)' \
		"$W/qr.txt" "$W/phone.conf"; then
	ok "QR decodes to exactly the .conf"
else
	not_ok "QR does not decode to the .conf"
fi
grep -q "^Endpoint = 10.0.2.15:" "$W/phone.conf" && ok "conf endpoint is the appliance" ||
	not_ok "conf endpoint: $(grep Endpoint "$W/phone.conf")"
[ "$(grep '^DNS' "$W/phone.conf")" = "DNS = $G4" ] && ok "conf DNS is the appliance's mesh address ($G4)" ||
	not_ok "conf DNS: '$(grep '^DNS' "$W/phone.conf")', want 'DNS = $G4'"
# Namespace a asks the appliance's dnsmasq (its mesh address in a's resolv.conf) for ns-b.office
# (one line: the self-test channel reads a command a line).
vm_sh 60 "mkdir -p /etc/netns/mgt-a && printf 'nameserver %s\\noptions timeout:1 attempts:1\\n' '$G4' > /etc/netns/mgt-a/resolv.conf && for i in 1 2 3 4 5 6 7 8 9 10; do r=\$(ip netns exec mgt-a getent hosts ns-b.office) && break; sleep 1; done; echo NAME \$r" ||
	not_ok "self-test SH (getent) did not finish"
got=$(grep -a 'SELFTEST OUT NAME' "$W/console.log" | tail -n 1 | tr -d '\r' | sed 's/.*SELFTEST OUT NAME *//')
[ -n "$B4" ] && [ "$got" = "$B4 ns-b.office" ] && ok "namespace a: getent hosts ns-b.office via the appliance's dnsmasq ($got)" ||
	not_ok "namespace a: getent hosts ns-b.office gave '$got', want '$B4 ns-b.office'"
# A name outside the mesh goes to the upstream server the appliance got by DHCP
# (qemu's 10.0.2.3, through systemd-resolved's list), not to a leftover of the build.
vm_sh 60 "ip netns exec mgt-a getent hosts upstream-probe.example >/dev/null 2>&1; n=\$(journalctl -u dnsmasq --no-pager | grep -c 'using nameserver 10.0.2.3#53'); echo UPSTREAM \$n" ||
	not_ok "self-test SH (upstream) did not finish"
got=$(grep -a 'SELFTEST OUT UPSTREAM' "$W/console.log" | tail -n 1 | tr -d '\r' | sed 's/.*SELFTEST OUT UPSTREAM *//')
[ "${got:-0}" -gt 0 ] 2>/dev/null && ok "dnsmasq forwards other names to the DHCP-given upstream 10.0.2.3" ||
	not_ok "dnsmasq did not log 'using nameserver 10.0.2.3#53' (count '$got')"
send "PEER $EPUB"
wait_console 'SELFTEST PEERDONE' 200 || not_ok "self-test PEER did not finish"

# --- systemd-analyze security vs README -------------------------------------------
send SECURITY
wait_console 'SELFTEST SECURITYDONE' 300 || not_ok "self-test SECURITY did not finish"
for u in meshgated.service meshgate-agent.service mosquitto.service dnsmasq.service; do
	got=$(grep -a "SELFTEST SECURITY $u " "$W/console.log" | tail -n 1 | awk '{ print $NF }' | tr -d '\r')
	want=$(sed -n "s/^| \`$u\` | \([0-9.]*\) .*/\1/p" "$ROOT/README.md" | head -n 1)
	if [ -n "$got" ] && [ "$got" = "$want" ]; then
		ok "$u exposure $got as in README"
	else
		not_ok "$u exposure ${got:-?}, README says ${want:-nothing}"
	fi
done
got=$(grep -a "SELFTEST SECURITY meshgated.service " "$W/console.log" | tail -n 1 | awk '{ print $NF }' | tr -d '\r')
awk -v e="${got:-99}" 'BEGIN { exit !(e < 2.0) }' && ok "meshgated exposure $got < 2.0" ||
	not_ok "meshgated exposure ${got:-?} not under 2.0"

# --- in-VM results ------------------------------------------------------------------
grep -a 'SELFTEST \(PASS\|FAIL\)' "$W/console.log" | tr -d '\r' | sed 's/.*SELFTEST //' > "$W/vm-results"
while read -r r desc; do
	case $r in
	PASS) ok "vm: $desc" ;;
	FAIL) not_ok "vm: $desc" ;;
	esac
done < "$W/vm-results"

# The admin console is served by meshgated from /usr/share/meshgate/web.
code=$(curl -s -m 30 --cacert "$CA" -o "$W/index.html" -w '%{http_code}' "$BASE/")
if [ "$code" = 200 ] && grep -qi '<html' "$W/index.html"; then
	ok "admin console served at / over HTTPS"
else
	not_ok "admin console at /: HTTP $code"
	vm_sh 60 "journalctl -b -u meshgated.service --no-pager -n 15"
	grep -a 'SELFTEST OUT' "$W/console.log" | grep -v 'SELFTEST OUT CERT ' | sed 's/.*SELFTEST OUT /# vm: /'
fi

# MESHGATE_TEST_SH="COMMAND": run COMMAND as root in the VM and show its output.
if [ -n "${MESHGATE_TEST_SH:-}" ]; then
	vm_sh 120 "$MESHGATE_TEST_SH"
	grep -a 'SELFTEST OUT' "$W/console.log" | grep -v 'SELFTEST OUT CERT ' | sed 's/.*SELFTEST OUT /# vm: /'
fi

send POWEROFF
i=0
while kill -0 "$QPID" 2>/dev/null && [ $i -lt 60 ]; do i=$((i + 1)); sleep 1; done
kill -0 "$QPID" 2>/dev/null && note "VM did not power off within 60s; killed" || ok "VM powered off"
note "total $(elapsed)s"
