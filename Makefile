# mod_auth_clerk — build, test, demo, bench.
#   make            module (build/mod_auth_clerk.so) and CLI (build/clerk-jwt)
#   make test       everything CI runs: unit (plain, ASan/UBSan, TSan), CLI, integration
#                   (plain, then with the ASan/UBSan module: make test-asan), fuzz smoke
#   make deb        Debian packages in build/deb/ (debian/; make deb-test installs them, as root)
#   make demo       local httpd on 127.0.0.1 protecting sample pages (see README); with
#                   CLERK_PUBLISHABLE_KEY=pk_… CLERK_SECRET_KEY=sk_… against your own Clerk instance

APXS      ?= apxs
CC        ?= cc
PYTHON    ?= /usr/bin/python3

CORE_SRC  := $(sort $(wildcard src/*.c))
CORE_HDR  := $(wildcard src/*.h)
# the httpd glue: the only code that includes httpd headers
GLUE_SRC  := $(sort $(wildcard src/httpd/*.c))
GLUE_HDR  := $(wildcard src/httpd/*.h)
APR_CFLAGS := $(shell apr-1-config --cppflags --includes) $(shell apu-1-config --includes)
APR_LIBS   := $(shell apr-1-config --link-ld --libs) $(shell apu-1-config --link-ld --libs)
DEP_LIBS   := -ljansson -lcrypto -lcurl
WARN       := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS     ?= -O2 -g
CORE_CFLAGS = $(WARN) $(CFLAGS) $(APR_CFLAGS) -Isrc
comma      := ,
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Debian's hardening, as apxs compiles the glue (not with the sanitizers: ASan
# replaces the fortified functions)
HARDEN     := -fstack-protector-strong -D_FORTIFY_SOURCE=2

CORE_OBJ     := $(patsubst src/%.c,build/obj/%.o,$(CORE_SRC))
CORE_SAN_OBJ := $(patsubst src/%.c,build/obj-san/%.o,$(CORE_SRC))
UNIT_SRC     := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN     := $(patsubst tests/unit/%.c,build/unit/%,$(UNIT_SRC))
UNIT_SAN_BIN := $(patsubst tests/unit/%.c,build/unit-san/%,$(UNIT_SRC))

.SECONDARY:

.PHONY: all module cli install test tree-check unit unit-san cli-test integration test-asan fuzz fuzz-smoke \
        demo demo-stop bench clean deb deb-test

all: module cli

module: build/mod_auth_clerk.so
cli: build/clerk-jwt

# The core, compiled once with the full warning set (position-independent, so
# that the module can link it too): the CLI and the unit tests link these
# objects, the module links the archive.  The fuzzers compile it again, since
# coverage instrumentation has to be in the code they explore.
build/libclerk.a: $(CORE_OBJ)
	@rm -f $@; ar rcs $@ $^

build/libclerk-san.a: $(CORE_SAN_OBJ)
	@rm -f $@; ar rcs $@ $^

# apxs compiles the glue and links it with a core archive.  apxs/libtool
# writes its objects next to the sources: build in a private directory
# (concurrent builds must not share one) and install the result by rename,
# never by overwriting (a running httpd has the old file mapped).
# $(call apxs_build,core archive,extra apxs options) builds $@.
GLUE_WARN := $(patsubst %,-Wc$(comma)%,$(WARN))
define apxs_build
	@mkdir -p $(dir $@)
	@set -e; d=$$(mktemp -d build/apxs.XXXXXX); mkdir -p $$d/src/httpd; \
	cp mod_auth_clerk.c $$d/; cp $(CORE_HDR) $$d/src/; cp $(GLUE_SRC) $(GLUE_HDR) $$d/src/httpd/; \
	if ! (cd $$d && $(APXS) -c -o mod_auth_clerk.la $(GLUE_WARN) -Wc,-Isrc -Wc,-Isrc/httpd \
	        $(2) mod_auth_clerk.c $(GLUE_SRC) $(abspath $(1)) $(DEP_LIBS) \
	        >apxs.log 2>&1); then cat $$d/apxs.log; rm -rf $$d; exit 1; fi; \
	cp $$d/.libs/mod_auth_clerk.so $@.$$$$ && mv -f $@.$$$$ $@; rm -rf $$d
	@echo "built $@"
endef

MODULE_SRC := mod_auth_clerk.c $(GLUE_SRC) $(GLUE_HDR) $(CORE_HDR)

build/mod_auth_clerk.so: $(MODULE_SRC) build/libclerk.a
	$(call apxs_build,build/libclerk.a,)

# The module with ASan+UBSan for `make test-asan`: -Wc, for the compiler (-O1
# for exact stacks), -Wl, for the link (libtool passes -fsanitize=* on to gcc,
# which then links libasan and libubsan into the .so).
APXS_SAN := $(patsubst %,-Wc$(comma)%,$(SAN_FLAGS) -O1) -Wl,-fsanitize=address,undefined
build/asan/mod_auth_clerk.so: $(MODULE_SRC) build/libclerk-san.a
	$(call apxs_build,build/libclerk-san.a,$(APXS_SAN))

build/obj/%.o: src/%.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) $(HARDEN) -fPIC -c $< -o $@

build/obj-san/%.o: src/%.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) $(SAN_FLAGS) -fPIC -c $< -o $@

CLI_SRC := $(sort $(wildcard cli/*.c))
build/clerk-jwt: $(CLI_SRC) $(wildcard cli/*.h) $(CORE_OBJ)
	$(CC) $(CORE_CFLAGS) $(LDFLAGS) $(CLI_SRC) $(CORE_OBJ) -o $@ $(APR_LIBS) $(DEP_LIBS)

build/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -Itests/unit $< $(CORE_OBJ) -o $@ $(APR_LIBS) $(DEP_LIBS) -lcmocka

build/unit-san/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(CORE_SAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) $(SAN_FLAGS) -Itests/unit $< $(CORE_SAN_OBJ) -o $@ $(APR_LIBS) $(DEP_LIBS) -lcmocka

# the module through apxs; its a2enmod files (auth_clerk.conf: the commented
# reference of every directive); the CLI with its man page
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
install: build/mod_auth_clerk.so build/clerk-jwt
	$(APXS) -i -n auth_clerk build/mod_auth_clerk.so
	install -m 644 conf/auth_clerk.load conf/auth_clerk.conf \
	    $(DESTDIR)$(shell $(APXS) -q SYSCONFDIR)/mods-available/
	install -D -m 755 build/clerk-jwt $(DESTDIR)$(BINDIR)/clerk-jwt
	install -D -m 644 man/clerk-jwt.1 $(DESTDIR)$(MANDIR)/man1/clerk-jwt.1

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; ./$$t; done

unit-san: $(UNIT_SAN_BIN)
	@set -e; for t in $(UNIT_SAN_BIN); do echo "== $$t (ASan+UBSan)"; \
	    ASAN_OPTIONS=detect_leaks=1 ./$$t; done

integration: all
	$(PYTHON) -m pytest -q tests/integration

# The whole integration suite again, with the ASan+UBSan module loaded into
# Debian's (uninstrumented) apache2: the libasan of the compiler apxs uses is
# preloaded into httpd, the harness sets the sanitizer options and log_path,
# and test_zz_sanitizer.py fails on any report (see tests/integration/harness/httpd_harness.py).
ASAN_RUNTIME = $(realpath $(shell $(shell $(APXS) -q CC) -print-file-name=libasan.so))
test-asan: build/asan/mod_auth_clerk.so cli
	@test -n "$(ASAN_RUNTIME)" || { echo "libasan.so of $$($(APXS) -q CC) not found" >&2; exit 1; }
	CLERK_IT_MODULE=$(CURDIR)/build/asan/mod_auth_clerk.so CLERK_IT_PRELOAD=$(ASAN_RUNTIME) \
	    $(PYTHON) -m pytest -q tests/integration

# CI (CI=true, set by .ci/run) also installs the Debian packages into the
# machine's apache2 and removes them again: make deb-test
test: tree-check unit unit-san unit-tsan cli-test integration test-asan fuzz-smoke \
      $(if $(filter true,$(CI)),deb-test)

# the tree's own rules: no httpd header in the core, a README row, a merge
# rule and a conf/auth_clerk.conf entry for every directive, unique log tags,
# every clerk-jwt command and option in its man page (tests/tree/test_tree.py)
tree-check:
	$(PYTHON) -m pytest -q tests/tree

# the leftovers of a dpkg-buildpackage run in the tree itself (make deb builds
# in a copy under build/)
DEB_LEFTOVERS := debian/.debhelper debian/tmp debian/files debian/debhelper-build-stamp \
                 debian/libapache2-mod-auth-clerk debian/clerk-jwt \
                 debian/*.substvars debian/*.debhelper debian/*.debhelper.log
clean:
	rm -rf build $(DEB_LEFTOVERS)

# The Debian packages (debian/): dpkg-buildpackage -us -uc -b in a copy of the
# tree under build/deb-build (its clean step runs make clean, which must not
# remove this tree's build/, and it writes into the parent directory), then
# the .deb, .buildinfo and .changes files go to build/deb/ and lintian checks
# them.  Needs debhelper, dpkg-dev and lintian (scripts/install-deps.sh).
DEB_WORK := build/deb-build
deb:
	@rm -rf $(DEB_WORK) build/deb; mkdir -p $(DEB_WORK)/src build/deb
	@tar -cf - --exclude=./build --exclude=./.git --exclude=__pycache__ --exclude=.pytest_cache \
	    $(patsubst %,--exclude=./%,$(DEB_LEFTOVERS)) . | tar -xf - -C $(DEB_WORK)/src
	cd $(DEB_WORK)/src && dpkg-buildpackage -us -uc -b
	mv $(DEB_WORK)/*.deb $(DEB_WORK)/*.buildinfo $(DEB_WORK)/*.changes build/deb/
	@rm -rf $(DEB_WORK)
	lintian --fail-on error,warning --info --pedantic build/deb/*.changes
	@ls -l build/deb/*.deb

# Installs build/deb/*.deb into this machine's apache2, serves a 401 and a 200
# through it on 127.0.0.1:18080, purges the packages and checks that nothing
# is left (tests/deb/test_deb.py).  Root only; it changes the system, so it
# is not part of make test unless CI=true.
deb-test: deb
	$(PYTHON) -m pytest -q tests/deb

cli-test: cli
	$(PYTHON) -m pytest -q tests/cli

demo:
	@./demo/demo.sh start

demo-stop:
	@./demo/demo.sh stop

-include tests/fuzz/fuzz.mk
-include tests/unit/tsan.mk

bench: all
	@./bench/run.sh
