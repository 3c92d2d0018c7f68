# libFuzzer targets for the core's parsers (included by the top Makefile).
#
#   make fuzz          build the targets and fuzz each for FUZZ_SECONDS (default 60) on a
#                      copy of its seed corpus (build/fuzz/corpus/<target>), FUZZ_JOBS
#                      (default 1) targets at a time; full logs in build/fuzz/log/<target>.log,
#                      then one summary line per target (execs, cov, ft, corpus).  Fails
#                      when a target wrote a crash, leak, timeout or oom artifact
#                      (build/fuzz/crash/<target>-*) or exited with an error.
#                        make fuzz FUZZ_TARGETS="fuzz_jws fuzz_jwks" FUZZ_SECONDS=600 FUZZ_JOBS=2
#   make fuzz-merge    keep what `make fuzz` found: libFuzzer -merge=1 of
#                      build/fuzz/corpus/<target> into tests/fuzz/corpus/<target>, adding
#                      only the inputs that reach new coverage (named by their SHA-1);
#                      the seeds stay as they are.  Review and commit the new files.
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

FUZZ_JOBS       ?= 1
FUZZ_ALL        := $(patsubst tests/fuzz/%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_TARGETS    ?= $(FUZZ_ALL)
FUZZ_UNKNOWN    := $(filter-out $(FUZZ_ALL),$(FUZZ_TARGETS))
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

fuzz-check-targets:
	@test -z "$(FUZZ_UNKNOWN)" || { echo "unknown FUZZ_TARGETS: $(FUZZ_UNKNOWN) (known: $(FUZZ_ALL))" >&2; exit 1; }

# The runs are the fuzz-run-<target> rules of a sub-make with -j$(FUZZ_JOBS);
# -k so that one crashing target does not cut the others short.  The stamp
# tells this run's artifacts from those of earlier runs, which are kept.
fuzz: fuzz-check-targets $(FUZZ_BIN)
	@mkdir -p build/fuzz/crash build/fuzz/log; touch build/fuzz/log/.stamp; rc=0; \
	$(MAKE) --no-print-directory -k -j$(FUZZ_JOBS) $(addprefix fuzz-run-,$(FUZZ_TARGETS)) || rc=1; \
	echo "== summary ($(FUZZ_SECONDS) s per target)"; \
	for t in $(FUZZ_TARGETS); do $(call fuzz_summary,$$t); done; \
	new=$$(find build/fuzz/crash -type f -newer build/fuzz/log/.stamp | sort); \
	if [ -n "$$new" ]; then echo "fuzz: artifacts written (reproduce: build/fuzz/<target> <file>):"; \
	    echo "$$new" | sed 's/^/  /'; rc=1; fi; \
	exit $$rc

# One line from a target's log: the last status line of libFuzzer (cov, ft,
# corp), the final stats (-print_final_stats) and the files in the corpus dir.
fuzz_summary = awk -v t=$(1) -v files=$$(ls build/fuzz/corpus/$(1) | wc -l) \
	'/^\#[0-9]+/ && / cov: / { for (i = 1; i <= NF; i++) { if ($$i == "cov:") cov = $$(i+1); \
	      if ($$i == "ft:") ft = $$(i+1); if ($$i == "corp:") corp = $$(i+1) } } \
	 /^stat::number_of_executed_units:/ { execs = $$2 } /^stat::average_exec_per_sec:/ { rate = $$2 } \
	 /^stat::new_units_added:/ { added = $$2 } /^==[0-9]+==ERROR|^SUMMARY:|deadly signal|^ALARM:/ { bad = 1 } \
	 function v(x) { return x == "" ? "?" : x } \
	 END { printf "%-22s %s  execs %s (%s/s)  cov %s  ft %s  corp %s  files %s  new %s\n", t, \
	       bad ? "FAILED" : "ok    ", v(execs), v(rate), v(cov), v(ft), v(corp), files, v(added) }' \
	build/fuzz/log/$(1).log

fuzz-run-%: build/fuzz/%
	@rm -rf build/fuzz/corpus/$*; mkdir -p build/fuzz/corpus/$*; \
	cp tests/fuzz/corpus/$*/* build/fuzz/corpus/$*/; \
	echo "== $*: $(FUZZ_SECONDS) s, log build/fuzz/log/$*.log"; \
	$(FUZZ_ENV) ./build/fuzz/$* -max_len=$(FUZZ_MAX_LEN) -max_total_time=$(FUZZ_SECONDS) \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -dict=tests/fuzz/clerk.dict \
	    -artifact_prefix=build/fuzz/crash/$*- build/fuzz/corpus/$* >build/fuzz/log/$*.log 2>&1 \
	    || { echo "== $*: FAILED"; sed -n '/ERROR: \|deadly signal\|ALARM: \|out-of-memory/,$$p' \
	             build/fuzz/log/$*.log | head -n 40; exit 1; }

# -merge=1 with the seeds first: an input of the second directory is added
# only if it reaches a feature that the first does not.
fuzz-merge: fuzz-check-targets $(FUZZ_BIN)
	@set -e; mkdir -p build/fuzz/crash build/fuzz/log; for t in $(FUZZ_TARGETS); do \
	    if [ ! -d build/fuzz/corpus/$$t ]; then echo "== $$t: no build/fuzz/corpus/$$t (run make fuzz first)"; continue; fi; \
	    before=$$(ls tests/fuzz/corpus/$$t | wc -l); \
	    $(FUZZ_ENV) ./build/fuzz/$$t -merge=1 -max_len=$(FUZZ_MAX_LEN) -timeout=10 -rss_limit_mb=2048 \
	        -artifact_prefix=build/fuzz/crash/$$t- tests/fuzz/corpus/$$t build/fuzz/corpus/$$t \
	        >build/fuzz/log/$$t.merge.log 2>&1 || { tail -n 40 build/fuzz/log/$$t.merge.log; exit 1; }; \
	    echo "== $$t: $$before seeds, $$(( $$(ls tests/fuzz/corpus/$$t | wc -l) - before )) new in tests/fuzz/corpus/$$t"; \
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

.PHONY: fuzz fuzz-smoke fuzz-merge fuzz-check-targets
