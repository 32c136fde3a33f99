#!/bin/bash
# Instruction counts (valgrind callgrind, deterministic whatever the load) of
# one seckit binary over a fixed list of commands, one "name<TAB>count" row
# each: run it for two builds to compare a refactoring on a busy machine.
# Usage: bench/instructions.sh SECKIT-BINARY
set -e
B=${1:?usage: bench/instructions.sh SECKIT-BINARY}; W=$(mktemp -d /var/tmp/ic.XXXX); cd "$W"
export SECKIT_STORE=$W/store HOME=$W SECKIT_CONFIG=
head -c 1048576 /dev/urandom > m1; head -c 16777216 /dev/urandom > m16
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sk.pem 2>/dev/null
openssl pkey -in sk.pem -pubout -out sk.pub
$B key create warm --type ec-p256 >/dev/null
for i in $(seq 1 50); do "$B" key create "n$i" --type ec-p256 >/dev/null; done
$B key create a --type aes-256 >/dev/null
ic() { local name=$1; shift; local n; n=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : //p'); printf '%s\t%s\n' "$name" "$n"; }
ic "version" "$B" --version
ic "key create ec-p256" "$B" key create k --type ec-p256
ic "key sign 1 MiB" "$B" key sign k --in m1 --out s
ic "key verify 1 MiB" "$B" key verify k --in m1 --sig s
ic "key info" "$B" key info k
ic "key list (52 keys)" "$B" key list
ic "key encrypt 1 MiB gcm" "$B" key encrypt a --in m1 --out e
ic "key decrypt 1 MiB gcm" "$B" key decrypt a --in e --out d
ic "payload make 16 MiB" "$B" payload make --sign-key sk.pem --in m16 --out p.pkg
ic "payload verify 16 MiB" "$B" payload verify --pubkey sk.pub --in p.pkg
ic "store write 1 MiB" "$B" store write o --in m1
ic "store read 1 MiB" "$B" store read o --out r
cd /; rm -rf "$W"
