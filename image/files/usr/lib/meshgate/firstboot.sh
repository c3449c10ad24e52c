#!/bin/sh
# meshgate-firstboot.service: create whatever secret or setting is missing.
# Idempotent; never overwrites what exists (an admin may drop in their own
# /etc/meshgate/tls/cert.pem + key.pem or meshgated.env before first boot).
set -eu
umask 077
ETC=/etc/meshgate
MOSQ=/var/lib/mosquitto
plugin=/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so
mkdir -p "$ETC/tls" "$MOSQ"
chmod 700 "$ETC"

# The address this appliance is reached on: the source of the default
# route (wait a little for DHCP), else any global IPv4, else loopback.
addr=
i=0
while [ $i -lt 30 ]; do
	addr=$(ip -4 route get 192.0.2.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n 1)
	[ -n "$addr" ] && break
	i=$((i + 1))
	sleep 1
done
[ -n "$addr" ] || addr=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
[ -n "$addr" ] || addr=127.0.0.1
host=$(cat /etc/hostname 2>/dev/null || echo meshgate)

# Broker: dynamic security with a random admin account for meshgated.
if [ ! -s "$MOSQ/dynsec.json" ] || [ ! -s "$ETC/broker-admin" ]; then
	rm -f "$MOSQ/dynsec.json"
	pass=$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | cut -c1-40)
	# mosquitto_ctrl reads the password twice from stdin (never from argv).
	printf '%s\n%s\n' "$pass" "$pass" | mosquitto_ctrl dynsec init "$MOSQ/dynsec.json" meshgated-admin >/dev/null
	printf 'meshgated-admin\n%s\n' "$pass" > "$ETC/broker-admin.tmp"
	mv "$ETC/broker-admin.tmp" "$ETC/broker-admin"
	chown -R mosquitto:mosquitto "$MOSQ"
	chmod 700 "$MOSQ"
	chmod 600 "$MOSQ/dynsec.json"
	echo "meshgate first boot: broker admin account created"
fi

# TLS: a self-signed certificate for the broker (8883) and the API/console
# (8443), unless the admin supplied one. Agents verify it with MESHGATE_CA_FILE.
if [ ! -s "$ETC/tls/cert.pem" ] || [ ! -s "$ETC/tls/key.pem" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
		-subj "/CN=$host" \
		-addext "subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1,IP:$addr" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-keyout "$ETC/tls/key.pem.tmp" -out "$ETC/tls/cert.pem.tmp" 2>/dev/null
	mv "$ETC/tls/key.pem.tmp" "$ETC/tls/key.pem"
	mv "$ETC/tls/cert.pem.tmp" "$ETC/tls/cert.pem"
	chmod 600 "$ETC/tls/key.pem"
	chmod 644 "$ETC/tls/cert.pem"
	chmod 755 "$ETC/tls"
	echo "meshgate first boot: self-signed certificate for $host / $addr"
fi
echo "meshgate: TLS certificate sha256 fingerprint: $(openssl x509 -in "$ETC/tls/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)"
# The appliance's own agent (and meshgate/meshgatectl run with this
# environment) trusts exactly this certificate, for the API and the broker.
if [ ! -s "$ETC/agent.env" ]; then
	printf 'MESHGATE_CA_FILE=%s\n' "$ETC/tls/cert.pem" > "$ETC/agent.env.tmp"
	chmod 644 "$ETC/agent.env.tmp"
	mv "$ETC/agent.env.tmp" "$ETC/agent.env"
fi
chmod 711 "$ETC"

if [ ! -s "$ETC/meshgated.env" ]; then
	cat > "$ETC/meshgated.env.tmp" <<ENV
# meshgated settings (meshgated.service). Written on first boot from the
# address found then; edit when the appliance is reached on another name
# (which the certificate in /etc/meshgate/tls/ must then cover). meshgated
# serves HTTPS only (the unit passes --tls-cert/--tls-key); 8443 because it
# has no capability to bind a port below 1024. Changing the port means
# changing api_ports in /etc/nftables.conf too.
MESHGATE_LISTEN=0.0.0.0:8443
MESHGATE_PUBLIC_URL=https://$addr:8443
MESHGATE_BROKER_PUBLIC_URL=mqtts://$addr:8883
ENV
	chmod 644 "$ETC/meshgated.env.tmp"
	mv "$ETC/meshgated.env.tmp" "$ETC/meshgated.env"
	echo "meshgate first boot: public URL https://$addr:8443"
fi
exit 0
