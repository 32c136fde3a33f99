# shellcheck shell=bash
# Fixtures for the opaque-key and oo tests (tests/5x-*.bats).  Keys come
# from the openssl command line, so what seckit reads was made by a tool
# we did not write.  Everything happens in the current (per-test) directory.

# An EC key pair NAME.pem / NAME.pub on CURVE (default P-256).
mk_ec() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:"${2:-P-256}" -out "$1.pem" 2>/dev/null &&
		openssl pkey -in "$1.pem" -pubout -out "$1.pub"
}

# The OEM: oem.pem signs (off-device); its public half is provisioned as the
# oem-root key of the device store.
mk_oem() {
	mk_ec oem "${1:-P-256}" && sk key import oem-root --in oem.pub --provisioned >/dev/null
}

# A device: its key generated in the store ($SECKIT_STORE) as "device", the
# public half exported to dev.pub (what the OEM server gets).
mk_device() {
	sk key create device --type "${1:-ec-p256}" >/dev/null && sk key export device --out dev.pub
}

# A fresh store and no device key: on pkcs11 the token, not the store,
# holds the keys, so removing the store leaves the device key behind.
reset_device() {
	sk key delete device > /dev/null 2>&1 || true
	rm -rf "$SECKIT_STORE"
}

# A device whose private key is also known to openssl (dev.pem), for the
# openssl-only recipes: made by openssl, imported into the store.
mk_device_openssl() {
	mk_ec dev "${1:-P-256}" && sk key import device --in dev.pem >/dev/null
}

# Run seckit as a second device with its own store STORE2 (created on first
# use, with the same OEM root and its own device key, exported to dev2.pub).
# (On the backend matrix's pkcs11 passes the second device has its own
# token: tests/backend.bash backend_device2_env.)
sk2() {
	local out
	local -a env=()
	out=$(backend_device2_env) || return 1
	[ -z "$out" ] || mapfile -t env <<< "$out"
	env "${env[@]}" SECKIT_STORE="$BATS_TEST_TMPDIR/store2" "$SECKIT" "$@"
}
mk_device2() {
	sk2 key import oem-root --in oem.pub --provisioned >/dev/null &&
		sk2 key create device --type "${1:-ec-p256}" >/dev/null &&
		sk2 key export device --out dev2.pub
}

# The fenced block of docs/formats/PAGE.md that starts "# recipe: NAME".
recipe() {
	awk -v name="# recipe: $2" '
		/^```/ { if (on) exit; next }
		$0 == name { on = 1 }
		on { print }' "$SECKIT_SRC/docs/formats/$1.md"
}

# Write one file per single-bit flip of FILE into DIR (flip-<byte>-<bit>).
flip_all() {
	python3 - "$1" "$2" <<-'EOF'
	import os, sys
	data = open(sys.argv[1], "rb").read()
	os.makedirs(sys.argv[2], exist_ok=True)
	for i in range(len(data)):
	    for b in range(8):
	        d = bytearray(data)
	        d[i] ^= 1 << b
	        with open(os.path.join(sys.argv[2], "flip-%d-%d" % (i, b)), "wb") as f:
	            f.write(d)
	EOF
}

# Hex of a file (or stdin).
hexof() {
	od -An -v -tx1 "$@" | tr -d ' \n'
}

# sk_device_agrees SK VERB... : a command that agrees a key with the device
# key (opaque-key import, oo open) run with sk or sk2.  Succeeds where the
# backend can (backend_has ecdh, and import for opaque-key import);
# elsewhere (tpm2-pkcs11: no CKM_ECDH1_DERIVE) it is refused with exit 6,
# one error line naming the missing mechanism, before anything is stored.
sk_device_agrees() {
	if backend_has ecdh && { [ "$2" != opaque-key ] || backend_has import; }; then
		run -0 "$@"
		return
	fi
	run -6 --separate-stderr "$@"
	assert_one_error_line "seckit $2 $3: "
	# shellcheck disable=SC2154 # $stderr is set by bats' run --separate-stderr
	case $stderr in
	*CKM_ECDH1_DERIVE*) ;;
	*)
		echo "exit 6 without naming CKM_ECDH1_DERIVE: $stderr" >&2
		return 1
		;;
	esac
}
