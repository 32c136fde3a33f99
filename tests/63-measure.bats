#!/usr/bin/env bats
# seckit measure against swtpm, cross-checked with tpm2-tools and openssl:
# extends equal tpm2_pcrread and the host's arithmetic, predict equals
# what the TPM reaches, the NV index opens under tpm2-tools' PolicyPCR
# session, and the starter kit's hand-typed flow reaches the same verdicts.

load helper
load tpm

IDX=0x01500016

setup_file() {
	require swtpm tpm2_getcap
	# One simulator: the tests of this file take turns on its PCRs.
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_swtpm "$BATS_FILE_TMPDIR/tpm"
}

teardown_file() {
	stop_swtpm
}

setup() {
	common_setup
	export SECKIT_TCTI="$SWTPM_TCTI" TPM2TOOLS_TCTI="$SWTPM_TCTI"
	# PCRs 16 and 23 are resettable from locality 0: every test starts
	# from their reset value and without the NV indices.
	tpm2_pcrreset 16 >/dev/null
	tpm2_pcrreset 23 >/dev/null
	tpm2_nvundefine "$IDX" >/dev/null 2>&1 || true
	tpm2_nvundefine 0x01500017 >/dev/null 2>&1 || true
	echo "kernel image v1" > Image
	echo "device tree" > board.dtb
	echo "initramfs" > initrd
}

teardown() {
	evict_sealed_master_keys
	stop_tpm_proxy
	assert_no_transient_handles
	assert_no_sessions
}

# The value of a PCR as tpm2_pcrread prints it, lower-case hex.
pcr_tools() {
	tpm2_pcrread "$1:$2" | awk -v p="$2" '$1 == p":" { print tolower(substr($2, 3)) }'
}

# H(H(...H(0 || H(f1)) ...) || H(fn)) with openssl: the PCR after
# extending the files from zero (alg file...).
pcr_host() {
	local alg=$1 f v
	shift
	v=$(head -c "$(openssl dgst -"$alg" -binary /dev/null | wc -c)" /dev/zero | xxd -p | tr -d '\n')
	for f in "$@"; do
		v=$( { printf '%s' "$v" | xxd -r -p; openssl dgst -"$alg" -binary "$f"; } |
			openssl dgst -"$alg" -binary | xxd -p | tr -d '\n')
	done
	echo "$v"
}

# tpm2_createpolicy --policy-pcr -l SEL -L FILE [-f PCRS]: tpm2-tools 5.x
# leaves its trial session loaded; flush it (swtpm holds three).
createpolicy() {
	tpm2_createpolicy --policy-pcr "$@" >/dev/null
	tpm2_flushcontext -l
}

# TPM2_PCR_Extend commands (code 0x182) in a proxy log.
extend_commands() {
	python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
n = 0
while len(b) >= 10:
    _, size, code = struct.unpack(">HII", b[:10])
    n += code == 0x182
    b = b[size:]
print(n)
PY
}

@test "measure extend: PCRs equal tpm2_pcrread and the host's arithmetic, in every bank, one command per file" {
	require openssl xxd python3
	start_tpm_proxy --log "$BATS_TEST_TMPDIR/cmds"
	SECKIT_TCTI=$PROXY_TCTI run -0 sk measure extend --pcr 16 --bank sha1,sha256,sha384 Image board.dtb
	[ -z "$output" ]
	run -0 extend_commands "$BATS_TEST_TMPDIR/cmds"
	[ "$output" = 2 ]
	for alg in sha1 sha256 sha384; do
		[ "$(pcr_tools "$alg" 16)" = "$(pcr_host "$alg" Image board.dtb)" ]
	done
	run -0 sk measure read --pcr 16 --bank sha256
	[ "$output" = "sha256:16 $(pcr_tools sha256 16)" ]
	# stdin and a digest computed elsewhere
	run -0 sk measure extend --pcr 23 - < Image
	run -0 sk measure extend --pcr 23 --digest "$(openssl dgst -sha256 -r board.dtb | cut -c1-64)"
	[ "$(pcr_tools sha256 23)" = "$(pcr_host sha256 Image board.dtb)" ]
	# sha1 untouched by a sha256-only extend
	[ "$(pcr_tools sha1 23)" = 0000000000000000000000000000000000000000 ]
}

