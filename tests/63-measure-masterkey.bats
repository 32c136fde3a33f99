#!/usr/bin/env bats
# The store master key sealed to PCRs (config master-key: protection tpm2,
# pcrs, pcr-bank) against swtpm: the store opens only while every selected
# PCR holds the value it was sealed to (exit 7 naming the PCR otherwise),
# again after a TPM restart that re-measures the same files; `store
# reseal` seals it again as the config says, replacing master.key whole;
# the values recorded equal tpm2_pcrread's; no object or session is left
# in the TPM.

load helper
load tpm

setup_file() {
	require swtpm tpm2_getcap
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
	export SECKIT_TCTI="$SWTPM_TCTI" TPM2TOOLS_TCTI="$SWTPM_TCTI"
	tpm2_pcrreset 16 >/dev/null
	tpm2_pcrreset 23 >/dev/null
	echo "kernel image v1" > Image
	echo "kernel image v2" > Image2
	echo "device tree" > board.dtb
	echo "secret of the device" > secret
	# The soft backend: only the master key is the TPM's.
	mk_config "7,16"
}

teardown() {
	evict_sealed_master_keys
	assert_no_transient_handles
	assert_no_sessions
}

# mk_config PCRS [BANK]: the test's config with the master key sealed to
# PCRS (none: sealed without PCRs).
mk_config() {
	cat > "$SECKIT_CONFIG" <<-YAML
	password-kdf:
	  n: 1024
	  r: 8
	  p: 1
	master-key:
	  protection: tpm2
	YAML
	[ -z "$1" ] || echo "  pcrs: $1" >> "$SECKIT_CONFIG"
	[ -z "${2:-}" ] || echo "  pcr-bank: $2" >> "$SECKIT_CONFIG"
}

restart_tpm() {
	local dir=$BATS_FILE_TMPDIR/tpm pid
	pid=$(cat "$dir/swtpm.pid")
	kill "$pid"
	wait_until sh -c "! kill -0 $pid 2>/dev/null"
	rm -f "$dir/swtpm.pid"
	# The old simulator's sockets may hold the ports for a moment.
	wait_until swtpm socket --tpm2 --tpmstate dir="$dir" \
		--server type=tcp,port="$SWTPM_PORT",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear \
		--pid file="$dir/swtpm.pid" --daemon 2>/dev/null
	wait_until test -s "$dir/swtpm.pid"
	wait_until tpm2_getcap properties-fixed >/dev/null 2>&1
}

# measure ARGS: seckit measure with the event log in a store of its own
# (a plain config): a store whose master key is sealed to PCR 16 cannot
# open to log the extend of PCR 16 that would let it open.
measure() {
	printf 'master-key: file\n' > "$BATS_TEST_TMPDIR/measure.yaml"
	sk --config "$BATS_TEST_TMPDIR/measure.yaml" --store "$BATS_TEST_TMPDIR/mstore" measure "$@"
}

# The protection byte of master.key (docs/formats/store.md).
protection() {
	od -An -tu1 -j5 -N1 "$SECKIT_STORE/master.key" | tr -d ' '
}

@test "master-key pcrs: the store opens while the PCRs hold their values; the values are tpm2_pcrread's" {
	run -0 measure extend --pcr 16 Image
	run -0 sk store write s --in secret
	run -0 sk store read s --out got
	run -0 cmp secret got
	run -0 protection
	[ "$output" = 2 ]
	# The binding after the 56-byte header and the blob length: sha256
	# (0x000b), PCRs 7 and 16, then their values as the TPM reads them.
	run -0 sh -c "dd if='$SECKIT_STORE/master.key' bs=1 skip=58 count=6 2>/dev/null | xxd -p"
	[ "$output" = 000b00010080 ]
	tpm2_pcrread sha256:7,16 -o pcrs.bin >/dev/null
	dd if="$SECKIT_STORE/master.key" of=vals.bin bs=1 skip=64 count=64 2>/dev/null
	run -0 cmp pcrs.bin vals.bin
	# A PCR not selected changes freely.
	run -0 measure extend --pcr 23 Image
	run -0 sk store read s --out got2
	run -0 cmp secret got2
}

