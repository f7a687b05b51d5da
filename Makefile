# ward: one entry point.
#   make            build/ward (CLI + daemon) and build/agent.wasm (the agent)
#   make test       install what is missing, build, run every test (prove)
#   make test-asan  the unit and integration tests under ASan + UBSan
#   make demo       install what is missing, build, run the offline demo
#   make bench      the benchmarks under bench/
#   make deps       only the set-up step (deps/install.sh)

WARD_CACHE	?= $(HOME)/.cache/ward
WASMTIME_DIR	?= $(WARD_CACHE)/wasmtime
TOOLS		?= $(WARD_CACHE)/tools/bin
export WARD_CACHE WASMTIME_DIR

CC		?= cc
WASM_CC		?= clang-19
B		?= build

WARN	= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	  -Wmissing-prototypes -Wformat=2
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE $(WARN) -g -Isrc -isystem $(WASMTIME_DIR)/include
OPT	?= -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong
CFLAGS	?=
ALL_CFLAGS = $(CFLAGS_BASE) $(OPT) $(CFLAGS)
LDLIBS	= $(WASMTIME_DIR)/lib/libward_wasmtime.a -lsodium -lcrypto -ljansson \
	  -lpcre2-8 -lseccomp -ltree-sitter -lpthread -ldl -lm

# tree-sitter-bash's generated parser (deps/install.sh fetches it): built
# with our optimisation flags but none of our warnings; it is not our code.
TS_BASH_SRC	?= $(WARD_CACHE)/tree-sitter-bash-0.23.3/package/src
TS_OBJS	= $(B)/obj/ts-bash/parser.o $(B)/obj/ts-bash/scanner.o

