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

# The sorted device ids of the .oid entries of tar archives.
archive_ids() {
	local f
	for f in "$@"; do
		tar -tf "$f"
	done | sed 's/\.oid$//' | sort
}

ooid() {
	sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml "$@"
}
