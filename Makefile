# seckit build.  Honours CC, CFLAGS, CPPFLAGS, LDFLAGS, PKG_CONFIG, PREFIX,
# DESTDIR and a sysroot (--sysroot in CC, PKG_CONFIG_SYSROOT_DIR): the
# user's flags are kept and seckit's own are added to them, nothing is
# stripped on install (a distribution strips and keeps the debug
# information itself).  Knobs:
#   STATIC=1|0    link libcrypto and libyaml statically (default 1: start-up
#                 time is dominated by dynamic loading; see bench/)
#   TPM2=auto|1|0 build the tpm2 backend layer (tpm2-tss headers needed;
#                 the libraries are loaded at run time, only when used)
#   PKCS11=auto|1|0 build the pkcs11 backend (p11-kit's pkcs11.h needed;
#                 the module is loaded at run time, only when used)
#   SANITIZE=1    AddressSanitizer + UndefinedBehaviorSanitizer build
#   CROSS=TRIPLET cross build with TRIPLET-gcc and TRIPLET-pkg-config (as
#                 `make CROSS=aarch64-linux-gnu`), into build/TRIPLET/;
#                 CC and PKG_CONFIG given on the command line win
#   WERROR=       warnings are not errors (a newer compiler than ours)
#   RELR=auto|1|0 pack the relative relocations (-z pack-relative-relocs,
#                 binutils >= 2.38 and glibc >= 2.36): auto when the linker
#                 and the C library take it
VERSION    := 0.1.0
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share
SYSCONFDIR ?= $(PREFIX)/etc
LIBEXECDIR ?= $(PREFIX)/libexec
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
INITDIR    ?= $(SYSCONFDIR)/init.d
CROSS      ?=
ifneq ($(CROSS),)
ifeq ($(origin CC),default)
CC         := $(CROSS)-gcc
endif
PKG_CONFIG ?= $(CROSS)-pkg-config
# Outputs of a cross build go to their own directory: the native ./seckit
# the tests run stays as it is.
OUT        ?= build/$(CROSS)/
else
PKG_CONFIG ?= pkg-config
OUT        ?=
endif
CC         ?= cc
CFLAGS     ?= -O2 -g
STATIC     ?= 1
TPM2       ?= auto
PKCS11     ?= auto
SANITIZE   ?= 0
WERROR     ?= -Werror
RELR       ?= auto
# Where the build puts what is not installed (test programs, objects):
# build/ natively, the cross build's own directory otherwise.
OUTB       := $(if $(OUT),$(OUT),build/)

WARN := -Wall -Wextra $(WERROR) -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wno-missing-field-initializers
# _FORTIFY_SOURCE only when the user's flags do not choose a level (a
# distribution's =3 next to our =2 is a redefinition, an error here).
FORTIFY := $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,-D_FORTIFY_SOURCE=2)
HARDEN := $(FORTIFY) -fstack-protector-strong -fPIE
# Full RELRO, bound at start-up: the GOT is read-only before main.
LDHARDEN := -Wl,-z,relro,-z,now -Wl,-z,noexecstack
SK_CFLAGS :=
SK_LDFLAGS :=
SK_CPPFLAGS := -Isrc -D_GNU_SOURCE -DSECKIT_VERSION='"$(VERSION)"' \
        $(shell $(PKG_CONFIG) --cflags libssl libcrypto yaml-0.1)

ifeq ($(STATIC),1)
LIBS := $(shell $(PKG_CONFIG) --libs-only-L libssl libcrypto yaml-0.1) \
        -Wl,-Bstatic $(shell $(PKG_CONFIG) --libs-only-l libssl libcrypto yaml-0.1) \
        -Wl,-Bdynamic -ldl -pthread
else
LIBS := $(shell $(PKG_CONFIG) --libs libssl libcrypto yaml-0.1) -ldl -pthread
endif

ifeq ($(TPM2),auto)
TPM2 := $(shell $(PKG_CONFIG) --exists tss2-esys && echo 1 || echo 0)
endif
ifeq ($(TPM2),1)
SK_CPPFLAGS += -DSECKIT_HAVE_TPM2 $(shell $(PKG_CONFIG) --cflags tss2-esys)
endif

# The pkcs11 backend needs only p11-kit's pkcs11.h (libp11-kit-dev): the
# module itself is loaded at run time.
ifeq ($(PKCS11),auto)
PKCS11 := $(shell $(PKG_CONFIG) --exists p11-kit-1 && echo 1 || echo 0)
endif
ifeq ($(PKCS11),1)
SK_CPPFLAGS += -DSECKIT_HAVE_PKCS11 $(shell $(PKG_CONFIG) --cflags p11-kit-1)
endif

