#!/bin/sh
# Install what seckit needs to build, test, benchmark and demo on Debian
# bookworm. Idempotent: packages already present are not reinstalled and
# apt-get is not called at all when nothing is missing.
set -eu

PKGS="build-essential pkg-config libssl-dev openssl libyaml-dev libtss2-dev
bats mandoc shellcheck hyperfine valgrind clang libclang-rt-14-dev
swtpm swtpm-tools tpm2-tools softhsm2 opensc mosquitto mosquitto-clients
python3 python3-jsonschema procps util-linux e2fsprogs zsh fish parallel faketime time gdb
libarchive-tools"

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
echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
