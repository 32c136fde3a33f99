#!/usr/bin/env bats
# The TPM itself against swtpm: `--version -v` reports what the TPM says
# about itself, `key info` the persistent handle a key uses, `key handles`
# and `key evict` the TPM's persistent handles, each cross-checked with
# tpm2-tools (tpm2_getcap, tpm2_evictcontrol).

load helper
load tpm

setup_file() {
	require swtpm tpm2_getcap tpm2_evictcontrol tpm2_createprimary python3
	# One simulator: the tests of this file take turns.
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_swtpm "$BATS_FILE_TMPDIR/tpm"
}

teardown_file() {
	stop_swtpm
}

setup() {
	common_setup
	export SECKIT_TCTI="$SWTPM_TCTI" TPM2TOOLS_TCTI="$SWTPM_TCTI"
}

teardown() {
	local h
	# Leave no persistent object behind for the next test.
	for h in $(tpm2_getcap handles-persistent | sed 's/^- //'); do
		tpm2_evictcontrol -C o -c "$h" >/dev/null
	done
	assert_no_transient_handles
}

# persist HANDLE: a storage primary key made persistent at HANDLE.
persist() {
	tpm2_createprimary -Q -C o -c "$BATS_TEST_TMPDIR/p.ctx"
	tpm2_evictcontrol -Q -C o -c "$BATS_TEST_TMPDIR/p.ctx" "$1"
	tpm2_flushcontext -t
}

# property NAME: the raw value tpm2_getcap properties-fixed gives NAME.
property() {
	tpm2_getcap properties-fixed | awk -v p="$1:" '$1 == p { getline; print $2; exit }'
}

@test "--version -v: the TPM's manufacturer, firmware, spec revision, PCR banks and algorithms" {
	local fw1 fw2 rev
	fw1=$(property TPM2_PT_FIRMWARE_VERSION_1)
	fw2=$(property TPM2_PT_FIRMWARE_VERSION_2)
	rev=$(property TPM2_PT_REVISION)
	run -0 sk --version -v
	[[ "$output" == *"backend tpm2: yes"* ]]
	[[ "$output" == *"tpm2 manufacturer: IBM"* ]]
	[[ "$output" == *"tpm2 vendor: SW TPM"* ]]
	[[ "$output" == *"tpm2 firmware: $((fw1 >> 16)).$((fw1 & 0xffff)).$((fw2 >> 16)).$((fw2 & 0xffff))"* ]]
	[[ "$output" == *"tpm2 spec: 2.0 level 0 revision $((rev / 100)).$((rev % 100))"* ]]
	# the banks tpm2_getcap lists, in its order
	banks=$(tpm2_getcap pcrs | sed -n 's/^  - \([a-z0-9_]*\): \[ [0-9].*/\1/p' | tr '\n' ' ')
	[[ "$output" == *"tpm2 pcr banks: ${banks% }"* ]]
	[[ "$output" == *"tpm2 algorithms: rsa ecc aes cbc ctr cfb hmac "*" ecc-p256 "* ]]
	# -v before --version is the same
	run -0 sk -v --version
	[[ "$output" == *"tpm2 manufacturer: IBM"* ]]
	# without -v: no TPM is asked
	run -0 sk --version
	[[ "$output" != *"manufacturer"* ]]
}

@test "--version -v --json: one object, ok true, the TPM's properties" {
	run -0 --separate-stderr sk --json --version -v
	[ -z "$stderr" ]
	run -0 python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["ok"] is True, d
assert d["version"], d
assert {"name": "tpm2", "built": True} in d["backends"], d
t = d["devices"]["tpm2"]
assert t["reachable"] is True, t
assert t["manufacturer"] == "IBM", t
assert t["spec_family"] == "2.0", t
assert "sha256" in t["pcr_banks"], t
assert "ecdsa" in t["algorithms"] and t["missing_algorithms"] == [], t
' "$output"
}

