#!/bin/sh
# Check an ELF program or shared object for the hardening the Makefile
# promises, with readelf alone (any target architecture):
#   pie             executable: ET_DYN with DT_FLAGS_1 PIE
#   relro           a PT_GNU_RELRO segment
#   bind-now        DT_FLAGS BIND_NOW or DT_FLAGS_1 NOW (full RELRO with relro)
#   stack-protector __stack_chk_fail referenced
#   fortify         __*_chk functions of _FORTIFY_SOURCE referenced
#   noexecstack     PT_GNU_STACK present and not executable
#   no-rpath        neither DT_RPATH nor DT_RUNPATH
# One line per check, "ok CHECK" or "fail CHECK: why"; exit 1 when one
# fails, 2 on a usage error or a file readelf cannot read.
# Usage: scripts/check-hardening.sh [--shared] FILE
set -u
READELF=${READELF:-readelf}
shared=0
if [ "${1:-}" = "--shared" ]; then
	shared=1
	shift
fi
[ $# -eq 1 ] || { echo "usage: check-hardening.sh [--shared] FILE" >&2; exit 2; }
f=$1
hdr=$(LC_ALL=C "$READELF" -hW "$f" 2>/dev/null) || { echo "check-hardening: $f: not an ELF file" >&2; exit 2; }
dyn=$(LC_ALL=C "$READELF" -dW "$f" 2>/dev/null)
seg=$(LC_ALL=C "$READELF" -lW "$f" 2>/dev/null)
sym=$(LC_ALL=C "$READELF" -sW --dyn-syms "$f" 2>/dev/null)
status=0
ok() { echo "ok $1"; }
fail() { echo "fail $1: $2"; status=1; }

if [ "$shared" -eq 0 ]; then
	if ! printf '%s\n' "$hdr" | grep -q 'Type:[[:space:]]*DYN'; then
		fail pie "not ET_DYN (a fixed-address executable)"
	elif ! printf '%s\n' "$dyn" | grep -q '(FLAGS_1).*[[:space:]]PIE'; then
		fail pie "ET_DYN without DT_FLAGS_1 PIE (a shared object, not a PIE)"
	else
		ok pie
	fi
fi
if printf '%s\n' "$seg" | grep -q '^[[:space:]]*GNU_RELRO[[:space:]]'; then
	ok relro
else
	fail relro "no PT_GNU_RELRO segment"
fi
if printf '%s\n' "$dyn" | grep -Eq '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*[[:space:]]NOW'; then
	ok bind-now
else
	fail bind-now "neither BIND_NOW nor NOW: symbols bound lazily, the GOT stays writable"
fi
if printf '%s\n' "$sym" | grep -q '[[:space:]]__stack_chk_fail\(@\|$\)'; then
	ok stack-protector
else
	fail stack-protector "__stack_chk_fail not referenced"
fi
if printf '%s\n' "$sym" | grep -v '__stack_chk_' | grep -Eq '[[:space:]]__[a-z0-9_]+_chk(@|$)'; then
	ok fortify
else
	fail fortify "no __*_chk function referenced"
fi
stack=$(printf '%s\n' "$seg" | grep '^[[:space:]]*GNU_STACK[[:space:]]')
if [ -z "$stack" ]; then
	fail noexecstack "no PT_GNU_STACK segment (the stack is executable by default)"
elif printf '%s\n' "$stack" | awk '{ f = ""; for (i = 7; i < NF; i++) f = f $i; exit !(f ~ /E/) }'; then
	fail noexecstack "PT_GNU_STACK is executable"
else
	ok noexecstack
fi
if printf '%s\n' "$dyn" | grep -Eq '\((RPATH|RUNPATH)\)'; then
	fail no-rpath "$(printf '%s\n' "$dyn" | grep -E '\((RPATH|RUNPATH)\)' | sed 's/.*(\(R[A-Z]*PATH\))[^[]*\[\(.*\)\]/\1 \2/' | head -n 1)"
else
	ok no-rpath
fi
exit "$status"