@test "master-key pcrs: opening the store fails (7) after EACH selected PCR changed, naming it" {
	local p
	for p in 7 16; do
		rm -rf "$SECKIT_STORE"
		run -0 sk store write s --in secret
		run -0 tpm2_pcrextend "$p:sha256=0000000000000000000000000000000000000000000000000000000000000001"
		sk_fails 7 "store read: store '$SECKIT_STORE': unsealing the master key: sealed to PCR $p, which changed since" store read s --out got
		assert_absent got
		sk_fails 7 "store list: store '$SECKIT_STORE': unsealing the master key: sealed to PCR $p, which changed since" store list
	done
}

@test "master-key pcrs: a TPM restart that measures the same files opens the store again; another kernel does not" {
	restart_tpm
	run -0 measure extend --pcr 16 Image
	run -0 sk store write s --in secret
	restart_tpm
	sk_fails 7 "store read: store '$SECKIT_STORE': unsealing the master key: sealed to PCR 16, which changed since" store read s
	run -0 measure extend --pcr 16 Image
	run -0 sk store read s --out got
	run -0 cmp secret got
	# The same with tpm2-tools' extend.
	restart_tpm
	tpm2_pcrextend "16:sha256=$(sha256sum Image | cut -d' ' -f1)"
	run -0 sk store read s --out got2
	run -0 cmp secret got2
	restart_tpm
	run -0 measure extend --pcr 16 Image2
	sk_fails 7 "store read: store '$SECKIT_STORE': unsealing the master key: sealed to PCR 16, which changed since" store read s
}

@test "master-key pcrs: another bank; a bank the TPM lacks creates no store (6)" {
	mk_config 16 sha1
	run -0 sk store write s --in secret
	run -0 sh -c "dd if='$SECKIT_STORE/master.key' bs=1 skip=58 count=6 2>/dev/null | xxd -p"
	[ "$output" = 000400010000 ]
	run -0 measure extend --pcr 16 --bank sha1 Image
	sk_fails 7 "store read: store '$SECKIT_STORE': unsealing the master key: sealed to PCR 16, which changed since" store read s
	rm -rf "$SECKIT_STORE"
	mk_config 16 sm3_256
	sk_fails 6 "store write: " store write s --in secret
	assert_absent "$SECKIT_STORE"
}

@test "master-key pcrs: config errors are 3 with the file and line" {
	printf 'master-key:\n  protection: file\n  pcrs: 7\n' > "$SECKIT_CONFIG"
	sk_fails 3 "store list: $SECKIT_CONFIG:2:15: master-key: pcrs needs the protection of a backend that seals" store list
	printf 'master-key:\n  protection: tpm2\n  pcrs: 7,24\n' > "$SECKIT_CONFIG"
	sk_fails 3 "store list: $SECKIT_CONFIG:3:9: PCR 24 out of range" store list
	printf 'master-key:\n  pcrs: 7\n' > "$SECKIT_CONFIG"
	sk_fails 3 "store list: $SECKIT_CONFIG:2:3: master-key: protection is missing" store list
	printf 'master-key:\n  protection: tpm2\n  pcr-bank: sha1\n' > "$SECKIT_CONFIG"
	sk_fails 3 "store list: $SECKIT_CONFIG:3:13: master-key: pcr-bank needs pcrs" store list
	printf 'master-key:\n  protection: tpm2\n  pcrs: 7\n  pcr-bank: md5\n' > "$SECKIT_CONFIG"
	sk_fails 3 "store list: $SECKIT_CONFIG:4:13: " store list
	assert_absent "$SECKIT_STORE"
}

@test "store reseal: to the config's PCRs now; from a key sealed without PCRs; the same objects" {
	mk_config ""
	run -0 sk store write s --in secret
	run -0 protection
	[ "$output" = 1 ]
	mk_config 16
	run -0 sk store reseal
	[ "$output" = "master key of $SECKIT_STORE sealed to PCRs 16 (sha256)" ]
	run -0 protection
	[ "$output" = 2 ]
	run -0 sk store read s --out got
	run -0 cmp secret got
	run -0 measure extend --pcr 16 Image
	sk_fails 7 "store read: store '$SECKIT_STORE': unsealing the master key: sealed to PCR 16, which changed since" store read s
	# The selection changed to PCR 7 only, sealed while PCR 16 held the
	# values it was sealed to.
	tpm2_pcrreset 16 >/dev/null
	mk_config 7
	run -0 sk --json store reseal
	[ "$output" = '{"ok":true,"store":"'"$SECKIT_STORE"'","master_key":"tpm2-pcrs","tpm2_pcrs":{"bank":"sha256","pcrs":[7]}}' ]
	run -0 measure extend --pcr 16 Image
	run -0 sk store read s --out got2
	run -0 cmp secret got2
	run -0 sk store check
	# Nothing left in tmp/.
	run -0 find "$SECKIT_STORE/tmp" -type f
	[ -z "$output" ]
}

