# libFuzzer targets for the core's parsers (included by the top Makefile).
#
#   make fuzz          build every target and fuzz each for FUZZ_SECONDS (default 60) on a
#                      copy of its seed corpus (build/fuzz/corpus/<target>); crashes are
#                      written to build/fuzz/crash/<target>-*
#   make fuzz-smoke    build every target and run it over its seed corpus plus
#                      FUZZ_SMOKE_RUNS (2000) mutations: quick, part of `make test`
#
# Uses from the top Makefile: CORE_SRC, APR_CFLAGS, APR_LIBS, DEP_LIBS, WARN.
# Targets are tests/fuzz/fuzz_<name>.c, seeds tests/fuzz/corpus/fuzz_<name>/.

FUZZ_CC         ?= clang
FUZZ_SECONDS    ?= 60
FUZZ_SMOKE_RUNS ?= 2000
FUZZ_MAX_LEN    ?= 65536
FUZZ_SAN        := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS     := $(WARN) -g -O1 $(FUZZ_SAN) $(APR_CFLAGS) -Isrc
FUZZ_ENV        := ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1

FUZZ_TARGETS    := $(patsubst tests/fuzz/%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BIN        := $(addprefix build/fuzz/,$(FUZZ_TARGETS))
FUZZ_CORE_OBJ   := $(patsubst src/%.c,build/fuzz/obj/%.o,$(CORE_SRC))

# Keep the instrumented core objects between runs (make would delete them as intermediates).
.SECONDARY: $(FUZZ_CORE_OBJ)

# The core once, instrumented for coverage and the sanitizers; each target links it.
build/fuzz/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_CORE_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_CORE_OBJ) -o $@ $(APR_LIBS) $(DEP_LIBS)

fuzz: $(FUZZ_BIN)
	@set -e; mkdir -p build/fuzz/crash; \
	for t in $(FUZZ_TARGETS); do \
	    rm -rf build/fuzz/corpus/$$t; mkdir -p build/fuzz/corpus/$$t; \
	    cp tests/fuzz/corpus/$$t/* build/fuzz/corpus/$$t/; \
	    echo "== $$t: $(FUZZ_SECONDS) s"; \
	    $(FUZZ_ENV) ./build/fuzz/$$t -max_len=$(FUZZ_MAX_LEN) -max_total_time=$(FUZZ_SECONDS) \
	        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -dict=tests/fuzz/clerk.dict \
	        -artifact_prefix=build/fuzz/crash/$$t- build/fuzz/corpus/$$t; \
	done

# New inputs go to a scratch directory (libFuzzer writes to the first one); the
# seed directory is only read.
fuzz-smoke: $(FUZZ_BIN)
	@set -e; mkdir -p build/fuzz/crash; \
	for t in $(FUZZ_TARGETS); do \
	    rm -rf build/fuzz/smoke/$$t; mkdir -p build/fuzz/smoke/$$t; \
	    echo "== $$t: seed corpus + $(FUZZ_SMOKE_RUNS) runs"; \
	    $(FUZZ_ENV) ./build/fuzz/$$t -runs=$(FUZZ_SMOKE_RUNS) -max_len=$(FUZZ_MAX_LEN) -seed=1 \
	        -timeout=10 -dict=tests/fuzz/clerk.dict -artifact_prefix=build/fuzz/crash/$$t- \
	        build/fuzz/smoke/$$t tests/fuzz/corpus/$$t 2>build/fuzz/smoke/$$t.log \
	        || { tail -n 60 build/fuzz/smoke/$$t.log; exit 1; }; \
	    grep -h "^Done" build/fuzz/smoke/$$t.log || true; \
	done

.PHONY: fuzz fuzz-smoke
