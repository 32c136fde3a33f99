#!/usr/bin/env bats
# Build hygiene (issue 14): the Makefile keeps the user's CFLAGS, CPPFLAGS
# and LDFLAGS and adds its own, uses CC and PKG_CONFIG for everything,
# works with a sysroot, installs under PREFIX and DESTDIR only and never
# strips.  `make -n` shows the commands without running them; OUT= puts
# what make writes while reading the Makefile in the test's directory.

load helper

setup() {
	common_setup
	# A compiler under another name: every command must go through $CC.
	mkdir -p bin
	printf '#!/bin/sh\nexec cc "$@"\n' > bin/mycc
	chmod +x bin/mycc
	MYCC="$PWD/bin/mycc"
	O="$BATS_TEST_TMPDIR/out/"
}

# mk ARGS...: the commands `make -B ARGS` would run, one a line
# (continuation lines joined).  The outputs are in $O.  SANITIZE=0 unless
# ARGS say otherwise: `make check SANITIZE=1` passes its own down.
mk() {
	make -s -n -B -C "$SECKIT_SRC" OUT="$O" SANITIZE=0 "$@" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta'
}

@test "make: the user's CFLAGS, CPPFLAGS and LDFLAGS are kept, seckit's added" {
	run -0 mk CC="$MYCC" CFLAGS="-O1 -DUSER_CFLAGS" CPPFLAGS=-DUSER_CPPFLAGS \
		LDFLAGS=-Wl,-z,user-ldflags "${O}seckit" "${O}test/seckit" "${O}seckit-provider.so"
	local compile link
	compile=$(printf '%s\n' "$output" | grep -e ' -c -o ')
	link=$(printf '%s\n' "$output" | grep -e ' -pie ' | grep -v ' -c ')
	[ -n "$compile" ]
	[ -n "$link" ]
	# Every compile line has the user's flags and ours.
	run -1 grep -v -e '-DUSER_CFLAGS' <<< "$compile"
	run -1 grep -v -e '-DUSER_CPPFLAGS' <<< "$compile"
	run -1 grep -v -e '-Wall' <<< "$compile"
	run -1 grep -v -e '-fstack-protector-strong' <<< "$compile"
	# Every link of a program: the user's LDFLAGS, PIE and full RELRO.
	run -1 grep -v -e '-Wl,-z,user-ldflags' <<< "$link"
	run -1 grep -v -e '-Wl,-z,relro,-z,now' <<< "$link"
	# Every compile and link runs $CC.
	run -1 grep -v -e "^$MYCC " <<< "$compile"
	run -1 grep -v -e "^$MYCC " <<< "$link"
}

@test "make SANITIZE=1: the user's CFLAGS are kept" {
	run -0 mk SANITIZE=1 CFLAGS="-O2 -DUSER_CFLAGS" "${O}seckit"
	[[ "$output" == *"-fsanitize=address,undefined"* ]]
	run -1 grep -e ' -c -o ' <<< "$(printf '%s\n' "$output" | grep -v -e '-DUSER_CFLAGS')"
}

@test "make: a _FORTIFY_SOURCE level of the user's wins over seckit's" {
	run -0 mk CPPFLAGS=-D_FORTIFY_SOURCE=3 "${O}seckit"
	[[ "$output" == *"-D_FORTIFY_SOURCE=3"* ]]
	[[ "$output" != *"-D_FORTIFY_SOURCE=2"* ]]
	run -0 mk "${O}seckit"
	[[ "$output" == *"-D_FORTIFY_SOURCE=2"* ]]
}

@test "make: PKG_CONFIG gives the flags, PKG_CONFIG_SYSROOT_DIR is taken off the install paths" {
	# A pkg-config that answers for a sysroot at /sysroot.
	cat > bin/pc <<-'SH'
	#!/bin/sh
	echo "$*" >> "$PC_LOG"
	PKG_CONFIG_SYSROOT_DIR=/sysroot exec pkg-config "$@"
	SH
	chmod +x bin/pc
	export PC_LOG="$PWD/pc.log"
	run -0 mk PKG_CONFIG="$PWD/bin/pc" PKG_CONFIG_SYSROOT_DIR=/sysroot DESTDIR=/dest install
	grep -q -E -e '--cflags (libssl )?libcrypto' pc.log
	grep -q -E -e '--libs-only-l (libssl )?libcrypto' pc.log
	grep -q -e '--variable=modulesdir libcrypto' pc.log
	[[ "$output" == *" -I/sysroot/usr/include"* ]]
	# The module goes where OpenSSL looks for it on the device, under
	# DESTDIR, not under the build machine's sysroot.
	local dir
	dir=$(pkg-config --variable=modulesdir libcrypto)
	[[ "$output" == *"/dest$dir/seckit-provider.so"* ]]
	[[ "$output" != *"/dest/sysroot"* ]]
}

@test "make install: under DESTDIR and PREFIX only, nothing stripped" {
	# The tree is built: only the install commands.
	run -0 make -s -n -C "$SECKIT_SRC" PREFIX=/opt/sk DESTDIR=/dest MODULESDIR=/opt/sk/lib/ossl-modules install
	local cmds paths
	cmds=$(printf '%s\n' "$output" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep -E '^(install|ln|for) ')
	[ -n "$cmds" ]
	run -1 grep -e 'strip' -e 'install .*-s ' <<< "$cmds"
	# Every absolute path written to is under /dest/opt/sk.
	paths=$(printf '%s\n' "$cmds" | grep -oE '(^| )/[^ ;]*' | tr -d ' ' | sort -u)
	[ -n "$paths" ]
	run -1 grep -v -e '^/dest/opt/sk/' <<< "$paths"
	# The installed binary is the one built, with its symbols.
	make -s -C "$SECKIT_SRC" DESTDIR="$PWD/root" PREFIX=/usr install
	cmp "$SECKIT_SRC/seckit" root/usr/bin/seckit
	readelf -S root/usr/bin/seckit | grep -q '\.symtab'
	readelf -S root/usr/bin/seckit | grep -q '\.debug_info'
}

@test "make: no compiler, no /usr path and no strip written in the Makefile's commands" {
	# Defaults are variables (PREFIX ?= /usr/local); recipes use them.
	run -1 grep -nE '^	.*(/usr/|[^_]\<(gcc|clang)\>|\<strip\>)' "$SECKIT_SRC/Makefile"
}

@test "make CROSS=aarch64-linux-gnu: the triplet's compiler and pkg-config, outputs apart" {
	require aarch64-linux-gnu-gcc aarch64-linux-gnu-pkg-config
	# The outputs of a cross build go to build/TRIPLET/ by default.
	run -0 make -s -C "$SECKIT_SRC" CROSS=aarch64-linux-gnu --eval 'print-vars: ; @echo $(OUT) $(CC) $(PKG_CONFIG)' print-vars
	[ "$output" = "build/aarch64-linux-gnu/ aarch64-linux-gnu-gcc aarch64-linux-gnu-pkg-config" ]
	run -0 mk CROSS=aarch64-linux-gnu "${O}seckit"
	grep -q "^aarch64-linux-gnu-gcc .* -o ${O}seckit " <<< "$output"
	# CC given by the user wins over the triplet's.
	run -0 mk CROSS=aarch64-linux-gnu CC="$MYCC" "${O}seckit"
	grep -q "^$MYCC .* -o ${O}seckit " <<< "$output"
	run -1 grep -e 'aarch64-linux-gnu-gcc' <<< "$output"
}
