/*
 * Replays the committed fuzz seeds (tests/fuzz/corpus/) through the fuzz
 * target, so every make test runs them under the normal build, ASan+UBSan
 * and valgrind: a crash, sanitizer report or leak fails the suite. Run from
 * the repository root (make unit does).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/fuzz/fuzz.h"

#define CORPUS "tests/fuzz/corpus"

static size_t read_file(const char *path, uint8_t **out)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, len = 0, n;
	uint8_t *buf = malloc(cap);

	assert_non_null(f);
	assert_non_null(buf);
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	fclose(f);
	*out = buf;
	return len;
}

static void test_replay_corpus(void **state)
{
	DIR *d = opendir(CORPUS);
	struct dirent *e;
	char path[512];
	int n = 0;
	(void)state;
	if (!d)
		fail_msg("run from the repository root: %s not found", CORPUS);
	while ((e = readdir(d)) != NULL) {
		uint8_t *buf;
		size_t len;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", CORPUS, e->d_name);
		len = read_file(path, &buf);
		assert_int_equal(LLVMFuzzerTestOneInput(buf, len), 0);
		/* Every prefix too: truncated bodies are what a fuzzer tries first. */
		for (size_t k = 0; k < len; k += 1 + len / 64)
			assert_int_equal(LLVMFuzzerTestOneInput(buf, k), 0);
		free(buf);
		n++;
	}
	closedir(d);
	assert_true(n >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_replay_corpus) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
