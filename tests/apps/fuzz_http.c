/*
 * fuzz_http.c: libFuzzer target for apps/httpd/http.c.  Besides not
 * crashing, every result must be consistent: a complete head lies within
 * the input and max_head, its pointers point into the input, and a
 * refusal names one of the documented statuses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apps/httpd/http.h"

static void
inside(const char *p, size_t n, const uint8_t *d, size_t len)
{
	if (p < (const char *)d || p + n > (const char *)d + len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req r;
	int status;
	/* The first byte picks the limit, the rest is the connection input. */
	size_t max_head = size > 0 ? 64 + (size_t)data[0] * 32 : 64;
	const uint8_t *in = size > 0 ? data + 1 : data;
	size_t n = size > 0 ? size - 1 : 0;
	char *copy = malloc(n + 1);	/* exact-size: ASan sees overreads */
	if (copy == NULL)
		return 0;
	memcpy(copy, in, n);
	int rc = http_parse(copy, n, max_head, &r, &status);
	if (rc > 0) {
		if (r.head_len == 0 || r.head_len > n || r.head_len > max_head)
			abort();
		/* An absolute-form target without a path gets a static "/". */
		if (!(r.path_len == 1 && r.path[0] == '/'))
			inside(r.path, r.path_len, (const uint8_t *)copy, n);
		inside(r.method_str, r.method_len, (const uint8_t *)copy, n);
		if (r.path_len > 0 && r.path[0] != '/' && r.path[0] != '*')
			abort();
		if (r.minor != 0 && r.minor != 1)
			abort();
	} else if (rc < 0) {
		if (status != 400 && status != 431 && status != 501 && status != 505)
			abort();
	} else if (n >= max_head) {
		abort();	/* "need more" past the limit would never end */
	}
	free(copy);
	return 0;
}
