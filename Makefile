# mod_auth_clerk — build, test, demo, bench.
#   make            module (build/mod_auth_clerk.so) and CLI (build/clerk-jwt)
#   make test       everything CI runs: unit (plain and ASan/UBSan), CLI, integration
#   make demo       local httpd on 127.0.0.1 protecting sample pages (see README)

APXS      ?= apxs
CC        ?= cc
PYTHON    ?= /usr/bin/python3

CORE_SRC  := $(sort $(wildcard src/*.c))
CORE_HDR  := $(wildcard src/*.h)
APR_CFLAGS := $(shell apr-1-config --cppflags --includes) $(shell apu-1-config --includes)
APR_LIBS   := $(shell apr-1-config --link-ld --libs) $(shell apu-1-config --link-ld --libs)
DEP_LIBS   := -ljansson -lcrypto -lcurl
WARN       := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS     ?= -O2 -g
CORE_CFLAGS = $(WARN) $(CFLAGS) $(APR_CFLAGS) -Isrc
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

CORE_OBJ     := $(patsubst src/%.c,build/obj/%.o,$(CORE_SRC))
CORE_SAN_OBJ := $(patsubst src/%.c,build/obj-san/%.o,$(CORE_SRC))
UNIT_SRC     := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN     := $(patsubst tests/unit/%.c,build/unit/%,$(UNIT_SRC))
UNIT_SAN_BIN := $(patsubst tests/unit/%.c,build/unit-san/%,$(UNIT_SRC))

.SECONDARY:

.PHONY: all module cli install test unit unit-san cli-test integration fuzz fuzz-smoke \
        demo demo-stop bench clean

all: module cli

module: build/mod_auth_clerk.so
cli: build/clerk-jwt

# apxs/libtool writes its objects next to the sources: build in a private
# directory (concurrent builds must not share one) and install the result by
# rename, never by overwriting (a running httpd has the old file mapped).
build/mod_auth_clerk.so: mod_auth_clerk.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p build
	@set -e; d=$$(mktemp -d build/apxs.XXXXXX); mkdir -p $$d/src; \
	cp mod_auth_clerk.c $$d/; cp $(CORE_SRC) $(CORE_HDR) $$d/src/; \
	if ! (cd $$d && $(APXS) -c -o mod_auth_clerk.la \
	        -Wc,-std=c11 -Wc,-Wall -Wc,-Wextra -Wc,-Werror -Wc,-Wno-unused-parameter -Wc,-Isrc \
	        mod_auth_clerk.c $(addprefix src/,$(notdir $(CORE_SRC))) $(DEP_LIBS) \
	        >apxs.log 2>&1); then cat $$d/apxs.log; rm -rf $$d; exit 1; fi; \
	cp $$d/.libs/mod_auth_clerk.so $@.$$$$ && mv -f $@.$$$$ $@; rm -rf $$d
	@echo "built $@"

build/obj/%.o: src/%.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -fPIC -c $< -o $@

build/obj-san/%.o: src/%.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) $(SAN_FLAGS) -fPIC -c $< -o $@

CLI_SRC := $(sort $(wildcard cli/*.c))
build/clerk-jwt: $(CLI_SRC) $(wildcard cli/*.h) $(CORE_OBJ)
	$(CC) $(CORE_CFLAGS) $(CLI_SRC) $(CORE_OBJ) -o $@ $(APR_LIBS) $(DEP_LIBS)

build/unit/%: tests/unit/%.c tests/unit/unit.h tests/unit/test_server.h $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -Itests/unit $< $(CORE_OBJ) -o $@ $(APR_LIBS) $(DEP_LIBS) -lcmocka

build/unit-san/%: tests/unit/%.c tests/unit/unit.h tests/unit/test_server.h $(CORE_SAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) $(SAN_FLAGS) -Itests/unit $< $(CORE_SAN_OBJ) -o $@ $(APR_LIBS) $(DEP_LIBS) -lcmocka

install: build/mod_auth_clerk.so
	$(APXS) -i -n auth_clerk build/mod_auth_clerk.so
	install -m 644 conf/auth_clerk.load conf/auth_clerk.conf \
	    $(DESTDIR)$(shell $(APXS) -q SYSCONFDIR)/mods-available/

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; ./$$t; done

unit-san: $(UNIT_SAN_BIN)
	@set -e; for t in $(UNIT_SAN_BIN); do echo "== $$t (ASan+UBSan)"; \
	    ASAN_OPTIONS=detect_leaks=1 ./$$t; done

integration: all
	$(PYTHON) -m pytest -q tests/integration

test: unit unit-san unit-tsan cli-test integration fuzz-smoke

clean:
	rm -rf build

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
