#!/usr/bin/env bats
# seckit --json: every verb prints exactly one JSON document on stdout,
# on success and on failure, and every document validates against
# docs/json.schema.json (docs/json.md).  The cases below run every verb
# of `seckit --dump-spec`; a verb without a success case and a failure
# case, or without a definition in the schema, fails the first test, so a
# verb added later needs its cases here.

load helper
load trust
load opaque
load tpm

# key handles, key evict and --version -v ask a TPM.
setup_file() {
	if command -v swtpm >/dev/null; then
		start_swtpm "$BATS_FILE_TMPDIR/tpm"
	fi
}

teardown_file() {
	stop_swtpm
}

teardown() {
	[ -z "${TLS_PID:-}" ] || kill "$TLS_PID" 2>/dev/null || true
	[ -z "${STOPPER_PID:-}" ] || kill "$STOPPER_PID" 2>/dev/null || true
}

# The cases, one a line: SCHEMA-DEF|EXIT|ARGUMENTS.  SCHEMA-DEF is the verb
# ("key create"; its definition in the schema is "key_create"), "-" for a
# failure before any verb runs, or "version".  ARGUMENTS follow
# `seckit --json` (shell words).  They run in this order, in one store.
cases() {
	cat <<-'EOF'
	version|0|--version
	version|0|--tcti "$SWTPM_TCTI" -v --version
	version|0|--tcti swtpm:host=127.0.0.1,port=1 -v --version
	-|2|nosuch
	-|2|
	-|2|key
	-|2|--bogus key list
	-|2|key list --bogus
	-|3|--config bad.yaml key list
	-|4|--store nostore key list
	key create|0|key create k1 --type ec-p256
	key create|0|key create sym --type aes-256
	key create|0|key create hm --type hmac-sha256
	key create|9|key create k1 --type ec-p256
	key create|2|key create k2 --type nosuch
	key import|0|key import oem-payload --in oem/payload.pub
	key import|1|key import imp --in nosuch.pem
	key export|0|key export k1 --out k1.pub
	key export|8|key export nosuch --out x.pub
	key export|2|key export k1 --out -
	key list|0|key list
	key list|4|--store nostore key list
	key info|0|key info k1
	key info|8|key info nosuch
	key handles|0|--backend tpm2 --tcti "$SWTPM_TCTI" key handles
	key handles|4|--backend tpm2 --tcti swtpm:host=127.0.0.1,port=1 key handles
	key evict|0|--backend tpm2 --tcti "$SWTPM_TCTI" key evict 0x81000123
	key evict|8|--backend tpm2 --tcti "$SWTPM_TCTI" key evict 0x81000123
	key evict|2|--backend tpm2 --tcti "$SWTPM_TCTI" key evict 0x01000123
	key password create|0|key password create vault --pass pass:secret-1
	key password create|9|key password create vault --pass pass:secret-1
	key password list|0|key password list
	key password list|4|--store nostore key password list
	key password users|0|key password users vault
	key password users|8|key password users nosuch
	key password delete|0|key password delete vault --pass pass:secret-1
	key password delete|8|key password delete vault --pass pass:secret-1
	key sign|0|key sign k1 --in data --out data.sig
	key sign|8|key sign nosuch --in data --out x.sig
	key verify|0|key verify k1 --in data --sig data.sig
	key verify|0|key verify --pubkey k1.pub --in data --sig data.sig
	key verify|7|key verify k1 --in other --sig data.sig
	key verify|7|key verify --pubkey k1.pub --in other --sig data.sig
	key verify|8|key verify nosuch --in data --sig data.sig
	key encrypt|0|key encrypt sym --in data --out data.enc
	key encrypt|8|key encrypt nosuch --in data --out x.enc
	key decrypt|0|key decrypt sym --in data.enc --out data.dec
	key decrypt|7|key decrypt sym --in data.bad --out x.dec
	key mac|0|key mac hm --in data
	key mac|8|key mac nosuch --in data
	key digest|0|key digest --alg sha256 --in data
	key digest|1|key digest --alg sha256 --in nosuch
	key random|0|key random 16
	key random|0|key random 16 --out r.bin
	key random|2|key random many
	key random|2|key random 16 --out -
	key derive|0|key derive k1 --peer oem/payload.pub --out shared.bin
	key derive|8|key derive nosuch --peer oem/payload.pub --out x.bin
	cert list|0|cert list
	cert list|4|--store nostore cert list
	cert get|0|cert get oem-root --out root.pem
	cert get|8|cert get nosuch --out x.pem
	cert get|2|cert get oem-root
	cert verify|0|cert verify oem/command.pem
	cert verify|7|cert verify stranger.pem
	cert verify|1|cert verify nosuch.pem
	cert csr|0|cert csr --key device --subject /CN=dev --out dev.csr
	cert csr|8|cert csr --key nosuch --subject /CN=dev --out x.csr
	cert issue|0|cert issue --ca-cert oem/root.pem --ca-key oem/root.key --csr dev.csr --days 30 --out dev.pem
	cert issue|1|cert issue --ca-cert oem/root.pem --ca-key oem/root.key --csr nosuch.csr --days 30 --out x.pem
	cert show|0|cert show oem/root.pem
	cert show|0|cert show oem-root
	cert show|8|cert show nosuch
	cert show|1|cert show ./nosuch.pem
	cert import|0|cert import device-cert dev.pem
	cert import|0|cert import device-cert dev.pem
	cert import|7|cert import stranger stranger.pem
	cert import|1|cert import x nosuch.pem
	cert ca create|0|cert ca create --subject /CN=r2 --key-file oem/root.key --out r2.pem
	cert ca create|2|cert ca create --subject /CN=r3 --out r3.pem
	payload make|0|payload make --sign-key oem/payload.key --in data --out p.pkg
	payload make|1|payload make --sign-key nosuch.key --in data --out x.pkg
	payload verify|0|payload verify --in p.pkg
	payload verify|0|payload verify --pubkey oem/payload.pub --in p.pkg --out p.out
	payload verify|7|payload verify --pubkey oem/root.pub --in p.pkg
	payload verify|7|payload verify --key k1 --in p.pkg
	payload verify|8|payload verify --key nosuch --in p.pkg
	payload show|0|payload show p.pkg
	payload show|7|payload show data
	stp make|0|stp make --sign-key oem/command.key --seq 1 --command add-ca --name ca1 --cert oem/issuing-ca.pem --out s1.stp
	stp make|1|stp make --sign-key nosuch.key --seq 2 --command delete-ca --name ca1 --out x.stp
	stp show|0|stp show s1.stp
	stp show|7|stp show data
	stp apply|0|stp apply s1.stp
	stp apply|7|stp apply s1.stp
	stp apply|1|stp apply nosuch.stp
	stp status|0|stp status
	stp status|4|--store nostore stp status
	opaque-key make|0|opaque-key make --name ok1 --type ec-p256 --key newkey.pem --sign-key oem/root.key --device-pub out/device.pub --out ok1.okp
	opaque-key make|0|opaque-key make --name ok2 --type ec-p256 --key newkey.pem --sign-key oem/payload.key --device-pub out/device.pub --out rogue.okp
	opaque-key make|1|opaque-key make --name ok3 --type ec-p256 --key newkey.pem --sign-key oem/root.key --device-pub nosuch.pub --out x.okp
	opaque-key make|0|opaque-key make --name okf --type ec-p256 --generate --sign-key oem/root.key --devices fleet.yaml --out-archive k.tar --manifest k.jsonl
	opaque-key make|3|opaque-key make --name okf --type ec-p256 --key newkey.pem --sign-key oem/root.key --devices bad.yaml --out-archive h.tar
	opaque-key make|2|opaque-key make --name okf --type ec-p256 --generate --sign-key oem/root.key --devices fleet.yaml --out-archive j.tar
	opaque-key show|0|opaque-key show ok1.okp
	opaque-key show|7|opaque-key show data
	opaque-key import|0|opaque-key import ok1.okp
	opaque-key import|7|opaque-key import rogue.okp
	opaque-key import|1|opaque-key import nosuch.okp
	oo make|0|oo make --in data --out data.oo --info data.oocfg
	oo make|1|oo make --in nosuch --out x.oo --info x.oocfg
	oo id|0|oo id --info data.oocfg --sign-key oem/root.key --device-pub out/device.pub --out data.oid
	oo id|0|oo id --info data.oocfg --sign-key oem/payload.key --device-pub out/device.pub --out rogue.oid
	oo id|1|oo id --info nosuch.oocfg --sign-key oem/root.key --device-pub out/device.pub --out x.oid
	oo id|0|oo id --info data.oocfg --sign-key oem/root.key --devices fleet.yaml --out-archive f.tar --manifest f.jsonl
	oo id|0|oo id --info data.oocfg --sign-key oem/root.key --devices fleet.yaml --out-archive f.tar --resume
	oo id|3|oo id --info data.oocfg --sign-key oem/root.key --devices bad.yaml --out-archive g.tar
	oo open|0|oo open --id data.oid --in data.oo --out data.open
	oo open|7|oo open --id rogue.oid --in data.oo --out x.open
	oo open|2|oo open --id data.oid --in data.oo --out -
	oo show|0|oo show data.oid
	oo show|7|oo show data
	provision|0|provision m.yaml --dry-run
	provision|3|provision bad.yaml
	provision|2|provision
	doctor|0|--store full/store doctor
	doctor|7|doctor
	doctor|2|doctor extra
	store write|0|store write obj --in data
	store write|1|store write obj2 --in nosuch
	store write|6|store write obj3 --tpm2-pcrs 16 --in data
	store read|0|store read obj --out obj.out
	store read|2|store read obj
	store read|8|store read nosuch --out x.out
	store list|0|store list
	store list|4|--store nostore store list
	store info|0|store info obj
	store info|8|store info nosuch
	store delete|0|store delete obj
	store delete|8|store delete obj
	store check|0|store check
	store write|0|--backend tpm2 --tcti "$SWTPM_TCTI" --store tpmstore store write obj --in data
	store reseal|0|--backend tpm2 --tcti "$SWTPM_TCTI" --store tpmstore store reseal
	store reseal|3|store reseal
	store check|4|--store nostore store check
	measure extend|0|--tcti "$SWTPM_TCTI" measure extend --pcr 16 data
	measure extend|2|measure extend --pcr 24 data
	measure read|0|--tcti "$SWTPM_TCTI" measure read --pcr 16
	measure read|4|--tcti swtpm:host=127.0.0.1,port=1 measure read
	measure log|0|--tcti "$SWTPM_TCTI" measure log --verify
	measure log|4|--store nostore measure log
	measure predict|0|measure predict --pcr 16 data
	measure predict|1|measure predict --pcr 16 nosuch
	measure seal|0|--tcti "$SWTPM_TCTI" measure seal --pcr 16 --index 0x01500018
	measure seal|9|--tcti "$SWTPM_TCTI" measure seal --pcr 16 --index 0x01500018
	measure verify|0|--tcti "$SWTPM_TCTI" measure verify --pcr 16 --index 0x01500018
	measure verify|8|--tcti "$SWTPM_TCTI" measure verify --pcr 16 --index 0x01500019
	measure extend|0|--tcti "$SWTPM_TCTI" measure extend --pcr 16 --digest 0000000000000000000000000000000000000000000000000000000000000000
	measure verify|7|--tcti "$SWTPM_TCTI" measure verify --pcr 16 --index 0x01500018
	tls connect|0|tls connect "127.0.0.1:$TLS_PORT" --ca tlsca.pem --servername localhost
	tls connect|7|tls connect "127.0.0.1:$TLS_PORT" --ca tlsca.pem --servername other.example
	tls connect|2|tls connect localhost --ca tlsca.pem
	tls proxy|0|tls proxy --listen "$PROXY_PORT" --connect "127.0.0.1:$TLS_PORT" --ca tlsca.pem
	tls proxy|1|tls proxy --listen "$TLS_PORT" --connect "127.0.0.1:$TLS_PORT" --ca tlsca.pem
	key delete|0|key delete k1
	key delete|8|key delete k1
	EOF
}