@test "measure read: every bank and PCR, --json" {
	run -0 sk measure extend --pcr 16 Image
	run -0 sk measure read
	[ "${#lines[@]}" -eq $((24 * $(tpm2_getcap pcrs | grep -c ': \['))) ]
	[[ "$output" == *"sha256:16 $(pcr_tools sha256 16)"* ]]
	run -0 sk measure read --pcr 16,23 --bank sha256 --json
	[[ "$output" == *'{"pcr":16,"bank":"sha256","value":"'"$(pcr_tools sha256 16)"'"}'* ]]
	[[ "$output" == *'{"pcr":23,"bank":"sha256","value":"'"$(pcr_tools sha256 23)"'"}'* ]]
}

@test "measure predict: equals what the TPM reached after the same extends (files, --from with files and digests)" {
	run -0 sk measure predict --pcr 16 Image board.dtb initrd --out golden.yaml
	run -0 sk measure extend --pcr 16 --bank sha256,sha384 Image board.dtb initrd
	run -0 grep -c "value: $(pcr_tools sha256 16)" golden.yaml
	run -0 sk measure predict --pcr 16 --bank sha384 Image board.dtb initrd --json
	[[ "$output" == *'"bank":"sha384","value":"'"$(pcr_tools sha384 16)"'"'* ]]
	mkdir img
	cp Image initrd img/
	cat > img/events.yaml <<-EOF
	events:
	  - pcr: 23
	    file: Image
	    description: kernel
	  - pcr: 16
	    file: Image
	  - pcr: 23
	    digest: $(openssl dgst -sha256 -r board.dtb | cut -c1-64)
	  - pcr: 23
	    file: initrd
	EOF
	run -0 sk measure predict --from img/events.yaml --out img.yaml
	tpm2_pcrreset 16 >/dev/null
	run -0 sk measure extend --pcr 23 Image board.dtb initrd
	run -0 sk measure extend --pcr 16 Image
	run -0 grep -c "value: $(pcr_tools sha256 23)" img.yaml
	run -0 grep -c "value: $(pcr_tools sha256 16)" img.yaml
	# The policy digest equals tpm2_createpolicy's over the same values.
	createpolicy -l sha256:16,23 -L pol.bin
	run -0 grep -c "^policy: $(xxd -p pol.bin | tr -d '\n')$" img.yaml
}

@test "measure log: the events; --verify replays them, and names a PCR extended outside the log" {
	run -0 sk measure extend --pcr 16 --bank sha1,sha256 Image board.dtb
	run -0 sk measure extend --pcr 23 --description "the initramfs" initrd
	run -0 sk measure log
	[[ "${lines[0]}" == "# boot: reset count "* ]]
	[[ "$output" == *"pcr 16  "*"  Image"* ]]
	[[ "$output" == *"pcr 23  "*"  the initramfs"* ]]
	[[ "$output" == *"  sha256  $(openssl dgst -sha256 -r board.dtb | cut -c1-64)"* ]]
	run -0 sk measure log --verify
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = "sha1:16 matches $(pcr_tools sha1 16)" ]
	[ "${lines[2]}" = "sha256:23 matches $(pcr_tools sha256 23)" ]
	run -0 sk measure log --verify --json
	[[ "$output" == *'"verified":true'* ]]
	[[ "$output" == *'"description":"the initramfs"'* ]]
	# A PCR others extend is not compared; one of the log is, exactly.
	tpm2_pcrextend 15:sha256=0000000000000000000000000000000000000000000000000000000000000001
	run -0 sk measure log --verify
	tpm2_pcrextend 23:sha256=0000000000000000000000000000000000000000000000000000000000000001
	run -7 --separate-stderr sk measure log --verify
	assert_one_error_line "seckit measure log: PCR 23 (sha256) does not match the event log"
	[ "${lines[2]}" = "sha256:23 DIFFERS $(pcr_tools sha256 23)" ]
	run -7 sk measure log --verify --json
	[[ "$output" == *'"verified":false'* ]]
}

