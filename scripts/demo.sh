#!/bin/sh
# seckit end-to-end walk-through (`make demo`): a temporary store on the
# default soft backend, every step narrated, each result checked with
# tools we did not write (openssl).  Exits non-zero on the first failure.
#
# Adding a step: a new section below with `section`, then `run` for each
# seckit command (shown, then executed) and `check` for each cross-check.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
SECKIT=${SECKIT:-$here/seckit}
[ -x "$SECKIT" ] || { echo "demo: $SECKIT is not built (run make)" >&2; exit 1; }

demo=$(mktemp -d "${TMPDIR:-/tmp}/seckit-demo.XXXXXX")
tls_server=
cleanup() {
	status=$?
	# The measure step's simulator, if it is still running.
	if [ -f "$demo/tpm/pid" ]; then
		kill "$(cat "$demo/tpm/pid")" 2>/dev/null || true
	fi
	[ -z "$tls_server" ] || kill "$tls_server" 2>/dev/null || true
	rm -rf "$demo"
	[ "$status" -eq 0 ] || echo "demo: FAILED (exit status $status)" >&2
}
trap cleanup EXIT
cd "$demo"
export SECKIT_STORE="$demo/store"
# A config of our own: the demo never touches /etc/seckit or a real store.
export SECKIT_CONFIG="$demo/config.yaml"
printf 'backend: soft\n' > "$SECKIT_CONFIG"
unset SECKIT_BACKEND SECKIT_TCTI

section() {
	printf '\n== %s\n' "$*"
}
say() {
	printf '   %s\n' "$*"
}
# Run a command, showing it and its output indented; stop the demo if it
# fails.  `run` is for seckit ("run key create ..."), `check` for the
# cross-checks with other tools ("check openssl dgst ...").
show() {
	printf '   $ %s\n' "$*" | sed "s|^   \$ $SECKIT |   \$ seckit |"
	if "$@" > "$demo/.out" 2>&1; then
		sed 's/^/     /' "$demo/.out"
	else
		rc=$?
		sed 's/^/     /' "$demo/.out"
		echo "demo: this step failed with exit status $rc" >&2
		exit 1
	fi
}
run() {
	show "$SECKIT" "$@"
}
check() {
	show "$@"
}
# A seckit command that must fail with exit status $1 (bad input is part
# of the demonstration).
run_fails() {
	want=$1
	shift
	printf '   $ seckit %s    # must fail with exit status %s\n' "$*" "$want"
	if "$SECKIT" "$@" > "$demo/.out" 2>&1; then
		rc=0
	else
		rc=$?
	fi
	sed 's/^/     /' "$demo/.out"
	if [ "$rc" -ne "$want" ]; then
		echo "demo: expected exit status $want, got $rc" >&2
		exit 1
	fi
}

section "seckit $("$SECKIT" --version | head -n 1 | cut -d' ' -f2): a store in $SECKIT_STORE"
run --version