ifeq ($(SANITIZE),1)
SK_CFLAGS += -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SK_LDFLAGS += -fsanitize=address,undefined
HARDEN := -fPIE
LIBS := $(shell $(PKG_CONFIG) --libs libssl libcrypto yaml-0.1) -ldl -pthread
# The tests run the instrumented binary: leaks are errors, undefined
# behaviour stops it, and LD_PRELOAD tools (faketime) may load first.
export ASAN_OPTIONS ?= detect_leaks=1:verify_asan_link_order=0
# Leaks inside third-party PKCS#11 modules only (tests/lsan.supp says which).
export LSAN_OPTIONS ?= suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
endif

# The target the compiler builds for (objects of each target apart).
TARGET := $(shell $(CC) -dumpmachine)
# Packed relative relocations (DT_RELR): the thousands of pointers in
# OpenSSL's tables are applied from a bitmap of a few hundred words at
# every start instead of one 24-byte entry each (bench/startup).  Taken
# when the linker knows the option and the C library the version it
# requires (GLIBC_ABI_DT_RELR); a try link tells.
ifeq ($(RELR),auto)
RELR := $(shell mkdir -p $(OUTB) && printf 'int main(void){return 0;}\n' | \
  $(CC) $(CFLAGS) $(LDFLAGS) -fPIE -pie -Wl,--fatal-warnings -Wl,-z,pack-relative-relocs \
  -x c -o $(OUTB)relr-probe - > /dev/null 2>&1 && echo 1 || echo 0; rm -f $(OUTB)relr-probe)
endif
ifeq ($(RELR),1)
LDHARDEN += -Wl,-z,pack-relative-relocs
endif