@test "--version -v without a TPM says why and succeeds" {
	SECKIT_TCTI="swtpm:host=127.0.0.1,port=1" run -0 --separate-stderr sk --version -v
	[ -z "$stderr" ]
	[[ "$output" == *"backend tpm2: yes"* ]]
	[[ "$output" == *"tpm2: not reachable: no TPM reachable through TCTI 'swtpm:host=127.0.0.1,port=1'"* ]]
	SECKIT_TCTI="swtpm:host=127.0.0.1,port=1" run -0 sk --json --version -v
	run -0 python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["ok"] is True and d["devices"]["tpm2"]["reachable"] is False, d
assert "no TPM reachable" in d["devices"]["tpm2"]["reason"], d
' "$output"
}

@test "key info shows the persistent parent a tpm2 key uses; soft keys use none" {
	persist 0x81000020
	printf 'tpm2-parent: 0x81000020\n' >> "$SECKIT_CONFIG"
	run -0 sk --backend tpm2 key create dev --type ec-p256
	run -0 sk --backend soft key create soft --type ec-p256
	run -0 sk key info dev
	[[ "$output" == *"tpm2 handle:     0x81000020 (its parent, tpm2-parent)"* ]]
	run -0 sk key info soft
	[[ "$output" == *"tpm2 handle:     -"* ]]
	run -0 sk --json key info dev
	[[ "$output" == *'"tpm2_handle":"0x81000020"'* ]]
	run -0 sk --json key info soft
	[[ "$output" == *'"tpm2_handle":null'* ]]
	# and the key works under that parent
	echo data > data
	run -0 sk --backend tpm2 key sign dev --in data --out sig
}

@test "key handles lists the TPM's persistent handles, marking the store's parent" {
	persist 0x81000020
	persist 0x81000021
	printf 'tpm2-parent: 0x81000021\n' >> "$SECKIT_CONFIG"
	run -0 tpm2_getcap handles-persistent
	[ "$output" = $'- 0x81000020\n- 0x81000021' ]
	run -0 --separate-stderr sk key handles
	[ "$output" = $'0x81000020 tpm2\n0x81000021 tpm2 used by this store (tpm2-parent)' ]
	run -0 sk --json key handles
	[ "$output" = '{"ok":true,"handles":[{"handle":"0x81000020","backend":"tpm2","used_by_store":false},{"handle":"0x81000021","backend":"tpm2","used_by_store":true}]}' ]
	# a TPM without persistent objects: an empty list
	tpm2_evictcontrol -Q -C o -c 0x81000020
	tpm2_evictcontrol -Q -C o -c 0x81000021
	run -0 sk key handles
	[ -z "$output" ]
	run -0 sk --json key handles
	[ "$output" = '{"ok":true,"handles":[]}' ]
}

@test "key evict removes a persistent handle; the store's parent only with --force" {
	persist 0x81000020
	persist 0x81000021
	printf 'tpm2-parent: 0x81000021\n' >> "$SECKIT_CONFIG"
	run -0 sk key evict 0x81000020
	run -0 tpm2_getcap handles-persistent
	[ "$output" = "- 0x81000021" ]
	sk_fails 7 "key evict: " key evict 0x81000021
	[[ "$stderr" == *"0x81000021 is the parent of this store's TPM objects (tpm2-parent)"*"--force"* ]]
	run -0 tpm2_getcap handles-persistent
	[ "$output" = "- 0x81000021" ]
	run -0 sk key evict --force 0x81000021
	run -0 tpm2_getcap handles-persistent
	[ -z "$output" ]
}

@test "key evict: bad handle syntax is exit 2, an absent handle 8, no TPM 4" {
	persist 0x81000020
	sk_fails 2 "key evict: " key evict 81000020
	sk_fails 2 "key evict: " key evict 0x80000001
	sk_fails 2 "key evict: " key evict 0x8100002g
	sk_fails 2 "key evict: " key evict 0x181000020
	sk_fails 2 "key evict: " key evict
	sk_fails 8 "key evict: " key evict 0x81000099
	[ "$stderr" = "seckit key evict: tpm2: no persistent handle 0x81000099 in the TPM" ]
	SECKIT_TCTI="swtpm:host=127.0.0.1,port=1" sk_fails 4 "key evict: " key evict 0x81000020
	SECKIT_TCTI="swtpm:host=127.0.0.1,port=1" sk_fails 4 "key handles: " key handles
	# nothing was evicted on the way
	run -0 tpm2_getcap handles-persistent
	[ "$output" = "- 0x81000020" ]
}
