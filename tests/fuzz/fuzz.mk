# tests/fuzz/fuzz.mk - libFuzzer build of tests/fuzz/fuzz_orders.c.
#
#   make fuzz                                     build build-fuzz/fuzz_orders (clang,
#                                                 -fsanitize=fuzzer,address,undefined)
#   make -f tests/fuzz/fuzz.mk run FUZZ_SECONDS=60  fuzz from the committed seeds
#   make -f tests/fuzz/fuzz.mk replay [SAN=1]     gcc build without libFuzzer, run on the corpus
#   tests/fuzz/replay.sh                          the same, as a script
#
# New inputs go to build-fuzz/corpus, never into the committed seeds; a crash
# is written to build-fuzz/crash-* and replays with build-fuzz/replay_orders FILE.
# make test replays the seeds under ASan and valgrind (tests/unit/test_fuzz_corpus.c).

FUZZ_BUILD   ?= build-fuzz
CLANG        ?= clang
CC           ?= gcc
FUZZ_SECONDS ?= 60
FUZZ_SRCS    := handlers/webhooks.c handlers/orders.c handlers/segment.c model/money.c \
                server/crypto.c server/err.c server/order_row.c server/ingest_row.c
FUZZ_CFLAGS  := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -I. -g \
                $(shell pkg-config --cflags jansson openssl)
FUZZ_LIBS    := $(shell pkg-config --libs jansson openssl) -lm
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
REPLAY       := $(FUZZ_BUILD)/replay_orders$(if $(SAN),_san)

.PHONY: all run replay
all: $(FUZZ_BUILD)/fuzz_orders

$(FUZZ_BUILD)/fuzz_orders: tests/fuzz/fuzz_orders.c tests/fuzz/fuzz.h $(FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/fuzz/fuzz_orders.c $(FUZZ_SRCS) $(FUZZ_LIBS)

run: $(FUZZ_BUILD)/fuzz_orders
	@mkdir -p $(FUZZ_BUILD)/corpus
	$< -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -artifact_prefix=$(FUZZ_BUILD)/ \
		$(FUZZ_BUILD)/corpus tests/fuzz/corpus

$(REPLAY): tests/fuzz/replay.c tests/fuzz/fuzz_orders.c tests/fuzz/fuzz.h $(FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) -O1 $(if $(SAN),$(SAN_FLAGS)) -o $@ tests/fuzz/replay.c \
		tests/fuzz/fuzz_orders.c $(FUZZ_SRCS) $(FUZZ_LIBS)

replay: $(REPLAY)
	$(REPLAY) tests/fuzz/corpus/*
