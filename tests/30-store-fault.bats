#!/usr/bin/env bats
# Fault injection over every command that writes state: each I/O call it
# makes in the store (open, write, fsync, rename, link, unlink, mkdir) is
# made to fail in turn by tests/fault/skfault.c, and tests/fault.bash
# checks the contract of docs/formats/store.md ("When a write fails")
# after each one (fault_modes there says which errors; `make stress` tries
# them all, also for good: a disk that stays broken).

load helper
load store
load trust
load fault
load tpm

# The fixtures are made once: a store with data objects, keys and a
# password object; a provisioned device store (42-stp.bats's manifest) with
# the STPs and the opaque key package to apply to it.
setup_file() {
	local d="$BATS_FILE_TMPDIR"
	export HOME="$d/home" LC_ALL=C TZ=UTC
	mkdir -p "$HOME"
	cd "$d" || return 1
	printf 'password-kdf:\n  n: 1024\n  r: 8\n  p: 1\n' > config.yaml
	export SECKIT_CONFIG="$d/config.yaml"

	export SECKIT_STORE="$d/fix-plain"
	echo old-a | sk store write a
	echo old-p | sk store write p --pass pass:pw
	sk key create k1 --type ec-p256
	sk key create gone --type aes-256
	sk key password create pwo --pass pass:pw
	echo new-data > new.txt
	mk_key imp
	# A device certificate for k1 and a CA, for cert import.
	mk_key ca
	sk cert ca create --subject /CN=ca --key-file ca.key --out ca.pem
	sk cert csr --key k1 --subject /CN=k1 --out k1.csr
	sk cert issue --csr k1.csr --ca-cert ca.pem --ca-key ca.key --out k1.pem

	export SECKIT_STORE="$d/fix-prov"
	mk_oem_pki > /dev/null
	cat > m.yaml <<-EOF
	version: 1
	device-key:
	  public-key-out: out/device.pub
	command-key:
	  file: oem/command.pem
	certificates:
	  - name: oem-root
	    file: oem/root.pem
	    key: oem-root
	  - name: cloud-root
	    file: oem/cloud-root.pem
	EOF
	sk provision m.yaml
	# provision's own loop: a smaller manifest than the example (which
	# make stress uses), still with every kind of commit it makes.
	cat > small.yaml <<-EOF
	version: 1
	device-key:
	  public-key-out: out/small.pub
	command-key:
	  file: oem/command.pem
	certificates:
	  - name: oem-root
	    file: oem/root.pem
	    key: oem-root
	ca:
	  - name: acme-issuing
	    file: oem/issuing-ca.pem
	passwords:
	  - name: wifi
	    secret: env:WIFI_PASSPHRASE
	EOF
	(cd oem && mk_cert ca2 root ca_ext && mk_cert leaf ca2 leaf) > /dev/null 2>&1
	sk stp make --sign-key oem/command.key --seq 1 --command add-ca --name ca2 \
		--cert oem/ca2.pem --out add-ca.stp
	sk stp make --sign-key oem/command.key --seq 1 --command set-cert --name cloud-root \
		--cert oem/ca2.pem --out set-cert.stp
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out okey.pem 2> /dev/null
	sk opaque-key make --name ok1 --type ec-p256 --key okey.pem --sign-key oem/root.key \
		--device-pub out/device.pub --out ok1.okp
	cp -a "$SECKIT_STORE" fix-ca
	SECKIT_STORE="$d/fix-ca" sk stp apply add-ca.stp
	cp "$SECKIT_SRC/manifest.example.yaml" example.yaml
	: > "$d/count"
}

# The simulator of a test that started one (measure extend).
teardown() {
	stop_swtpm
}

# The tests of this file may run in parallel: the total is added up last.
teardown_file() {
	local n
	n=$(awk '{ n += $1 } END { print n + 0 }' "$BATS_FILE_TMPDIR/count")
	echo "# faults injected in all: $n" >&3
}

