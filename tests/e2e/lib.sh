# shellcheck shell=bash
# The e2e network-namespace lab (see ../../../shared/DESIGN.md, "The test lab").
# Sourced by tests/e2e/test_*.sh (bash). Needs root, iproute2, wireguard-go,
# wg, mosquitto (+ dynamic-security plugin), ping, python3.
#
#   lab_init                 prefix, temp dir, traps (call first)
#   lab_up [N...]            namespaces ${P}wan (router), ${P}srv, ${P}nN (default n1..n4),
#                            each leaf on 198.18.K.0/24 (.2) with a default route via
#                            the wan (.1): srv K=1, nN K=10+N; no NAT anywhere
#   lab_leaf NAME K          one more leaf (test_gateways: gw K=20, phone K=21)
#   lab_down                 kills every process in our namespaces, deletes them,
#                            removes our UAPI sockets and the temp dir (EXIT trap)
#   server_start / broker_start / server_stop / broker_stop / api_setup
#   agent NODE ARGS...       build/meshgate in NODE's namespace, its own state dir/interface
#   daemon_start NODE / daemon_stop NODE   (check-ins every $E2E_CHECKIN s, default 30:
#                            so the 2 s checks see live MQTT updates, not polling)
#   wait_for DESC TIMEOUT CMD...   polls CMD (every 0.1 s) until it succeeds or
#                            TIMEOUT seconds pass; 0 / 1 (a "# timed out" note on stderr)
#   ok DESC / not_ok DESC / check DESC CMD... / check_within DESC TIMEOUT CMD...
#                            TAP-style "ok - DESC" / "not ok - DESC" lines
#
# Everything the lab creates lives in its namespaces, under $T, or is a
# /var/run/wireguard/${P}*.sock socket of ours; all of it is removed on exit.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E_DIR/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) BIN=$BUILD ;; *) BIN=$ROOT/$BUILD ;; esac
MESHGATE=$BIN/meshgate
MESHGATED=$BIN/meshgated
MGAPI=$E2E_DIR/mgapi.py

SRV_IP=198.18.1.2
API_URL=http://$SRV_IP:8080
BROKER_PORT=1883
ADMIN_USER='admin'
ADMIN_PASS='e2e correct horse battery'
WG_PORT=51821

E2E_PASSED=0
E2E_FAILED=0
LAB_NS=()		# namespaces we created
LAB_IFS=()		# WireGuard interface names we used (their UAPI sockets)
declare -A DAEMON_PID=()
MOSQ_PID=
SRVD_PID=

# --- reporting ---------------------------------------------------------------

ok() {
	E2E_PASSED=$((E2E_PASSED + 1))
	echo "ok - $*"
}

not_ok() {
	E2E_FAILED=$((E2E_FAILED + 1))
	echo "not ok - $*"
}

# note TEXT: a diagnostic line (TAP comment).
note() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

# check DESC CMD...: runs CMD once; ok when it succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; return 1; fi
}

now_ms() {
	local t
	t=$(date +%s%N)
	echo $((t / 1000000))
}

# wait_for DESC TIMEOUT CMD...: polls CMD until it succeeds, at most TIMEOUT
# seconds (fractions allowed) and at most TIMEOUT*10+1 tries. With E2E_TIMES
# set to a file, each success appends how long it took: a check that needs
# most of its bound shows up there before it turns flaky.
wait_for() {
	local desc=$1 timeout=$2 start deadline tries max
	shift 2
	start=$(now_ms)
	deadline=$((start + $(awk -v t="$timeout" 'BEGIN { printf "%d", t * 1000 }')))
	max=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 10 + 1 }')
	tries=0
	while :; do
		tries=$((tries + 1))
		if "$@"; then
			[ -z "${E2E_TIMES:-}" ] || echo "$(($(now_ms) - start)) ms of ${timeout} s: $desc" >>"$E2E_TIMES"
			return 0
		fi
		if [ "$(now_ms)" -ge "$deadline" ] || [ "$tries" -ge "$max" ]; then
			echo "# timed out after ${timeout}s waiting for: $desc" >&2
			return 1
		fi
		sleep 0.1
	done
}