@test "measure seal + verify: the index opens under tpm2-tools' PolicyPCR session; a changed PCR is exit 7, named" {
	run -0 sk measure extend --pcr 16 Image
	run -0 sk measure seal --pcr 16,23
	run -0 sk measure verify --pcr 16,23
	[ -z "$output" ]
	run -0 sk -v measure verify --pcr 16,23
	[ "$output" = "PCR 16,23 (sha256) match the golden values of NV index $IDX" ]
	# authPolicy = tpm2_createpolicy --policy-pcr over the current values
	createpolicy -l sha256:16,23 -L pol.bin
	run -0 tpm2_nvreadpublic "$IDX"
	[[ "$output" == *"authorization policy: $(xxd -p pol.bin | tr -d '\n' | tr a-f A-F)"* ]]
	[[ "$output" == *"friendly: ownerwrite|policyread|no_da|written"* ]]
	# read back with tpm2-tools under the PCR policy: the golden values
	tpm2_startauthsession --policy-session -S s.ctx
	tpm2_policypcr -S s.ctx -l sha256:16,23 >/dev/null
	tpm2_nvread "$IDX" -P session:s.ctx -o nv.bin 2>/dev/null
	tpm2_flushcontext s.ctx
	run -0 xxd -p -c 1000 nv.bin
	[[ "$output" == "534b4756"*"$(pcr_tools sha256 16)$(pcr_tools sha256 23)"* ]]
	# no other way to read it
	run ! tpm2_nvread "$IDX" -C o
	# PCR 23 changes: verify names it, and tpm2-tools cannot read either
	run -0 sk measure extend --pcr 23 board.dtb
	sk_fails 7 "measure verify: PCR 23 (sha256) changed: it differs from the golden value in NV index $IDX" measure verify --pcr 16,23
	run -7 sk measure verify --pcr 16,23 --json
	[[ "$output" == *'"match":false,"changed_pcr":23'* ]]
	tpm2_startauthsession --policy-session -S s.ctx
	tpm2_policypcr -S s.ctx -l sha256:16,23 >/dev/null
	run ! tpm2_nvread "$IDX" -P session:s.ctx -o nv2.bin
	tpm2_flushcontext s.ctx
	# without the store's copy, the PCR cannot be named unless it is the only one
	rm -rf "$SECKIT_STORE"
	sk_fails 7 "measure verify: the PCR policy of NV index $IDX is not satisfied: PCR 16,23 (sha256) do not hold the golden values" measure verify --pcr 16,23
	assert_absent "$SECKIT_STORE"
}

@test "measure seal --golden: predicted values sealed before the PCRs reach them; verify passes once they do" {
	run -0 sk measure predict --pcr 16 Image board.dtb --out golden.yaml
	run -0 sk measure seal --pcr 16 --golden golden.yaml
	sk_fails 7 "measure verify: PCR 16 (sha256) changed" measure verify --pcr 16
	run -0 sk measure extend --pcr 16 Image board.dtb
	run -0 sk measure verify --pcr 16
	# tpm2-tools agree: the index opens now
	tpm2_startauthsession --policy-session -S s.ctx
	tpm2_policypcr -S s.ctx -l sha256:16 >/dev/null
	tpm2_nvread "$IDX" -P session:s.ctx -o nv.bin 2>/dev/null
	tpm2_flushcontext s.ctx
	run -0 xxd -p -c 1000 nv.bin
	[[ "$output" == *"$(pcr_tools sha256 16)"* ]]
	# a golden file of other PCRs, or edited by hand
	sk_fails 3 "measure seal: golden.yaml: golden values of PCR 16 (sha256), not of PCR 16,23" measure seal --pcr 16,23 --golden golden.yaml --force
	sed -i 's/^\(    value: \)./\10/; s/^\(    value: \)00/\111/' golden.yaml
	sk_fails 3 "measure seal: golden.yaml:" measure seal --pcr 16 --golden golden.yaml --force
	[[ "$stderr" == *"composite does not match the PCR values above"* ]]
	# the index is unchanged by the refused calls
	run -0 sk measure verify --pcr 16
}

