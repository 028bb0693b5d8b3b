# AfterResume — plain make. `make` builds build/afterresumed; see README for run/test.
# Objects go to $(BUILD)/obj mirroring the source tree; dependency files keep builds incremental.

CC      ?= gcc
BUILD   ?= build
SANITIZE ?= 0
PKGS    := libmicrohttpd libpq jansson libsodium libcurl hiredis zlib

OPT     := -O2
SAN_FLAGS :=
ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined
OPT     := -O1 $(SAN_FLAGS) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

# pkg-config results are cached in $(BUILD)/config.mk, produced after scripts/deps.sh has made sure the
# system packages exist (it installs them when root, otherwise prints the one apt-get line and fails).
-include $(BUILD)/config.mk

CFLAGS  ?=
CFLAGS  += -std=c17 $(OPT) -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude $(PKG_CFLAGS)
LDFLAGS += $(SAN_FLAGS)
LDLIBS  += $(PKG_LIBS) -lpthread -lm

LIB_SRC   := $(sort $(shell find src -name '*.c' ! -path src/main.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
BIN       := $(BUILD)/afterresumed
LIB       := $(BUILD)/libafterresume.a

UNIT_SRC  := $(sort $(wildcard tests/unit/*.c))
INTEG_SRC := $(sort $(wildcard tests/integration/*.c))
UNIT_OBJ  := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)
INTEG_OBJ := $(INTEG_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN  := $(BUILD)/tests/unit_tests
INTEG_BIN := $(BUILD)/tests/integration_tests

.PHONY: all deps run stop test test-asan test-unit test-integration clean bench fuzz clang

all: $(BIN)

$(BUILD)/config.mk: scripts/deps.sh
	@mkdir -p $(BUILD)
	@scripts/deps.sh build
	@{ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS) check)"; \
	   echo "PKG_LIBS := $$(pkg-config --libs $(PKGS))"; \
	   echo "CHECK_LIBS := $$(pkg-config --libs check)"; } > $@.tmp && mv $@.tmp $@

deps:
	@scripts/deps.sh all

$(BUILD)/obj/%.o: %.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/obj/src/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Test suites register themselves: every `Suite *name_suite(void)` found in a test file is run.
$(BUILD)/gen/unit_suites.inc: $(UNIT_SRC)
	@mkdir -p $(dir $@)
	@grep -ho '^Suite \*[a-z0-9_]*_suite(void)' $(filter-out tests/unit/main.c,$^) | \
	  sed 's/^Suite \*\([a-z0-9_]*\)(void)/AR_SUITE(\1)/' > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/integration_suites.inc: $(INTEG_SRC)
	@mkdir -p $(dir $@)
	@grep -ho '^Suite \*[a-z0-9_]*_suite(void)' $(filter-out tests/integration/main.c,$^) | \
	  sed 's/^Suite \*\([a-z0-9_]*\)(void)/AR_SUITE(\1)/' > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/tests/unit/main.o: $(BUILD)/gen/unit_suites.inc
$(BUILD)/obj/tests/integration/main.o: $(BUILD)/gen/integration_suites.inc
$(BUILD)/obj/tests/%.o: CFLAGS += -I$(BUILD)/gen -Itests

$(UNIT_BIN): $(UNIT_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

$(INTEG_BIN): $(INTEG_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

# Front-end assets come from the npm registry (package-lock.json) and are copied into static/vendor/.
HTMX := static/vendor/htmx.min.js
$(HTMX): package-lock.json
	@scripts/deps.sh npm
	@mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@

# `make run`: embedded services under ./var, migrate, serve on 127.0.0.1:8080.
run: $(BIN) $(HTMX)
	@scripts/deps.sh run
	@BIN=$(BIN) scripts/run.sh

stop:
	@scripts/services.sh stop var

# `make test`: build everything, start private PostgreSQL + Valkey for the tests, run all suites.
test: $(BIN) $(UNIT_BIN) $(INTEG_BIN) $(HTMX)
	@scripts/test.sh $(BUILD)

test-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 test

test-unit: $(UNIT_BIN)
	$(UNIT_BIN)

clang:
	@$(MAKE) --no-print-directory BUILD=build-clang CC=clang all

bench: $(BIN)
	@tests/bench/run.sh

# libFuzzer targets for the request parsers (clang); FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 20
fuzz:
	@tests/fuzz/build.sh $(FUZZ_SECONDS)

clean:
	rm -rf build build-asan build-clang build-fuzz

-include $(LIB_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(INTEG_OBJ:.o=.d) $(BUILD)/obj/src/main.d