@test "store reseal: refused without a sealing config (3) or when the PCRs changed (7); master.key untouched" {
	run -0 sk store write s --in secret
	cp "$SECKIT_STORE/master.key" before
	run -0 tpm2_pcrextend "7:sha256=0000000000000000000000000000000000000000000000000000000000000001"
	sk_fails 7 "store reseal: store '$SECKIT_STORE': unsealing the master key: sealed to PCR 7, which changed since" store reseal
	run -0 cmp before "$SECKIT_STORE/master.key"
	rm -rf "$SECKIT_STORE"
	printf 'master-key: file\n' > "$SECKIT_CONFIG"
	run -0 sk store write s --in secret
	cp "$SECKIT_STORE/master.key" before
	sk_fails 3 "store reseal: $SECKIT_CONFIG: master-key: the config keeps the master key in a file" store reseal
	run -0 cmp before "$SECKIT_STORE/master.key"
	sk_fails 2 "store reseal: " store reseal extra
}

@test "store reseal --golden: the OTA flow: sealed to the predicted kernel, the store opens after its re-measure and not before; another kernel: 7" {
	restart_tpm
	mk_config 16
	run -0 measure extend --pcr 16 Image
	run -0 sk store write s --in secret
	# The build host predicts the new image's PCR 16.
	run -0 sk measure predict --pcr 16 Image2 --out v2.yaml
	run -0 sk store reseal --golden v2.yaml
	[ "$output" = "master key of $SECKIT_STORE sealed to the values of v2.yaml for PCRs 16 (sha256): it opens once they are measured" ]
	run -0 protection
	[ "$output" = 2 ]
	# Bound to the new values now: the old kernel's no longer open it (the
	# device reboots straight into the new image).
	sk_fails 7 "store read: store '$SECKIT_STORE': unsealing the master key: sealed to a predicted value of PCR 16, which it does not hold: not measured yet, or another image" store read s
	restart_tpm
	run -0 measure extend --pcr 16 Image2
	run -0 sk store read s --out got
	run -0 cmp secret got
	run -0 sk store check
	# The binding in master.key records the predicted value.
	run -0 od -An -tx1 -v -j58 "$SECKIT_STORE/master.key"
	[[ "$(printf '%s' "$output" | tr -d ' \n')" == 000b00010000"$(sed -n 's/^    value: //p' v2.yaml)"* ]]
	# The old kernel, or another, does not open it.
	restart_tpm
	run -0 measure extend --pcr 16 Image
	sk_fails 7 "store read: store '$SECKIT_STORE': unsealing the master key: sealed to a predicted value of PCR 16, which it does not hold: not measured yet, or another image" store read s
	restart_tpm
	echo "kernel image v3" > Image3
	run -0 measure extend --pcr 16 Image3
	sk_fails 7 "store read: store '$SECKIT_STORE': unsealing the master key: sealed to a predicted value of PCR 16, which it does not hold: not measured yet, or another image" store read s
	# Nothing left in tmp/.
	run -0 find "$SECKIT_STORE/tmp" -type f
	[ -z "$output" ]
}

