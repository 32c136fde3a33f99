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
		# A module with no token: the module is fine, the token check
		# fails (see the pkcs11-token tests below).
		export SOFTHSM2_CONF="$PWD/empty.conf"
		mkdir -p empty
		printf 'directories.tokendir = %s/empty\n' "$PWD" > empty.conf
		SECKIT_PKCS11_MODULE="$m" run -7 sk doctor
		[[ "$(line_of pkcs11)" == "ok  pkcs11  module $m: loadable, exports C_GetFunctionList" ]]
		[[ "$(line_of pkcs11-token)" == "fail  pkcs11-token  backend pkcs11: the module has no initialised token" ]]
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

# A SoftHSM2 token in its own configuration, user PIN 1234 (set when the
# second argument is "pin").
softhsm_token() {
	require softhsm2-util pkcs11-tool
	P11=/usr/lib/softhsm/libsofthsm2.so
	[ -e "$P11" ] || skip "SoftHSM2's module is not installed"
	[ -z "${SECKIT_RUNNER:-}" ] || skip "an emulated seckit cannot load the native module"
	mkdir -p "$PWD/hsm/tokens"
	printf 'directories.tokendir = %s/hsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$PWD" > hsm/softhsm2.conf
	export SOFTHSM2_CONF="$PWD/hsm/softhsm2.conf"
	if [ "${2:-}" = pin ]; then
		softhsm2-util --init-token --free --label "$1" --so-pin 5678 --pin 1234 > /dev/null
	else
		pkcs11-tool --module "$P11" --init-token --label "$1" --so-pin 5678 > /dev/null 2>&1
	fi
}

@test "doctor: the configured PKCS#11 token is present and its user PIN set; a wrong PIN since warns" {
	softhsm_token device-token pin
	SECKIT_PKCS11_MODULE="$P11" run -0 sk doctor
	[[ "$(line_of pkcs11-token)" == "ok  pkcs11-token  token 'device-token' (SoftHSM project SoftHSM v2, serial "*") in slot "*": present, user PIN set" ]]
	# Named by the config, with the token's label.
	printf 'pkcs11:\n  module: %s\n  token: device-token\n' "$P11" >> "$SECKIT_CONFIG"
	run -0 sk doctor
	[[ "$(line_of pkcs11-token)" == "ok  pkcs11-token  token 'device-token' "* ]]
	# A wrong PIN (by another tool): the token flags it, doctor warns.
	run ! pkcs11-tool --module "$P11" --login --pin 9999 --list-objects
	run -0 sk doctor
	[[ "$(line_of pkcs11-token)" == "warn  pkcs11-token  token 'device-token' "*": a wrong user PIN was entered since the last good one" ]]
	run -0 sk --json doctor
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert any(f["level"] == "warn" and f["check"] == "pkcs11-token" for f in d["findings"])' "$output"
}

@test "doctor: a PKCS#11 token that is not there, or has no user PIN, fails" {
	softhsm_token other pin
	run -7 sk --pkcs11-module "$P11" --token device-token doctor
	[[ "$(line_of pkcs11)" == "ok  pkcs11  module $P11: loadable, exports C_GetFunctionList" ]]
	[[ "$(line_of pkcs11-token)" == "fail  pkcs11-token  backend pkcs11: no token 'device-token' (the module has: 'other')" ]]
	rm -rf hsm
	softhsm_token fresh
	run -7 sk --pkcs11-module "$P11" doctor
	[[ "$(line_of pkcs11-token)" == "fail  pkcs11-token  token 'fresh' "*": no user PIN set (token not enrolled)" ]]
	# No module configured: neither line.
	run -0 sk doctor
	run -1 grep -e '  pkcs11' <<< "$output"
}

@test "--version -v: the PKCS#11 token's manufacturer, model, label, serial and user PIN state" {
	softhsm_token device-token pin
	run -0 sk --pkcs11-module "$P11" --version -v
	[[ "$output" == *$'\npkcs11 manufacturer: SoftHSM project\npkcs11 model: SoftHSM v2\n'* ]]
	[[ "$output" == *$'\npkcs11 spec: PKCS#11 2.'* ]]
	[[ "$output" == *$'\npkcs11 token: \'device-token\' in slot '*', serial '* ]]
	[[ "$output" == *$'\npkcs11 user pin: ok\n'* ]]
	[[ "$output" == *$'\npkcs11 algorithms: '*CKM_ECDSA* ]]
	run -0 --separate-stderr sk --json --pkcs11-module "$P11" --version -v
	python3 -c '
import json, sys, jsonschema
s = json.load(open(sys.argv[1]))
d = json.loads(sys.argv[2])
jsonschema.validate(d, dict(s["$defs"]["version"], **{"$defs": s["$defs"]}))
p = d["devices"]["pkcs11"]
assert p["reachable"] is True and p["token"] == "device-token" and p["user_pin"] == "ok", p
assert "CKM_ECDSA" in p["algorithms"], p' "$SECKIT_SRC/docs/json.schema.json" "$output"
	# A module with no token at all: not reachable, with the reason.
	rm -rf hsm/tokens/*
	run -0 sk --pkcs11-module "$P11" --version -v
	[[ "$output" == *$'\npkcs11: not reachable: backend pkcs11: the module has no initialised token'* ]]
}
