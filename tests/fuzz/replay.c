/*
 * replay.c - run the fuzz target over files without libFuzzer, so the corpus
 * (and any crash file a fuzzing run finds) can be replayed with gcc, ASan or
 * valgrind:  replay_orders FILE...
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"

int main(int argc, char **argv)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		long len;
		uint8_t *buf;
		if (!f) {
			perror(argv[i]);
			return 1;
		}
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = malloc(len > 0 ? (size_t)len : 1);
		if (!buf || (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len)) {
			fprintf(stderr, "%s: read failed\n", argv[i]);
			return 1;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, len > 0 ? (size_t)len : 0);
		free(buf);
		n++;
	}
	printf("replayed %d inputs\n", n);
	return 0;
}
