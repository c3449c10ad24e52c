#!/bin/sh
# `make run`: start the appliance on this machine in the foreground: a
# mosquitto broker (loopback, dynamic security, no anonymous clients) and
# meshgated with SQLite, both under $MESHGATE_DATA (default build/run-data).
# The API listens on $MESHGATE_LISTEN (default 127.0.0.1:8080), the broker
# on 127.0.0.1:$MESHGATE_BROKER_PORT (default 1883). Ctrl-C stops both.
set -eu
BUILD=${BUILD:-build}
DATA=${MESHGATE_DATA:-$PWD/build/run-data}
LISTEN=${MESHGATE_LISTEN:-127.0.0.1:8080}
BPORT=${MESHGATE_BROKER_PORT:-1883}
mkdir -p "$DATA/server"
chmod 700 "$DATA/server"
rm -f "$DATA/server/port"

sh tools/broker-setup.sh "$DATA" "$BPORT" 127.0.0.1
mosquitto -c "$DATA/mosquitto.conf" 2>"$DATA/mosquitto.log" &
mpid=$!
"$BUILD/meshgated" --data-dir "$DATA/server" --listen "$LISTEN" --port-file "$DATA/server/port" --web-dir web \
	--broker "mqtt://127.0.0.1:$BPORT" --broker-admin-file "$DATA/broker-admin" &
pid=$!
trap 'kill -TERM $pid $mpid 2>/dev/null; wait $pid $mpid 2>/dev/null; exit 0' INT TERM

i=0
while [ ! -s "$DATA/server/port" ]; do
	if ! kill -0 $pid 2>/dev/null; then
		echo "run: meshgated did not start (see the log above)" >&2
		kill $mpid 2>/dev/null
		exit 1
	fi
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "run: meshgated did not start within 10 s" >&2; kill $pid $mpid; exit 1; }
	sleep 0.1
done
if ! kill -0 $mpid 2>/dev/null; then
	echo "run: mosquitto did not start: $(cat "$DATA/mosquitto.log")" >&2
	kill $pid
	exit 1
fi
port=$(cat "$DATA/server/port")
host=${LISTEN%:*}
echo
echo "meshgate is running"
echo "  console and API: http://$host:$port/  (API under /api/v1/)"
echo "  broker:          mqtt://127.0.0.1:$BPORT"
if [ -s "$DATA/server/setup-token" ]; then
	echo "  first run: create the admin account with this one-time setup token:"
	echo "      $(cat "$DATA/server/setup-token")"
	echo "  e.g. MESHGATE_SETUP_TOKEN=\$(cat $DATA/server/setup-token) $BUILD/meshgatectl --server http://$host:$port setup admin"
else
	echo "  log in: $BUILD/meshgatectl --server http://$host:$port login USERNAME"
fi
echo "Stop with Ctrl-C."
wait $pid
