#!/usr/bin/env bats
# store objects sealed to PCRs (store write --tpm2-pcrs) against swtpm:
# reading fails after each selected PCR changes (exit 7 naming it), a PCR
# not selected changes freely, a TPM restart that measures the same files
# opens it again, the policy equals tpm2_createpolicy's, refusals write
# nothing, and no object or session is left in the TPM.

load helper
load tpm

setup_file() {
	require swtpm tpm2_getcap
	# One simulator: the tests of this file take turns on its PCRs.
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_swtpm "$BATS_FILE_TMPDIR/tpm"
}

teardown_file() {
	# restart_tpm may have replaced the simulator the file started.
	SWTPM_PID=$(cat "$BATS_FILE_TMPDIR/tpm/swtpm.pid" 2>/dev/null)
	stop_swtpm
}

setup() {
	common_setup
	export SECKIT_BACKEND=tpm2 SECKIT_TCTI="$SWTPM_TCTI" TPM2TOOLS_TCTI="$SWTPM_TCTI"
	tpm2_pcrreset 16 >/dev/null
	tpm2_pcrreset 23 >/dev/null
	echo "kernel image v1" > Image
	echo "kernel image v2" > Image2
	echo "device tree" > board.dtb
	echo "secret of the device" > secret
}

teardown() {
	evict_sealed_master_keys
	assert_no_transient_handles
	assert_no_sessions
}

# A reboot: the simulator stopped and started again on the same port
# with its state kept (TPM2_Startup(CLEAR): every PCR back to its reset
# value, the storage primary the same).
restart_tpm() {
	local dir=$BATS_FILE_TMPDIR/tpm pid
	pid=$(cat "$dir/swtpm.pid")
	kill "$pid"
	wait_until sh -c "! kill -0 $pid 2>/dev/null"
	rm -f "$dir/swtpm.pid"
	swtpm socket --tpm2 --tpmstate dir="$dir" \
		--server type=tcp,port="$SWTPM_PORT",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear \
		--pid file="$dir/swtpm.pid" --daemon
	wait_until test -s "$dir/swtpm.pid"
	wait_until tpm2_getcap properties-fixed >/dev/null 2>&1
}

@test "store write --tpm2-pcrs: read back while the PCRs hold the values; info shows the binding" {
	run -0 sk measure extend --pcr 16 Image
	run -0 sk store write s --tpm2-pcrs 7,16 --in secret
	run -0 sk store read s --out got
	run -0 cmp secret got
	run -0 sk store info s
	[[ "$output" == *"tpm2-pcrs: sha256:7,16"* ]]
	run -0 sk store info s --json
	[[ "$output" == *'"tpm2_pcrs":{"bank":"sha256","pcrs":[7,16],"policy":"'* ]]
	run -0 sk store list
	[[ "$output" == *"pcrs"* ]]
	# The binding as docs/json.schema.json defines it.
	python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed"
	sk store info s --json > out.1 2> err.1
	sk store write s2 --tpm2-pcrs 16 --in secret --json > out.2 2> err.2
	printf '1\tstore info\t0\t0\tstore info s\n2\tstore write\t0\t0\tstore write s2\n' > results
	run -0 python3 "$SECKIT_SRC/tests/json-check.py" "$SECKIT_SRC/docs/json.schema.json" --results results
}

@test "store read: fails (7) after EACH selected PCR changed, naming it" {
	local p
	for p in 7 16; do
		run -0 sk store write "s$p" --tpm2-pcrs 7,16 --in secret
		run -0 sk measure extend --pcr "$p" board.dtb
		sk_fails 7 "store read: object 's$p': sealed to PCR $p, which changed since" store read "s$p" --out got
		assert_absent got
	done
	# With tpm2-tools' own extend too.
	run -0 sk store write t --tpm2-pcrs 16 --in secret
	tpm2_pcrextend 16:sha256=0000000000000000000000000000000000000000000000000000000000000001
	sk_fails 7 "store read: object 't': sealed to PCR 16, which changed since" store read t
}

@test "store read: a PCR not selected changes freely" {
	run -0 sk store write s --tpm2-pcrs 16 --in secret
	run -0 sk measure extend --pcr 23 Image
	run -0 sk measure extend --pcr 7 Image
	run -0 sk store read s --out got
	run -0 cmp secret got
}

@test "store read: a TPM restart that measures the same files opens it again; another kernel does not" {
	restart_tpm
	run -0 sk measure extend --pcr 7 board.dtb
	run -0 sk measure extend --pcr 16 Image
	run -0 sk store write s --tpm2-pcrs 7,16 --in secret
	restart_tpm
	# Nothing measured yet: PCR 7 is the first that differs.
	sk_fails 7 "store read: object 's': sealed to PCR 7, which changed since" store read s
	run -0 sk measure extend --pcr 7 board.dtb
	run -0 sk measure extend --pcr 16 Image
	run -0 sk store read s --out got
	run -0 cmp secret got
	restart_tpm
	run -0 sk measure extend --pcr 7 board.dtb
	run -0 sk measure extend --pcr 16 Image2
	sk_fails 7 "store read: object 's': sealed to PCR 16, which changed since" store read s
}

@test "store write --tpm2-pcrs: the policy equals tpm2_createpolicy --policy-pcr's; other banks" {
	run -0 sk measure extend --pcr 16 Image
	run -0 sk store write s --tpm2-pcrs 7,16 --in secret
	tpm2_createpolicy --policy-pcr -l sha256:7,16 -L pol.bin >/dev/null
	tpm2_flushcontext -l
	run -0 sk store info s --json
	[[ "$output" == *'"policy":"'"$(xxd -p pol.bin | tr -d '\n')"'"'* ]]
	run -0 sk store write s1 --tpm2-pcrs 16 --bank sha1 --in secret
	run -0 sk store read s1 --out got
	run -0 cmp secret got
	tpm2_createpolicy --policy-pcr -l sha1:16 -L pol1.bin >/dev/null
	tpm2_flushcontext -l
	run -0 sk store info s1 --json
	[[ "$output" == *'"bank":"sha1","pcrs":[16],"policy":"'"$(xxd -p pol1.bin | tr -d '\n')"'"'* ]]
	run -0 sk measure extend --pcr 16 --bank sha1 Image
	sk_fails 7 "store read: object 's1': sealed to PCR 16, which changed since" store read s1
}

@test "store write --tpm2-pcrs: refusals write nothing" {
	sk_fails 2 "store write: " store write s --tpm2-pcrs "" --in secret
	sk_fails 2 "store write: " store write s --tpm2-pcrs 24 --in secret
	sk_fails 2 "store write: " store write s --tpm2-pcrs 16 --pass pass:x --in secret
	sk_fails 2 "store write: " store write s --bank sha256 --in secret
	sk_fails 6 "store write: object 's': tpm2: the TPM has no sm3_256 PCR bank" store write s --tpm2-pcrs 16 --bank sm3_256 --in secret
	SECKIT_BACKEND=soft sk_fails 6 "store write: object 's': the soft backend cannot seal to PCRs" store write s --tpm2-pcrs 16 --in secret
	sk_fails 8 "store info: " store info s
	run -0 sk store list --names
	[ -z "$output" ]
}

@test "store read: a sealed object under the soft backend is refused (6), not misread" {
	run -0 sk store write s --tpm2-pcrs 16 --in secret
	SECKIT_BACKEND=soft sk_fails 6 "store read: object 's' is sealed to PCRs" store read s --out got
	assert_absent got
}