setup() {
	common_setup
	need_fault
	export FAULT_COUNT="$BATS_FILE_TMPDIR/count"
	F="$BATS_FILE_TMPDIR"
	cd "$F" || return 1
}

@test "fault shim: counts and fails the N-th call in the store, nothing outside it" {
	cp -a "$F/fix-plain" "$SECKIT_STORE"
	SKFAULT_DIR="$SECKIT_STORE" SKFAULT_LOG="$BATS_TEST_TMPDIR/log" LD_PRELOAD="$FAULT_LIB" \
		run -0 sk store write x --in "$F/new.txt"
	run -0 grep -c ' rename ' "$BATS_TEST_TMPDIR/log"
	[ "$output" -ge 2 ]
	run -1 grep -v " $SECKIT_STORE" "$BATS_TEST_TMPDIR/log"
	n=$(grep -n ' fsync ' "$BATS_TEST_TMPDIR/log" | head -n 1 | cut -d: -f1)
	SKFAULT_DIR="$SECKIT_STORE" SKFAULT_AT=$n SKFAULT_ERRNO=ENOSPC LD_PRELOAD="$FAULT_LIB" \
		run -1 --separate-stderr sk store write y --in "$F/new.txt"
	assert_one_error_line "seckit store write: "
	[[ "$stderr" == *"No space left on device" ]]
	run -8 sk store read y
}

@test "stp apply: an I/O error after the commit point leaves the whole commit, finished by the next writer" {
	# The calls of a clean run: the journal rename, the fsync after it,
	# the renames of the index buckets after that.
	cp -a "$F/fix-prov" "$BATS_TEST_TMPDIR/count"
	SECKIT_STORE="$BATS_TEST_TMPDIR/count" SKFAULT_DIR="$BATS_TEST_TMPDIR/count" \
		SKFAULT_LOG="$BATS_TEST_TMPDIR/log" LD_PRELOAD="$FAULT_LIB" run -0 sk stp apply "$F/add-ca.stp"
	j=$(grep -n ' rename .* -> .*/journal$' "$BATS_TEST_TMPDIR/log" | cut -d: -f1)
	[ -n "$j" ]
	run -0 sed -n "$((j + 1))p" "$BATS_TEST_TMPDIR/log"
	[[ "$output" == *" fsync $BATS_TEST_TMPDIR/count" ]]
	# Then the bucket renames: as many as buckets the commit touches
	# (the certificates' fingerprints are random, so two objects may
	# share one), every one a rename of a bucket, then the fsync.
	local nb
	nb=$(awk -v s=$((j + 2)) 'NR >= s { if ($0 ~ / rename .*\/tmp\/b\..* -> .*\/idx\./) n++; else exit } END { print n + 0 }' "$BATS_TEST_TMPDIR/log")
	[ "$nb" -ge 1 ]
	run -0 sed -n "$((j + 2)),$((j + 1 + nb))p" "$BATS_TEST_TMPDIR/log"
	for l in "${lines[@]}"; do
		[[ "$l" == *" rename $BATS_TEST_TMPDIR/count/tmp/b."*" -> $BATS_TEST_TMPDIR/count/idx."* ]]
	done
	run -0 sed -n "$((j + 2 + nb))p" "$BATS_TEST_TMPDIR/log"
	[[ "$output" == *" fsync $BATS_TEST_TMPDIR/count" ]]
	# The directory fsync after the journal; each bucket rename, each
	# with those after it.
	for at in $(seq $((j + 1)) $((j + 1 + nb))); do
		rm -rf "$SECKIT_STORE"
		cp -a "$F/fix-prov" "$SECKIT_STORE"
		SKFAULT_DIR="$SECKIT_STORE" SKFAULT_AT=$at SKFAULT_SPAN=3 LD_PRELOAD="$FAULT_LIB" \
			run -1 --separate-stderr sk stp apply "$F/add-ca.stp"
		assert_one_error_line "seckit stp apply: store '$SECKIT_STORE': committed, not finished (the next writer finishes it): "
		[[ "$stderr" == *": Input/output error" ]]
		# The next writer finishes it; everything reads as applied.
		echo x | sk store write next
		run -0 sk --json stp status
		[[ "$output" == *'"last_sequence":1'* ]]
		run -0 sk cert list --ca --names
		[[ "$output" == *ca2* ]]
		run -0 sk cert verify "$F/oem/leaf.pem"
		sk_fails 7 "stp apply: " stp apply "$F/add-ca.stp"
		[[ "$stderr" == *"replay: STP sequence number 1 is not above the last applied (1)" ]]
		run -0 sk store check
		assert_store_clean
	done
}

