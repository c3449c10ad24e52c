#!/bin/sh
# `make image`: build the meshgate appliance image (Debian 12, amd64).
#
#   image/out/meshgate.img      raw disk: MBR + syslinux, p1 FAT /boot (kernel,
#                               initrd, syslinux.cfg), p2 ext4 root (LABEL=mgroot)
#   image/out/rootfs.tar.gz     the same root file system as a tarball
#   image/out/vmlinuz, initrd.img, cmdline   for qemu -kernel/-initrd/-append
#
# Needs root, debootstrap, e2fsprogs (mke2fs -d), dosfstools, mtools, syslinux,
# syslinux-common, fdisk (sfdisk). Nothing is mounted except /proc, /sys and
# /dev inside the build chroot (for apt); the disk is assembled without loop
# devices. The debootstrapped base is cached in image/out/cache/ (keyed by
# the package list and mirror), so rebuilds only redo our layer.
#
# Environment: MESHGATE_MIRROR (default: the Debian URI from this machine's
# apt sources, else http://deb.debian.org/debian), MESHGATE_SECURITY_MIRROR,
# MESHGATE_IMAGE_UPGRADE=0 to skip the security upgrade of the base.
set -eu

IMG_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$IMG_DIR/.." && pwd)
OUT=$IMG_DIR/out
CACHE=$OUT/cache
RFS=$OUT/rootfs
SUITE=bookworm
BUILD=${BUILD:-build}

t0=$(date +%s)
step() { echo "image: [$(( $(date +%s) - t0 ))s] $*"; }
die() { echo "image: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, file ownership)"
for t in debootstrap mke2fs mkfs.vfat mcopy syslinux sfdisk chroot; do
	command -v "$t" >/dev/null 2>&1 || die "missing $t (make deps installs it)"
done
[ -f /usr/lib/syslinux/mbr/mbr.bin ] || die "missing /usr/lib/syslinux/mbr/mbr.bin (syslinux-common)"

mirror_from_apt() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }
		     /^deb / { for (i = 2; i <= NF; i++) if ($i ~ /^http.*\/debian\/?$/) { print $i; exit } }' "$f"
	done | head -n 1
}
MIRROR=${MESHGATE_MIRROR:-$(mirror_from_apt)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECMIRROR=${MESHGATE_SECURITY_MIRROR:-$(echo "$MIRROR" | sed 's,/debian/*$,/debian-security,')}

# Everything the appliance runs: kernel, init, broker, DNS, firewall,
# WireGuard tools, and the runtime libraries of our binaries.
PKGS="linux-image-amd64 systemd systemd-sysv systemd-resolved udev dbus kmod
mosquitto dnsmasq nftables wireguard-tools iproute2 iputils-ping procps ca-certificates openssl
libmicrohttpd12 libsqlite3-0 libsodium23 libjansson4 libcurl4 libmnl0 libnftnl11
libqrencode4 libpng16-16 libmosquitto1"
UPGRADE=${MESHGATE_IMAGE_UPGRADE:-1}

mkdir -p "$OUT" "$CACHE/debs"

# --- 0. our binaries ------------------------------------------------------------
step "building meshgate"
make -C "$ROOT" --no-print-directory all >/dev/null
for b in meshgated meshgatectl meshgate; do
	[ -x "$ROOT/$BUILD/$b" ] || die "$BUILD/$b was not built"
done

# --- 1. base root file system (cached) -----------------------------------------
chroot_mounts() {
	mount -t proc proc "$RFS/proc"
	mount -t sysfs sysfs "$RFS/sys"
	mount --bind /dev "$RFS/dev"
	mount --bind /dev/pts "$RFS/dev/pts"
	MOUNTED=1
}
chroot_umounts() {
	[ "${MOUNTED:-0}" = 1 ] || return 0
	for m in dev/pts dev sys proc; do
		umount "$RFS/$m" 2>/dev/null || umount -l "$RFS/$m" 2>/dev/null || true
	done
	MOUNTED=0
}
trap 'chroot_umounts' EXIT
trap 'exit 130' INT TERM

key=$(printf '%s\n%s\n%s\n%s\n%s\n' "$SUITE" "$MIRROR" "$SECMIRROR" "$UPGRADE" "$PKGS" | sha256sum | cut -c1-16)
base=$CACHE/base-$key.tar
rm -rf "$RFS"
if [ -s "$base" ]; then
	step "base root file system from cache ($base)"
	mkdir -p "$RFS"
	tar --numeric-owner --xattrs --xattrs-include='*' -C "$RFS" -xpf "$base"
else
	step "debootstrap $SUITE (minbase) from $MIRROR"
	include=$(echo $PKGS | tr ' ' ',')
	debootstrap --variant=minbase --cache-dir="$CACHE/debs" --include="$include" \
		"$SUITE" "$RFS" "$MIRROR" > "$OUT/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$OUT/debootstrap.log" >&2; die "debootstrap failed (log: $OUT/debootstrap.log)"; }
	cat > "$RFS/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECMIRROR $SUITE-security main
