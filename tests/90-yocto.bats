#!/usr/bin/env bats
# contrib/yocto/meta-seckit (issue 14): no BitBake here, so what can be
# checked is checked by contrib/yocto/check-recipe.py: the recipe and
# layer.conf parse, the variables the recipe passes are ones the Makefile
# reads, and `make install DESTDIR=...` with the recipe's paths installs
# exactly what the packages' FILES claim.  The checker is shown to refuse
# each kind of mistake.

load helper

CHECK="$SECKIT_SRC/contrib/yocto/check-recipe.py"
LAYER="$SECKIT_SRC/contrib/yocto/meta-seckit"
RECIPE="$LAYER/recipes-security/seckit/seckit_git.bb"

setup() {
	common_setup
	require python3
	cp "$RECIPE" r.bb
}

@test "yocto: layer.conf and the recipe parse; the layer is for scarthgap, styhead and walnascar" {
	run -0 "$CHECK" syntax "$LAYER/conf/layer.conf"
	run -0 "$CHECK" syntax "$RECIPE"
	grep -qx 'LAYERSERIES_COMPAT_seckit = "scarthgap styhead walnascar"' "$LAYER/conf/layer.conf"
	grep -q '^inherit .*bash-completion' "$RECIPE"
	# A broken line and an unterminated function are refused.
	echo 'EXTRA_OEMAKE += "unbalanced' >> r.bb
	run -1 --separate-stderr "$CHECK" syntax r.bb
	[[ "$stderr" == *"not an assignment, inherit or function"* ]]
	cp "$RECIPE" r.bb
	printf 'do_configure() {\n    true\n' >> r.bb
	run -1 --separate-stderr "$CHECK" syntax r.bb
	[[ "$stderr" == *"unterminated function"* ]]
}

@test "yocto: every variable the recipe passes to make is one the Makefile reads" {
	run -0 "$CHECK" vars "$RECIPE" "$SECKIT_SRC/Makefile"
	sed -i 's|^    STATIC=0 \\$|    STATIC=0 NOSUCH_KNOB=1 \\|' r.bb
	run -1 --separate-stderr "$CHECK" vars r.bb "$SECKIT_SRC/Makefile"
	[ "$stderr" = "check-recipe: recipe passes NOSUCH_KNOB, which $SECKIT_SRC/Makefile does not read" ]
}

@test "yocto: make install with the recipe's paths installs what its packages' FILES claim" {
	local args targets
	args=$("$CHECK" make-args "$RECIPE")
	[[ "$args" == *"MODULESDIR=/usr/lib/ossl-modules"* ]]
	targets=$("$CHECK" make-targets "$RECIPE")
	[ "$targets" = "install install-measured-boot" ]
	# shellcheck disable=SC2086 # NAME=VALUE words and targets
	make -s -C "$SECKIT_SRC" $targets DESTDIR="$PWD/image" $args
	[ -x image/usr/bin/seckit ]
	# The measured-boot service, naming the recipe's directories.
	[ -x image/usr/libexec/seckit/measured-boot ]
	[ -x image/etc/init.d/seckit-measured-boot ]
	[ -f image/etc/default/seckit-measured-boot ]
	grep -qx 'ExecStart=/usr/libexec/seckit/measured-boot' image/lib/systemd/system/seckit-measured-boot.service
	grep -qx 'EnvironmentFile=-/etc/default/seckit-measured-boot' image/lib/systemd/system/seckit-measured-boot.service
	grep -q '^SYSTEMD_SERVICE:${PN}-measured-boot = "seckit-measured-boot.service"$' "$RECIPE"
	[ -f image/usr/share/doc/seckit/config.example.yaml ]
	[ -f image/usr/share/man/man1/seckit-doctor.1 ]
	[ -f image/usr/lib/ossl-modules/seckit-provider.so ]
	run -0 "$CHECK" files "$RECIPE" "$PWD/image"
	# A file in no package, and a FILES entry that matches nothing, are refused.
	sed -i '/^FILES:${PN}-zsh-completion/d' r.bb
	run -1 --separate-stderr "$CHECK" files r.bb "$PWD/image"
	[[ "$stderr" == "check-recipe: installed but in no package: /usr/share/zsh/site-functions/_seckit" ]]
	cp "$RECIPE" r.bb
	sed -i 's|^FILES:${PN}-fish-completion = .*|FILES:${PN}-fish-completion = "${datadir}/fish ${datadir}/nosuch"|' r.bb
	run -1 --separate-stderr "$CHECK" files r.bb "$PWD/image"
	[ "$stderr" = 'check-recipe: FILES:${PN}-fish-completion entry ${datadir}/nosuch matches nothing installed' ]
}

@test "make install-measured-boot: the installed unit and scripts name the directories given" {
	make -s -C "$SECKIT_SRC" install-measured-boot DESTDIR="$PWD/img" PREFIX=/opt/sk SYSCONFDIR=/opt/sk/etc
	grep -qx 'ExecStart=/opt/sk/libexec/seckit/measured-boot' img/opt/sk/lib/systemd/system/seckit-measured-boot.service
	grep -qx 'EnvironmentFile=-/opt/sk/etc/default/seckit-measured-boot' img/opt/sk/lib/systemd/system/seckit-measured-boot.service
	grep -q '^MB=${MB:-/opt/sk/libexec/seckit/measured-boot}$' img/opt/sk/etc/init.d/seckit-measured-boot
	grep -q '/opt/sk/etc/default/seckit-measured-boot' img/opt/sk/libexec/seckit/measured-boot
	run -1 grep -rnE '/usr/libexec|(^|[^k])/etc/default' img
	sh -n img/opt/sk/libexec/seckit/measured-boot
	sh -n img/opt/sk/etc/init.d/seckit-measured-boot
	# A recipe whose do_install makes nothing is refused.
	sed -i 's/^    oe_runmake install install-measured-boot .*/    true/' r.bb
	run -1 --separate-stderr "$CHECK" make-targets r.bb
	[[ "$stderr" == *"do_install runs no oe_runmake target" ]]
}
