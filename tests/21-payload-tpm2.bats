#!/usr/bin/env bats
# seckit payload with keys in a TPM (swtpm): the package is signed inside
# the TPM through the backend, and checked by seckit and by the openssl-only
# verify recipe of docs/formats/payload.md.

load helper
load tpm

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
	export SECKIT_BACKEND=tpm2 SECKIT_TCTI="$SWTPM_TCTI" TPM2TOOLS_TCTI="$SWTPM_TCTI"
	head -c 100000 /dev/urandom > fw.bin
}

teardown() {
	assert_no_transient_handles
}

verify_recipe() {
	awk '/^```sh$/ { getline l; if (l == "# recipe: payload-verify") { on = 1; next } }
		on && /^```$/ { on = 0 } on' "$SECKIT_SRC/docs/formats/payload.md" > verify.sh
	PKG=$1 PUB=$2 OUT=$3 sh verify.sh
}

@test "tpm2: payload packages signed in the TPM (EC P-256/P-384, RSA PKCS#1 and PSS)" {
	for type in ec-p256 ec-p384 rsa-2048; do
		run -0 sk key create "k-$type" --type "$type"
	done
	for spec in ec-p256:sha256: ec-p384:sha384: rsa-2048:sha256: rsa-2048:sha384:--pss; do
		type=${spec%%:*} rest=${spec#*:} md=${rest%%:*} pss=${rest#*:}
		run -0 sk key export "k-$type" --out k.pub
		# shellcheck disable=SC2086
		run -0 sk payload make --key "k-$type" --digest "$md" $pss --in fw.bin --out fw.pkg
		run -0 sk payload verify --key "k-$type" --in fw.pkg --out got.bin
		cmp fw.bin got.bin
		run -0 sk payload verify --pubkey k.pub --in fw.pkg
		verify_recipe fw.pkg k.pub o.bin > /dev/null
		cmp fw.bin o.bin
		rm -f fw.pkg got.bin o.bin
	done
}

@test "tpm2: a TPM key cannot sign md5 packages; a tampered package is 7" {
	run -0 sk key create k --type ec-p256
	run -6 sk payload make --key k --digest md5 --insecure --in fw.bin --out m.pkg
	assert_absent m.pkg
	run -0 sk payload make --key k --in fw.bin --out fw.pkg
	python3 -c 'd=bytearray(open("fw.pkg","rb").read()); d[50000]^=0x10; open("bad.pkg","wb").write(d)'
	run -7 --separate-stderr sk payload verify --key k --in bad.pkg --out got.bin
	assert_one_error_line "seckit payload verify: bad signature"
	assert_absent got.bin
}