@test "measure: the starter kit's tpm2-tools flow and seckit's reach the same verdicts" {
	require openssl cmp
	# The kit, as its guide types it (index 0x01500017 beside seckit's).
	kit_seal() {
		tpm2_pcrextend "16:sha256=$(openssl dgst -sha256 -r Image | cut -c1-64)"
		tpm2_pcrread sha256:16 -o origin.bin >/dev/null
		createpolicy -l sha256:16 -f origin.bin -L pol.bin
		tpm2_nvdefine 0x01500017 -C o -s 32 -L pol.bin -a "policyread|policywrite" >/dev/null
		tpm2_nvwrite 0x01500017 -P pcr:sha256:16 -i origin.bin
	}
	kit_verify() {
		tpm2_pcrextend "16:sha256=$(openssl dgst -sha256 -r Image | cut -c1-64)"
		tpm2_pcrread sha256:16 -o measured.bin >/dev/null
		tpm2_nvread 0x01500017 -P pcr:sha256:16 -o stored.bin 2>/dev/null || return 1
		cmp measured.bin stored.bin
	}
	kit_seal
	run -0 sk measure seal --pcr 16
	# reboot with the same kernel
	tpm2_pcrreset 16 >/dev/null
	run -0 kit_verify
	tpm2_pcrreset 16 >/dev/null
	run -0 sk measure extend --pcr 16 Image
	run -0 sk measure verify --pcr 16
	# reboot with another kernel
	echo "kernel image v2" > Image
	tpm2_pcrreset 16 >/dev/null
	run -1 kit_verify
	tpm2_pcrreset 16 >/dev/null
	run -0 sk measure extend --pcr 16 Image
	run -7 sk measure verify --pcr 16
	# the kit's index is not seckit's: refused, not misread
	echo "kernel image v1" > Image
	tpm2_pcrreset 16 >/dev/null
	run -0 sk measure extend --pcr 16 Image
	sk_fails 7 "measure verify: NV index 0x01500017 does not hold seckit golden PCR values" measure verify --pcr 16 --index 0x01500017
}

