/*
 * test_heap.c - the kernel heap over a malloc'd page source: size
 * classes, alignment, large runs, exhaustion, and corruption detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/heap.h"

static struct heap h;
static int pages_out, pages_limit, errors_seen;
static const char *last_error;

/* Every run handed to the heap, so teardown can release what the heap
   keeps for its size classes (it never gives those back). */
static void *runs[4096];
static int nruns;

static void *
pg_alloc(void *ctx, size_t n)
{
	if (pages_out + (int)n > pages_limit || nruns == 4096)
		return NULL;
	pages_out += (int)n;
	void *p = aligned_alloc(4096, n * 4096);
	runs[nruns++] = p;
	return p;
}

static void
pg_free(void *ctx, void *p, size_t n)
{
	pages_out -= (int)n;
	for (int i = 0; i < nruns; i++)
		if (runs[i] == p)
			runs[i] = NULL;
	free(p);
}

static int
teardown(void **state)
{
	for (int i = 0; i < nruns; i++)
		free(runs[i]);
	nruns = 0;
	return 0;
}

static void
on_error(void *ctx, const char *what, const void *p)
{
	errors_seen++;
	last_error = what;
}

static int
setup(void **state)
{
	static const struct heap_ops ops = { pg_alloc, pg_free, on_error, NULL };
	pages_out = 0;
	pages_limit = 1000;
	errors_seen = 0;
	last_error = NULL;
	heap_init(&h, &ops);
	return 0;
}

static void
test_sizes_and_reuse(void **state)
{
	void *p[200];
	for (int i = 0; i < 200; i++) {
		size_t sz = (size_t)(i * 37) % 3000 + 1;
		p[i] = heap_alloc(&h, sz, 0);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		assert_true(heap_usable(&h, p[i]) >= sz);
		memset(p[i], i, sz);
	}
	for (int i = 0; i < 200; i++) {
		size_t sz = (size_t)(i * 37) % 3000 + 1;
		for (size_t k = 0; k < sz; k++)
			assert_int_equal(((uint8_t *)p[i])[k], (uint8_t)i);
	}
	for (int i = 0; i < 200; i++)
		heap_free(&h, p[i]);
	assert_int_equal(h.bytes_in_use, 0);
	assert_int_equal(errors_seen, 0);
	/* Freed small blocks are reused: no new pages for the same pattern. */
	int before = pages_out;
	void *q = heap_alloc(&h, 40, 0);
	assert_int_equal(pages_out, before);
	heap_free(&h, q);
}

static void
test_alignment(void **state)
{
	size_t aligns[] = { 0, 16, 32, 64, 256, 4096 };
	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		void *p = heap_alloc(&h, 100, aligns[i]);
		assert_non_null(p);
		if (aligns[i])
			assert_int_equal((uintptr_t)p % aligns[i], 0);
		memset(p, 1, 100);
		heap_free(&h, p);
	}
	assert_null(heap_alloc(&h, 100, 8192));	/* beyond a page */
	assert_null(heap_alloc(&h, 100, 48));	/* not a power of two */
	assert_int_equal(errors_seen, 0);
}

static void
test_large_runs_return_pages(void **state)
{
	void *p = heap_alloc(&h, 100000, 0);
	assert_non_null(p);
	assert_int_equal(pages_out, (16 + 100000 + 8 + 4095) / 4096);
	memset(p, 7, 100000);
	heap_free(&h, p);
	assert_int_equal(pages_out, 0);
}

static void
test_exhaustion(void **state)
{
	pages_limit = 2;
	assert_null(heap_alloc(&h, 20000, 0));
	void *a = heap_alloc(&h, 100, 0);
	assert_non_null(a);
	int n = 0;
	while (heap_alloc(&h, 100, 0) != NULL)
		n++;
	assert_true(n > 10 && n < 2 * 4096 / 128);
}

static void
test_overflow_detected(void **state)
{
	uint8_t *p = heap_alloc(&h, 24, 0);
	p[24] = 0x41;		/* one byte past the end */
	heap_free(&h, p);
	assert_int_equal(errors_seen, 1);
	assert_string_equal(last_error, "buffer overflow past the end of a block");
	uint8_t *big = heap_alloc(&h, 9000, 0);
	big[9000] = 1;
	heap_free(&h, big);
	assert_int_equal(errors_seen, 2);
}

static void
test_double_and_bad_free(void **state)
{
	void *p = heap_alloc(&h, 64, 0);
	heap_free(&h, p);
	heap_free(&h, p);
	assert_int_equal(errors_seen, 1);
	assert_string_equal(last_error, "double free");
	/* The heap is intact: the block is handed out once, not twice. */
	void *a = heap_alloc(&h, 64, 0), *b = heap_alloc(&h, 64, 0);
	assert_ptr_not_equal(a, b);
	uint64_t junk[8] = { 0 };
	heap_free(&h, &junk[2]);
	assert_int_equal(errors_seen, 2);
	heap_free(&h, (uint8_t *)a + 1);
	assert_int_equal(errors_seen, 3);
	heap_free(&h, NULL);
	assert_int_equal(errors_seen, 3);
	assert_int_equal(h.errors, 3);
}

/* An overflow that reaches the next free block's header is caught when
   that block would be handed out, and the heap keeps working. */
static void
test_free_list_corruption(void **state)
{
	/* Class 64 blocks sit 80 bytes apart; a fresh page is handed out
	   from its top, so the second block is just below the first. */
	uint8_t *hi = heap_alloc(&h, 40, 0);
	uint8_t *lo = heap_alloc(&h, 40, 0);
	assert_non_null(hi);
	assert_ptr_equal(lo + 80, hi);
	heap_free(&h, hi);
	assert_int_equal(errors_seen, 0);
	memset(lo + 40, 0x41, 32);	/* canary, slack, then hi's header */
	void *c = heap_alloc(&h, 40, 0);
	assert_non_null(c);
	assert_ptr_not_equal(c, hi);
	assert_int_equal(errors_seen, 1);
	assert_string_equal(last_error, "free list corrupted");
	memset(c, 0, 40);
	heap_free(&h, c);
	assert_int_equal(errors_seen, 1);
	heap_free(&h, lo);	/* its own canary was overwritten too */
	assert_int_equal(errors_seen, 2);
	assert_string_equal(last_error, "buffer overflow past the end of a block");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sizes_and_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alignment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_runs_return_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_double_and_bad_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_list_corruption, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
