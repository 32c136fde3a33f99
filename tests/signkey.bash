# shellcheck shell=bash
# Every off-device maker signing with a store key by name (seckit(1)
# SIGNING KEYS), each package checked by plain openssl (the recipes of
# docs/formats/) or by the device's own verify verb.  The OEM's store is
# $BATS_TEST_TMPDIR/oem on the backend in $OEM_BACKEND (soft or tpm2); the
# device's store is the test's default store (soft).

# shellcheck source=tests/opaque.bash
. "$(dirname "${BASH_SOURCE[0]}")/opaque.bash"

oem() {
	SECKIT_STORE="$BATS_TEST_TMPDIR/oem" SECKIT_BACKEND="$OEM_BACKEND" "$SECKIT" "$@"
}

# The OEM key oem-sign in the OEM store (created in its backend), its public
# half oem.pub, provisioned as the device's oem-root; the device key is
# dev.pem (known to openssl, for the recipes) imported as "device".
setup_signkey() {
	oem key create oem-sign --type ec-p256 >/dev/null &&
		oem key export oem-sign --out oem.pub &&
		sk key import oem-root --in oem.pub --provisioned >/dev/null &&
		mk_device_openssl P-256
}

# Run a recipe of docs/formats/PAGE.md with the environment given.
run_recipe() {
	recipe "$1" "$2" > "$2.sh"
	shift 2
	env "$@" sh "$2.sh"
}

check_makers_with_store_key() {
	local fpr n
	fpr=$(openssl pkey -pubin -in oem.pub -outform DER | openssl dgst -sha256 -r | cut -c1-64)
	head -c 5000 /dev/urandom > fw.bin
	# payload make --key NAME: payload-verify (openssl)
	run -0 oem payload make --key oem-sign --in fw.bin --out p.pkg
	recipe payload payload-verify > pv.sh
	PKG=p.pkg PUB=oem.pub OUT=p.out sh pv.sh
	cmp p.out fw.bin
	# stp make --key NAME: stp-verify (openssl)
	run -0 oem stp make --key oem-sign --seq 1 --command delete-ca --name old-ca --out s.stp
	recipe stp stp-verify > sv.sh
	run -0 env PKG=s.stp PUB=oem.pub sh sv.sh
	# shellcheck disable=SC2154 # $output is set by bats' run
	[[ "$output" == *"command: delete-ca"* ]]
	# oo id --key NAME, one device and a fleet: ooid-verify (openssl), oo open
	run -0 oem oo make --in fw.bin
	run -0 oem oo id --info fw.bin.oocfg --key oem-sign --device-pub dev.pub --out one.oid
	recipe ooid ooid-verify > ov.sh
	OOID=one.oid OEM=oem.pub DEV=dev.pem sh ov.sh
	run -0 sk oo open --id one.oid --in fw.bin.enc --out one.out
	cmp one.out fw.bin
	printf 'devices:\n' > fleet.yaml
	for i in 1 2 3 4 5 6; do
		printf '  - id: d%s\n    public-key-file: dev.pub\n' "$i" >> fleet.yaml
	done
	run -0 oem oo id --info fw.bin.oocfg --key oem-sign --devices fleet.yaml --out-dir out --jobs 2
	for n in 1 2 3 4 5 6; do
		sk oo open --id "out/d$n.oid" --in fw.bin.enc --out "d$n.out"
		cmp "d$n.out" fw.bin
	done
	# opaque-key make --sign-key seckit:NAME (its --key is the key it sends)
	mk_ec sent
	run -0 oem opaque-key make --name sent --type ec-p256 --key sent.pem --sign-key seckit:oem-sign \
		--device-pub dev.pub --out k.okp
	recipe opaque-key opaque-key-verify > kv.sh
	PKG=k.okp OEM=oem.pub DEV=dev.pem sh kv.sh
	run -0 sk opaque-key import k.okp
	# cert issue --key NAME and --ca-key seckit:NAME: openssl verify
	run -0 oem cert ca create --subject /CN=OEM-CA --key oem-sign --out ca.pem
	openssl req -new -key dev.pem -subj /CN=dev1 -out dev.csr
	run -0 oem cert issue --ca-cert ca.pem --key oem-sign --csr dev.csr --out c1.pem
	run -0 openssl verify -CAfile ca.pem c1.pem
	run -0 oem cert issue --ca-cert ca.pem --ca-key seckit:oem-sign --csr dev.csr --out c2.pem
	run -0 openssl verify -CAfile ca.pem c2.pem
	# every package names the store key as its signer
	run -0 sk --json oo show one.oid
	[[ "$output" == *"$fpr"* ]]
}
