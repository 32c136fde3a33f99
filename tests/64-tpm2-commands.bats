#!/usr/bin/env bats
# What one seckit command costs the TPM, counted on the bus (every command
# the relay tests/tpm-proxy.py passes to swtpm, whatever the machine's
# load: counts, not times).  A named-key sign under a persistent parent is
# TPM2_Load, TPM2_Sign, TPM2_FlushContext and nothing else; a store whose
# master key the TPM seals adds the three of the unseal.

load helper
load tpm

setup_file() {
	require swtpm tpm2_createprimary tpm2_evictcontrol python3
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_swtpm "$BATS_FILE_TMPDIR/tpm"
}

teardown_file() {
	stop_swtpm
}

setup() {
	common_setup
	export SECKIT_TCTI="$SWTPM_TCTI" TPM2TOOLS_TCTI="$SWTPM_TCTI" SECKIT_BACKEND=tpm2
	head -c 4096 /dev/urandom > data
	tpm2_createprimary -Q -C o -G ecc256:aes128cfb -c prim.ctx
	tpm2_evictcontrol -Q -C o -c prim.ctx 0x81000030 >/dev/null
	tpm2_flushcontext -t
	printf 'tpm2-parent: 0x81000030\npassword-kdf:\n  n: 1024\n' > "$SECKIT_CONFIG"
	start_tpm_proxy --log "$BATS_TEST_TMPDIR/bus.log"
}

teardown() {
	stop_tpm_proxy
	tpm2_evictcontrol -Q -C o -c 0x81000030 >/dev/null 2>&1 || true
	assert_no_transient_handles
	assert_no_sessions
}

# The commands in the proxy's log, by name, on one line.
bus_commands() {
	python3 - "$BATS_TEST_TMPDIR/bus.log" <<-'PY'
	import struct, sys
	names = {0x131: "CreatePrimary", 0x157: "Load", 0x15d: "Sign", 0x15e: "Unseal",
	         0x165: "FlushContext", 0x173: "ReadPublic", 0x176: "StartAuthSession",
	         0x17a: "GetCapability", 0x162: "ContextSave", 0x161: "ContextLoad",
	         0x182: "PCR_Extend", 0x144: "Startup"}
	data = open(sys.argv[1], "rb").read() if len(sys.argv) > 1 else b""
	out, off = [], 0
	while off + 10 <= len(data):
	    _, size, code = struct.unpack_from(">HII", data, off)
	    out.append(names.get(code, hex(code)))
	    off += size
	print(" ".join(out))
	PY
}

# Sign with key dev through the proxy, with the log emptied first.
counted_sign() {
	: > "$BATS_TEST_TMPDIR/bus.log"
	SECKIT_TCTI=$PROXY_TCTI run -0 sk key sign dev --in data --out sig "$@"
	run -0 bus_commands
}

@test "tpm2 commands: a named-key sign, persistent parent, master key in a file: load, sign, flush" {
	printf 'master-key: file\n' >> "$SECKIT_CONFIG"
	run -0 sk key create dev --type ec-p256
	counted_sign
	[ "$output" = "Load Sign FlushContext" ]
	run -0 sk key export dev --out dev.pub
	run -0 openssl dgst -sha256 -verify dev.pub -signature sig data
}

@test "tpm2 commands: a TPM-sealed master key adds its load, unseal and flush, nothing else" {
	printf 'master-key: tpm2\n' >> "$SECKIT_CONFIG"
	run -0 sk key create dev --type ec-p256
	counted_sign
	[ "$output" = "Load Unseal FlushContext Load Sign FlushContext" ]
	run -0 sk key export dev --out dev.pub
	run -0 openssl dgst -sha256 -verify dev.pub -signature sig data
}

@test "tpm2 commands: RSA under a persistent parent is the same three" {
	printf 'master-key: file\n' >> "$SECKIT_CONFIG"
	run -0 sk key create dev --type rsa-2048
	counted_sign
	[ "$output" = "Load Sign FlushContext" ]
	run -0 sk key export dev --out dev.pub
	run -0 openssl dgst -sha256 -verify dev.pub -signature sig data
}

@test "tpm2 commands: a password key reads the parent's public key for the salted session, then signs" {
	printf 'master-key: file\n' >> "$SECKIT_CONFIG"
	run -0 sk key password create pw --pass pass:right
	run -0 sk key create dev --type ec-p256 --password-object pw --pass pass:right
	counted_sign --pass pass:right
	[ "$output" = "Load ReadPublic StartAuthSession Sign FlushContext FlushContext" ]
	# a wrong one is still 5 with the tries left, under this parent too
	SECKIT_TCTI=$PROXY_TCTI sk_fails 5 "key sign: " key sign dev --in data --out sig2 --pass pass:wrong
	[[ "$stderr" == *"wrong password for password object 'pw' (checked by the TPM: "*" more failure"*" before it locks out)" ]]
	assert_absent sig2
	tpm2_dictionarylockout --clear-lockout
}

@test "tpm2 commands: a persistent parent the TPM lacks is exit 4 naming tpm2-parent, at the first load" {
	printf 'master-key: file\n' >> "$SECKIT_CONFIG"
	run -0 sk key create dev --type ec-p256
	tpm2_evictcontrol -Q -C o -c 0x81000030 >/dev/null
	sk_fails 4 "key sign: " key sign dev --in data --out sig
	[[ "$stderr" == *"parent handle 0x81000030 (tpm2-parent in the config) is not in the TPM" ]]
	assert_absent sig
	sk_fails 4 "key create: " key create dev2 --type ec-p256
	[[ "$stderr" == *"parent handle 0x81000030 (tpm2-parent in the config) is not in the TPM" ]]
	# a sealed master key under it: the same, when the store is made
	printf 'tpm2-parent: 0x81000030\nmaster-key: tpm2\n' > "$SECKIT_CONFIG"
	sk_fails 4 "key create: " --store "$BATS_TEST_TMPDIR/store2" key create dev3 --type ec-p256
	[[ "$stderr" == *"parent handle 0x81000030 (tpm2-parent in the config) is not in the TPM" ]]
}

@test "tpm2 commands: a persistent handle that is not a storage key is refused at the load" {
	printf 'master-key: file\n' >> "$SECKIT_CONFIG"
	run -0 sk key create dev --type ec-p256
	tpm2_evictcontrol -Q -C o -c 0x81000030 >/dev/null
	# a signing key where the parent was
	tpm2_createprimary -Q -C o -G ecc256:ecdsa-sha256 -c sig.ctx \
		-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign'
	tpm2_evictcontrol -Q -C o -c sig.ctx 0x81000030 >/dev/null
	tpm2_flushcontext -t
	sk_fails 1 "key sign: " key sign dev --in data --out sig
	[[ "$stderr" == *"loading the key: "* ]]
	assert_absent sig
}
