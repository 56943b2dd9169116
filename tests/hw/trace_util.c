/*
 * trace_util.c - see trace_util.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/hw/trace_util.h"

int
trace_marker_value(const char *path, const char *key, const char *stop, char *out,
    size_t n)
{
	FILE *f = fopen(path, "r");
	char l[512];
	out[0] = 0;
	if (f == NULL)
		return -1;
	while (fgets(l, sizeof(l), f) != NULL && l[0] == '#') {
		char *p = strstr(l, key);
		if (p != NULL && strncmp(l, "# marker:", 9) == 0) {
			p += strlen(key);
			char stops[16];
			snprintf(stops, sizeof(stops), "%s\n", stop);
			snprintf(out, n, "%.*s", (int)strcspn(p, stops), p);
		}
	}
	fclose(f);
	return 0;
}

char *
trace_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (s != NULL && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	if (s != NULL)
		s[n] = 0;
	fclose(f);
	return s;
}

void
blktest_pattern(uint8_t *buf, size_t len, uint64_t seed)
{
	memcpy(buf, &seed, 8);
	uint64_t x = seed;
	for (size_t i = 8; i < len; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		buf[i] = (uint8_t)(x >> 56);
	}
}
