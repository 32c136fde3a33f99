#!/usr/bin/env bats
# A policy that survives updates (TPM2_PolicyAuthorize) against swtpm:
# `measure predict --sign-key` signs the predicted PolicyPCR digest with
# the OEM key, `store write --tpm2-policy-key OEM.pub` seals under
# PolicyAuthorize(OEM key), `store read --policy SIGNED` opens it while the
# PCRs hold the signed values; an update is authorised by a new signature,
# not by sealing again; a prediction unsigned, signed by another key or
# tampered is refused (7).  The signature checks with openssl alone
# (docs/formats/measure.md).

load helper
load tpm

setup_file() {
	require swtpm tpm2_getcap
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_swtpm "$BATS_FILE_TMPDIR/tpm"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$BATS_FILE_TMPDIR/oem.key" 2>/dev/null
	openssl pkey -in "$BATS_FILE_TMPDIR/oem.key" -pubout -out "$BATS_FILE_TMPDIR/oem.pub"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$BATS_FILE_TMPDIR/rogue.key" 2>/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$BATS_FILE_TMPDIR/oemrsa.key" 2>/dev/null
	openssl pkey -in "$BATS_FILE_TMPDIR/oemrsa.key" -pubout -out "$BATS_FILE_TMPDIR/oemrsa.pub"
}

teardown_file() {
	stop_swtpm
}

setup() {
	common_setup
	export SECKIT_BACKEND=tpm2 SECKIT_TCTI="$SWTPM_TCTI" TPM2TOOLS_TCTI="$SWTPM_TCTI"
	cp "$BATS_FILE_TMPDIR"/oem* "$BATS_FILE_TMPDIR/rogue.key" .
	tpm2_pcrreset 16 >/dev/null
	echo "kernel image v1" > Image
	echo "kernel image v2" > Image2
	echo "secret of the device" > secret
}

teardown() {
	evict_sealed_master_keys
	assert_no_transient_handles
	assert_no_sessions
}

# A reboot as far as PCR 16 goes (software can reset it).
reboot() {
	tpm2_pcrreset 16 >/dev/null
}

@test "PolicyAuthorize: seal with the OEM key; an update opens with the OEM's new signature, not a new seal" {
	# OEM side, no TPM: the values the v1 image will reach, signed.
	SECKIT_TCTI=swtpm:host=127.0.0.1,port=1 run -0 sk measure predict --pcr 16 Image --sign-key oem.key --out v1.yaml
	run -0 grep -c '^  signature: "' v1.yaml
	# Device: sealed once, under the OEM's key.
	run -0 sk store write s --tpm2-policy-key oem.pub --in secret
	run -0 sk store info s
	[[ "$output" == *"tpm2-policy-key: $(openssl pkey -pubin -in oem.pub -outform DER | sha256sum | cut -d' ' -f1)"* ]]
	run -0 sk measure extend --pcr 16 Image
	run -0 sk store read s --policy v1.yaml --out got
	run -0 cmp secret got
	# The update: the kernel changes, the old prediction no longer opens it.
	reboot
	run -0 sk measure extend --pcr 16 Image2
	sk_fails 7 "store read: object 's': PCR 16 does not hold the value the signed prediction approves" store read s --policy v1.yaml --out got2
	assert_absent got2
	# The OEM signs the new image's prediction; nothing sealed again.
	SECKIT_TCTI=swtpm:host=127.0.0.1,port=1 run -0 sk measure predict --pcr 16 Image2 --sign-key oem.key --out v2.yaml
	run -0 sk store read s --policy v2.yaml --out got2
	run -0 cmp secret got2
	# A store key signs as well (seckit:NAME).
	run -0 sk --backend soft key import oemk --in oem.key
	run -0 sk --backend soft measure predict --pcr 16 Image2 --sign-key seckit:oemk --out v2k.yaml
	run -0 sk store read s --policy v2k.yaml --out got3
	run -0 cmp secret got3
}