# check_within DESC TIMEOUT CMD...: ok when CMD succeeds within TIMEOUT seconds.
check_within() {
	local desc=$1 timeout=$2
	shift 2
	if wait_for "$desc" "$timeout" "$@"; then
		ok "$desc"
	else
		not_ok "$desc (not within ${timeout}s)"
		return 1
	fi
}

# e2e_summary: the script's own totals (run.sh counts the ok / not ok lines).
e2e_summary() {
	echo "# $(basename "$0"): $E2E_PASSED passed, $E2E_FAILED failed"
}

# --- namespaces ----------------------------------------------------------------

lab_init() {
	P=${E2E_PREFIX:-mge$$}
	T=$(mktemp -d "${TMPDIR:-/tmp}/meshgate-e2e.XXXXXX") || exit 1
	# mosquitto drops to its own user and must traverse $T to its broker dir.
	chmod 711 "$T"
	trap lab_down EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

ns() { echo "${P}$1"; }

# nsx NODE CMD...: runs CMD in NODE's namespace.
nsx() {
	local n=$1
	shift
	ip netns exec "$(ns "$n")" "$@"
}

lab_ns_add() {
	ip netns add "$(ns "$1")" || return 1
	LAB_NS+=("$(ns "$1")")
	ip -n "$(ns "$1")" link set lo up
	nsx "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 2>/dev/null
	return 0
}

# lab_leaf NAME K: namespace NAME on 198.18.K.0/24 behind the wan.
lab_leaf() {
	local name=$1 k=$2
	lab_ns_add "$name" || return 1
	ip -n "$(ns wan)" link add "w-$name" type veth peer name eth0 netns "$(ns "$name")" || return 1
	ip -n "$(ns wan)" addr add "198.18.$k.1/24" dev "w-$name" &&
	ip -n "$(ns wan)" link set "w-$name" up &&
	ip -n "$(ns "$name")" addr add "198.18.$k.2/24" dev eth0 &&
	ip -n "$(ns "$name")" link set eth0 up &&
	ip -n "$(ns "$name")" route add default via "198.18.$k.1"
}

# wan_ip NODE: the node's address on its wan link.
wan_ip() {
	case $1 in
	srv) echo "$SRV_IP" ;;
	n*) echo "198.18.$((10 + ${1#n})).2" ;;
	gw) echo "198.18.20.2" ;;
	phone) echo "198.18.21.2" ;;
	esac
}