section "key: a device key that never leaves the store"
run key create device --type ec-p256
run key info device
run key export device --out device.pub
say "the public key, as openssl sees it:"
check openssl pkey -pubin -in device.pub -noout -text_pub
say "its fingerprint is the SHA-256 of the DER public key:"
fp=$("$SECKIT" --json key info device | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
openssl pkey -pubin -in device.pub -outform DER -out device.der
check sh -c "sha256sum device.der | grep -q '^$fp '"
say "sha256:$fp"

section "key: sign a file, verify it with seckit and with openssl"
echo "firmware image $(date -u +%Y%m%d)" > firmware.bin
run key sign device --in firmware.bin --out firmware.sig
run key verify device --in firmware.bin --sig firmware.sig
check openssl dgst -sha256 -verify device.pub -signature firmware.sig firmware.bin
say "a changed file does not verify (exit status 7):"
echo "tampered" >> firmware.bin
run_fails 7 key verify device --in firmware.bin --sig firmware.sig

section "provision: a device from a manifest (the factory step)"
factory="$demo/factory"
mkdir -p oem out
say "the OEM's side, made with openssl: a root CA and the command key that signs trust changes"
check openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
	-subj /CN=Acme-Root -keyout oem/root.key -out oem/root.pem
check openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out oem/command.key
check openssl pkey -in oem/command.key -pubout -out oem/command.pub
cat > manifest.yaml <<'EOF'
version: 1
device-key:
  type: ec-p256
  public-key-out: out/device.pub
  csr:
    subject: /CN=dev-0001/O=Acme
    out: out/device.csr
command-key:
  file: oem/command.pub
certificates:
  - name: oem-root
    file: oem/root.pem
    key: oem-root
EOF
say "manifest.yaml:"
sed 's/^/     | /' manifest.yaml
run --store "$factory" provision --dry-run manifest.yaml
run --store "$factory" -v provision manifest.yaml
say "a second run changes nothing:"
run --store "$factory" -v provision manifest.yaml
run --store "$factory" cert list
run --store "$factory" key list

section "cert: enroll the device (CSR from the device key, certificate from the OEM CA)"
check openssl req -in out/device.csr -noout -verify -subject
say "off the device, the OEM CA issues the device certificate:"
run cert issue --csr out/device.csr --ca-cert oem/root.pem --ca-key oem/root.key --days 730 --out device.pem
check openssl verify -CAfile oem/root.pem device.pem
say "on the device, it verifies against the provisioned OEM root:"
run --store "$factory" cert verify device.pem --purpose sslclient
say "a certificate from another CA does not (exit status 7):"
check openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj /CN=Rogue -keyout rogue.key -out rogue.pem
run_fails 7 --store "$factory" cert verify rogue.pem
say "an issuing CA under the OEM root, its key in an OEM store (no openssl):"
run --store "$demo/oem-store" key create issuing --type ec-p256
run --store "$demo/oem-store" cert ca create --subject /CN=Acme-Issuing --key issuing \
	--issuer-cert oem/root.pem --issuer-key oem/root.key --not-after 5y --out issuing.pem
check openssl verify -CAfile oem/root.pem issuing.pem
run cert show issuing.pem

section "payload: a signed firmware package, released on the device only if it verifies"
say "off the device, the OEM signs with its payload key (a key file):"
check openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out oem/payload.key
check openssl pkey -in oem/payload.key -pubout -out oem/payload.pub
head -c 1048576 /dev/urandom > fw.bin
run payload make --sign-key oem/payload.key --digest sha384 --in fw.bin --out fw.pkg
run payload show fw.pkg
say "on the device, the OEM payload public key is provisioned as oem-payload (the default):"
run --store "$factory" key import oem-payload --in oem/payload.pub --provisioned
run --store "$factory" payload verify --in fw.pkg --out fw.out
check cmp fw.bin fw.out
say "openssl alone checks the same package, with the recipe of docs/formats/payload.md"
say "(asn1parse for the offsets, dgst -verify over the header and payload, dd):"
awk '/^```sh$/ { getline l; if (l == "# recipe: payload-verify") { on = 1; next } } on && /^```$/ { on = 0 } on' \
	"$here/docs/formats/payload.md" > verify-recipe.sh
check env PKG=fw.pkg PUB=oem/payload.pub OUT=fw.openssl sh verify-recipe.sh
check cmp fw.bin fw.openssl
say "one flipped bit anywhere: exit status 7, and nothing is written:"
python3 -c 'd=bytearray(open("fw.pkg","rb").read()); d[5000]^=1; open("bad.pkg","wb").write(d)'
run_fails 7 --store "$factory" payload verify --in bad.pkg --out bad.out
check test ! -e bad.out

section "stp: trust changes signed by the OEM command key"
say "off the device: install the device certificate, for this device only"
run stp make --command set-cert --name device --cert device.pem --device out/device.pub \
	--seq 1 --sign-key oem/command.key --out set-device.stp
run stp show set-device.stp
say "on the device:"
run --store "$factory" -v stp apply set-device.stp
run --store "$factory" cert get device --out device-from-store.pem
check cmp device.pem device-from-store.pem
say "the same package again is a replay (exit status 7):"
run_fails 7 --store "$factory" stp apply set-device.stp
say "a partner CA, a certificate it issued, and its revocation:"
check openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
	-subj /CN=Partner-CA -keyout partner.key -out partner.pem
check openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=partner-gw -keyout gw.key -out gw.csr
run cert issue --csr gw.csr --ca-cert partner.pem --ca-key partner.key --profile server --out gw.pem
run stp make --command add-ca --name partner --cert partner.pem --seq 2 --sign-key oem/command.key --out add.stp
run --store "$factory" stp apply add.stp
run --store "$factory" cert verify gw.pem --purpose sslserver
run stp make --command revoke --cert gw.pem --seq 3 --sign-key oem/command.key --out revoke.stp
run --store "$factory" stp apply revoke.stp
run_fails 7 --store "$factory" cert verify gw.pem
run --store "$factory" cert list --revoked
say "a package signed by anyone else is refused (exit status 7):"
run stp make --command delete-ca --name partner --seq 4 --sign-key partner.key --out forged.stp
run_fails 7 --store "$factory" stp apply forged.stp
run --store "$factory" stp status
section "store: secrets at rest, password-protected objects, tamper detection"
printf 'token-%s\n' "$(date +%s)" > token
run store write cloud-token --in token
run store read cloud-token
printf 'SuperSecretPSK\n' > psk.txt
export DEMO_WIFI_PW=correct-horse
run store write wifi-psk --in psk.txt --pass env:DEMO_WIFI_PW
run store list
say "without its password the protected object stays shut (exit status 5):"
run_fails 5 store read wifi-psk
run store read wifi-psk --pass env:DEMO_WIFI_PW
say "names and contents are not visible on disk:"
check ls "$SECKIT_STORE"
if grep -rqs -e cloud-token -e SuperSecretPSK "$SECKIT_STORE"; then
	echo "demo: a name or a secret is visible in the store" >&2
	exit 1
fi
say "an object file put back to an older copy of itself is detected (exit status 7):"
file=$("$SECKIT" store info cloud-token | awk '$1 == "file:" { print $2 }')
cp "$SECKIT_STORE/$file" old-copy
printf 'token-rotated' | "$SECKIT" store write cloud-token
cp old-copy "$SECKIT_STORE/$file"
run_fails 7 store read cloud-token
run_fails 7 store check
say "accept the loss and carry on:"
run store check --repair
run store list

section "opaque-key and oo: keys and objects encrypted to this device only"
say "the OEM's signing key (off the device) and its public half, the device's oem-root"
check openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out oem/sign.key
check openssl pkey -in oem/sign.key -pubout -out oem/sign.pub
run key import oem-root --in oem/sign.pub --provisioned
say "off the device: a signing key made with openssl, packaged for this device"
check openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out app.key
check openssl pkey -in app.key -pubout -out app.pub
run opaque-key make --name app.signing --type ec-p256 --key app.key \
	--sign-key oem/sign.key --device-pub device.pub --out app.okp
run opaque-key show app.okp
say "on the device: verified, decrypted with the device key, stored (not exportable)"
run opaque-key import app.okp
run key sign app.signing --in firmware.bin --out app.sig
check openssl dgst -sha256 -verify app.pub -signature app.sig firmware.bin
run_fails 9 opaque-key import app.okp
say "an object encrypted once, its OOInfo (secret, 0600) and an OOID for this device"
run oo make --in firmware.bin --out firmware.enc --info firmware.oocfg --not-after 2099-12-31
check ls -l firmware.oocfg
run oo id --info firmware.oocfg --sign-key oem/sign.key --device-pub device.pub --out firmware.oid
run oo show firmware.oid
run oo open --id firmware.oid --in firmware.enc --out firmware.out
check cmp firmware.bin firmware.out
say "a fleet: this device and two others, OOIDs made in parallel"
check openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key
check openssl pkey -in other.key -pubout -out other.pub
printf 'devices:\n  - id: this\n    public-key-file: device.pub\n  - id: other\n    public-key-file: other.pub\n  - id: third\n    public-key-file: app.pub\n' > fleet.yaml
sed 's/^/     | /' fleet.yaml
run oo id --info firmware.oocfg --sign-key oem/sign.key --devices fleet.yaml --out-dir oids
check ls oids
run oo open --id oids/this.oid --in firmware.enc --out fleet.out
say "another device's OOID does not open here (exit status 7):"
run_fails 7 oo open --id oids/other.oid --in firmware.enc --out other.out

section "measure: measured boot with a TPM (swtpm, when installed)"
if command -v swtpm >/dev/null 2>&1 && command -v tpm2_pcrread >/dev/null 2>&1; then
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mkdir -p tpm
	swtpm socket --tpm2 --tpmstate dir="$demo/tpm" \
		--server type=tcp,port="$port",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear --pid file="$demo/tpm/pid" --daemon
	sleep 1
	export SECKIT_TCTI="swtpm:host=127.0.0.1,port=$port" TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port"
	printf 'kernel v1\n' > Image
	printf 'device tree\n' > board.dtb
	say "on the build host: the golden value of PCR 16 for this image, with no TPM"
	run measure predict --pcr 16 Image board.dtb --out golden.yaml
	sed 's/^/     | /' golden.yaml
	say "on the device, once: an NV index that only those values open"
	run measure seal --pcr 16 --golden golden.yaml
	say "at boot: measure, then verify"
	run measure extend --pcr 16 Image board.dtb
	run -v measure verify --pcr 16
	run measure log --verify
	check tpm2_pcrread sha256:16
	say "another kernel at the next boot (PCR 16 reset, as at a reboot): exit status 7"
	check tpm2_pcrreset 16
	printf 'kernel v2\n' > Image
	run measure extend --pcr 16 Image board.dtb
	run_fails 7 measure verify --pcr 16
	say "a secret that follows signed images (TPM2_PolicyAuthorize): the OEM signs each"
	say "image's prediction, the device opens the secret with the signed values"
	check openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out oem.key
	check openssl pkey -in oem.key -pubout -out oem.pub
	run measure predict --pcr 16 Image board.dtb --sign-key oem.key --out v2.yaml
	printf 'token for the v2 image\n' > token.txt
	run --backend tpm2 store write token --in token.txt --tpm2-policy-key oem.pub
	run --backend tpm2 store read token --policy v2.yaml
	say "an update to v3: the OEM signs its prediction; the device, rebooted into v3,"
	say "opens the secret with it, not with v2's, nor with an unsigned prediction"
	printf 'kernel v3\n' > Image
	run measure predict --pcr 16 Image board.dtb --sign-key oem.key --out v3.yaml
	run measure predict --pcr 16 Image board.dtb --out v3-unsigned.yaml
	check tpm2_pcrreset 16
	run measure extend --pcr 16 Image board.dtb
	run --backend tpm2 store read token --policy v3.yaml
	run_fails 7 --backend tpm2 store read token --policy v2.yaml
	run_fails 7 --backend tpm2 store read token --policy v3-unsigned.yaml
	kill "$(cat "$demo/tpm/pid")"
	rm -f "$demo/tpm/pid"
	unset SECKIT_TCTI TPM2TOOLS_TCTI
else
	say "swtpm or tpm2-tools is not installed: skipped"
fi
section "tls: mutual TLS with the device key (it never leaves the backend)"
say "a server made with openssl, its certificate from the OEM root; it asks for a"
say "client certificate of the OEM root and refuses any other (-Verify 1 -verify_return_error):"
check openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout server.key -out server.csr
check openssl x509 -req -in server.csr -CA oem/root.pem -CAkey oem/root.key -days 30 \
	-copy_extensions copy -out server.pem
openssl s_server -accept 127.0.0.1:0 -cert server.pem -key server.key -CAfile oem/root.pem \
	-Verify 1 -verify_return_error -www < /dev/null > server.log 2>&1 &
tls_server=$!
port=
for _ in $(seq 50); do
	port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' server.log)
	[ -z "$port" ] || break
	sleep 0.1
done
[ -n "$port" ] || { echo "demo: openssl s_server did not start" >&2; exit 1; }
say "the connection's summary; the server is verified against the OEM root and its name:"
run --store "$factory" --json tls connect "127.0.0.1:$port" --cert device.pem \
	--ca oem/root.pem --servername localhost
say "a request on stdin, the server's answer on stdout (s_server -www shows our certificate):"
printf 'GET / HTTP/1.0\r\n\r\n' > request
printf '   $ seckit tls connect 127.0.0.1:%s --cert device.pem --ca oem/root.pem --servername localhost < request > reply\n' "$port"
"$SECKIT" --store "$factory" tls connect "127.0.0.1:$port" --cert device.pem --ca oem/root.pem \
	--servername localhost < request > reply
check grep -E 'Protocol  :|Subject: CN=dev-0001' reply
say "a server name the certificate does not carry is refused (exit status 7):"
run_fails 7 --store "$factory" tls connect "127.0.0.1:$port" --cert device.pem --ca oem/root.pem \
	--servername api.example
kill "$tls_server"
tls_server=

section "pkcs11: keys on a PKCS#11 token (a SoftHSM2 token here; OP-TEE's or tpm2-pkcs11's alike)"
module=/usr/lib/softhsm/libsofthsm2.so
if [ -e "$module" ] && command -v softhsm2-util >/dev/null && command -v pkcs11-tool >/dev/null; then
	mkdir -p softhsm/tokens
	printf 'directories.tokendir = %s/softhsm/tokens\nlog.level = ERROR\n' "$demo" > softhsm/softhsm2.conf
	export SOFTHSM2_CONF="$demo/softhsm/softhsm2.conf" SECKIT_PKCS11_MODULE="$module" DEMO_PIN=1234
	check softhsm2-util --init-token --free --label device --so-pin 5678 --pin 1234
	say "the device key made on the token (sensitive, never extractable); the PIN from"
	say "the environment, never on the command line:"
	run --backend pkcs11 --pin env:DEMO_PIN key create tok-dev --type ec-p256
	check pkcs11-tool --module "$module" --login --pin 1234 --list-objects --type privkey
	printf 'boot image\n' > image
	run --backend pkcs11 --pin env:DEMO_PIN key sign tok-dev --in image --out image.sig
	run --backend pkcs11 --pin env:DEMO_PIN key export tok-dev --out tok-dev.pub
	check openssl dgst -sha256 -verify tok-dev.pub -signature image.sig image
	say "an AES key on the token: files encrypted through it are the soft backend's"
	say "AES-GCM files (the token's AES-CTR and AES-ECB, GHASH on the host):"
	run --backend pkcs11 --pin env:DEMO_PIN key create tok-aes --type aes-256
	run --backend pkcs11 --pin env:DEMO_PIN key encrypt tok-aes --in image --out image.enc
	run --backend pkcs11 --pin env:DEMO_PIN key decrypt tok-aes --in image.enc --out image.dec
	check cmp image image.dec
	run --backend pkcs11 --pin env:DEMO_PIN key list
	say "a wrong PIN is exit status 5:"
	export WRONG_PIN=0000
	run_fails 5 --backend pkcs11 --pin env:WRONG_PIN key sign tok-dev --in image --out x.sig
	unset SOFTHSM2_CONF SECKIT_PKCS11_MODULE DEMO_PIN WRONG_PIN
else
	say "SoftHSM2 or OpenSC's pkcs11-tool is not installed: skipped"
fi

section "done: every step passed"