SRC
	if [ "$UPGRADE" = 1 ]; then
		step "security and point-release upgrades of the base"
		printf '#!/bin/sh\nexit 101\n' > "$RFS/usr/sbin/policy-rc.d"
		chmod 755 "$RFS/usr/sbin/policy-rc.d"
		chroot_mounts
		chroot "$RFS" sh -c 'export DEBIAN_FRONTEND=noninteractive
			apt-get -qq update && apt-get -y -qq -o Dpkg::Options::=--force-confold upgrade' \
			> "$OUT/upgrade.log" 2>&1 || { tail -n 30 "$OUT/upgrade.log" >&2; die "upgrade failed"; }
		chroot_umounts
		rm -f "$RFS/usr/sbin/policy-rc.d"
	fi
	chroot "$RFS" apt-get clean
	rm -rf "$RFS"/var/lib/apt/lists/* "$RFS"/var/cache/apt/*.bin
	rm -f "$CACHE"/base-*.tar
	tar --numeric-owner --xattrs --xattrs-include='*' -C "$RFS" -cf "$base.tmp" . && mv "$base.tmp" "$base"
fi

# --- 2. our layer ----------------------------------------------------------------
step "installing meshgate, units and configuration"
make -C "$ROOT" --no-print-directory install DESTDIR="$RFS" PREFIX=/usr >/dev/null
# `make install` does not install the agent yet.
install -m 0755 "$ROOT/$BUILD/meshgate" "$RFS/usr/sbin/meshgate"
mkdir -p "$RFS/usr/share/meshgate"
rm -rf "$RFS/usr/share/meshgate/web"
cp -R "$ROOT/web" "$RFS/usr/share/meshgate/web"
find "$RFS/usr/share/meshgate/web" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +

# Static files (configuration, scripts), then the units.
(cd "$IMG_DIR/files" && find . -type f) | while read -r f; do
	case $f in
	./usr/lib/meshgate/*.sh) mode=0755 ;;
	*) mode=0644 ;;
	esac
	install -D -m $mode "$IMG_DIR/files/$f" "$RFS/$f"
done
for u in "$IMG_DIR"/units/*.service; do
	install -m 0644 "$u" "$RFS/etc/systemd/system/$(basename "$u")"
done
for d in "$IMG_DIR"/units/*.service.d; do
	[ -d "$d" ] || continue
	mkdir -p "$RFS/etc/systemd/system/$(basename "$d")"
	install -m 0644 "$d"/*.conf "$RFS/etc/systemd/system/$(basename "$d")/"
done

# The server's own account: no login, no home.
chroot "$RFS" sh -c 'id meshgate >/dev/null 2>&1 ||
	useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin meshgate'
install -d -m 0700 "$RFS/etc/meshgate"

# No passwords anywhere: root locked, no other login accounts.
chroot "$RFS" usermod -p '!*' root
echo meshgate > "$RFS/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tmeshgate\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$RFS/etc/hosts"
printf 'LABEL=mgroot\t/\text4\tdefaults,noatime,errors=remount-ro\t0\t1\n' > "$RFS/etc/fstab"
# Every appliance gets its own machine id on first boot.
: > "$RFS/etc/machine-id"
rm -f "$RFS/var/lib/dbus/machine-id"

# The build machine's resolv.conf must not ship: the appliance resolves
# through systemd-resolved (its DHCP-given servers), and so does dnsmasq.
ln -sfn ../run/systemd/resolve/stub-resolv.conf "$RFS/etc/resolv.conf"

# Units: exactly what the presets name (first boot runs preset-all).
chroot "$RFS" systemctl preset-all >/dev/null 2>&1 || true
chroot "$RFS" systemctl enable systemd-networkd.service systemd-networkd-wait-online.service systemd-resolved.service \
	nftables.service mosquitto.service dnsmasq.service meshgate-firstboot.service \
	meshgated.service meshgate-agent.service meshgate-setup-token.service \
	meshgate-selftest.service >/dev/null 2>&1
chroot "$RFS" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
	e2scrub_reap.service >/dev/null 2>&1 || true

# Smaller: no docs, man pages, locales, and no drivers an appliance does not need.
rm -rf "$RFS"/usr/share/doc/* "$RFS"/usr/share/man/* "$RFS"/usr/share/info/* \
	"$RFS"/usr/share/locale/* "$RFS"/var/cache/apt/* "$RFS"/var/lib/apt/lists/* \
	"$RFS"/var/log/*.log "$RFS"/var/log/apt/* "$RFS"/tmp/* "$RFS"/root/.bash_history
kver=$(ls "$RFS/lib/modules" | sort -V | tail -n 1)
for d in drivers/gpu drivers/media drivers/net/wireless drivers/infiniband drivers/staging \
	drivers/bluetooth drivers/isdn drivers/iio drivers/input/touchscreen drivers/hid \
	sound net/bluetooth net/wireless net/mac80211; do
	rm -rf "$RFS/lib/modules/$kver/kernel/$d"
done
chroot "$RFS" depmod -a "$kver"

# --- 3. outputs ------------------------------------------------------------------
cp "$RFS/boot/vmlinuz-$kver" "$OUT/vmlinuz"
cp "$RFS/boot/initrd.img-$kver" "$OUT/initrd.img"
CMDLINE="root=LABEL=mgroot ro console=tty0 console=ttyS0,115200n8 quiet loglevel=3 systemd.show_status=error"
echo "$CMDLINE" > "$OUT/cmdline"

step "rootfs.tar.gz"
tar --numeric-owner --xattrs --xattrs-include='*' -C "$RFS" -cf - . | gzip -1 > "$OUT/rootfs.tar.gz.tmp"
mv "$OUT/rootfs.tar.gz.tmp" "$OUT/rootfs.tar.gz"

step "disk image"
used_mb=$(du -sm "$RFS" | cut -f1)
root_mb=$(( used_mb + used_mb / 4 + 512 ))
boot_mb=96
rm -f "$OUT/root.ext4" "$OUT/boot.vfat"
mke2fs -q -t ext4 -L mgroot -d "$RFS" -E root_owner=0:0 "$OUT/root.ext4" "${root_mb}M" >/dev/null
mkfs.vfat -n MGBOOT -C "$OUT/boot.vfat" $((boot_mb * 1024)) >/dev/null
cat > "$OUT/syslinux.cfg" <<CFG
SERIAL 0 115200
DEFAULT meshgate
PROMPT 0
TIMEOUT 0
LABEL meshgate
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND $CMDLINE
CFG
mcopy -i "$OUT/boot.vfat" "$OUT/vmlinuz" "$OUT/initrd.img" "$OUT/syslinux.cfg" ::/
syslinux --install "$OUT/boot.vfat"
img=$OUT/meshgate.img.tmp
rm -f "$img"
truncate -s $(( (1 + boot_mb + root_mb + 1) * 1024 * 1024 )) "$img"
sfdisk -q "$img" <<PT
label: dos
start=1MiB, size=${boot_mb}MiB, type=c, bootable
start=$((1 + boot_mb))MiB, size=${root_mb}MiB, type=83
PT
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$img" bs=440 count=1 conv=notrunc status=none
dd if="$OUT/boot.vfat" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$OUT/root.ext4" of="$img" bs=1M seek=$((1 + boot_mb)) conv=notrunc,sparse status=none
rm -f "$OUT/root.ext4" "$OUT/boot.vfat" "$OUT/syslinux.cfg"
mv "$img" "$OUT/meshgate.img"
rm -rf "$RFS"
step "done: $OUT/meshgate.img ($(du -h --apparent-size "$OUT/meshgate.img" | cut -f1) raw), rootfs.tar.gz ($(du -h "$OUT/rootfs.tar.gz" | cut -f1)), vmlinuz, initrd.img"
