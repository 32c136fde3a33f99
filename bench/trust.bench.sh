#!/bin/sh
# Trust on the device: the latency of what an init script or an update
# agent runs, against the openssl command a user would otherwise run.
#   cert verify   leaf + intermediate against a CA store of 1 and of 100
#                 anchors (plus the CRL) vs `openssl verify -CAfile` with
#                 the same anchors in one PEM file
#   stp apply     verify a package and commit the change atomically (fsync)
#                 vs `openssl dgst -verify` of the same signature alone
#   cert csr      a CSR signed in the backend vs `openssl req -new -key`
#   provision     a whole manifest (device key, keys, certificates, CSR)
# Medians over BENCH_RUNS runs (default 100).
set -eu
SECKIT=${SECKIT:-$(dirname "$0")/../seckit}
RUNS=${BENCH_RUNS:-100}
command -v hyperfine >/dev/null || { echo "trust.bench: hyperfine is not installed" >&2; exit 1; }
command -v python3 >/dev/null || { echo "trust.bench: python3 is not installed" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seckit-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp"
export SECKIT_STORE="$tmp/store" SECKIT_CONFIG="$tmp/config.yaml"
: > "$SECKIT_CONFIG"
openssl=$(command -v openssl)

# Median in milliseconds of one command (no shell in between).
median() {
	hyperfine -N --warmup 10 --runs "$RUNS" --style none \
		--export-json "$tmp/h.json" "$1" >/dev/null 2>&1 ||
		{ echo "trust.bench: hyperfine failed on: $1" >&2; return 1; }
	python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$tmp/h.json"
}

ec() { "$openssl" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { # NAME: a self-signed CA
	ec "$1.key"
	"$openssl" req -x509 -new -key "$1.key" -subj "/CN=$1" -days 30 -out "$1.pem" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}

echo "trust.bench: setting up" >&2
ca root
ec command.key
"$openssl" pkey -in command.key -pubout -out command.pub
ec inter.key
"$openssl" req -new -key inter.key -subj /CN=inter -out inter.csr
"$SECKIT" cert issue --csr inter.csr --ca-cert root.pem --ca-key root.key --profile ca --out inter.pem
ec leaf.key
"$openssl" req -new -key leaf.key -subj /CN=leaf -out leaf.csr
"$SECKIT" cert issue --csr leaf.csr --ca-cert inter.pem --ca-key inter.key --out leaf.pem
cat > m.yaml <<EOF
version: 1
device-key:
  csr:
    subject: /CN=bench
command-key:
  file: command.pub
ca:
  - name: root
    file: root.pem
EOF
"$SECKIT" provision m.yaml
"$SECKIT" stp make --command revoke --cert root.pem --serial 1234 --seq 1 --sign-key command.key --out r.stp
"$SECKIT" stp apply r.stp

v1=$(median "$SECKIT cert verify leaf.pem --chain inter.pem")
o1=$(median "$openssl verify -CAfile root.pem -untrusted inter.pem leaf.pem")

# 99 more anchors, added the only way a device gets them: by STP.
i=2
cp root.pem bundle.pem
while [ $i -le 100 ]; do
	ca "ca$i"
	cat "ca$i.pem" >> bundle.pem
	"$SECKIT" stp make --command add-ca --name "ca$i" --cert "ca$i.pem" --seq $i \
		--sign-key command.key --out a.stp
	"$SECKIT" stp apply a.stp
	i=$((i + 1))
done
v100=$(median "$SECKIT cert verify leaf.pem --chain inter.pem")
o100=$(median "$openssl verify -CAfile bundle.pem -untrusted inter.pem leaf.pem")

# stp apply: a fresh package per run (sequence numbers must rise), each a
# CA update that commits certificate, sequence number and clock together.
python3 - "$SECKIT" "$RUNS" > stp.times <<'EOF'
import subprocess, sys, time
seckit, runs = sys.argv[1], int(sys.argv[2])
for i in range(runs):
    subprocess.run([seckit, "stp", "make", "--command", "update-ca", "--name", "ca2",
                    "--cert", "ca%d.pem" % (2 + i % 2), "--seq", str(1000 + i),
                    "--sign-key", "command.key", "--out", "u%d.stp" % i], check=True)
times = []
for i in range(runs):
    t = time.perf_counter()
    subprocess.run([seckit, "stp", "apply", "u%d.stp" % i], check=True)
    times.append(time.perf_counter() - t)
times.sort()
print("%.3f" % (times[len(times) // 2] * 1000))
EOF
a=$(cat stp.times)
# The same signature checked by openssl alone (docs/formats/stp.md, stp-verify).
"$openssl" asn1parse -inform DER -in u0.stp > layout.txt
# shellcheck disable=SC2046 # the three numbers of each element
set -- $(sed -n 's/^ *\([0-9]*\):d=1  *hl= *\([0-9]*\) *l= *\([0-9]*\) .*/\1 \2 \3/p' layout.txt)
dd if=u0.stp bs=1 skip="$1" count=$(($4 - $1)) status=none of=tbs.der
dd if=u0.stp bs=1 skip=$(($4 + $5)) count="$6" status=none of=sig.bin
"$openssl" dgst -sha256 -verify command.pub -signature sig.bin tbs.der >/dev/null
od=$(median "$openssl dgst -sha256 -verify command.pub -signature sig.bin tbs.der")

c=$(median "$SECKIT cert csr --subject /CN=bench --out bench.csr")
oc=$(median "$openssl req -new -key leaf.key -subj /CN=bench -out bench2.csr")

# A whole provisioning run, in a fresh store each time.
python3 - "$SECKIT" "$RUNS" > prov.times <<'EOF'
import os, shutil, subprocess, sys, time
seckit, runs = sys.argv[1], min(int(sys.argv[2]), 30)
times = []
for i in range(runs):
    st = "pstore%d" % i
    env = dict(os.environ, SECKIT_STORE=st)
    t = time.perf_counter()
    subprocess.run([seckit, "provision", "m.yaml"], check=True, env=env)
    times.append(time.perf_counter() - t)
    shutil.rmtree(st)
times.sort()
print("%.3f" % (times[len(times) // 2] * 1000))
EOF
p=$(cat prov.times)

printf 'trust: cert verify, 1 anchor + CRL\t%s\t%s\tms\t<= openssl verify\n' "$v1" "$o1"
printf 'trust: cert verify, 100 anchors + CRL\t%s\t%s\tms\t<= openssl verify\n' "$v100" "$o100"
printf 'trust: stp apply (verify + atomic commit)\t%s\t%s\tms\tfew ms over the signature check\n' "$a" "$od"
printf 'trust: cert csr (signed in the backend)\t%s\t%s\tms\t<= openssl req\n' "$c" "$oc"
printf 'trust: provision (key, CSR, keys, CA)\t%s\t-\tms\t-\n' "$p"
