# shellcheck shell=bash
# swtpm for the tests: one simulator per test file (setup_file), on free
# TCP ports, state in the file's temporary directory.  Tests talk to it
# through the swtpm TCTI, tpm2-tools through TPM2TOOLS_TCTI.

# shellcheck source=tests/wait.bash
. "$(dirname "${BASH_SOURCE[0]}")/wait.bash"

# A free TCP port pair (port, port+1) on loopback, below the kernel's
# ephemeral range (net.ipv4.ip_local_port_range): a port checked free in
# that range can be taken by any outgoing connection of any process before
# the server binds it (seen: "Address already in use" while other suites
# ran their connection churns), one below it only by another listener.
free_port_pair() {
	python3 - <<'PY'
import socket, random
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        eph = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    eph = 32768
lo, hi = 10000, min(eph, 65535) - 2
if hi - lo < 2000:
    lo, hi = 20000, 60000
for _ in range(200):
    p = random.randrange(lo, hi, 2)
    ok = True
    for q in (p, p + 1):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", q))
        except OSError:
            ok = False
        finally:
            s.close()
    if ok:
        print(p)
        break
PY
}

# start_swtpm DIR: start a simulator with its state in DIR; sets
# SWTPM_PORT, SWTPM_PID, SWTPM_TCTI (= SECKIT_TCTI, TPM2TOOLS_TCTI).
start_swtpm() {
	local dir=$1
	mkdir -p "$dir"
	SWTPM_PORT=$(free_port_pair)
	swtpm socket --tpm2 --tpmstate dir="$dir" \
		--server type=tcp,port="$SWTPM_PORT",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear \
		--pid file="$dir/swtpm.pid" --daemon || return 1
	wait_until test -s "$dir/swtpm.pid"
	SWTPM_PID=$(cat "$dir/swtpm.pid")
	# common_setup clears SECKIT_*; tests take it from SWTPM_TCTI.
	SWTPM_TCTI="swtpm:host=127.0.0.1,port=$SWTPM_PORT"
	SECKIT_TCTI="$SWTPM_TCTI"
	TPM2TOOLS_TCTI="$SWTPM_TCTI"
	export SWTPM_PORT SWTPM_PID SWTPM_TCTI SECKIT_TCTI TPM2TOOLS_TCTI
	# Wait until it answers.
	wait_until tpm2_getcap properties-fixed >/dev/null 2>&1 && return 0
	echo "swtpm did not come up" >&2
	return 1
}

stop_swtpm() {
	[ -n "${SWTPM_PID:-}" ] && kill "$SWTPM_PID" 2>/dev/null
	true
}

# No objects left loaded in the TPM (swtpm holds only three).
assert_no_transient_handles() {
	local h
	h=$(tpm2_getcap handles-transient)
	if [ -n "$h" ]; then
		echo "transient handles left in the TPM: $h" >&2
		return 1
	fi
}

# start_tpm_proxy [--drop CODE] [--log FILE]: a relay in front of this
# file's simulator (tests/tpm-proxy.py) that cuts the connection at the
# first command with CODE (hex; a TPM that stops answering half-way) and
# logs what is sent to the TPM.  Sets PROXY_TCTI and PROXY_PID.
start_tpm_proxy() {
	local port ready=$BATS_TEST_TMPDIR/proxy.ready
	port=$(free_port_pair)
	rm -f "$ready"
	python3 "$BATS_TEST_DIRNAME/tpm-proxy.py" "$port" "$SWTPM_PORT" "$ready" "$@" 3>&- &
	PROXY_PID=$!
	PROXY_TCTI="swtpm:host=127.0.0.1,port=$port"
	export PROXY_PID PROXY_TCTI
	wait_until test -e "$ready" && return 0
	echo "the TPM proxy did not come up" >&2
	return 1
}

stop_tpm_proxy() {
	[ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null
	true
}

# The TPM's dictionary-attack failure counter (TPM2_PT_LOCKOUT_COUNTER).
tpm_lockout_counter() {
	local v
	v=$(tpm2_getcap properties-variable | awk '$1 == "TPM2_PT_LOCKOUT_COUNTER:" { print $2 }')
	[ -n "$v" ] || return 1
	echo $((v))
}

# tpm_da_setup MAX-TRIES RECOVERY-SECONDS: dictionary-attack parameters
# for a test (swtpm's defaults: 3 tries, 1000 s), failure counter cleared.
tpm_da_setup() {
	tpm2_dictionarylockout --clear-lockout >/dev/null &&
		tpm2_dictionarylockout --setup-parameters --max-tries="$1" \
			--recovery-time="$2" --lockout-recovery-time="$2" >/dev/null
}

# No authorisation sessions left in the TPM.
assert_no_sessions() {
	local h
	h=$(tpm2_getcap handles-loaded-session)
	if [ -n "$h" ]; then
		echo "sessions left in the TPM: $h" >&2
		return 1
	fi
}

# The persistent handles seckit keeps sealed master keys at (0x81534b00
# to 0x81534bff, docs/formats/store.md), one a line.
sealed_master_key_handles() {
	tpm2_getcap handles-persistent | tr 'ABCDEF' 'abcdef' | sed -n 's/^- \(0x81534b[0-9a-f][0-9a-f]\)$/\1/p'
}

# Evict them: a store made by a test keeps its sealed master key in the
# TPM, whose room for persistent objects is small (teardown).
evict_sealed_master_keys() {
	local h
	for h in $(sealed_master_key_handles); do
		tpm2_evictcontrol -Q -C o -c "$h" >/dev/null || return 1
	done
}

# The persistent handle of the sealed master key of the store in $1 (the
# blob's bytes 2..5 after the PCR binding, if any; docs/formats/store.md).
store_sealed_handle() {
	python3 - "$1/master.key" <<-'PY'
	import struct, sys
	d = open(sys.argv[1], "rb").read()
	blob = d[58:58 + struct.unpack(">H", d[56:58])[0]]
	if d[5] == 2:
	    size = {0x04: 20, 0x0b: 32, 0x0c: 48, 0x0d: 64}[struct.unpack(">H", blob[0:2])[0]]
	    n = bin(struct.unpack(">I", blob[2:6])[0]).count("1")
	    blob = blob[6 + size * n:]
	assert d[4] == 2 and blob[:2] == b"\x01\x02", "not a kept sealed key"
	print("0x%08x" % struct.unpack(">I", blob[2:6])[0])
	PY
}
