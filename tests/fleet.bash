# shellcheck shell=bash
# Fixtures for the fleet tests (tests/54-fleet-*.bats): an OEM key file
# (oem.pem), a device store whose key is dev.pub, an opaque object fw.bin
# (.enc, .oocfg) and fleet.yaml of N devices d0001 .. (all with dev.pub,
# so that any of their OOIDs opens here).

# shellcheck source=tests/opaque.bash
. "$(dirname "${BASH_SOURCE[0]}")/opaque.bash"

setup_fleet() {
	mk_oem P-256
	mk_device ec-p256
	head -c 3000 /dev/urandom > fw.bin
	sk oo make --in fw.bin >/dev/null
	mk_fleet_file "$1"
}

mk_fleet_file() {
	local i
	{
		echo "devices:"
		for i in $(seq -f %04g 1 "$1"); do
			printf '  - id: d%s\n    public-key-file: dev.pub\n' "$i"
		done
	} > fleet.yaml
}

# The sorted device ids of fleet.yaml.
fleet_ids() {
	sed -n 's/^  - id: //p' fleet.yaml | sort
}

# The sorted device ids of the .oid (or .okp) entries of tar archives.
archive_ids() {
	local f
	for f in "$@"; do
		tar -tf "$f"
	done | sed 's/\.\(oid\|okp\)$//' | sort
}

ooid() {
	sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml "$@"
}

# A fleet of N devices whose keys openssl made: dev<i>.pem/.pub for device
# d000<i>, each with its own store st<i> (the OEM root and its device key),
# so that a package opens on its own device only (openssl recipes use the
# .pem).  Also the OEM (oem.pem) and fleet.yaml.
mk_fleet_devices() {
	local i
	mk_ec oem
	echo "devices:" > fleet.yaml
	for i in $(seq 1 "$1"); do
		mk_ec "dev$i"
		SECKIT_STORE="$BATS_TEST_TMPDIR/st$i" "$SECKIT" key import oem-root --in oem.pub --provisioned >/dev/null
		SECKIT_STORE="$BATS_TEST_TMPDIR/st$i" "$SECKIT" key import device --in "dev$i.pem" >/dev/null
		printf '  - id: d%04d\n    public-key-file: dev%d.pub\n' "$i" "$i" >> fleet.yaml
	done
}

# opaque-key make for the fleet of fleet.yaml, signed by oem.pem.
okey() {
	sk opaque-key make --name app.key --sign-key oem.pem --devices fleet.yaml "$@"
}