# The validator needs python3-jsonschema (scripts/install-deps.sh).
check() {
	python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed"
	python3 "$SECKIT_SRC/tests/json-check.py" "$SECKIT_SRC/docs/json.schema.json" "$@"
}

@test "--json: every verb has a success case, a failure case and a schema definition" {
	"$SECKIT" --dump-spec > spec
	cases > cases.txt
	run -0 check --coverage spec cases.txt
	# A verb added later without cases (or a schema definition) fails.
	{ cat spec; printf 'verb\tseckit key frobnicate\tnone\t-\tfrobnicate\n'; } > spec2
	run -1 check --coverage spec2 cases.txt
	[[ "$output" == *"verb 'key frobnicate': no definition 'key_frobnicate' in the schema"* ]]
	[[ "$output" == *"verb 'key frobnicate': no case that succeeds"* ]]
	[[ "$output" == *"verb 'key frobnicate': no case that fails"* ]]
}

@test "--json: the checker refuses prose for a name, a second document, and ok without error" {
	fp=$(printf '%064d' 0)
	printf '1\tpayload show\t0\t0\tpayload show p.pkg\n' > results.tsv
	: > err.1
	printf '{"ok":true,"path":"p.pkg","type":"payload","format_version":1,"size":1,"digest":"sha256","signature_algorithm":"x","signer":{"key":"key %s","fingerprint":"%s"}}\n' "'oem-payload'" "$fp" > out.1
	run -1 check --results results.tsv
	[[ "$output" == *"does not match"* ]]
	printf '{"ok":true}\n{"ok":true}\n' > out.1
	run -1 check --results results.tsv
	[[ "$output" == *"not exactly one line"* ]]
	printf '1\t-\t8\t8\tkey info x\n' > results.tsv
	echo "seckit key info: key 'x': not found" > err.1
	printf '{"ok":false}\n' > out.1
	run -1 check --results results.tsv
	[[ "$output" == *"'error' is a required property"* ]]
}

