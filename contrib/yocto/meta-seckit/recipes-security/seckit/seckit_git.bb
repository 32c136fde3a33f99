SUMMARY = "seckit: device security from the command line"
DESCRIPTION = "Keys in a sealed store, a TPM or a PKCS#11 token; certificates \
and their trust anchors; signed payloads and trusted packages; factory \
provisioning; a device self-check (seckit doctor)."
HOMEPAGE = "https://seckit.invalid/"
SECTION = "security"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://cmd/main.c;beginline=1;endline=1;md5=234d7d4edd08962c0144e4604050e0b6"

# Where the sources come from: set SECKIT_SRC_URI (and SRCREV) in your
# layer or local.conf; see README.md.
SECKIT_SRC_URI ??= "git://git.seckit.invalid/seckit.git;protocol=https;branch=main"
SRC_URI = "${SECKIT_SRC_URI}"
SRCREV ??= "${AUTOREV}"
PV = "0.1.0+git"
S = "${WORKDIR}/git"

DEPENDS = "openssl libyaml"

inherit pkgconfig bash-completion systemd update-rc.d

# tpm2: the tpm2 backend, built with tpm2-tss's headers (meta-tpm); the
# libraries are loaded with dlopen when a TPM is used, so they are added
# as run-time dependencies here (shlibdeps cannot see them).
# pkcs11: nothing to build against -- the token's module is loaded with
# dlopen from the path configured on the device; the image recommends
# OpenSC's module.
PACKAGECONFIG ??= "tpm2"
PACKAGECONFIG[tpm2] = "TPM2=1,TPM2=0,tpm2-tss,libtss2 libtss2-tcti-device"
PACKAGECONFIG[pkcs11] = ",,,,opensc"

# The Makefile keeps the flags it is given and adds its own hardening
# (PIE, full RELRO, stack protector, FORTIFY only when these flags choose
# no level); it never strips.  libyaml comes without a static library in
# OE: link everything dynamically.  WERROR= lets a newer compiler warn.
EXTRA_OEMAKE = "\
    CC='${CC}' \
    CFLAGS='${CFLAGS}' \
    CPPFLAGS='${CPPFLAGS}' \
    LDFLAGS='${LDFLAGS}' \
    PKG_CONFIG='pkg-config' \
    PREFIX='${prefix}' \
    BINDIR='${bindir}' \
    MANDIR='${mandir}' \
    DATADIR='${datadir}' \
    SYSCONFDIR='${sysconfdir}' \
    LIBEXECDIR='${libexecdir}' \
    SYSTEMDUNITDIR='${systemd_system_unitdir}' \
    INITDIR='${INIT_D_DIR}' \
    MODULESDIR='${libdir}/ossl-modules' \
    STATIC=0 \
    WERROR= \
    ${PACKAGECONFIG_CONFARGS} \
"

do_compile() {
    oe_runmake seckit seckit-provider.so
}

do_install() {
    oe_runmake install install-measured-boot DESTDIR='${D}'
}

PACKAGE_BEFORE_PN = "${PN}-provider ${PN}-measured-boot ${PN}-zsh-completion ${PN}-fish-completion"

# The commands' links (seckit-key ...) next to the binary.
FILES:${PN} = "${bindir}/seckit ${bindir}/seckit-*"
# The OpenSSL provider module (openssl -provider seckit) and its link
# under the provider's name, which OpenSSL loads: not a development link.
FILES:${PN}-provider = "${libdir}/ossl-modules/seckit-provider.so ${libdir}/ossl-modules/seckit.so"
INSANE_SKIP:${PN}-provider = "dev-so"
RDEPENDS:${PN}-provider = "${PN}"
FILES:${PN}-zsh-completion = "${datadir}/zsh"
FILES:${PN}-fish-completion = "${datadir}/fish"
# Man pages and ${docdir}/seckit (config.example.yaml, the manifest
# example, README, the JSON schema) are in ${PN}-doc by default.

# Measured boot (contrib/measured-boot, seckit-measure(1)): a device opts
# in by adding seckit-measured-boot to IMAGE_INSTALL.  The unit (systemd)
# or the SysV script measures the boot images into a PCR early at every
# boot and verifies them against the golden value sealed in the TPM; its
# settings (PCR, files, NV index, what a mismatch does) are a conffile.
# Enabled when installed: an image that installs it wants it to run.
FILES:${PN}-measured-boot = "${libexecdir}/seckit ${systemd_system_unitdir}/seckit-measured-boot.service \
    ${sysconfdir}/default/seckit-measured-boot ${INIT_D_DIR}/seckit-measured-boot"
CONFFILES:${PN}-measured-boot = "${sysconfdir}/default/seckit-measured-boot"
RDEPENDS:${PN}-measured-boot = "${PN}"
SYSTEMD_PACKAGES = "${PN}-measured-boot"
SYSTEMD_SERVICE:${PN}-measured-boot = "seckit-measured-boot.service"
SYSTEMD_AUTO_ENABLE:${PN}-measured-boot = "enable"
INITSCRIPT_PACKAGES = "${PN}-measured-boot"
INITSCRIPT_NAME:${PN}-measured-boot = "seckit-measured-boot"
INITSCRIPT_PARAMS:${PN}-measured-boot = "start 05 S ."