SRCS	:= $(sort $(wildcard src/*/*.c))
OBJS	:= $(SRCS:%.c=$(B)/obj/%.o)
LIBOBJS	:= $(filter-out $(B)/obj/src/cli/main.o,$(OBJS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNITS	:= $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)

# The agent guest: C -> wasm32 core module (reactor, no WASI imports) ->
# component. wit-bindgen generates the canonical-ABI glue from wit/.
AGENT_SRCS := $(sort $(wildcard agent/*.c))
GEN	= $(B)/gen
WASM_CFLAGS = --target=wasm32-wasi -O2 -std=c11 \
	  $(WARN) -I$(GEN) -Iagent
WASM_LDFLAGS = -mexec-model=reactor -Wl,--stack-first -Wl,-z,stack-size=1048576 \
	  -Wl,--export=cabi_realloc -fuse-ld=lld

.PHONY: all deps test test-run test-asan demo bench fuzz clean
all: $(B)/ward $(B)/agent.wasm

deps:
	@sh deps/install.sh

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/obj/ts-bash/%.o: $(TS_BASH_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(OPT) $(CFLAGS) -w -I$(TS_BASH_SRC) -c $< -o $@

$(B)/libward.a: $(LIBOBJS) $(TS_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/ward: $(B)/obj/src/cli/main.o $(B)/libward.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(GEN)/agent.c: wit/ward.wit
	@mkdir -p $(GEN)
	$(TOOLS)/wit-bindgen c --out-dir $(GEN) --world agent wit/ward.wit

$(GEN)/jsmn.h: /usr/include/jsmn.h
	@mkdir -p $(GEN)
	cp $< $@

# wit-bindgen's output does not declare its exported glue.
$(GEN)/agent.o: $(GEN)/agent.c
	$(WASM_CC) $(WASM_CFLAGS) -Wno-missing-prototypes -c $< -o $@

$(B)/agent.core.wasm: $(AGENT_SRCS) $(wildcard agent/*.h) $(GEN)/agent.o $(GEN)/jsmn.h
	$(WASM_CC) $(WASM_CFLAGS) $(WASM_LDFLAGS) -o $@ $(AGENT_SRCS) \
	    $(GEN)/agent.o $(GEN)/agent_component_type.o

$(B)/agent.wasm: $(B)/agent.core.wasm tests/check-imports.sh
	$(TOOLS)/wasm-tools component new $< -o $@.tmp
	sh tests/check-imports.sh $(TOOLS)/wasm-tools $@.tmp
	mv $@.tmp $@

$(B)/tests/%: tests/unit/%.c $(B)/libward.a tests/unit/tap.h tests/unit/util.h \
	    tests/unit/example.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(B)/libward.a $(LDLIBS)

# The agent's JSON reader is plain C: test it natively.
$(B)/tests/test_ajson: tests/unit/test_ajson.c agent/ajson.c agent/ajson.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Iagent -o $@ $< agent/ajson.c

# Test-only agent components (a runaway loop, ...) for the daemon's tests.
$(B)/tests/%.wasm: tests/agents/%.c tests/agents/plain_init.h $(GEN)/agent.o $(GEN)/jsmn.h
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_CFLAGS) -Itests/agents $(WASM_LDFLAGS) -o $@.core $< \
	    $(GEN)/agent.o $(GEN)/agent_component_type.o
	$(TOOLS)/wasm-tools component new $@.core -o $@

TEST_AGENTS := $(patsubst tests/agents/%.c,$(B)/tests/%.wasm,$(wildcard tests/agents/*.c))

# wasmtime's preview 1 -> preview 2 adapter (pinned by deps/adapter): the
# capsule's tests turn their C guests into WASI preview 2 components with it.
ADAPTER	= $(B)/wasi_snapshot_preview1.command.wasm
$(ADAPTER): deps/adapter.sh deps/adapter/Cargo.toml deps/adapter/Cargo.lock
	sh deps/adapter.sh $@

test: deps
	$(MAKE) all
	$(MAKE) test-run

test-run: $(UNITS) $(TEST_AGENTS) $(ADAPTER)
	WARD=$(abspath $(B)/ward) WARD_BUILD=$(abspath $(B)) WASM_TOOLS=$(TOOLS)/wasm-tools \
	    WASI_ADAPTER=$(abspath $(ADAPTER)) \
	    prove -v -j1 $(UNITS) tests/integ/*.t

test-asan: deps
	$(MAKE) B=build/asan OPT="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" all
	$(MAKE) B=build/asan OPT="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" test-run

demo: deps
	$(MAKE) all
	./$(B)/ward demo

bench: deps
	$(MAKE) all
	$(MAKE) -C bench B=$(abspath $(B))

# libFuzzer targets for every parser of untrusted text; each runs for
# FUZZ_SECONDS (DESIGN asks for 10 minutes) from its committed corpus.
FUZZ_SECONDS	?= 600
FUZZ_CC		?= clang-19
FUZZ_FLAGS	= -std=c11 -D_GNU_SOURCE -g -O1 -Isrc \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_LIB	= src/lib/buf.c src/lib/err.c src/lib/keyfile.c src/lib/utf8.c src/lib/xdg.c
FUZZ_POLICY	= src/policy/shell.c src/policy/cmdpat.c src/policy/hostpat.c \
	  src/policy/pathpat.c \
	  $(TS_BASH_SRC)/parser.c $(TS_BASH_SRC)/scanner.c
FUZZERS	= toml shell pattern tomledit audit_canon

$(B)/fuzz/fuzz_toml: tests/fuzz/fuzz_toml.c src/policy/toml.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

$(B)/fuzz/fuzz_tomledit: tests/fuzz/fuzz_tomledit.c src/policy/tomledit.c \
	    src/policy/approval.c src/policy/manifest.c src/policy/toml.c \
	    $(FUZZ_POLICY) $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -I$(TS_BASH_SRC) -o $@ $^ -ltree-sitter \
	    -lsodium -ljansson

$(B)/fuzz/fuzz_audit_canon: tests/fuzz/fuzz_audit_canon.c src/audit/canon.c \
	    src/lib/err.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -ljansson

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_POLICY) $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -I$(TS_BASH_SRC) -o $@ $^ -ltree-sitter

fuzz: deps
	$(MAKE) $(FUZZERS:%=$(B)/fuzz/fuzz_%)
	for f in $(FUZZERS); do \
	    mkdir -p tests/fuzz/corpus/$$f && \
	    $(B)/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) \
	        -max_len=4096 tests/fuzz/corpus/$$f || exit 1; \
	done

clean:
	rm -rf build

-include $(OBJS:.o=.d)
