# seckit build.  Honours CC, CFLAGS, CPPFLAGS, LDFLAGS, PKG_CONFIG, PREFIX,
# DESTDIR.  Knobs:
#   STATIC=1|0    link libcrypto and libyaml statically (default 1: start-up
#                 time is dominated by dynamic loading; see bench/)
#   TPM2=auto|1|0 build the tpm2 backend layer (tpm2-tss headers needed;
#                 the libraries are loaded at run time, only when used)
#   SANITIZE=1    AddressSanitizer + UndefinedBehaviorSanitizer build
VERSION    := 0.1.0
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share
SYSCONFDIR ?= $(PREFIX)/etc
PKG_CONFIG ?= pkg-config
CC         ?= cc
CFLAGS     ?= -O2 -g
STATIC     ?= 1
TPM2       ?= auto
SANITIZE   ?= 0

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wno-missing-field-initializers
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
SK_CPPFLAGS := -Isrc -D_GNU_SOURCE -DSECKIT_VERSION='"$(VERSION)"' \
        $(shell $(PKG_CONFIG) --cflags libcrypto yaml-0.1)

ifeq ($(STATIC),1)
LIBS := -Wl,-Bstatic $(shell $(PKG_CONFIG) --libs-only-l libcrypto yaml-0.1) \
        -Wl,-Bdynamic -ldl -pthread
else
LIBS := $(shell $(PKG_CONFIG) --libs libcrypto yaml-0.1) -ldl -pthread
endif

ifeq ($(TPM2),auto)
TPM2 := $(shell $(PKG_CONFIG) --exists tss2-esys && echo 1 || echo 0)
endif
ifeq ($(TPM2),1)
SK_CPPFLAGS += -DSECKIT_HAVE_TPM2 $(shell $(PKG_CONFIG) --cflags tss2-esys)
endif

ifeq ($(SANITIZE),1)
CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
HARDEN := -fPIE
LIBS := $(shell $(PKG_CONFIG) --libs libcrypto yaml-0.1) -ldl -pthread
# The tests run the instrumented binary: leaks are errors, undefined
# behaviour stops it, and LD_PRELOAD tools (faketime) may load first.
export ASAN_OPTIONS ?= detect_leaks=1:verify_asan_link_order=0
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
endif

