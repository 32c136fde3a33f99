#!/usr/bin/env bats
# seckit(1) SIGNING KEYS with the OEM key in a TPM (swtpm): every off-device
# maker signs inside the TPM through the backend; the packages are checked
# by plain openssl and by the device.

load helper
load tpm
load signkey

setup_file() {
	require swtpm tpm2_getcap
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_swtpm "$BATS_FILE_TMPDIR/tpm"
}

teardown_file() {
	stop_swtpm
}

setup() {
	common_setup
	export OEM_BACKEND=tpm2 SECKIT_TCTI="$SWTPM_TCTI" TPM2TOOLS_TCTI="$SWTPM_TCTI"
}

teardown() {
	assert_no_transient_handles
}

@test "tpm2: payload, stp, oo id (one device and a fleet), opaque-key and cert issue sign in the TPM" {
	setup_signkey
	# the private part never left the TPM
	run ! oem key export oem-sign --private --out priv.pem
	assert_absent priv.pem
	check_makers_with_store_key
}
