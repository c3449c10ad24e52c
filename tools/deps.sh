#!/bin/sh
# Installs every Debian package meshgate needs to build, test and run.
# Idempotent: when all are present it does nothing; otherwise it runs
# `apt-get update` once and installs only what is missing.
set -eu

PKGS="
build-essential pkg-config clang libclang-rt-14-dev valgrind
libmicrohttpd-dev libsqlite3-dev libsodium-dev libjansson-dev libcurl4-openssl-dev libmnl-dev libmosquitto-dev
libnftnl-dev libqrencode-dev libpng-dev libsystemd-dev
libcmocka-dev
sqlite3 curl python3 ca-certificates openssl iperf3 wrk
mosquitto mosquitto-clients
dnsmasq-base dnsutils
nftables zbar-tools qrencode wireguard-tools wireguard-go iproute2 iputils-ping
postgresql postgresql-client chromium
debootstrap qemu-system-x86 qemu-utils e2fsprogs dosfstools mtools syslinux syslinux-common fdisk
"
# Node.js and npm run the browser tests (tests/web). A machine may already
# have them from another source (its own nodejs package bundles npm): only
# when the commands are missing are Debian's packages wanted.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

missing=""
for p in $PKGS; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