# src/provider/module.c is the entry point of the loadable provider only.
MODULE_SRC := src/provider/module.c
SRC := $(sort $(filter-out $(MODULE_SRC),$(wildcard src/*/*.c)))
CMD := $(sort $(wildcard cmd/*.c))
# Each build configuration has its own objects, and seckit is relinked when
# the configuration changes: `make SANITIZE=1` after `make` needs no
# `make clean` and never links objects of the other kind.
CONFIG := static$(STATIC)-tpm2$(TPM2)-sanitize$(SANITIZE)
OBJDIR := build/$(CONFIG)
CONFIG_STAMP := build/config
ifneq ($(file <$(CONFIG_STAMP)),$(CONFIG))
$(shell mkdir -p build)
$(file >$(CONFIG_STAMP),$(CONFIG))
endif
OBJ := $(patsubst %.c,$(OBJDIR)/%.o,$(SRC) $(CMD))
# The command names, from the one command list.
COMMANDS := $(shell sed -n 's/^SK_COMMAND([a-z_0-9]*, *"\([a-z0-9-]*\)").*/\1/p' cmd/commands.h)

# Unit tests of library parts on their own: tests/unit/NAME.c is linked
# with the library objects into build/unit/NAME (relinked, like seckit,
# when the configuration changes), which the bats suite runs.
LIBOBJ := $(patsubst %.c,$(OBJDIR)/%.o,$(SRC))
UNIT := $(patsubst tests/unit/%.c,build/unit/%,$(wildcard tests/unit/*.c))

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
SECKIT_TEST := build/test/seckit

# The fault-injection shim (tests/fault/): LD_PRELOAD'ed by the fault
# tests into seckit, which links libc dynamically.  No _FORTIFY_SOURCE:
# it defines open() and friends itself.
FAULT_LIB := build/fault/libskfault.so

# The OpenSSL provider as a loadable module (man/seckit-provider.7): the
# library compiled again as position-independent code, linked with the
# shared libcrypto of the program that loads it; only OSSL_provider_init
# is exported.  It is loaded into programs built without sanitizers, so it
# is built without them in a SANITIZE=1 build too.
MODULE := seckit-provider.so
MODULE_OBJ := $(patsubst %.c,$(OBJDIR)/pic/%.o,$(SRC) $(MODULE_SRC))
MODULE_LIBS := $(shell $(PKG_CONFIG) --libs libcrypto yaml-0.1) -ldl -pthread
MODULESDIR ?= $(shell $(PKG_CONFIG) --variable=modulesdir libcrypto 2> /dev/null || \
  openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"$$/\1/p')

all: seckit $(SECKIT_TEST) $(UNIT) $(FAULT_LIB) $(MODULE) seckit.so

# `-provider seckit` loads seckit.so from OpenSSL's modules directory
# ($OPENSSL_MODULES): the module under the provider's name, a link.
seckit.so: $(MODULE)
	ln -sf $(MODULE) $@

$(MODULE): $(MODULE_OBJ) $(CONFIG_STAMP)
	$(CC) $(filter-out -fsanitize%,$(LDFLAGS)) -shared -Wl,-z,relro,-z,now -Wl,-z,defs -o $@ $(MODULE_OBJ) $(MODULE_LIBS)

$(OBJDIR)/pic/%.o: %.c $(wildcard src/*/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SK_CPPFLAGS) -fPIC -fvisibility=hidden $(filter-out -fPIE,$(HARDEN)) $(WARN) \
	  $(filter-out -fsanitize% -fno-sanitize%,$(CFLAGS)) -c -o $@ $<

seckit: $(OBJ) $(CONFIG_STAMP)
	$(CC) $(LDFLAGS) -pie -Wl,-z,relro,-z,now -o $@ $(OBJ) $(LIBS)

$(SECKIT_TEST): $(TEST_OBJ) $(CONFIG_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -pie -Wl,-z,relro,-z,now -o $@ $(TEST_OBJ) $(LIBS)

build/unit/%: tests/unit/%.c $(TEST_LIBOBJ) $(wildcard src/*/*.h tests/unit/*.h) $(CONFIG_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SK_CPPFLAGS) $(HARDEN) $(WARN) $(CFLAGS) $(LDFLAGS) -pie -o $@ $< $(TEST_LIBOBJ) $(LIBS)

$(FAULT_LIB): tests/fault/skfault.c Makefile
	@mkdir -p $(dir $@)
	$(CC) -D_GNU_SOURCE $(WARN) -O2 -g -fPIC -shared -o $@ $< -ldl -pthread

$(OBJDIR)/%.o: %.c $(wildcard src/*/*.h cmd/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SK_CPPFLAGS) $(HARDEN) $(WARN) $(CFLAGS) -c -o $@ $<

$(OBJDIR)/test/%.o: %.c $(wildcard src/*/*.h cmd/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SK_CPPFLAGS) -DSECKIT_TEST_HOOKS $(HARDEN) $(WARN) $(CFLAGS) -c -o $@ $<

# ---- fuzzing (clang's libFuzzer; see fuzz/README.md) ----
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
FUZZ_BIN := $(patsubst fuzz/%.c,build/fuzz/%,$(wildcard fuzz/fuzz_*.c))
FUZZ_OBJ := $(patsubst %.c,build/fuzz/obj/%.o,$(SRC))
FUZZ_LIBS := $(shell $(PKG_CONFIG) --libs libcrypto yaml-0.1) -ldl -pthread

build/fuzz/obj/%.o: %.c $(wildcard src/*/*.h) Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(SK_CPPFLAGS) $(WARN) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

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
install: seckit $(MODULE)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
	  $(DESTDIR)$(MODULESDIR) \
	  $(DESTDIR)$(DATADIR)/bash-completion/completions \
	  $(DESTDIR)$(DATADIR)/zsh/site-functions \
	  $(DESTDIR)$(DATADIR)/fish/vendor_completions.d \
	  $(DESTDIR)$(DATADIR)/doc/seckit
	install -m 0755 seckit $(DESTDIR)$(BINDIR)/seckit
	for c in $(COMMANDS); do ln -sf seckit $(DESTDIR)$(BINDIR)/seckit-$$c; done
	install -m 0644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(MANPAGES7) $(DESTDIR)$(MANDIR)/man7/
	install -m 0644 $(MODULE) $(DESTDIR)$(MODULESDIR)/$(MODULE)
	ln -sf $(MODULE) $(DESTDIR)$(MODULESDIR)/seckit.so
	install -m 0644 completions/seckit.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/seckit
	for c in $(COMMANDS); do ln -sf seckit $(DESTDIR)$(DATADIR)/bash-completion/completions/seckit-$$c; done
	install -m 0644 completions/_seckit $(DESTDIR)$(DATADIR)/zsh/site-functions/_seckit
	install -m 0644 completions/seckit.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/seckit.fish
	install -m 0644 config.example.yaml manifest.example.yaml README.md $(DESTDIR)$(DATADIR)/doc/seckit/
	install -m 0644 docs/json.md docs/json.schema.json $(DESTDIR)$(DATADIR)/doc/seckit/

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

# Long soak runs of the store (crash, concurrency, every I/O fault of every
# writing command): not part of `make check`.
stress: all
	STORE_STRESS=1 ./scripts/run-tests.sh tests/30-store-crash.bats tests/30-store-concurrency.bats \
	  tests/30-store-fault.bats

demo: deps
	$(MAKE) seckit
	./scripts/demo.sh

bench: seckit
	./bench/run.sh

clean:
	rm -rf build seckit $(MODULE) seckit.so

FUZZ_PHONY := fuzz fuzz-run fuzz-check
.PHONY: $(FUZZ_PHONY) all install uninstall deps check test demo bench clean completions lint stress