@test "faults: store write (new, overwrite, password) and store delete" {
	fault_loop "$F/fix-plain" "store write: " store write x --in "$F/new.txt"
	fault_loop --no-reads "$F/fix-plain" "store write: " store write p --pass pass:pw --in "$F/new.txt"
	fault_loop "$F/fix-plain" "store delete: " store delete a
}

@test "faults: measure extend (the event log, written in the commit that follows the TPM extend)" {
	require swtpm tpm2_pcrreset
	start_swtpm "$BATS_TEST_TMPDIR/tpm"
	fault_loop --no-reads "$F/fix-plain" "measure extend: " measure extend --pcr 16 "$F/new.txt"
}

@test "faults: key create, key import, key delete, key password create" {
	fault_loop --no-reads "$F/fix-plain" "key create: " key create k2 --type ec-p256
	fault_loop --no-reads "$F/fix-plain" "key import: " key import k3 --in "$F/imp.key"
	fault_loop --no-reads "$F/fix-plain" "key delete: " key delete gone
	fault_loop --no-reads "$F/fix-plain" "key password create: " key password create pw2 --pass pass:x
}

@test "faults: cert import (a key's own certificate, a CA)" {
	fault_loop --no-reads "$F/fix-plain" "cert import: " cert import k1-cert "$F/k1.pem"
	fault_loop --no-reads "$F/fix-plain" "cert import: " cert import ca "$F/ca.pem"
}

@test "faults: stp apply (a commit across index buckets)" {
	fault_loop --no-reads "$F/fix-prov" "stp apply: " stp apply "$F/add-ca.stp"
	if stress; then
		fault_loop "$F/fix-prov" "stp apply: " stp apply "$F/set-cert.stp"
	fi
}

@test "faults: opaque-key import" {
	fault_loop --no-reads "$F/fix-prov" "opaque-key import: " opaque-key import "$F/ok1.okp"
}

@test "faults: cert verify's clock note (clock: monotonic), a write on the side" {
	require faketime
	printf 'clock: monotonic\n' >> "$SECKIT_CONFIG"
	# Two hours on, the note is due: cert verify writes the clock.
	# This machine's own build (an arm64 one may be installed too, for
	# make check-arm64: faketime itself preloads /usr/$LIB/...).
	FAULT_PRELOAD=$(find "/usr/lib/$(gcc -dumpmachine)" /usr/lib/faketime -name libfaketime.so.1 -print -quit 2>/dev/null)
	[ -n "$FAULT_PRELOAD" ] || skip "libfaketime.so.1 not found"
	export FAULT_PRELOAD FAKETIME=+2h
	fault_loop --best-effort --no-reads "$F/fix-ca" "cert verify: " cert verify "$F/oem/leaf.pem"
}

@test "faults: provision (several commits: a second run completes it)" {
	export WIFI_PASSPHRASE=correct-horse
	if stress; then
		fault_loop --converge "$F/fix-plain" "provision: " provision "$F/example.yaml"
	else
		fault_loop --converge --no-reads --eio "$F/fix-plain" "provision: " provision "$F/small.yaml"
	fi
}