@test "store reseal --golden: two PCRs from predict --from; a signed prediction, checked with --pubkey" {
	restart_tpm
	mk_config 7,16
	run -0 sk store write s --in secret
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out oem.key 2>/dev/null
	openssl pkey -in oem.key -pubout -out oem.pub
	cat > events.yaml <<-YAML
	events:
	  - pcr: 16
	    file: Image2
	  - pcr: 7
	    file: board.dtb
	YAML
	run -0 sk measure predict --from events.yaml --sign-key oem.key --out v2.yaml
	run -0 sk --json store reseal --golden v2.yaml --pubkey oem.pub
	[ "$output" = '{"ok":true,"store":"'"$SECKIT_STORE"'","master_key":"tpm2-pcrs","golden":"v2.yaml","tpm2_pcrs":{"bank":"sha256","pcrs":[7,16]}}' ]
	sk_fails 7 "store read: store '$SECKIT_STORE': unsealing the master key: sealed to a predicted value of PCR 7, which it does not hold: not measured yet, or another image" store read s
	restart_tpm
	run -0 measure extend --pcr 16 Image2
	# PCR 16 reached, PCR 7 not yet.
	sk_fails 7 "store read: store '$SECKIT_STORE': unsealing the master key: sealed to a predicted value of PCR 7, which it does not hold: not measured yet, or another image" store read s
	run -0 measure extend --pcr 7 board.dtb
	run -0 sk store read s --out got
	run -0 cmp secret got
	# The signed file without --pubkey: its values, the authorization unused.
	run -0 sk store reseal --golden v2.yaml
	run -0 sk store read s --out got2
	run -0 cmp secret got2
}

@test "store reseal --golden: refused (other PCRs or bank 3, edited file 3, unsigned or another signer 7, usage 2); master.key byte-identical" {
	restart_tpm
	mk_config 16
	run -0 sk store write s --in secret
	cp "$SECKIT_STORE/master.key" before
	run -0 sk measure predict --pcr 23 Image2 --out pcr23.yaml
	sk_fails 3 "store reseal: pcr23.yaml: golden values of PCRs 23, but the config seals the master key to PCRs 16" store reseal --golden pcr23.yaml
	run -0 cmp before "$SECKIT_STORE/master.key"
	run -0 sk measure predict --pcr 16 Image2 --bank sha1 --out sha1.yaml
	sk_fails 3 "store reseal: sha1.yaml: golden values of bank sha1, but the config seals the master key in bank sha256" store reseal --golden sha1.yaml
	run -0 cmp before "$SECKIT_STORE/master.key"
	# A value edited by hand: the composite no longer follows (line and column).
	run -0 sk measure predict --pcr 16 Image2 --out v2.yaml
	sed 's/^\(    value: \)./\1f/; s/^\(    value: \)ff/\1ee/' v2.yaml > edited.yaml
	run -1 cmp v2.yaml edited.yaml
	sk_fails 3 "store reseal: edited.yaml:" store reseal --golden edited.yaml
	[[ "$stderr" == *"composite does not match the PCR values above" ]]
	run -0 cmp before "$SECKIT_STORE/master.key"
	printf 'pcrs: [' > cut.yaml
	sk_fails 3 "store reseal: cut.yaml:" store reseal --golden cut.yaml
	sk_fails 1 "store reseal: " store reseal --golden nosuch.yaml
	run -0 cmp before "$SECKIT_STORE/master.key"
	# --pubkey: an unsigned prediction, another key's, an edited signed one.
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out oem.key 2>/dev/null
	openssl pkey -in oem.key -pubout -out oem.pub
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key 2>/dev/null
	sk_fails 7 "store reseal: v2.yaml: not signed" store reseal --golden v2.yaml --pubkey oem.pub
	run -0 sk measure predict --pcr 16 Image2 --sign-key other.key --out other.yaml
	sk_fails 7 "store reseal: other.yaml: the signature is not the OEM key's over these golden values" store reseal --golden other.yaml --pubkey oem.pub
	run -0 sk measure predict --pcr 16 Image --sign-key oem.key --out v1s.yaml
	run -0 sk measure predict --pcr 16 Image2 --out v2u.yaml
	# v2's values and policy under v1's authorization: a valid file whose
	# signature approves other values.
	{ sed -n '/^authorization:/q;p' v2u.yaml; sed -n '/^# TPM2_PolicyAuthorize/,$p' v1s.yaml; } > swapped.yaml
	sk_fails 7 "store reseal: swapped.yaml: the signature is not the OEM key's over these golden values" store reseal --golden swapped.yaml --pubkey oem.pub
	run -0 cmp before "$SECKIT_STORE/master.key"
	sk_fails 2 "store reseal: " store reseal --pubkey oem.pub
	# A config that seals to no PCRs, or keeps the key in a file.
	mk_config ""
	sk_fails 3 "store reseal: $SECKIT_CONFIG: master-key: the config seals the master key to no PCRs" store reseal --golden v2.yaml
	run -0 cmp before "$SECKIT_STORE/master.key"
	# The store opens as before.
	mk_config 16
	run -0 sk store read s --out got
	run -0 cmp secret got
}
