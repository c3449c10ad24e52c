#!/bin/sh
# `make run`: start the appliance on this machine in the foreground.
# Data (database, setup token) lives in $MESHGATE_DATA (default build/run-data);
# the API listens on $MESHGATE_LISTEN (default 127.0.0.1:8080). Ctrl-C stops it.
set -eu
BUILD=${BUILD:-build}
DATA=${MESHGATE_DATA:-$PWD/build/run-data}
LISTEN=${MESHGATE_LISTEN:-127.0.0.1:8080}
mkdir -p "$DATA"
chmod 700 "$DATA"
rm -f "$DATA/port"

"$BUILD/meshgated" --data-dir "$DATA" --listen "$LISTEN" --port-file "$DATA/port" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM

i=0
while [ ! -s "$DATA/port" ]; do
	if ! kill -0 $pid 2>/dev/null; then
		echo "run: meshgated did not start (see the log above)" >&2
		exit 1
	fi
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "run: meshgated did not start within 10 s" >&2; kill $pid; exit 1; }
	sleep 0.1
done
port=$(cat "$DATA/port")
host=${LISTEN%:*}
echo
echo "meshgate is running: API at http://$host:$port/api/v1/"
if [ -s "$DATA/setup-token" ]; then
	echo "First run: create the admin account with the one-time setup token in $DATA/setup-token:"
	echo "  MESHGATE_SETUP_TOKEN=\$(cat $DATA/setup-token) $BUILD/meshgatectl --server http://$host:$port setup admin"
else
	echo "Log in with: $BUILD/meshgatectl --server http://$host:$port login USERNAME"
fi
echo "Stop with Ctrl-C."
wait $pid
