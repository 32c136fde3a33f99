# shellcheck shell=bash
# PKI fixtures for the trust tests (tests/4x-*.bats), made with the openssl
# command line only, so that what seckit checks was built by a tool we did
# not write.  Every function works in the current (per-test) directory.

# An EC P-256 key pair: NAME.key (PKCS#8) and NAME.pub.
mk_key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null &&
		openssl pkey -in "$1.key" -pubout -out "$1.pub"
}

# A minimal `openssl ca` set-up for issuer NAME (NAME.pem/NAME.key must
# exist), so that tests can pick exact dates and revoke certificates.
ca_dir() {
	local d="ca-$1"
	if [ ! -d "$d" ]; then
		mkdir -p "$d/new"
		: > "$d/index.txt"
		echo 1000 > "$d/serial"
		echo 1000 > "$d/crlnumber"
		cat > "$d/ca.cnf" <<-EOF
		[ ca ]
		default_ca = this
		[ this ]
		dir = $PWD/$d
		database = \$dir/index.txt
		new_certs_dir = \$dir/new
		serial = \$dir/serial
		crlnumber = \$dir/crlnumber
		default_md = sha256
		default_crl_days = 30
		policy = any
		unique_subject = no
		copy_extensions = copy
		[ any ]
		commonName = supplied
		[ leaf ]
		basicConstraints = critical,CA:FALSE
		keyUsage = critical,digitalSignature,keyAgreement
		extendedKeyUsage = clientAuth,serverAuth
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
		[ ca_ext ]
		basicConstraints = critical,CA:TRUE
		keyUsage = critical,keyCertSign,cRLSign
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
		[ signer ]
		basicConstraints = critical,CA:FALSE
		keyUsage = critical,digitalSignature
		extendedKeyUsage = codeSigning
		[ anyeku ]
		basicConstraints = critical,CA:FALSE
		extendedKeyUsage = anyExtendedKeyUsage
		[ bare ]
		basicConstraints = critical,CA:FALSE
		[ kuenc ]
		basicConstraints = critical,CA:FALSE
		keyUsage = critical,keyEncipherment
		[ ca_tls ]
		basicConstraints = critical,CA:TRUE
		keyUsage = critical,keyCertSign,cRLSign
		extendedKeyUsage = serverAuth
		EOF
	fi
	echo "$d"
}

# openssl_ca ISSUER CSR OUT EXT [START END]: sign CSR with `openssl ca`
# (dates as YYYYMMDDHHMMSSZ; default: now for 30 days).
openssl_ca() {
	local d dates=(-days 30)
	d=$(ca_dir "$1")
	[ $# -ge 6 ] && dates=(-startdate "$5" -enddate "$6")
	openssl ca -batch -notext -config "$d/ca.cnf" -cert "$1.pem" -keyfile "$1.key" \
		-in "$2" -out "$3" -extensions "$4" "${dates[@]}" 2>/dev/null
}

# mk_root NAME [START END]: a self-signed EC CA, NAME.pem and NAME.key.
mk_root() {
	mk_key "$1" || return 1
	if [ $# -ge 3 ]; then
		local d
		d=$(ca_dir "$1")
		openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" &&
			openssl ca -batch -notext -selfsign -config "$d/ca.cnf" -keyfile "$1.key" \
				-in "$1.csr" -out "$1.pem" -extensions ca_ext -startdate "$2" -enddate "$3" 2>/dev/null
	else
		openssl req -x509 -new -key "$1.key" -subj "/CN=$1" -days 3650 -out "$1.pem" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign"
	fi
}

# mk_cert NAME ISSUER EXT [START END]: a certificate for a new key NAME
# signed by ISSUER with the extension section EXT (leaf or ca_ext).
mk_cert() {
	mk_key "$1" &&
		openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" &&
		openssl_ca "$2" "$1.csr" "$1.pem" "$3" "${@:4}"
}

# revoke ISSUER CERT: revoke with openssl ca and write ISSUER.crl.pem.
openssl_revoke() {
	local d
	d=$(ca_dir "$1")
	openssl ca -config "$d/ca.cnf" -cert "$1.pem" -keyfile "$1.key" -revoke "$2" 2>/dev/null
}

# openssl_crl ISSUER: the issuer's current CRL as ISSUER.crl.pem.
openssl_crl() {
	local d
	d=$(ca_dir "$1")
	openssl ca -config "$d/ca.cnf" -cert "$1.pem" -keyfile "$1.key" -gencrl \
		-out "$1.crl.pem" 2>/dev/null
}

# Dates for openssl ca, relative to now: date_z -3d
date_z() {
	date -u -d "$1" +%Y%m%d%H%M%SZ
}

# A store file's content fingerprint: every file with its hash, so that a
# test can show that a run changed nothing.
store_snapshot() {
	(cd "$SECKIT_STORE" && find . -type f ! -name lock -print0 | sort -z | xargs -0 sha256sum)
}

# The OEM's side of manifest.example.yaml: oem/root.pem (+ key), a cloud
# root, an issuing CA under the root, a command key certificate and a
# payload public key.
mk_oem_pki() {
	mkdir -p oem out
	(
		cd oem || exit 1
		mk_root root &&
			mk_root cloud-root &&
			mk_cert issuing-ca root ca_ext &&
			mk_cert command root leaf &&
			mk_key payload
	)
}
