# ThreadSanitizer run of the unit tests that use threads (the JWKS cache, the
# HTTP client, the shared RSA verifiers, the token cache and its doorkeeper,
# the M2M token holder of proxied requests, the verdict memory, the Backend
# API call budget and gate, the sealing of shared cache values, the shared
# cache's courier, the shared cache, the key sets' JWS header memo and the
# thread stripes):
#   make unit-tsan
#
# Included by the top Makefile (-include tests/unit/tsan.mk), which defines
# CORE_SRC, CORE_HDR, APR_CFLAGS, APR_LIBS, DEP_LIBS and WARN.  The core is
# compiled here from $(CORE_SRC) with -fsanitize=thread (not taken from
# build/obj), so every memory access in src/ and in the test is instrumented.
# APR, libcurl, OpenSSL and jansson are not instrumented: their own accesses
# are invisible to TSan, but their pthread calls (mutexes, condition
# variables, thread create/join) are intercepted, so the ordering they give
# our code is seen.  TSan needs clang or gcc with libtsan; TSAN_CC picks it.
#
# Suppressions: tests/unit/tsan.supp (each entry says why).  Extra options:
#   make unit-tsan TSAN_EXTRA="history_size=7"

TSAN_CC    ?= clang
TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer -g -O1
TSAN_TESTS := test_jwks_cache test_http test_rsa_verifier test_token_cache test_doorkeeper \
              test_verdict_memory test_call_budget test_call_gate test_metrics test_seal \
              test_cache_courier test_machine_token test_shared_cache test_jws_header_memo \
              test_thread_stripe
TSAN_BIN   := $(patsubst %,build/unit-tsan/%,$(TSAN_TESTS))
TSAN_SUPP  := tests/unit/tsan.supp
TSAN_EXTRA ?=

.PHONY: unit-tsan
unit-tsan: $(TSAN_BIN)
	@set -e; for t in $(TSAN_BIN); do echo "== $$t (ThreadSanitizer)"; \
	    TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1 \
	        suppressions=$(CURDIR)/$(TSAN_SUPP) $(TSAN_EXTRA)" ./$$t; done

build/unit-tsan/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(TSAN_SUPP) \
                   $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(TSAN_CC) $(WARN) $(TSAN_FLAGS) $(APR_CFLAGS) -Isrc -Itests/unit $< $(CORE_SRC) \
	    -o $@ $(APR_LIBS) $(DEP_LIBS) -lcmocka