# store reseal writes master.key alone (no object changes, so not
# fault_loop's dump): after each failed call master.key is the old file,
# byte for byte, or the whole new one, which opens the store; the store's
# objects read the same either way and the next writer leaves no debris.
@test "faults: store reseal --golden (master.key replaced whole)" {
	require swtpm tpm2_pcrreset tpm2_pcrextend
	start_swtpm "$BATS_TEST_TMPDIR/tpm"
	export TPM2TOOLS_TCTI="$SWTPM_TCTI"
	tpm2_pcrreset 16 > /dev/null
	tpm2_pcrextend "16:sha256=$(sha256sum "$F/new.txt" | cut -d' ' -f1)"
	# The golden values are the ones PCR 16 holds now, so that a new
	# master.key opens the store in this test.
	sk measure predict --pcr 16 "$F/new.txt" --out "$BATS_TEST_TMPDIR/golden.yaml"
	printf 'password-kdf:\n  n: 1024\n  r: 8\n  p: 1\nmaster-key:\n  protection: tpm2\n  pcrs: 16\n' > "$SECKIT_CONFIG"
	local fix=$F/fix-plain work=$BATS_TEST_TMPDIR/fault log n at mode err span when rc trials=0
	local -a calls
	mkdir -p "$work"
	log=$work/calls.log
	rm -rf "$SECKIT_STORE"
	cp -a "$fix" "$SECKIT_STORE"
	SKFAULT_DIR="$SECKIT_STORE" SKFAULT_LOG="$log" LD_PRELOAD="$FAULT_LIB" \
		run -0 sk store reseal --golden "$BATS_TEST_TMPDIR/golden.yaml"
	# (the store of this first run is not used again: its kept key goes)
	evict_sealed_master_keys
	mapfile -t calls < "$log"
	n=${#calls[@]}
	[ "$n" -gt 0 ]
	run -0 grep -c ' rename .*/tmp/.* -> .*/master.key$' "$log"
	for mode in EIO:1:before ENOSPC:1:before EIO:1:after; do
		IFS=: read -r err span when <<< "$mode"
		for ((at = 1; at <= n; at++)); do
			fault_applies "$mode" "${calls[at - 1]}" || continue
			SECKIT_STORE="$work/s.$mode.$at"
			cp -a "$fix" "$SECKIT_STORE"
			rc=0
			SKFAULT_DIR="$SECKIT_STORE" SKFAULT_AT=$at SKFAULT_ERRNO=$err SKFAULT_SPAN=$span \
				SKFAULT_WHEN=$when LD_PRELOAD="$FAULT_LIB" \
				"$SECKIT" store reseal --golden "$BATS_TEST_TMPDIR/golden.yaml" \
				> "$work/out" 2> "$work/err" < /dev/null || rc=$?
			trials=$((trials + 1))
			echo "# call ${calls[at - 1]} ($mode): exit $rc $(< "$work/err")"
			if [ "$rc" -ne 0 ]; then
				run -0 wc -l < "$work/err"
				[ "$output" = 1 ]
				run -0 grep -c '^seckit store reseal: ' "$work/err"
				[ ! -s "$work/out" ]
			fi
			# The old master.key, untouched, or a whole new one sealed to
			# PCR 16, whose sealed key the TPM keeps (version 2); with the
			# old one, nothing is left in the TPM.
			if ! cmp -s "$fix/master.key" "$SECKIT_STORE/master.key"; then
				run -0 od -An -tu1 -j4 -N2 "$SECKIT_STORE/master.key"
				[ "$(echo $output)" = "2 2" ]
				run -0 store_sealed_handle "$SECKIT_STORE"
				run -0 sealed_master_key_handles
				[ "$output" = "$(store_sealed_handle "$SECKIT_STORE")" ]
			else
				[ "$rc" -ne 0 ]
				run -0 sealed_master_key_handles
				[ -z "$output" ]
			fi
			run -0 sk store read a
			[ "$output" = old-a ]
			run -0 sk store write probe --in "$F/new.txt"
			run -0 sk store check
			assert_store_clean
			evict_sealed_master_keys
		done
	done
	SECKIT_STORE=$work/s
	rm -rf "$work"/s.*
	echo "# store reseal --golden: $n calls, $trials faults injected" >&3
	echo "$trials" >> "$FAULT_COUNT"
}
