#!/usr/bin/env bats
# seckit doctor (issue 14): one line per finding, "ok|warn|fail  CHECK
# detail", exit 7 when a check fails.  Each failure is planted on a
# provisioned device and its line checked.

load helper
load trust
load tpm

setup_file() {
	require openssl
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
}

setup() {
	common_setup
	mk_oem_pki
	cp "$SECKIT_SRC/manifest.example.yaml" m.yaml
	WIFI_PASSPHRASE=correct-horse sk provision m.yaml
}

teardown() {
	stop_swtpm
}

# The line of CHECK in $output (exactly one).
line_of() {
	local n
	n=$(printf '%s\n' "$output" | grep -c "^[a-z]*  $1  ")
	[ "$n" -eq 1 ] || { echo "expected one '$1' line, got $n:" >&2; echo "$output" >&2; return 1; }
	printf '%s\n' "$output" | grep "^[a-z]*  $1  "
}

@test "doctor: a provisioned device passes; every line is ok, warn or fail" {
	run -0 --separate-stderr sk doctor
	[ -z "$stderr" ]
	run -1 grep -vE '^(ok|warn|fail)  [a-z0-9:._-]+  ' <<< "$output"
	run -1 grep '^fail' <<< "$output"
	run -0 sk doctor
	[[ "$(line_of store)" == *"/store: owned by uid $(id -u), mode 0700"* ]]
	[[ "$(line_of role:device-key)" == "ok  "*"key 'device' present" ]]
	[[ "$(line_of role:cloud-root)" == "ok  "*"certificate 'cloud-root' present" ]]
	[[ "$(line_of trust-lock)" == "ok  "*"locked since "* ]]
	[[ "$(line_of master-key)" == "warn  "*"protected by its permissions only"* ]]
	[[ "$(line_of crl)" == "ok  "*"0 revoked certificates"* ]]
	[[ "$(line_of passwords)" == "ok  "*"1 password object; whether a secret is weak or a default cannot be known"* ]]
	# The example's command and issuing certificates expire within 30
	# days (issued for 30 days: 30 in the second they are made, else 29).
	[[ "$(line_of cert:oem-command)" =~ ^warn\ \ .*"expires on ".*", in "(29|30)" days"$ ]]
	[[ "$(line_of cert:oem-root)" == "ok  "*"valid until "* ]]
	# No TPM is asked for with the soft backend and a master key in a file.
	run -1 grep -e '  tpm' <<< "$output"
}

@test "doctor: a world-writable store directory fails" {
	chmod 0777 "$SECKIT_STORE"
	run -7 --separate-stderr sk doctor
	assert_one_error_line "seckit doctor: "
	[[ "$(line_of store)" == "fail  store  $SECKIT_STORE: mode 0777: writable by anyone" ]]
	chmod 0770 "$SECKIT_STORE"
	run -7 sk doctor
	[[ "$(line_of store)" == "fail  store  $SECKIT_STORE: mode 0770: writable by its group" ]]
}

@test "doctor: a master.key readable by others fails" {
	chmod 0644 "$SECKIT_STORE/master.key"
	run -7 sk doctor
	[[ "$(line_of master-key-file)" == "fail  master-key-file  $SECKIT_STORE/master.key: mode 0644, not 0600: readable by others" ]]
}

@test "doctor: an expired certificate fails, one within 30 days warns" {
	require faketime
	# 40 days on: the 30-day certificates have expired, the roots have not.
	run -7 faketime -f +40d "$SECKIT" doctor
	[[ "$(line_of cert:oem-command)" == "fail  cert:oem-command  provisioned certificate expired on "* ]]
	[[ "$(line_of cert:acme-issuing)" == "fail  cert:acme-issuing  ca certificate expired on "* ]]
	[[ "$(line_of cert:oem-root)" == "ok  "* ]]
}

@test "doctor: a role whose key or certificate is missing fails" {
	cat >> "$SECKIT_CONFIG" <<-YAML
	roles:
	  cloud-root: nosuch-cert
	  oem-command: nosuch-key
	YAML
	run -7 sk doctor
	[[ "$(line_of role:cloud-root)" == "fail  role:cloud-root  certificate 'nosuch-cert' not provisioned" ]]
	[[ "$(line_of role:oem-command)" == "fail  role:oem-command  key 'nosuch-key' not provisioned" ]]
}

@test "doctor: a system clock behind the store's last-seen time fails" {
	require faketime
	run -0 sk doctor
	[[ "$(line_of clock)" == "ok  clock  system time "*", store last saw "* ]]
	run -7 faketime -f -2d "$SECKIT" doctor
	[[ "$(line_of clock)" == "fail  clock  system time "*" is behind the store's last-seen time "* ]]
}

@test "doctor: no store is a failure, not an error" {
	run -7 --separate-stderr sk --store "$PWD/nosuch" doctor
	assert_one_error_line "seckit doctor: 2 checks failed"
	[[ "$(line_of store-open)" == "fail  store-open  $PWD/nosuch: no store (not provisioned)" ]]
}