@test "--json -q: the document on stdout and the one error line on stderr" {
	sk key create k --type aes-128
	run -8 --separate-stderr sk -q --json key info nosuch
	assert_one_error_line "seckit key info: key 'nosuch': not found"
	[ "$output" = '{"ok":false,"error":{"code":"not_found","exit":8,"message":"key '"'nosuch'"': not found"}}' ]
}

@test "--json: every case prints one document that validates, exit status = error.exit, one error line" {
	require openssl swtpm tpm2_createprimary tpm2_evictcontrol
	mk_oem_pki
	# A persistent handle for key evict.
	tpm2_createprimary -Q -C o -c primary.ctx
	tpm2_evictcontrol -Q -C o -c primary.ctx 0x81000123
	tpm2_flushcontext -t
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
	EOF
	sk provision m.yaml
	# A device with every role, for doctor (the store above lacks some).
	# (in its own directory: the manifest writes the device's public key)
	mkdir -p full/out
	ln -s ../oem full/oem
	cp "$SECKIT_SRC/manifest.example.yaml" full/m.yaml
	WIFI_PASSPHRASE=correct-horse sk --store full/store provision full/m.yaml
	printf 'key: [unclosed\n' > bad.yaml
	printf 'devices:\n  - id: d1\n    public-key-file: out/device.pub\n' > fleet.yaml
	printf 'data to sign\n' > data
	printf 'other data\n' > other
	head -c 64 /dev/zero > data.bad
	mk_root stranger
	mk_ec newkey
	# A TLS server for tls connect (no client certificate asked).
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tlsca.key \
		-out tlsca.pem -subj /CN=tlsca -days 2 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tlssrv.key \
		-out tlssrv.pem -subj /CN=localhost -addext subjectAltName=DNS:localhost -days 2 \
		-CA tlsca.pem -CAkey tlsca.key 2>/dev/null
	TLS_PORT=$(free_port_pair)
	openssl s_server -accept "127.0.0.1:$TLS_PORT" -cert tlssrv.pem -key tlssrv.key -www \
		< /dev/null > tls.log 2>&1 &
	TLS_PID=$!
	wait_until grep -q ACCEPT tls.log
	# tls proxy runs until SIGTERM: sent once it listens on PROXY_PORT.
	PROXY_PORT=$(free_port_pair)
	(
		for _ in $(seq 300); do
			pid=$(ss -ltnpH "sport = :$PROXY_PORT" | sed -n 's/.*pid=\([0-9]*\).*/\1/p')
			[ -z "$pid" ] || { kill -TERM "$pid"; exit 0; }
			sleep 0.1
		done
	) &
	STOPPER_PID=$!
	local n=0 got line def want args
	: > results.tsv
	while IFS='|' read -r def want args; do
		n=$((n + 1))
		eval "set -- $args"
		got=0
		"$SECKIT" --json "$@" > "out.$n" 2> "err.$n" < /dev/null || got=$?
		printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$def" "$want" "$got" "$args" >> results.tsv
	done < <(cases)
	run check --results results.tsv
	echo "$output" >&3
	[ "$status" -eq 0 ]
}
