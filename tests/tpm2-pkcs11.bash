# shellcheck shell=bash
# tpm2-pkcs11 over swtpm, as the i.MX8X kit uses it (tests/80-pkcs11-tpm2.bats):
# swtpm, then tpm2-abrmd in front of it on a private D-Bus session bus that
# the test file starts (never the system bus), then tpm2-pkcs11
# (libtpm2_pkcs11.so, tpm2_ptool) through the tabrmd TCTI.  tpm2_ptool
# leaves transient objects loaded for a resource manager to flush; swtpm
# reached directly holds only three (TPM_RC_OBJECT_MEMORY at addtoken), so
# the broker is not optional.  Everything is started by setup_file and
# stopped by teardown_file.

# shellcheck source=tests/tpm.bash
. "$(dirname "${BASH_SOURCE[0]}")/tpm.bash"

TPM2_P11_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so

# What the file needs, or why it is skipped.
tpm2_p11_require() {
	local t
	for t in swtpm tpm2_getcap tpm2_ptool tpm2-abrmd dbus-daemon pkcs11-tool openssl; do
		command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
	done
	[ -e "$TPM2_P11_MODULE" ] || skip "tpm2-pkcs11's module is not installed (libtpm2-pkcs11-1)"
	[ -e /usr/lib/x86_64-linux-gnu/libtss2-tcti-tabrmd.so.0 ] ||
		skip "the tabrmd TCTI is not installed (libtss2-tcti-tabrmd0)"
}

# start_bus DIR: a private D-Bus session bus with its socket in DIR; sets
# and exports DBUS_SESSION_BUS_ADDRESS and DBUS_PID.
start_bus() {
	local dir=$1
	mkdir -p "$dir"
	dbus-daemon --session --address="unix:path=$dir/bus" --fork --nosyslog \
		--print-address=3 --print-pid=4 3>"$dir/bus.addr" 4>"$dir/bus.pid" || return 1
	DBUS_SESSION_BUS_ADDRESS=$(head -n 1 "$dir/bus.addr")
	DBUS_PID=$(cat "$dir/bus.pid")
	export DBUS_SESSION_BUS_ADDRESS DBUS_PID
	[ -n "$DBUS_SESSION_BUS_ADDRESS" ]
}

# start_abrmd: tpm2-abrmd on that bus in front of this file's swtpm, its
# PID in the file's abrmd.pid (a test may stop it and start another, which
# teardown_file must find); tpm2-tools and tpm2-pkcs11 reach the TPM
# through it.
start_abrmd() {
	tpm2-abrmd --session --tcti="swtpm:host=127.0.0.1,port=$SWTPM_PORT" --flush-all \
		--allow-root > "$BATS_FILE_TMPDIR/abrmd.log" 2>&1 3>&- &
	echo $! > "$BATS_FILE_TMPDIR/abrmd.pid"
	TPM2TOOLS_TCTI=tabrmd:bus_type=session
	TPM2_PKCS11_TCTI=tabrmd:bus_type=session
	export TPM2TOOLS_TCTI TPM2_PKCS11_TCTI
	wait_until tpm2_getcap properties-fixed >/dev/null 2>&1 && return 0
	echo "tpm2-abrmd did not come up:" >&2
	cat "$BATS_FILE_TMPDIR/abrmd.log" >&2
	return 1
}

# stop_abrmd: stop the broker and wait until it is gone (from a test, it
# is not a child to wait for: a zombie counts as gone).
stop_abrmd() {
	local pid
	pid=$(cat "$BATS_FILE_TMPDIR/abrmd.pid" 2>/dev/null) || return 0
	rm -f "$BATS_FILE_TMPDIR/abrmd.pid"
	kill "$pid" 2>/dev/null || return 0
	wait_until proc_gone "$pid"
}

proc_gone() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$state" ] || [ "$state" = Z ]
}

# The whole stack, for setup_file: swtpm (dictionary-attack lockout
# relaxed, for the wrong-PIN tests), the bus, the broker; the token store
# of tpm2-pkcs11 (TPM2_PKCS11_STORE) in the file's directory.
start_tpm2_pkcs11() {
	start_swtpm "$BATS_FILE_TMPDIR/tpm" || return 1
	tpm_da_setup 1000 1 || return 1
	start_bus "$BATS_FILE_TMPDIR/dbus" || return 1
	start_abrmd || return 1
	TPM2_PKCS11_STORE="$BATS_FILE_TMPDIR/tpm2-pkcs11"
	mkdir -p "$TPM2_PKCS11_STORE"
	export TPM2_PKCS11_STORE
}

stop_tpm2_pkcs11() {
	stop_abrmd
	[ -z "${DBUS_PID:-}" ] || kill "$DBUS_PID" 2>/dev/null
	stop_swtpm
}

# fifo_waiting PID: PID is blocked opening a FIFO (no writer yet).
fifo_waiting() {
	local w
	w=$(cat "/proc/$1/wchan" 2>/dev/null) || return 1
	[ "$w" = wait_for_partner ] || [ "$w" = fifo_open ]
}