@test "PolicyAuthorize: unsigned, another key's and tampered predictions are refused (7)" {
	run -0 sk store write s --tpm2-policy-key oem.pub --in secret
	run -0 sk measure extend --pcr 16 Image
	sk_fails 7 "store read: object 's' is sealed under the OEM's policy: it opens only with a prediction the OEM signed" store read s --out got
	run -0 sk measure predict --pcr 16 Image --out plain.yaml
	sk_fails 7 "store read: plain.yaml: not signed" store read s --policy plain.yaml --out got
	run -0 sk measure predict --pcr 16 Image --sign-key rogue.key --out rogue.yaml
	sk_fails 7 "store read: object 's': tpm2: the prediction's signature does not verify with the OEM key" store read s --policy rogue.yaml --out got
	# The OEM's signature moved onto other values (and their composite
	# and policy, so that the file is consistent): the TPM refuses it.
	run -0 sk measure predict --pcr 16 Image --sign-key oem.key --out good.yaml
	run -0 sk measure predict --pcr 16 Image2 --out other.yaml
	{ cat other.yaml; sed -n '/^# TPM2_PolicyAuthorize/,$p' good.yaml; } > moved.yaml
	sk_fails 7 "store read: object 's': tpm2: the prediction's signature does not verify with the OEM key" store read s --policy moved.yaml --out got
	# One value changed by hand: it does not follow from the file's own
	# composite.
	sed 's/^\(    value: \)./\1f/' good.yaml > edited.yaml
	run -0 bash -c "! cmp -s good.yaml edited.yaml"
	sk_fails 7 "store read: edited.yaml" store read s --policy edited.yaml --out got
	# A signature cut short.
	sed 's/^\(  signature: "\)..../\1/' good.yaml > short.yaml
	sk_fails 7 "store read: object 's': " store read s --policy short.yaml --out got
	assert_absent got
	run -0 sk store read s --policy good.yaml --out got
	run -0 cmp secret got
}

@test "PolicyAuthorize: an RSA OEM key; the soft backend cannot (6); option conflicts (2)" {
	run -0 sk store write r --tpm2-policy-key oemrsa.pub --in secret
	run -0 sk measure predict --pcr 16 Image --sign-key oemrsa.key --out rsa.yaml
	run -0 sk measure extend --pcr 16 Image
	run -0 sk store read r --policy rsa.yaml --out got
	run -0 cmp secret got
	SECKIT_BACKEND=soft sk_fails 6 "store write: object 'x': the soft backend cannot seal under a PCR policy" store write x --tpm2-policy-key oem.pub --in secret
	sk_fails 2 "store write: " store write x --tpm2-policy-key oem.pub --tpm2-pcrs 16 --in secret
	sk_fails 2 "store write: " store write x --tpm2-policy-key oem.pub --pass pass:x --in secret
	sk_fails 8 "store info: " store info x
}

@test "signed prediction: the signature checks with openssl alone (docs/formats/measure.md)" {
	run -0 sk measure predict --pcr 16 Image --sign-key oem.key --out p.yaml
	# The recipe of docs/formats/measure.md, as written there.
	policy=$(sed -n 's/^policy: //p' p.yaml)
	ref=$(sed -n 's/^  policy-ref: "\(.*\)"/\1/p' p.yaml)
	sig=$(sed -n 's/^  signature: "\(.*\)"/\1/p' p.yaml)
	printf '%s%s' "$policy" "$ref" | xxd -r -p > approved.bin
	printf '%s' "$sig" | xxd -r -p > sig.der
	run -0 openssl dgst -sha256 -verify oem.pub -signature sig.der approved.bin
	[ "$output" = "Verified OK" ]
	# The policy is tpm2_createpolicy's PolicyPCR over the signed value.
	run -0 sk measure extend --pcr 16 Image
	tpm2_createpolicy --policy-pcr -l sha256:16 -L pol.bin >/dev/null
	tpm2_flushcontext -l
	[ "$(xxd -p pol.bin | tr -d '\n')" = "$policy" ]
}
