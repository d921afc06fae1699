# cohortd build.
#
#   make            build build/cohortd
#   make run        install missing Debian packages, build, start embedded PostgreSQL, serve
#   make test       install, build, run every suite (normal + ASan/UBSan), one summary line
#   make unit       unit tests only (no database)
#   make asan       the whole suite under -fsanitize=address,undefined
#   make fuzz       build the libFuzzer target (tests/fuzz/fuzz.mk explains how to run it)
#   make clean
#
# Unit tests: every tests/unit/test_NAME.c becomes build/tests/test_NAME. It links
# the sources listed in test_NAME_SRCS (set in an optional tests/unit/NAME.mk, one
# fragment per module so modules never edit this file); by default all of model/.

BUILD   ?= build
CC      ?= gcc
SAN     ?=
PKGS    := libmicrohttpd jansson libpq openssl zlib

WARN    := -Wall -Wextra -Werror -Wpedantic -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) -I.
ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

MODEL_SRCS   := $(sort $(wildcard model/*.c))
HANDLER_SRCS := $(sort $(wildcard handlers/*.c))
SERVER_SRCS  := $(sort $(wildcard server/*.c))
APP_SRCS     := $(MODEL_SRCS) $(HANDLER_SRCS) $(SERVER_SRCS)
GEN_OBJS     := $(BUILD)/gen/migrations.o $(BUILD)/gen/openapi.o
APP_OBJS     := $(APP_SRCS:%.c=$(BUILD)/%.o) $(GEN_OBJS)

UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
-include $(wildcard tests/unit/*.mk)

# Load and baseline tools of bench/ingest (also used by the durability tests).
TOOLS      := $(BUILD)/tools/loadgen $(BUILD)/tools/copyload

.PHONY: all deps run test unit unit-bins tools itest asan clean fuzz
all: $(BUILD)/cohortd

unit-bins: $(UNIT_BINS)

tools: $(TOOLS)

$(BUILD)/tools/%: bench/ingest/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LDFLAGS) $(PKG_LIBS) -lm -lpthread

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

# model/ must stay pure: no library include paths when compiling it.
$(BUILD)/model/%.o: model/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Migrations and the OpenAPI document are compiled into the binary.
$(BUILD)/gen/migrations.c: $(sort $(wildcard migrations/*.sql)) scripts/embed_sql.sh
	@mkdir -p $(dir $@)
	scripts/embed_sql.sh $(sort $(wildcard migrations/*.sql)) > $@
$(BUILD)/gen/openapi.c: docs/openapi.json scripts/embed_file.sh
	@mkdir -p $(dir $@)
	scripts/embed_file.sh openapi_json docs/openapi.json > $@
$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(CFLAGS) -Wno-overlength-strings -c $< -o $@

$(BUILD)/cohortd: $(APP_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm -lpthread

# A unit test links its own list of sources (default: all of model/).
.SECONDEXPANSION:
$(BUILD)/tests/test_%: tests/unit/test_%.c $$(patsubst %.c,$(BUILD)/%.o,$$(or $$(test_$$*_SRCS),$(MODEL_SRCS)))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $^ $(LDFLAGS) $(PKG_LIBS) -lcmocka -lm -lpthread

unit: $(UNIT_BINS)
	@tests/run_unit.sh $(BUILD)

run: deps all
	@scripts/run.sh $(BUILD)/cohortd

itest: all
	@tests/integration/run.sh $(BUILD)

test: deps
	@tests/run_all.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 all unit-bins
	@COHORTD_SAN=1 tests/run_unit.sh build-asan
	@COHORTD_SAN=1 tests/integration/run.sh build-asan

# libFuzzer targets for the order and webhook parsers; make test replays
# their seed corpus (tests/unit/test_fuzz_corpus.c).
fuzz:
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
