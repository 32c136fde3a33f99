#!/usr/bin/env bats
# What one seckit command costs the TPM, counted on the bus (every command
# the relay tests/tpm-proxy.py passes to swtpm, whatever the machine's
# load: counts, not times).  A named-key sign under a persistent parent is
# TPM2_Load, TPM2_Sign, TPM2_FlushContext and nothing else; a store whose
# master key the TPM seals adds its unseal, encrypted on the bus: a session
# salted to the parent (whose public area master.key keeps) and the unseal
# of the persistent sealed object; sealed to PCRs, the policy session is
# the salted one, with its PolicyPCR.  A store of the older format
# (master.key version 1, the sealed object loaded each time) still opens,
# at the old cost, until `store reseal` brings it to the new one.

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
	evict_sealed_master_keys
	assert_no_transient_handles
	assert_no_sessions
}

# The commands in the proxy's log, by name, on one line.
bus_commands() {
	python3 - "$BATS_TEST_TMPDIR/bus.log" <<-'PY'
	import struct, sys
	names = {0x131: "CreatePrimary", 0x157: "Load", 0x15d: "Sign", 0x15e: "Unseal", 0x120: "EvictControl",
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

@test "tpm2 commands: a TPM-sealed master key adds its encrypted unseal: a salted session and the unseal of the persistent object, five in all" {
	printf 'master-key: tpm2\n' >> "$SECKIT_CONFIG"
	run -0 sk key create dev --type ec-p256
	counted_sign
	[ "$output" = "StartAuthSession Unseal Load Sign FlushContext" ]
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
	# the master key, unsealed by tpm2-tools from the persistent object
	# master.key names (docs/formats/store.md)
	run -0 store_sealed_handle "$SECKIT_STORE"
	[ "$output" = 0x81534b00 ]
	tpm2_unseal -c 0x81534b00 -o mk.bin
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

# The 32-byte secret of the persistent data object sealed under a
# PolicyPCR that master.key names, unsealed by tpm2-tools in a policy
# session, into mk.bin.
unseal_pcr_master_key() {
	local h
	h=$(store_sealed_handle "$SECKIT_STORE")
	tpm2_startauthsession -Q --policy-session -S pol.ctx
	tpm2_policypcr -Q -S pol.ctx -l sha256:16
	tpm2_unseal -c "$h" -p session:pol.ctx -o mk.bin
	tpm2_flushcontext pol.ctx
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
	# the unseal went through the capture (TPM2_Unseal of the persistent
	# object: the command code, then its handle) ...
	run -0 grep -c "0000015e81534b00" bus.hex
	# ... and the master key is not
	run -1 grep -c "$(xxd -p -c 64 mk.bin)" bus.hex
	# The bus: the salted policy session, PolicyPCR, the unseal.
	: > "$BATS_TEST_TMPDIR/bus.log"
	SECKIT_TCTI=$PROXY_TCTI run -0 sk store read s --out got2
	run -0 bus_commands
	[ "$output" = "StartAuthSession PolicyPCR Unseal" ]
	run -0 cmp secret got2
}

# A store of the format before the sealed master key was kept in the TPM:
# master.key version 1, its blob (version 1, kind 1, TPM2B_PUBLIC,
# TPM2B_PRIVATE) the key K sealed under the parent by tpm2-tools, as
# seckit wrote it then (docs/formats/store.md).
make_v1_store() {
	require tpm2_create
	head -c 32 /dev/urandom > k.bin
	tpm2_create -Q -C 0x81000030 -i k.bin -a 'fixedtpm|fixedparent|userwithauth|noda' \
		-u k.pub -r k.priv
	mkdir -m 0700 "$SECKIT_STORE"
	python3 - k.bin k.pub k.priv "$SECKIT_STORE/master.key" <<-'PY'
	import hashlib, hmac, os, struct, sys
	k, pub, priv = (open(f, "rb").read() for f in sys.argv[1:4])
	hdr = b"SKMK" + bytes([1, 1, 0, 0])
	check = hmac.new(k, b"seckit/v1/master-check" + hdr, hashlib.sha256).digest()[:16]
	blob = bytes([1, 1]) + pub + priv
	fd = os.open(sys.argv[4], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
	os.write(fd, hdr + bytes(32) + check + struct.pack(">H", len(blob)) + blob)
	os.close(fd)
	PY
}

@test "tpm2 commands: an older store (master.key version 1) still opens, at the old cost; store reseal brings it to five" {
	printf 'master-key: tpm2\n' >> "$SECKIT_CONFIG"
	make_v1_store
	run -0 sk key create dev --type ec-p256
	echo "kept across the reseal" > secret
	run -0 sk store write s --in secret
	counted_sign
	[ "$output" = "ReadPublic StartAuthSession Load Unseal FlushContext Load Sign FlushContext" ]
	run -0 sealed_master_key_handles
	[ -z "$output" ]
	run -0 sk store reseal
	[ "$output" = "master key of $SECKIT_STORE sealed by the TPM" ]
	run -0 store_sealed_handle "$SECKIT_STORE"
	[ "$output" = 0x81534b00 ]
	counted_sign
	[ "$output" = "StartAuthSession Unseal Load Sign FlushContext" ]
	run -0 sk store read s --out got
	run -0 cmp secret got
	run -0 sk key export dev --out dev.pub
	run -0 openssl dgst -sha256 -verify dev.pub -signature sig data
	# the key the TPM keeps is K, the one tpm2-tools sealed
	tpm2_unseal -c 0x81534b00 -o k2.bin
	run -0 cmp k.bin k2.bin
}

@test "tpm2 commands: store reseal gives up the old persistent object for the new one; one kept per store" {
	printf 'master-key: tpm2\n' >> "$SECKIT_CONFIG"
	run -0 sk key create dev --type ec-p256
	run -0 sealed_master_key_handles
	[ "$output" = 0x81534b00 ]
	run -0 sk store reseal
	run -0 sealed_master_key_handles
	[ "$output" = 0x81534b01 ]
	run -0 store_sealed_handle "$SECKIT_STORE"
	[ "$output" = 0x81534b01 ]
	# a second store takes the next free handle
	run -0 sk --store "$BATS_TEST_TMPDIR/store2" key create dev2 --type ec-p256
	run -0 store_sealed_handle "$BATS_TEST_TMPDIR/store2"
	[ "$output" = 0x81534b00 ]
	counted_sign
	[ "$output" = "StartAuthSession Unseal Load Sign FlushContext" ]
}

@test "tpm2 commands: a master key sealed to PCRs: the salted policy session, PolicyPCR, the unseal, then load, sign, flush" {
	tpm2_pcrreset 16 >/dev/null
	printf 'master-key:\n  protection: tpm2\n  pcrs: 16\n' >> "$SECKIT_CONFIG"
	run -0 sk key create dev --type ec-p256
	counted_sign
	[ "$output" = "StartAuthSession PolicyPCR Unseal Load Sign FlushContext" ]
	run -0 sk key export dev --out dev.pub
	run -0 openssl dgst -sha256 -verify dev.pub -signature sig data
	# a changed PCR: 7, naming it (read only once the policy failed)
	echo kernel > k
	tpm2_pcrextend "16:sha256=$(sha256sum k | cut -c1-64)"
	cp "$SECKIT_STORE/master.key" before
	sk_fails 7 "key sign: " key sign dev --in data --out sig2
	[[ "$stderr" == *"unsealing the master key: sealed to PCR 16, which changed since" ]]
	assert_absent sig2
	run -0 cmp before "$SECKIT_STORE/master.key"
}

@test "tpm2: a kept master key whose object was evicted is 7 (wrong device); whose parent was evicted is 4; nothing written" {
	printf 'master-key: tpm2\n' >> "$SECKIT_CONFIG"
	run -0 sk key create dev --type ec-p256
	cp "$SECKIT_STORE/master.key" before
	tpm2_evictcontrol -Q -C o -c 0x81534b00 >/dev/null
	sk_fails 7 "key sign: " key sign dev --in data --out sig
	[[ "$stderr" == *"unsealing the master key: tpm2: the sealed master key's persistent object 0x81534b00 is not in this TPM (a store of another TPM, or evicted)" ]]
	assert_absent sig
	run -0 cmp before "$SECKIT_STORE/master.key"
	# the parent gone: the session cannot be salted to it
	run -0 sk --store "$BATS_TEST_TMPDIR/store2" key create dev --type ec-p256
	tpm2_evictcontrol -Q -C o -c 0x81000030 >/dev/null
	sk_fails 4 "key sign: " --store "$BATS_TEST_TMPDIR/store2" key sign dev --in data --out sig
	[[ "$stderr" == *"parent handle 0x81000030 (tpm2-parent in the config) is not in the TPM" ]]
	assert_absent sig
}

@test "tpm2: another key put at the parent's handle does not get the master key: the session is salted to the recorded one (7)" {
	printf 'master-key: tpm2\n' >> "$SECKIT_CONFIG"
	run -0 sk key create dev --type ec-p256
	cp "$SECKIT_STORE/master.key" before
	# another storage key at 0x81000030: same type, another template
	tpm2_evictcontrol -Q -C o -c 0x81000030 >/dev/null
	tpm2_createprimary -Q -C o -G ecc256:aes128cfb -c other.ctx \
		-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt'
	tpm2_evictcontrol -Q -C o -c other.ctx 0x81000030 >/dev/null
	tpm2_flushcontext -t
	: > "$BATS_TEST_TMPDIR/bus.log"
	SECKIT_TCTI=$PROXY_TCTI sk_fails 7 "key sign: " key sign dev --in data --out sig
	[[ "$stderr" == *"unsealing the master key: tpm2: the TPM's key at 0x81000030 or its object at 0x81534b00 is not the one the master key was sealed with (replaced since)" ]]
	assert_absent sig
	run -0 cmp before "$SECKIT_STORE/master.key"
	# no TPM2_ReadPublic: the recorded public area was used
	run -0 bus_commands
	[[ "$output" != *ReadPublic* ]]
}

@test "tpm2: key handles marks the kept master key; key evict refuses it without --force (7)" {
	printf 'master-key: tpm2\n' >> "$SECKIT_CONFIG"
	run -0 sk key create dev --type ec-p256
	run -0 --separate-stderr sk key handles
	[ "${lines[0]}" = "0x81000030 tpm2 used by this store (tpm2-parent)" ]
	[ "${lines[1]}" = "0x81534b00 tpm2 used by this store (sealed master key)" ]
	run -0 sk --json key handles
	[ "$output" = '{"ok":true,"handles":[{"handle":"0x81000030","backend":"tpm2","used_by_store":true},{"handle":"0x81534b00","backend":"tpm2","used_by_store":true}]}' ]
	sk_fails 7 "key evict: " key evict 0x81534b00
	[[ "$stderr" == *"0x81534b00 keeps this store's sealed master key: evicting it makes the store unreadable for good (--force to evict anyway)" ]]
	run -0 sealed_master_key_handles
	[ "$output" = 0x81534b00 ]
	run -0 sk key evict --force 0x81534b00
	run -0 sealed_master_key_handles
	[ -z "$output" ]
}

@test "tpm2: sealed to PCRs, another key at the parent's handle does not get the master key either (7), nothing written" {
	tpm2_pcrreset 16 >/dev/null
	printf 'master-key:\n  protection: tpm2\n  pcrs: 16\n' >> "$SECKIT_CONFIG"
	run -0 sk key create dev --type ec-p256
	cp "$SECKIT_STORE/master.key" before
	tpm2_evictcontrol -Q -C o -c 0x81000030 >/dev/null
	tpm2_createprimary -Q -C o -G ecc256:aes128cfb -c other.ctx \
		-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt'
	tpm2_evictcontrol -Q -C o -c other.ctx 0x81000030 >/dev/null
	tpm2_flushcontext -t
	sk_fails 7 "key sign: " key sign dev --in data --out sig
	[[ "$stderr" == *"unsealing the master key: tpm2: the TPM's key at 0x81000030 or its object at 0x81534b00 is not the one the master key was sealed with (replaced since)" ]]
	assert_absent sig
	run -0 cmp before "$SECKIT_STORE/master.key"
}