# shellcheck disable=SC2120	# the node list is optional
lab_up() {
	local i nodes=("$@")
	[ $# -gt 0 ] || nodes=(1 2 3 4)
	lab_ns_add wan || return 1
	nsx wan sysctl -qw net.ipv4.ip_forward=1 || return 1
	lab_leaf srv 1 || return 1
	for i in "${nodes[@]}"; do
		lab_leaf "n$i" $((10 + i)) || return 1
		LAB_IFS+=("$(ifname "n$i")")
	done
	return 0
}

# kill_wait PID...: SIGTERM, wait (bounded) for them to go, then SIGKILL.
kill_wait() {
	local pid left tries=0
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null
	while [ $tries -lt 50 ]; do
		left=
		for pid in "$@"; do
			kill -0 "$pid" 2>/dev/null && left=1
		done
		[ -z "$left" ] && break
		tries=$((tries + 1))
		sleep 0.1
	done
	for pid in "$@"; do
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	done
	for pid in "$@"; do
		wait "$pid" 2>/dev/null
	done
	return 0
}

lab_down() {
	local rc=$? n pids ifn
	trap - EXIT INT TERM
	if [ "$E2E_FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; then
		lab_dump_logs
	fi
	# Every process in our namespaces is ours: agents, wireguard-go, servers.
	for n in "${LAB_NS[@]}"; do
		pids=$(ip netns pids "$n" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill_wait $pids
	done
	for n in "${LAB_NS[@]}"; do
		ip netns del "$n" 2>/dev/null
	done
	for ifn in "${LAB_IFS[@]}"; do
		rm -f "/var/run/wireguard/$ifn.sock"
	done
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		if [ -n "${KEEP_TMP:-}" ]; then
			echo "# KEEP_TMP: lab files kept in $T"
		else
			rm -rf "$T"
		fi
	fi
	exit "$rc"
}

lab_dump_logs() {
	local f
	for f in "$T"/*.log; do
		[ -s "$f" ] || continue
		echo "# --- last lines of $f ---"
		# (without wireguard-go's banner)
		grep -v '[│┌└]' "$f" | tail -n 20 | sed 's/^/#   /'
	done
}

# --- control side (in ${P}srv) -----------------------------------------------------

broker_setup() {
	nsx srv sh "$ROOT/tools/broker-setup.sh" "$T/broker" "$BROKER_PORT" "$SRV_IP" >"$T/broker-setup.log" 2>&1
}

broker_start() {
	# Not through a function: $! must be the process itself (ip netns exec execs it).
	ip netns exec "$(ns srv)" mosquitto -c "$T/broker/mosquitto.conf" >>"$T/mosquitto.log" 2>&1 &
	MOSQ_PID=$!
	nsx srv python3 "$MGAPI" wait-tcp "$SRV_IP" "$BROKER_PORT" 10
}

server_start() {
	[ -d "$T/srv" ] || mkdir -m 700 "$T/srv"
	rm -f "$T/srv/port"
	ip netns exec "$(ns srv)" "$MESHGATED" --data-dir "$T/srv" --listen "$SRV_IP:8080" --port-file "$T/srv/port" \
		--public-url "$API_URL" --broker "mqtt://$SRV_IP:$BROKER_PORT" \
		--broker-admin-file "$T/broker/broker-admin" --log-level debug >>"$T/meshgated.log" 2>&1 &
	SRVD_PID=$!
	wait_for "meshgated port file" 10 test -s "$T/srv/port" &&
		nsx srv python3 "$MGAPI" wait-tcp "$SRV_IP" 8080 10
}

# stop_proc PID: SIGTERM, up to 5 s to exit, then SIGKILL; returns its exit
# status (PID must be a child of this shell; 0 when there is none).
stop_proc() {
	local pid=$1 tries=0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ $tries -lt 50 ]; do
		tries=$((tries + 1))
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# broker_stop / server_stop / daemon_stop NODE: return the process's exit status.
broker_stop() { local p=$MOSQ_PID; MOSQ_PID=; stop_proc "$p"; }
server_stop() { local p=$SRVD_PID; SRVD_PID=; stop_proc "$p"; }

# api METHOD PATH [BODY]: an admin call; prints the JSON response.
api() {
	nsx srv python3 "$MGAPI" call "$API_URL" "$ADMIN_TOKEN" "$@"
}

# api_status METHOD PATH [BODY]: an admin call; prints only the HTTP status.
api_status() {
	nsx srv python3 "$MGAPI" status "$API_URL" "$ADMIN_TOKEN" "$@"
}

# api_download PATH FILE: an admin GET; the raw body into FILE.
api_download() {
	nsx srv python3 "$MGAPI" download "$API_URL" "$ADMIN_TOKEN" "$@"
}

api_setup() {
	ADMIN_TOKEN=$(nsx srv python3 "$MGAPI" setup "$API_URL" "$T/srv" "$ADMIN_USER" "$ADMIN_PASS") &&
		[ -n "$ADMIN_TOKEN" ]
}

api_login() {
	ADMIN_TOKEN=$(nsx srv python3 "$MGAPI" login "$API_URL" "$ADMIN_USER" "$ADMIN_PASS") &&
		[ -n "$ADMIN_TOKEN" ]
}

jget() { python3 "$MGAPI" jget "$1"; }

# --- agents --------------------------------------------------------------------

ifname() { echo "${P}$1"; }
state_dir() { echo "$T/state-$1"; }

# agent NODE ARGS...: the agent CLI in NODE's namespace with NODE's state and interface.
agent() {
	local n=$1
	shift
	nsx "$n" env MESHGATE_STATE_DIR="$(state_dir "$n")" MESHGATE_INTERFACE="$(ifname "$n")" \
		"$MESHGATE" "$@"
}

# node_join NODE TOKEN: joins with the token on stdin, its wan address as endpoint.
node_join() {
	local n=$1 token=$2
	printf '%s\n' "$token" | agent "$n" --log-level debug join -t - --name "$n" --port "$WG_PORT" \
		--endpoint "$(wan_ip "$n"):$WG_PORT" >>"$T/join-$n.log" 2>&1
}

daemon_start() {
	local n=$1
	ip netns exec "$(ns "$n")" env MESHGATE_STATE_DIR="$(state_dir "$n")" MESHGATE_INTERFACE="$(ifname "$n")" \
		"$MESHGATE" --log-level debug daemon --checkin-interval "${E2E_CHECKIN:-30}" >>"$T/agent-$n.log" 2>&1 &
	DAEMON_PID[$n]=$!
}

daemon_stop() {
	local p=${DAEMON_PID[$1]:-}
	DAEMON_PID[$1]=
	stop_proc "$p"
}

daemon_alive() { [ -n "${DAEMON_PID[$1]:-}" ] && kill -0 "${DAEMON_PID[$1]}" 2>/dev/null; }
daemon_gone() { ! daemon_alive "$1"; }

# past UNIX_SECONDS: that moment has passed.
past() { [ "$(date +%s)" -gt "$1" ]; }

# count_in FILE PATTERN: lines of FILE matching PATTERN (0 when missing).
count_in() {
	local c
	c=$(grep -c -- "$2" "$1" 2>/dev/null)
	echo "${c:-0}"
}

# count_above FILE PATTERN N: more than N lines of FILE match PATTERN.
count_above() { [ "$(count_in "$1" "$2")" -gt "$3" ]; }

# --- WireGuard facts -----------------------------------------------------------

pubkey() { nsx "$1" wg show "$(ifname "$1")" public-key 2>/dev/null; }

# peers NODE: the node's peer public keys, sorted, one a line.
peers() { nsx "$1" wg show "$(ifname "$1")" peers 2>/dev/null | sort; }

has_peer() { peers "$1" | grep -qxF -- "$2"; }
lacks_peer() { nsx "$1" wg show "$(ifname "$1")" peers >/dev/null 2>&1 && ! has_peer "$1" "$2"; }

# mesh_ip NODE 4|6: the node's mesh address (from `meshgate status --json`).
mesh_ip() {
	local a
	a=$(agent "$1" status --json 2>/dev/null | jget addresses) || return 1
	if [ "$2" = 6 ]; then a=$(grep -F : <<<"$a"); else a=$(grep -vF : <<<"$a"); fi
	a=$(head -n 1 <<<"$a")
	[ -n "$a" ] && echo "${a%%/*}"
}

# mesh_ping FROM TO_ADDR: one echo, 1 s deadline.
#
# HANDSHAKE_WAIT (seconds) is what a check gives the first packets over a
# tunnel that was just configured. A handshake initiation that is lost (sent
# to a peer that has not applied its update yet, or crossing one from the
# other end) is retried only after REKEY_TIMEOUT (5 s plus up to 1/3 s of
# jitter). The agent keeps its own keepalives from crossing (apply.c,
# hold_first_keepalives), but traffic still initiates at once. One retry, a
# 1 s echo and slack for a loaded machine. (Before the hold, about one first
# ping in eight took 5 s in the ACL lab.)
HANDSHAKE_WAIT=12
mesh_ping() { nsx "$1" ping -c 1 -W 1 -n "$2" >/dev/null 2>&1; }

if_exists() { nsx "$1" ip link show "$(ifname "$1")" >/dev/null 2>&1; }
if_gone() { ! if_exists "$1" && [ ! -e "/var/run/wireguard/$(ifname "$1").sock" ]; }

# agent_revision NODE: the revision the agent has (status --json).
agent_revision() { agent "$1" status --json 2>/dev/null | jget revision; }
agent_host_id() { agent "$1" status --json 2>/dev/null | jget host_id; }
server_revision() { api GET "/hosts/$1" 2>/dev/null | jget revision; }

# --- the "managed database": ${P}db behind a gateway's LAN leg -----------------
#   db_tools_missing         prints what is missing (and succeeds) when psql, nft,
#                            runuser or the PostgreSQL server binaries are not there
#   db_lab_up GWNODE         namespace ${P}db, a veth LAN $LAN between GWNODE
#                            (lan0, $GW_LAN_IP) and db (eth0, $DB_IP); no other route
#   pg_start / pg_stop       a real PostgreSQL on db, listening only on $DB_IP:5432,
#                            password logins from the LAN only
#   psql_db NODE             `select 1` on it from NODE (3 s connect timeout)

LAN=172.31.77.0/24
GW_LAN_IP=172.31.77.1
DB_IP=172.31.77.2
PG_BIN=${PG_BIN:-$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}
PG_PASS="e2e-db-$$"

db_tools_missing() {
	local tool
	for tool in nft psql runuser; do
		command -v "$tool" >/dev/null 2>&1 || { echo "$tool not installed"; return 0; }
	done
	if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
		echo "PostgreSQL server binaries not installed (initdb, pg_ctl)"
		return 0
	fi
	id postgres >/dev/null 2>&1 || { echo "no postgres user (the postgresql package creates it)"; return 0; }
	return 1
}

db_lab_up() {
	lab_ns_add db || return 1
	ip -n "$(ns "$1")" link add lan0 type veth peer name eth0 netns "$(ns db)" &&
		ip -n "$(ns "$1")" addr add "$GW_LAN_IP/24" dev lan0 &&
		ip -n "$(ns "$1")" link set lan0 up &&
		ip -n "$(ns db)" addr add "$DB_IP/24" dev eth0 &&
		ip -n "$(ns db)" link set eth0 up
}

# psql_db NODE: `select 1` on db's PostgreSQL from NODE; 3 s connect timeout.
psql_db() {
	local out
	out=$(nsx "$1" timeout 10 env PGCONNECT_TIMEOUT=3 PGPASSWORD="$PG_PASS" PGSSLMODE=disable \
		PGGSSENCMODE=disable psql -h "$DB_IP" -p 5432 -U postgres -d postgres -XAtqc 'select 1' \
		2>>"$T/psql-$1.log")
	[ "$out" = 1 ]
}

pg_start() {
	local d=$T/pg
	mkdir -m 700 "$d" "$d/sock" && printf '%s\n' "$PG_PASS" >"$d/pw" && touch "$T/postgres.log" &&
		chown -R postgres: "$d" "$T/postgres.log" || return 1
	runuser -u postgres -- "$PG_BIN/initdb" -D "$d/data" -U postgres --pwfile="$d/pw" --no-locale -E UTF8 \
		--auth-local=reject --auth-host=reject >"$T/initdb.log" 2>&1 || return 1
	# Only password logins from the LAN; nothing else (no local socket logins either).
	printf 'host all all %s md5\n' "$LAN" >"$d/data/pg_hba.conf"
	cat >>"$d/data/postgresql.conf" <<-EOF
		listen_addresses = '$DB_IP'
		port = 5432
		unix_socket_directories = '$d/sock'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
	EOF
	chown postgres: "$d/data/pg_hba.conf"
	nsx db runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$d/data" -l "$T/postgres.log" -w -t 20 start \
		>>"$T/pg_ctl.log" 2>&1
}
pg_stop() {
	nsx db runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$T/pg/data" -m fast -w -t 10 stop >>"$T/pg_ctl.log" 2>&1
}


# --- shared test helpers -------------------------------------------------------------
#   fatal DESC               a failing check after which nothing can work: summary, exit 1
#   learn NODE / learn4 NODE PK, M4, M6 (learn only), HID of a joined NODE (the
#                            caller declares the associative arrays); fails when any is empty
#   peers_are NODE [PEER...] NODE's WireGuard peers are exactly those PEERs' keys (PK)

fatal() {
	not_ok "$*"
	e2e_summary
	exit 1
}

learn4() {
	local n=$1
	PK[$n]=$(pubkey "$n")
	M4[$n]=$(mesh_ip "$n" 4)
	HID[$n]=$(agent_host_id "$n")
	[ -n "${PK[$n]}" ] && [ -n "${M4[$n]}" ] && [ -n "${HID[$n]}" ]
}

learn() {
	learn4 "$1" || return 1
	M6[$1]=$(mesh_ip "$1" 6)
	[ -n "${M6[$1]}" ]
}

peers_are() {
	local me=$1 n
	shift
	[ "$(peers "$me")" = "$(for n in "$@"; do echo "${PK[$n]}"; done | sort)" ]
}
