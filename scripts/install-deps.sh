#!/bin/sh
# Install what seckit needs to build, test, benchmark and demo on Debian
# bookworm. Idempotent: packages already present are not reinstalled and
# apt-get is not called at all when nothing is missing.
#
#   scripts/install-deps.sh               native build and test (make check)
#   scripts/install-deps.sh --cross arm64 also the aarch64 cross build and its
#                                         emulation (make CROSS=aarch64-linux-gnu,
#                                         make check-arm64): adds the arm64
#                                         architecture to dpkg (multiarch)
#   scripts/install-deps.sh --cluster     also a single-node Slurm and munge
#                                         (make test-cluster)
set -eu

# tpm2-abrmd and its TCTI: tests/80-pkcs11-tpm2.bats runs the broker on a
# private session bus in front of swtpm (the package's own service, on the
# system bus, is not used).
PKGS="build-essential pkg-config libssl-dev openssl libyaml-dev libtss2-dev
bats mandoc shellcheck hyperfine valgrind clang libclang-rt-14-dev
swtpm swtpm-tools tpm2-tools softhsm2 opensc libp11-kit-dev mosquitto mosquitto-clients stunnel4 iproute2
python3 python3-jsonschema xxd procps util-linux e2fsprogs zsh fish parallel faketime time gdb strace
libarchive-tools libtpm2-pkcs11-1 libtpm2-pkcs11-tools tpm2-abrmd libtss2-tcti-tabrmd0 dbus-daemon"

cross="" cluster=""
case "${1:-}" in
"") ;;
--cluster) cluster=1 ;;
--cross)
	case "${2:-}" in
	arm64) cross=arm64 ;;
	*) echo "install-deps: --cross: unknown architecture '${2:-}' (known: arm64)" >&2; exit 2 ;;
	esac ;;
*) echo "usage: install-deps.sh [--cross arm64 | --cluster]" >&2; exit 2 ;;
esac

# The cross toolchain and the target's -dev packages (multiarch, :arm64):
# the arm64 pkgconf gives aarch64-linux-gnu-pkg-config, which finds them.
# libtss2-dev:arm64 only for its headers and .pc files: seckit loads
# tss2 with dlopen.  qemu-user-static runs the arm64 binary in the tests
# (no binfmt here: tests/helper.bash calls it through SECKIT_RUNNER).
# libfaketime:arm64: faketime preloads /usr/$LIB/faketime/libfaketime.so.1,
# which the emulated seckit's loader finds as the arm64 build.
if [ "$cross" = arm64 ]; then
	PKGS="$PKGS gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
pkgconf:arm64 libssl-dev:arm64 libyaml-dev:arm64 libtss2-dev:arm64 libfaketime:arm64"
fi

# make test-cluster: Debian's Slurm (slurmctld, slurmd, the clients) and
# munge; contrib/fleet/test-slurm.sh starts its own daemons, with its own
# configuration, key and ports (the packages' services are not used).
if [ -n "$cluster" ]; then
	PKGS="$PKGS slurm-wlm munge bc"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: missing packages:$missing (run as root or install sudo)" >&2
	exit 1
fi

# apt and dpkg take a lock: another installation running at the same time
# is waited for (a few minutes), not failed on.
apt_get() {
	n=0
	until $SUDO apt-get -o DPkg::Lock::Timeout=300 "$@"; do
		n=$((n + 1))
		[ "$n" -lt 3 ] || return 1
		echo "install-deps: apt-get $1 failed, retrying" >&2
		sleep 10
	done
}

echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
if [ -n "$cross" ] && ! dpkg --print-foreign-architectures | grep -qx "$cross"; then
	$SUDO dpkg --add-architecture "$cross"
fi
apt_get update -qq
# shellcheck disable=SC2086
apt_get install -y -qq --no-install-recommends $missing >/dev/null
