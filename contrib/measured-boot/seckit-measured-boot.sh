#!/bin/sh
# Measured boot with seckit: measure the boot images into a PCR, then
# compare the PCRs with the golden values sealed in the TPM.  Run once per
# boot, early (seckit-measured-boot.service, or the SysV script
# seckit-measured-boot.init); settings in /etc/default/seckit-measured-boot.
#
# Exit status: 0 the platform is the one sealed; 7 it changed (or, with
# MB_ON_MISMATCH=warn, 0 after the warning); anything else: seckit's
# status (4: no TPM, 8: nothing sealed yet and MB_SEAL_FIRST_BOOT=no).
set -u

MB_CONFIG=${MB_CONFIG:-/etc/default/seckit-measured-boot}
if [ -r "$MB_CONFIG" ]; then
	# shellcheck disable=SC1090 # the settings file is the admin's
	. "$MB_CONFIG"
fi
# Defaults for what neither the environment nor the settings file set.
MB_PCR=${MB_PCR:-9}
MB_FILES=${MB_FILES:-/boot/Image /boot/*.dtb /boot/initramfs*}
MB_INDEX=${MB_INDEX:-0x01500016}
MB_SEAL_FIRST_BOOT=${MB_SEAL_FIRST_BOOT:-no}
MB_ON_MISMATCH=${MB_ON_MISMATCH:-fail}
SECKIT=${SECKIT:-seckit}

log() {
	echo "seckit-measured-boot: $*" >&2
	if command -v logger >/dev/null 2>&1; then
		logger -t seckit-measured-boot -- "$*" 2>/dev/null || true
	fi
}

# The files that exist, in the order given (a glob that matches nothing is
# skipped, so that an image without an initramfs measures the rest).
files=""
for pattern in $MB_FILES; do
	for f in $pattern; do
		[ -f "$f" ] && files="$files $f"
	done
done
if [ -z "$files" ]; then
	log "nothing to measure: no file of '$MB_FILES' exists"
	exit 1
fi

# shellcheck disable=SC2086 # $files is a list of paths without blanks
"$SECKIT" measure extend --pcr "$MB_PCR" $files || {
	rc=$?
	log "measuring$files into PCR $MB_PCR failed (exit $rc)"
	exit "$rc"
}

"$SECKIT" measure verify --pcr "$MB_PCR" --index "$MB_INDEX"
rc=$?
case $rc in
0)
	exit 0
	;;
7)
	log "the platform changed: PCR $MB_PCR differs from the golden value in NV index $MB_INDEX"
	[ "$MB_ON_MISMATCH" = warn ] && exit 0
	exit 7
	;;
8)
	if [ "$MB_SEAL_FIRST_BOOT" = yes ]; then
		log "no golden value yet: sealing this boot's PCR $MB_PCR in NV index $MB_INDEX"
		"$SECKIT" measure seal --pcr "$MB_PCR" --index "$MB_INDEX"
		exit $?
	fi
	log "no golden value in NV index $MB_INDEX (seal one: seckit measure seal --pcr $MB_PCR --golden FILE)"
	exit 8
	;;
*)
	exit "$rc"
	;;
esac
