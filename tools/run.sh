#!/bin/sh
# `make run`: start the appliance on this machine in the foreground: a
# mosquitto broker (loopback, dynamic security, no anonymous clients),
# meshgated with SQLite and dnsmasq serving the mesh's names, all under
# $MESHGATE_DATA (default build/run-data).
# The API listens on $MESHGATE_LISTEN (default 127.0.0.1:8080), the broker
# on 127.0.0.1:$MESHGATE_BROKER_PORT (default 1883), DNS on
# 127.0.0.1:$MESHGATE_DNS_PORT (default 5353; other names go to
# $MESHGATE_DNS_UPSTREAM, default the first nameserver of /etc/resolv.conf).
# Ctrl-C stops them all.
set -eu
BUILD=${BUILD:-build}
DATA=${MESHGATE_DATA:-$PWD/build/run-data}
LISTEN=${MESHGATE_LISTEN:-127.0.0.1:8080}
BPORT=${MESHGATE_BROKER_PORT:-1883}
DNS_PORT=${MESHGATE_DNS_PORT:-5353}
UPSTREAM=${MESHGATE_DNS_UPSTREAM:-$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf 2>/dev/null || true)}
mkdir -p "$DATA/server" "$DATA/dns"
chmod 700 "$DATA/server"
# dnsmasq reads the hosts files meshgated writes here (after dropping privileges when root).
chmod 755 "$DATA/dns"
rm -f "$DATA/server/port" "$DATA/dnsmasq.pid"

sh tools/broker-setup.sh "$DATA" "$BPORT" 127.0.0.1
mosquitto -c "$DATA/mosquitto.conf" 2>"$DATA/mosquitto.log" &
mpid=$!
"$BUILD/meshgated" --data-dir "$DATA/server" --listen "$LISTEN" --port-file "$DATA/server/port" --web-dir web \
	--broker "mqtt://127.0.0.1:$BPORT" --broker-admin-file "$DATA/broker-admin" --dns-dir "$DATA/dns" &
pid=$!
# dnsmasq's --hostsdir notices each atomically replaced NETWORK.hosts by itself (inotify).
dpid=
if command -v dnsmasq >/dev/null 2>&1; then
	dnsmasq --keep-in-foreground --conf-file=/dev/null --no-hosts --no-resolv ${UPSTREAM:+"--server=$UPSTREAM"} \
		--listen-address=127.0.0.1 --port="$DNS_PORT" --bind-interfaces --hostsdir="$DATA/dns" \
		--pid-file="$DATA/dnsmasq.pid" --log-facility=- 2>"$DATA/dnsmasq.log" &
	dpid=$!
fi
trap 'kill -TERM $pid $mpid $dpid 2>/dev/null; wait $pid $mpid $dpid 2>/dev/null; exit 0' INT TERM

i=0
while [ ! -s "$DATA/server/port" ]; do
	if ! kill -0 $pid 2>/dev/null; then
		echo "run: meshgated did not start (see the log above)" >&2
		kill $mpid $dpid 2>/dev/null
		exit 1
	fi
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "run: meshgated did not start within 10 s" >&2; kill $pid $mpid $dpid; exit 1; }
	sleep 0.1
done
if ! kill -0 $mpid 2>/dev/null; then
	echo "run: mosquitto did not start: $(cat "$DATA/mosquitto.log")" >&2
	kill $pid $dpid 2>/dev/null
	exit 1
fi
port=$(cat "$DATA/server/port")
host=${LISTEN%:*}
echo
echo "meshgate is running"
echo "  console and API: http://$host:$port/  (API under /api/v1/)"
echo "  broker:          mqtt://127.0.0.1:$BPORT"
if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
	echo "  DNS:             127.0.0.1:$DNS_PORT (NAME.NETWORK; e.g. dig @127.0.0.1 -p $DNS_PORT NAME.NETWORK)"
else
	echo "  DNS:             dnsmasq is not running (see $DATA/dnsmasq.log); hosts files are in $DATA/dns"
fi
if [ -s "$DATA/server/setup-token" ]; then
	echo "  first run: create the admin account with this one-time setup token:"
	echo "      $(cat "$DATA/server/setup-token")"
	echo "  e.g. MESHGATE_SETUP_TOKEN=\$(cat $DATA/server/setup-token) $BUILD/meshgatectl --server http://$host:$port setup admin"
else
	echo "  log in: $BUILD/meshgatectl --server http://$host:$port login USERNAME"
fi
echo "Stop with Ctrl-C."
wait $pid