# src/provider/module.c is the entry point of the loadable provider only.
MODULE_SRC := src/provider/module.c
SRC := $(sort $(filter-out $(MODULE_SRC),$(wildcard src/*/*.c)))
CMD := $(sort $(wildcard cmd/*.c))
# Each build configuration has its own objects, and seckit is relinked when
# the configuration changes: `make SANITIZE=1` after `make` needs no
# `make clean` and never links objects of the other kind.
# (the objects do not depend on how they are linked: RELR only relinks).
OBJCONFIG := $(TARGET)-static$(STATIC)-tpm2$(TPM2)-pkcs11$(PKCS11)-sanitize$(SANITIZE)
CONFIG := $(OBJCONFIG) relr$(RELR)
OBJDIR := build/$(OBJCONFIG)
CONFIG_STAMP := $(OUTB)config
ifneq ($(file <$(CONFIG_STAMP)),$(CONFIG))
$(shell mkdir -p $(OUTB))
$(file >$(CONFIG_STAMP),$(CONFIG))
endif
OBJ := $(patsubst %.c,$(OBJDIR)/%.o,$(SRC) $(CMD))
# The command names, from the one command list.
COMMANDS := $(shell sed -n 's/^SK_COMMAND([a-z_0-9]*, *"\([a-z0-9-]*\)").*/\1/p' cmd/commands.h)

# Unit tests of library parts on their own: tests/unit/NAME.c is linked
# with the library objects into build/unit/NAME (relinked, like seckit,
# when the configuration changes), which the bats suite runs.
LIBOBJ := $(patsubst %.c,$(OBJDIR)/%.o,$(SRC))
UNIT := $(patsubst tests/unit/%.c,$(OUTB)unit/%,$(wildcard tests/unit/*.c))

# The test build: seckit with the store's test hooks (SECKIT_TEST_CRASH_AT,
# SECKIT_TEST_FAIL_AT; src/store/store.h).  Only HOOK_SRC differs: it is compiled
# a second time with -DSECKIT_TEST_HOOKS into $(OBJDIR)/test/, and
# build/test/seckit and the unit-test programs link that object instead of
# the release one (whose hooks are empty).  The tests that use a hook run
# build/test/seckit ($SECKIT_TESTBUILD in tests/helper.bash); every other
# test runs ./seckit.
HOOK_SRC := src/store/store_hooks.c
HOOK_OBJ := $(patsubst %.c,$(OBJDIR)/test/%.o,$(HOOK_SRC))
TEST_OBJ := $(filter-out $(patsubst %.c,$(OBJDIR)/%.o,$(HOOK_SRC)),$(OBJ)) $(HOOK_OBJ)
TEST_LIBOBJ := $(filter-out $(patsubst %.c,$(OBJDIR)/%.o,$(HOOK_SRC)),$(LIBOBJ)) $(HOOK_OBJ)
SECKIT_TEST := $(OUTB)test/seckit

# The fault-injection shim (tests/fault/): LD_PRELOAD'ed by the fault
# tests into seckit, which links libc dynamically.  No _FORTIFY_SOURCE:
# it defines open() and friends itself.
FAULT_LIB := $(OUTB)fault/libskfault.so

# The PKCS#11 wrapper module of the pkcs11 tests and bench (tests/pkcs11/):
# counts and logs the calls a run makes, and makes chosen calls fail.
ifeq ($(PKCS11),1)
P11COUNT := $(OUTB)pkcs11/p11count.so
endif

# The OpenSSL provider as a loadable module (man/seckit-provider.7): the
# library compiled again as position-independent code, linked with the
# shared libcrypto of the program that loads it; only OSSL_provider_init
# is exported.  It is loaded into programs built without sanitizers, so it
# is built without them in a SANITIZE=1 build too.
MODULE := seckit-provider.so
# src/tls/ (libssl, seckit tls) is not part of it.
MODULE_OBJ := $(patsubst %.c,$(OBJDIR)/pic/%.o,$(filter-out src/tls/%,$(SRC)) $(MODULE_SRC))
MODULE_LIBS := $(shell $(PKG_CONFIG) --libs libcrypto yaml-0.1) -ldl -pthread
# OpenSSL's modules directory on the target: pkg-config prefixes it with
# PKG_CONFIG_SYSROOT_DIR, which is the build machine's path, not the
# device's.
MODULESDIR ?= $(patsubst $(PKG_CONFIG_SYSROOT_DIR)/%,/%,$(shell $(PKG_CONFIG) --variable=modulesdir libcrypto))
ifeq ($(MODULESDIR),)
$(error libcrypto.pc has no modulesdir (OpenSSL 3 needed): give MODULESDIR=)
endif

# What `make` builds, with the paths of the cross build's own directory.
BIN := $(OUT)seckit
MODULE_OUT := $(OUT)$(MODULE)
all: $(BIN) $(SECKIT_TEST) $(UNIT) $(FAULT_LIB) $(P11COUNT) $(MODULE_OUT) $(OUT)seckit.so

# `-provider seckit` loads seckit.so from OpenSSL's modules directory
# ($OPENSSL_MODULES): the module under the provider's name, a link.
$(OUT)seckit.so: $(MODULE_OUT)
	ln -sf $(MODULE) $@

$(MODULE_OUT): $(MODULE_OBJ) $(CONFIG_STAMP)
	$(CC) $(CFLAGS) $(filter-out -fsanitize%,$(LDFLAGS)) -shared $(LDHARDEN) -Wl,-z,defs -o $@ $(MODULE_OBJ) $(MODULE_LIBS)

$(OBJDIR)/pic/%.o: %.c $(wildcard src/*/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SK_CPPFLAGS) -fPIC -fvisibility=hidden $(filter-out -fPIE,$(HARDEN)) $(WARN) \
	  $(filter-out -fsanitize% -fno-sanitize%,$(CFLAGS)) -c -o $@ $<

$(BIN): $(OBJ) $(CONFIG_STAMP)
	$(CC) $(CFLAGS) $(SK_CFLAGS) $(LDFLAGS) $(SK_LDFLAGS) -pie $(LDHARDEN) -o $@ $(OBJ) $(LIBS)

$(SECKIT_TEST): $(TEST_OBJ) $(CONFIG_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SK_CFLAGS) $(LDFLAGS) $(SK_LDFLAGS) -pie $(LDHARDEN) -o $@ $(TEST_OBJ) $(LIBS)

$(OUTB)unit/%: tests/unit/%.c $(TEST_LIBOBJ) $(wildcard src/*/*.h tests/unit/*.h) $(CONFIG_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SK_CPPFLAGS) $(HARDEN) $(WARN) $(CFLAGS) $(SK_CFLAGS) $(LDFLAGS) $(SK_LDFLAGS) \
	  -pie $(LDHARDEN) -o $@ $< $(TEST_LIBOBJ) $(LIBS)

$(FAULT_LIB): tests/fault/skfault.c Makefile
	@mkdir -p $(dir $@)
	$(CC) -D_GNU_SOURCE $(WARN) $(filter-out -D_FORTIFY_SOURCE% -fsanitize% -fno-sanitize%,$(CFLAGS)) \
	  -fPIC -shared $(filter-out -fsanitize%,$(LDFLAGS)) -o $@ $< -ldl -pthread

$(OUTB)pkcs11/p11count.so: tests/pkcs11/p11count.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(shell $(PKG_CONFIG) --cflags p11-kit-1) $(WARN) $(filter-out -fsanitize% -fno-sanitize%,$(CFLAGS)) \
	  -fPIC -shared $(filter-out -fsanitize%,$(LDFLAGS)) -o $@ $< -ldl -pthread

$(OBJDIR)/%.o: %.c $(wildcard src/*/*.h cmd/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SK_CPPFLAGS) $(HARDEN) $(WARN) $(CFLAGS) $(SK_CFLAGS) -c -o $@ $<

$(OBJDIR)/test/%.o: %.c $(wildcard src/*/*.h cmd/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SK_CPPFLAGS) -DSECKIT_TEST_HOOKS $(HARDEN) $(WARN) $(CFLAGS) $(SK_CFLAGS) -c -o $@ $<

# ---- fuzzing (clang's libFuzzer; see fuzz/README.md) ----
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
FUZZ_BIN := $(patsubst fuzz/%.c,build/fuzz/%,$(wildcard fuzz/fuzz_*.c))
FUZZ_OBJ := $(patsubst %.c,build/fuzz/obj/%.o,$(SRC))
FUZZ_LIBS := $(shell $(PKG_CONFIG) --libs libssl libcrypto yaml-0.1) -ldl -pthread

build/fuzz/obj/%.o: %.c $(wildcard src/*/*.h) Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(SK_CPPFLAGS) -DSECKIT_FUZZ $(WARN) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/%: fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(SK_CPPFLAGS) $(WARN) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(FUZZ_LIBS)

.SECONDARY: $(FUZZ_OBJ)
fuzz: $(FUZZ_BIN)

# Fuzz every target for FUZZ_SECONDS from its seeds (new finds go to
# build/fuzz/corpus-NAME, the committed seeds stay as they are).
fuzz-run: fuzz
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	  $$f -artifact_prefix=build/fuzz/ -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build/fuzz/corpus-$$n fuzz/corpus/$$n || exit 1; done

# What the test suite runs: every seed, then a short mutation run.  New
# inputs go to the first corpus directory libFuzzer is given: a scratch
# one, so the committed seeds are never touched.
fuzz-check: fuzz
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); log=build/fuzz/$$n.check.log; \
	  rm -rf build/fuzz/check-$$n; mkdir -p build/fuzz/check-$$n; \
	  if ! { $$f -artifact_prefix=build/fuzz/ -runs=0 fuzz/corpus/$$n && \
	         $$f -artifact_prefix=build/fuzz/ -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	             -rss_limit_mb=1024 build/fuzz/check-$$n fuzz/corpus/$$n; } > $$log 2>&1; then \
	    tail -n 40 $$log; echo "fuzz: $$n FAILED (log: $$log)"; exit 1; fi; \
	  echo "fuzz: $$n: $$(tail -n 1 $$log)"; done

# ---- documentation and completions ----
MANPAGES := $(sort $(wildcard man/*.1))
MANPAGES7 := $(sort $(wildcard man/*.7))
COMPLETIONS := completions/seckit.bash completions/_seckit completions/seckit.fish

completions: seckit
	./scripts/gen-completions.sh ./seckit completions

lint: seckit
	mandoc -Tlint -Wwarning $(MANPAGES) $(MANPAGES7)
	shellcheck -x scripts/*.sh tests/*.bash bench/*.sh .ci/run completions/seckit.bash contrib/fleet/*.sh contrib/fleet/check-shards
	./scripts/lint-bats.sh tests/*.bats

# ---- install ----
# Nothing is stripped (no install -s): a distribution strips and keeps
# the debug information itself.  Paths come from PREFIX and the *DIR
# variables only (MODULESDIR: OpenSSL's, from pkg-config).
install: $(BIN) $(MODULE_OUT)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
	  $(DESTDIR)$(MODULESDIR) \
	  $(DESTDIR)$(DATADIR)/bash-completion/completions \
	  $(DESTDIR)$(DATADIR)/zsh/site-functions \
	  $(DESTDIR)$(DATADIR)/fish/vendor_completions.d \
	  $(DESTDIR)$(DATADIR)/doc/seckit
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/seckit
	for c in $(COMMANDS); do ln -sf seckit $(DESTDIR)$(BINDIR)/seckit-$$c; done
	install -m 0644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(MANPAGES7) $(DESTDIR)$(MANDIR)/man7/
	install -m 0644 $(MODULE_OUT) $(DESTDIR)$(MODULESDIR)/$(MODULE)
	ln -sf $(MODULE) $(DESTDIR)$(MODULESDIR)/seckit.so
	install -m 0644 completions/seckit.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/seckit
	for c in $(COMMANDS); do ln -sf seckit $(DESTDIR)$(DATADIR)/bash-completion/completions/seckit-$$c; done
	install -m 0644 completions/_seckit $(DESTDIR)$(DATADIR)/zsh/site-functions/_seckit
	install -m 0644 completions/seckit.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/seckit.fish
	install -m 0644 config.example.yaml manifest.example.yaml README.md $(DESTDIR)$(DATADIR)/doc/seckit/
	install -m 0644 docs/json.md docs/json.schema.json $(DESTDIR)$(DATADIR)/doc/seckit/

# The measured-boot service (contrib/measured-boot): a device opts in, so
# it is not part of install.  The installed copies name the directories
# given here (the files in contrib/ name Debian's).
MB_SRC := contrib/measured-boot/seckit-measured-boot
MB_PATHS := -e 's|/usr/libexec/seckit/measured-boot|$(LIBEXECDIR)/seckit/measured-boot|g' \
  -e 's|/etc/default/seckit-measured-boot|$(SYSCONFDIR)/default/seckit-measured-boot|g'
install-measured-boot:
	install -d $(DESTDIR)$(LIBEXECDIR)/seckit $(DESTDIR)$(SYSTEMDUNITDIR) \
	  $(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(INITDIR)
	sed $(MB_PATHS) $(MB_SRC).sh > $(DESTDIR)$(LIBEXECDIR)/seckit/measured-boot
	chmod 0755 $(DESTDIR)$(LIBEXECDIR)/seckit/measured-boot
	sed $(MB_PATHS) $(MB_SRC).service > $(DESTDIR)$(SYSTEMDUNITDIR)/seckit-measured-boot.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/seckit-measured-boot.service
	sed $(MB_PATHS) $(MB_SRC).init > $(DESTDIR)$(INITDIR)/seckit-measured-boot
	chmod 0755 $(DESTDIR)$(INITDIR)/seckit-measured-boot
	sed $(MB_PATHS) $(MB_SRC).default > $(DESTDIR)$(SYSCONFDIR)/default/seckit-measured-boot
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/default/seckit-measured-boot

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/seckit $(addprefix $(DESTDIR)$(BINDIR)/seckit-,$(COMMANDS))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MANPAGES)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MANPAGES7)))
	rm -f $(DESTDIR)$(MODULESDIR)/$(MODULE) $(DESTDIR)$(MODULESDIR)/seckit.so
	rm -f $(DESTDIR)$(DATADIR)/bash-completion/completions/seckit \
	  $(addprefix $(DESTDIR)$(DATADIR)/bash-completion/completions/seckit-,$(COMMANDS)) \
	  $(DESTDIR)$(DATADIR)/zsh/site-functions/_seckit \
	  $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/seckit.fish
	rm -rf $(DESTDIR)$(DATADIR)/doc/seckit
	rm -f $(DESTDIR)$(LIBEXECDIR)/seckit/measured-boot \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/seckit-measured-boot.service \
	  $(DESTDIR)$(INITDIR)/seckit-measured-boot

# ---- tests, demo, bench ----
deps:
	./scripts/install-deps.sh

# The whole suite; prints "N passed, N failed" as its last line.
check: deps
	$(MAKE) all
	./scripts/run-tests.sh

# Just the tests, no dependency step (TESTS=tests/10-key.bats to pick).
test: all
	./scripts/run-tests.sh $(TESTS)

# The backend matrix (tests/backend.bash, docs/HACKING.md): the suites
# that make keys, once per backend (soft, tpm2 on swtpm, pkcs11 on a
# SoftHSM2 token); one "backend B: N passed, N failed" line per backend and
# a total line.  Not part of `make check`.  TESTS= picks files, BACKENDS=
# the backends.
BACKEND_SUITES := tests/10-key.bats tests/20-payload.bats tests/40-cert.bats \
  tests/42-stp.bats tests/50-opaque-key.bats tests/51-oo.bats tests/71-tls-connect.bats
BACKENDS ?= soft tpm2 pkcs11 pkcs11-tpm2
check-backends: all
	./scripts/check-backends.sh -b "$(BACKENDS)" $(or $(TESTS),$(BACKEND_SUITES))

# The suite against the arm64 build, run under qemu-user (no binfmt
# needed: tests/helper.bash starts it through SECKIT_RUNNER).  Only seckit
# (release and test builds) and the fault shim LD_PRELOAD'ed into it are
# arm64; the unit-test programs, openssl with the provider module, swtpm
# and SoftHSM2 stay native.  TESTS= picks files; check-arm64-quick is a
# larger subset, check-arm64-smoke the one CI runs (README "Building for
# arm64").
ARM64 := aarch64-linux-gnu
ARM64_OUT := build/$(ARM64)/
QEMU_ARM64 ?= qemu-aarch64-static
ARM64_QUICK := tests/09-json.bats tests/10-key.bats tests/11-cli.bats tests/13-keystore.bats \
  tests/14-key-crypto.bats tests/15-key-password.bats tests/20-payload.bats tests/30-store.bats \
  tests/30-store-format.bats tests/40-cert.bats tests/41-provision.bats tests/42-stp.bats \
  tests/50-opaque-key.bats tests/51-oo.bats tests/60-tpm2.bats tests/90-hardening.bats
deps-arm64:
	./scripts/install-deps.sh --cross arm64

arm64-build: all
	$(MAKE) CROSS=$(ARM64) all

# A real single-node Slurm (munge, slurmctld, slurmd started and stopped by
# the script) runs contrib/fleet's array script for N = 1, 2, 7 shards.
# Needs root; about a minute.
deps-cluster:
	./scripts/install-deps.sh --cluster

test-cluster: all deps-cluster
	contrib/fleet/test-slurm.sh ./seckit

check-arm64: deps-arm64
	$(MAKE) arm64-build
	$(MAKE) test-arm64

check-arm64-quick: deps-arm64
	$(MAKE) arm64-build
	$(MAKE) test-arm64 TESTS="$(ARM64_QUICK)"

# What CI runs of arm64 (.ci/run, before make check): keys made, used and
# cross-checked with openssl, TPM-held keys signing payloads and opening
# opaque keys (arm64 tss2 libraries loaded by the emulated seckit, swtpm
# native), and the binary's hardening.  (tests/60-tpm2.bats alone took
# 12 minutes under emulation at a load of 24: in check-arm64-quick.)
ARM64_SMOKE := tests/10-key.bats tests/21-payload-tpm2.bats tests/53-opaque-tpm2.bats \
  tests/90-hardening.bats
check-arm64-smoke: deps-arm64
	$(MAKE) arm64-build
	$(MAKE) test-arm64 TESTS="$(ARM64_SMOKE)"

test-arm64:
	SECKIT_RUNNER="$(QEMU_ARM64)" SECKIT_BIN="$(CURDIR)/$(ARM64_OUT)seckit" \
	  SECKIT_TESTBIN="$(CURDIR)/$(ARM64_OUT)test/seckit" \
	  SECKIT_FAULTLIB="$(CURDIR)/$(ARM64_OUT)fault/libskfault.so" \
	  ./scripts/run-tests.sh $(TESTS)

# Long soak runs of the store (crash, concurrency, every I/O fault of every
# writing command): not part of `make check`.
stress: all
	STORE_STRESS=1 ./scripts/run-tests.sh tests/30-store-crash.bats tests/30-store-concurrency.bats \
	  tests/30-store-fault.bats

demo: deps
	$(MAKE) seckit
	./scripts/demo.sh

# Also a STATIC=0 build, as the Yocto recipe makes it, for the rows of the
# benches that compare the two (bench/README.md).
bench: seckit
	$(MAKE) STATIC=0 OUT=build/static0/ build/static0/seckit
	SECKIT_STATIC0=$(CURDIR)/build/static0/seckit ./bench/run.sh

clean:
	rm -rf build seckit $(MODULE) seckit.so

FUZZ_PHONY := fuzz fuzz-run fuzz-check
.PHONY: $(FUZZ_PHONY) check-backends install-measured-boot deps-cluster test-cluster deps-arm64 arm64-build check-arm64 check-arm64-quick check-arm64-smoke test-arm64 all install uninstall deps check test demo bench clean completions lint stress
