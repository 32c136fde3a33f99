#!/usr/bin/env bats
# The binaries make builds are hardened (issue 14): PIE, full RELRO
# (GNU_RELRO + BIND_NOW), stack protector, FORTIFY, no executable stack,
# no RPATH/RUNPATH -- checked with readelf by scripts/check-hardening.sh,
# which is shown to refuse a small program built without each of them.

load helper

CHECK="$SECKIT_SRC/scripts/check-hardening.sh"

setup_file() {
	require readelf cc
	cd "$BATS_FILE_TMPDIR" || return 1
	# A tiny program with a fortifiable copy and a local array: what the
	# checker looks for is referenced when the flags are given.
	cat > tiny.c <<-'C'
	#include <stdio.h>
	#include <string.h>
	int main(int argc, char **argv)
	{
		char b[64];
		if (argc < 2)
			return 1;
		strcpy(b, argv[1]);
		puts(b);
		return 0;
	}
	C
	GOOD="-O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack"
	export GOOD
}

# build NAME FLAGS...: the tiny program with the good flags and then FLAGS
# (later flags win).
build() {
	local name=$1
	shift
	# shellcheck disable=SC2086 # GOOD is a list of flags
	cc $GOOD "$@" -o "$BATS_FILE_TMPDIR/$name" "$BATS_FILE_TMPDIR/tiny.c"
}

@test "seckit is a PIE with full RELRO, stack protector, FORTIFY, no exec stack, no RPATH" {
	! sanitizer_build || skip "make SANITIZE=1 builds without FORTIFY and the stack protector"
	run -0 "$CHECK" "$SECKIT_ELF"
	[ "${#lines[@]}" -eq 7 ]
	[[ "$output" != *fail* ]]
	run -0 "$CHECK" "$SECKIT_TESTBUILD_ELF"
}

@test "seckit-provider.so has full RELRO, stack protector, FORTIFY, no exec stack, no RPATH" {
	! sanitizer_build || skip "make SANITIZE=1 builds without FORTIFY and the stack protector"
	run -0 "$CHECK" --shared "$(dirname "$SECKIT_ELF")/seckit-provider.so"
	[ "${#lines[@]}" -eq 6 ]
	[[ "$output" != *fail* ]]
}

@test "check-hardening: a program built with the flags passes" {
	build good
	run -0 "$CHECK" "$BATS_FILE_TMPDIR/good"
	[[ "$output" != *fail* ]]
}

@test "check-hardening: not a PIE fails" {
	build nopie -fno-PIE -no-pie
	run -1 "$CHECK" "$BATS_FILE_TMPDIR/nopie"
	[ "$(printf '%s\n' "$output" | grep -c '^fail')" -eq 1 ]
	[[ "$output" == *"fail pie: not ET_DYN"* ]]
	# A shared object is ET_DYN too, but not a PIE.
	build so -fPIC -shared
	run -1 "$CHECK" "$BATS_FILE_TMPDIR/so"
	[[ "$output" == *"fail pie: ET_DYN without DT_FLAGS_1 PIE"* ]]
}

@test "check-hardening: no RELRO fails" {
	build norelro -Wl,-z,norelro
	run -1 "$CHECK" "$BATS_FILE_TMPDIR/norelro"
	[[ "$output" == *"fail relro: no PT_GNU_RELRO"* ]]
}

@test "check-hardening: lazy binding (partial RELRO) fails" {
	build lazy -Wl,-z,lazy
	run -1 "$CHECK" "$BATS_FILE_TMPDIR/lazy"
	[ "$(printf '%s\n' "$output" | grep -c '^fail')" -eq 1 ]
	[[ "$output" == *"fail bind-now:"* ]]
}

@test "check-hardening: no stack protector fails" {
	build nossp -fno-stack-protector
	run -1 "$CHECK" "$BATS_FILE_TMPDIR/nossp"
	[ "$(printf '%s\n' "$output" | grep -c '^fail')" -eq 1 ]
	[[ "$output" == *"fail stack-protector: __stack_chk_fail not referenced"* ]]
}

@test "check-hardening: no FORTIFY fails" {
	build nofortify -U_FORTIFY_SOURCE
	run -1 "$CHECK" "$BATS_FILE_TMPDIR/nofortify"
	[ "$(printf '%s\n' "$output" | grep -c '^fail')" -eq 1 ]
	[[ "$output" == *"fail fortify: no __*_chk function referenced"* ]]
}

@test "check-hardening: an executable stack fails" {
	build execstack -Wl,-z,execstack
	run -1 "$CHECK" "$BATS_FILE_TMPDIR/execstack"
	[ "$(printf '%s\n' "$output" | grep -c '^fail')" -eq 1 ]
	[[ "$output" == *"fail noexecstack: PT_GNU_STACK is executable"* ]]
}

@test "check-hardening: an RPATH or a RUNPATH fails" {
	build rpath -Wl,--disable-new-dtags -Wl,-rpath,/opt/evil
	run -1 "$CHECK" "$BATS_FILE_TMPDIR/rpath"
	[ "$(printf '%s\n' "$output" | grep -c '^fail')" -eq 1 ]
	[[ "$output" == *"fail no-rpath: RPATH /opt/evil"* ]]
	build runpath -Wl,--enable-new-dtags -Wl,-rpath,/opt/evil
	run -1 "$CHECK" "$BATS_FILE_TMPDIR/runpath"
	[[ "$output" == *"fail no-rpath: RUNPATH /opt/evil"* ]]
}

@test "check-hardening: a file that is not ELF is a usage error" {
	run -2 --separate-stderr "$CHECK" "$SECKIT_SRC/Makefile"
	assert_one_error_line "check-hardening: "
}
