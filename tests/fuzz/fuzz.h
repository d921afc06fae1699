/*
 * fuzz.h - the libFuzzer entry point of tests/fuzz/fuzz_orders.c, declared
 * so the same file also links into the corpus replay (tests/fuzz/replay.c)
 * and the unit test that replays the corpus under ASan and valgrind
 * (tests/unit/test_fuzz_corpus.c).
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