@test "doctor: the tpm2 backend with no TPM reachable fails (a finding, exit 7, not 4)" {
	local port
	port=$(free_port_pair)
	SECKIT_BACKEND=tpm2 SECKIT_TCTI="swtpm:host=127.0.0.1,port=$port" run -7 sk doctor
	[[ "$(line_of tpm)" == "fail  tpm  not reachable (the backend is tpm2): "* ]]
}

@test "doctor: the configured PKCS#11 module must be a loadable module with C_GetFunctionList" {
	SECKIT_PKCS11_MODULE="$PWD/nosuch.so" run -7 sk doctor
	[[ "$(line_of pkcs11)" == "fail  pkcs11  module $PWD/nosuch.so: No such file or directory" ]]
	echo 'not a library' > fake.so
	SECKIT_PKCS11_MODULE="$PWD/fake.so" run -7 sk doctor
	[[ "$(line_of pkcs11)" == "fail  pkcs11  module $PWD/fake.so: not loadable: "* ]]
	# The option and the config name it too (option first).
	run -7 sk --pkcs11-module "$PWD/fake.so" doctor
	[[ "$(line_of pkcs11)" == "fail  pkcs11  module $PWD/fake.so: not loadable: "* ]]
	printf 'pkcs11:\n  module: %s\n' "$PWD/nosuch.so" > p11.yaml
	SECKIT_CONFIG="$PWD/p11.yaml" run -7 sk doctor
	[[ "$(line_of pkcs11)" == "fail  pkcs11  module $PWD/nosuch.so: No such file or directory" ]]
	# A shared object that is not a PKCS#11 module, and one that is: native
	# libraries, which an emulated seckit (make check-arm64) cannot load.
	[ -z "${SECKIT_RUNNER:-}" ] || return 0
	local libc
	libc=$(ldd /bin/true | awk '/libc\.so/ { print $3 }')
	SECKIT_PKCS11_MODULE="$libc" run -7 sk doctor
	[[ "$(line_of pkcs11)" == "fail  pkcs11  module $libc: no C_GetFunctionList: not a PKCS#11 module" ]]
	local m
	for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so; do
		[ -e "$m" ] || continue
		SECKIT_PKCS11_MODULE="$m" run -0 sk doctor
		[[ "$(line_of pkcs11)" == "ok  pkcs11  module $m: loadable, exports C_GetFunctionList" ]]
	done
}

@test "doctor: a TPM in dictionary-attack lockout fails, with its counter" {
	require swtpm tpm2_getcap tpm2_dictionarylockout
	start_swtpm "$BATS_TEST_TMPDIR/tpm"
	export SECKIT_BACKEND=tpm2
	tpm_da_setup 2 600
	run -0 sk doctor
	[[ "$(line_of tpm)" == "ok  tpm  "* ]]
	[[ "$(line_of tpm-lockout)" == "ok  tpm-lockout  no failed authorisations, 2 allowed"* ]]
	run -0 sk key password create pw --pass pass:right
	run -0 sk key create dev --type ec-p256 --password-object pw --pass pass:right
	echo data > data
	sk_fails 5 "key sign: " key sign dev --in data --out sig --pass pass:wrong1
	run -0 sk doctor
	[[ "$(line_of tpm-lockout)" == "warn  tpm-lockout  1 failed authorisations of 2 allowed before lockout"* ]]
	sk_fails 5 "key sign: " key sign dev --in data --out sig --pass pass:wrong2
	run -7 sk doctor
	[[ "$(line_of tpm-lockout)" == "fail  tpm-lockout  in lockout: 2 failed authorisations of 2 allowed; "*"lockout recovery 600 s" ]]
	tpm2_dictionarylockout --clear-lockout
	run -0 sk doctor
}

@test "doctor: a master key sealed to PCRs says which (master-key: pcrs)" {
	require swtpm tpm2_getcap
	start_swtpm "$BATS_TEST_TMPDIR/tpm"
	printf 'master-key:\n  protection: tpm2\n  pcrs: 7,16\n' > pcr.yaml
	run -0 sk --config pcr.yaml --store pstore store write s --in m.yaml
	# Not provisioned: other checks fail (7); this line is the point.
	run -7 sk --config pcr.yaml --store pstore doctor
	[[ "$(line_of master-key)" == "ok  master-key  sealed by the TPM to PCRs 7,16 (sha256)" ]]
}

@test "doctor --json: the findings, failed and warnings" {
	run -0 sk --json doctor
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["ok"] is True and d["failed"] == 0 and d["warnings"] >= 1; assert {"level":"ok","check":"role:device-key","detail":"key '"'device'"' present"} in d["findings"]' "$output"
	chmod 0777 "$SECKIT_STORE"
	run -7 --separate-stderr sk --json doctor
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["ok"] is False and d["failed"] >= 1 and d["error"]["exit"] == 7; assert any(f["level"] == "fail" and f["check"] == "store" for f in d["findings"])' "$output"
}
