#!/usr/bin/env bats
# What one seckit command costs the TPM, counted on the bus (every command
# the relay tests/tpm-proxy.py passes to swtpm, whatever the machine's
# load: counts, not times).  A named-key sign under a persistent parent is
# TPM2_Load, TPM2_Sign, TPM2_FlushContext and nothing else; a store whose
# master key the TPM seals adds its unseal, encrypted on the bus (the
# parent's public key, a salted session, load, unseal, flush); sealed to
# PCRs, the policy session is the salted one.

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
	         0x182: "PCR_Extend", 0x144: "Startup", 0x17e: "PCR_Read", 0x17f: "PolicyPCR"}
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

@test "tpm2 commands: a TPM-sealed master key adds its encrypted unseal: the parent's public key, a salted session, load, unseal, flush" {
	printf 'master-key: tpm2\n' >> "$SECKIT_CONFIG"
	run -0 sk key create dev --type ec-p256
	counted_sign
	[ "$output" = "ReadPublic StartAuthSession Load Unseal FlushContext Load Sign FlushContext" ]
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

@test "tpm2: a sealed master key comes back from TPM2_Unseal encrypted, never in clear on the bus" {
	require tpm2_load tpm2_unseal xxd
	printf 'master-key: tpm2\n' >> "$SECKIT_CONFIG"
	run -0 sk key create dev --type ec-p256
	# the master key, unsealed by tpm2-tools from master.key's blob
	# (docs/formats/store.md: 56 bytes, u16 length, version and kind,
	# TPM2B_PUBLIC, TPM2B_PRIVATE)
	python3 - "$SECKIT_STORE/master.key" <<-'PY'
	import struct, sys
	d = open(sys.argv[1], "rb").read()
	blob = d[58:58 + struct.unpack(">H", d[56:58])[0]]
	n = struct.unpack(">H", blob[2:4])[0]
	open("mk.pub", "wb").write(blob[2:4 + n])
	open("mk.priv", "wb").write(blob[4 + n:])
	PY
	tpm2_load -Q -C 0x81000030 -u mk.pub -r mk.priv -c mk.ctx
	tpm2_unseal -c mk.ctx -o mk.bin
	tpm2_flushcontext -t
	[ "$(stat -c %s mk.bin)" -eq 32 ]
	# every byte both ways between seckit and the TPM
	TCTI_PCAP_FILE="$BATS_TEST_TMPDIR/bus.pcap" SECKIT_TCTI="pcap:$SWTPM_TCTI" \
		run -0 sk key sign dev --in data --out sig
	od -An -tx1 -v bus.pcap | tr -d ' \n' > bus.hex
	# the sign went through the capture (the digest signed is in it) ...
	run -0 grep -c "$(openssl dgst -sha256 -binary data | xxd -p -c 64)" bus.hex
	# ... and the master key is not
	run -1 grep -c "$(xxd -p -c 64 mk.bin)" bus.hex
}

# The 32-byte secret of a data object sealed under a PolicyPCR in
# master.key's blob (the PCR binding first: bank, mask, one sha256 value),
# unsealed by tpm2-tools in a policy session, into mk.bin.
unseal_pcr_master_key() {
	python3 - "$SECKIT_STORE/master.key" <<-'PY'
	import struct, sys
	d = open(sys.argv[1], "rb").read()
	blob = d[58:58 + struct.unpack(">H", d[56:58])[0]]
	blob = blob[2 + 4 + 32:]
	n = struct.unpack(">H", blob[2:4])[0]
	open("mk.pub", "wb").write(blob[2:4 + n])
	open("mk.priv", "wb").write(blob[4 + n:])
	PY
	tpm2_load -Q -C 0x81000030 -u mk.pub -r mk.priv -c mk.ctx
	tpm2_startauthsession -Q --policy-session -S pol.ctx
	tpm2_policypcr -Q -S pol.ctx -l sha256:16
	tpm2_unseal -c mk.ctx -p session:pol.ctx -o mk.bin
	tpm2_flushcontext pol.ctx
	tpm2_flushcontext -t
	[ "$(stat -c %s mk.bin)" -eq 32 ]
}

@test "tpm2: a master key sealed to PCRs comes back from TPM2_Unseal encrypted (salted policy session), never in clear on the bus" {
	require tpm2_load tpm2_unseal tpm2_startauthsession tpm2_policypcr xxd
	tpm2_pcrreset 16 >/dev/null
	printf 'master-key:\n  protection: tpm2\n  pcrs: 16\n' >> "$SECKIT_CONFIG"
	echo "secret of the device" > secret
	run -0 sk store write s --in secret
	run -0 unseal_pcr_master_key
	TCTI_PCAP_FILE="$BATS_TEST_TMPDIR/bus.pcap" SECKIT_TCTI="pcap:$SWTPM_TCTI" \
		run -0 sk store read s --out got
	run -0 cmp secret got
	od -An -tx1 -v bus.pcap | tr -d ' \n' > bus.hex
	# the unseal went through the capture (the sealed object's public
	# area, loaded, is in it) ...
	run -0 grep -c "$(xxd -p -c 256 mk.pub | tr -d '\n' | cut -c5-)" bus.hex
	# ... and the master key is not
	run -1 grep -c "$(xxd -p -c 64 mk.bin)" bus.hex
	# The bus: the salted policy session, PolicyPCR, load, unseal.
	: > "$BATS_TEST_TMPDIR/bus.log"
	SECKIT_TCTI=$PROXY_TCTI run -0 sk store read s --out got2
	run -0 bus_commands
	[[ "$output" == *"ReadPublic StartAuthSession PolicyPCR Load Unseal FlushContext FlushContext"* ]]
}