@test "measure: bad input -- no TPM, bank the TPM lacks, bad digest, PCR out of range, index defined, no index" {
	local dead
	dead="swtpm:host=127.0.0.1,port=$(free_port_pair)"
	SECKIT_TCTI=$dead sk_fails 4 "measure extend: tpm2: no TPM reachable through TCTI '$dead'" measure extend --pcr 16 Image
	SECKIT_TCTI=$dead sk_fails 4 "measure verify: tpm2: no TPM reachable through TCTI '$dead'" measure verify --pcr 16
	# sm3_256: swtpm has no such bank; nothing extended in any bank
	sk_fails 6 "measure extend: tpm2: the TPM has no sm3_256 PCR bank" measure extend --pcr 16 --bank sha256,sm3_256 Image
	[ "$(pcr_tools sha256 16)" = "$(pcr_host sha256)" ]
	sk_fails 6 "measure seal: tpm2: the TPM has no sm3_256 PCR bank" measure seal --pcr 16 --bank sm3_256
	run ! tpm2_nvreadpublic "$IDX"
	sk_fails 2 "measure extend: --digest: expected 64 hex digits (a sha256 digest)" measure extend --pcr 16 --digest abcd
	sk_fails 2 "measure extend: --digest: expected 64 hex digits" measure extend --pcr 16 --digest "$(printf 'g%.0s' $(seq 64))"
	sk_fails 2 "measure extend: PCR 24 out of range (a TPM has PCRs 0 to 23)" measure extend --pcr 24 Image
	sk_fails 2 "measure seal: bad PCR list ''" measure seal --pcr ''
	sk_fails 2 "measure extend: unknown PCR bank 'md5'" measure extend --pcr 16 --bank md5 Image
	sk_fails 2 "measure verify: bad NV index '0x81000001'" measure verify --pcr 16 --index 0x81000001
	sk_fails 6 "measure extend: tpm2: PCR 17 cannot be extended from this locality" measure extend --pcr 17 Image
	sk_fails 1 "measure extend: " measure extend --pcr 16 Image nosuch
	[ "$(pcr_tools sha256 16)" = "$(pcr_host sha256)" ]
	run -0 sk measure log
	[ -z "$output" ]
	sk_fails 8 "measure verify: NV index $IDX is not defined in the TPM" measure verify --pcr 16
	run -0 sk measure seal --pcr 16
	sk_fails 9 "measure seal: NV index $IDX is already defined (--force replaces it)" measure seal --pcr 16
	run -0 sk measure extend --pcr 16 Image
	run -7 sk measure verify --pcr 16
	run -0 sk measure seal --pcr 16 --force
	run -0 sk measure verify --pcr 16
}

@test "measure extend: a 4 GiB file through a pipe, in constant memory" {
	require /usr/bin/time
	truncate -s 4G big
	/usr/bin/time -f %M -o rss0 "$SECKIT" measure extend --pcr 23 Image
	tpm2_pcrreset 23 >/dev/null
	cat big | /usr/bin/time -f %M -o rss "$SECKIT" measure extend --pcr 23 -
	echo "peak RSS: small file $(cat rss0) KiB, 4 GiB pipe $(cat rss) KiB" >&3
	[ "$(cat rss)" -lt $(($(cat rss0) + 16384)) ]
	run -0 sk measure predict --pcr 23 -- big
	[[ "$output" == *"value: $(pcr_tools sha256 23)"* ]]
}

@test "contrib/measured-boot: measures at boot, seals on first boot when asked, and fails a changed kernel" {
	local mb="$SECKIT_SRC/contrib/measured-boot/seckit-measured-boot.sh"
	mkdir boot
	cp Image board.dtb boot/
	cat > mb.conf <<-EOF
	MB_PCR=16
	MB_FILES="$PWD/boot/Image $PWD/boot/*.dtb $PWD/boot/initramfs*"
	MB_SEAL_FIRST_BOOT=no
	EOF
	export MB_CONFIG=$PWD/mb.conf
	# no golden value yet
	SECKIT=$SECKIT run -8 "$mb"
	[[ "$output" == *"no golden value in NV index $IDX"* ]]
	# first boot, trust on first use
	tpm2_pcrreset 16 >/dev/null
	echo MB_SEAL_FIRST_BOOT=yes >> mb.conf
	SECKIT=$SECKIT run -0 "$mb"
	[ "$(pcr_tools sha256 16)" = "$(pcr_host sha256 boot/Image boot/board.dtb)" ]
	# next boot, same images
	tpm2_pcrreset 16 >/dev/null
	SECKIT=$SECKIT run -0 "$mb"
	[ -z "$output" ]
	# a boot with another kernel
	echo "kernel image v2" > boot/Image
	tpm2_pcrreset 16 >/dev/null
	SECKIT=$SECKIT run -7 "$mb"
	[[ "$output" == *"seckit measure verify: PCR 16 (sha256) changed"* ]]
	[[ "$output" == *"the platform changed: PCR 16 differs from the golden value in NV index $IDX"* ]]
	echo MB_ON_MISMATCH=warn >> mb.conf
	tpm2_pcrreset 16 >/dev/null
	SECKIT=$SECKIT run -0 "$mb"
	[[ "$output" == *"the platform changed"* ]]
}
