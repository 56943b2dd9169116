/*
 * test_pmm.c - the physical allocator against realistic and hostile UEFI
 * memory maps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/err.h"
#include "kernel/pmm.h"

#define MB (1ULL << 20)
#define R(b, n, t) { (b), (n), (t), 0 }

static struct pmm p;
static void *store;

static void
build(const struct tern_mem_range *m, size_t n)
{
	size_t bytes = pmm_bitmap_bytes(m, n);
	free(store);
	store = calloc(1, bytes + 8);
	assert_int_equal(pmm_init(&p, m, n, store, 0), TERN_OK);
}

/* Is the page at `pa` handed out by draining the allocator? */
static int
drain_contains(uint64_t pa)
{
	int found = 0;
	uint64_t a;
	while ((a = pmm_alloc(&p, 1, 0, 0)) != 0)
		if (a == pa)
			found = 1;
	return found;
}

static void
test_ovmf_like(void **state)
{
	const struct tern_mem_range m[] = {
		R(0, 160, TERN_MEM_FREE),
		R(0xa0000, 96, TERN_MEM_RESERVED),
		R(0x100000, 0x700, TERN_MEM_FREE),
		R(0x800000, 0x10, TERN_MEM_ACPI_NVS),
		R(0x810000, 0x7000, TERN_MEM_FREE),
		R(0x7810000, 0x100, TERN_MEM_LOADER),
		R(0x7910000, 0x500, TERN_MEM_FREE),
		R(0x7e10000, 0x20, TERN_MEM_ACPI_RECLAIM),
		R(0x7e30000, 0x100, TERN_MEM_RUNTIME),
		R(0xffc00000, 0x400, TERN_MEM_RESERVED),
	};
	build(m, 10);
	assert_int_equal(p.total_free, 159 + 0x700 + 0x7000 + 0x500);
	uint64_t a = pmm_alloc(&p, 1, 0, 0);
	assert_true(a != 0);
	assert_int_equal(p.free_pages, p.total_free - 1);
	/* Nothing outside FREE ranges, never page 0. */
	uint64_t x;
	while ((x = pmm_alloc(&p, 1, 0, 0)) != 0) {
		assert_true(x != 0);
		assert_false(x >= 0xa0000 && x < 0x100000);
		assert_false(x >= 0x800000 && x < 0x810000);
		assert_false(x >= 0x7810000 && x < 0x7910000);
		assert_false(x >= 0x7e10000);
	}
	assert_int_equal(p.free_pages, 0);
}

static void
test_unsorted_overlapping_absurd(void **state)
{
	const struct tern_mem_range m[] = {
		R(0x400000, 0x100, TERN_MEM_FREE),
		R(0x100000, 0x100, TERN_MEM_FREE),
		R(0x140000, 0x10, TERN_MEM_ACPI_RECLAIM),	/* inside a FREE range */
		R(0x400000, 0x1, TERN_MEM_LOADER),		/* overlaps the start */
		R(0x200000, 0, TERN_MEM_FREE),			/* zero length */
		R(0x123, 4, TERN_MEM_FREE),			/* misaligned */
		R(UINT64_MAX - 4095, 2, TERN_MEM_FREE),	/* wraps */
		R(1ULL << 53, 1, TERN_MEM_FREE),		/* beyond 2^52 */
	};
	build(m, 8);
	assert_int_equal(p.bad_ranges, 4);
	assert_int_equal(p.total_free, 0x100 + 0x100 - 0x10 - 1);
	uint64_t x;
	while ((x = pmm_alloc(&p, 1, 0, 0)) != 0) {
		assert_false(x >= 0x140000 && x < 0x150000);
		assert_false(x == 0x400000);
	}
}

static void
test_exhaustion_and_free(void **state)
{
	const struct tern_mem_range m[] = { R(0x100000, 64, TERN_MEM_FREE) };
	build(m, 1);
	uint64_t pages[64];
	for (int i = 0; i < 64; i++) {
		pages[i] = pmm_alloc(&p, 1, 0, 0);
		assert_true(pages[i] != 0);
	}
	assert_int_equal(pmm_alloc(&p, 1, 0, 0), 0);
	assert_int_equal(pmm_free(&p, pages[10], 1), TERN_OK);
	assert_int_equal(pmm_alloc(&p, 1, 0, 0), pages[10]);
	/* A 16-page run appears only after freeing 16 contiguous pages. */
	assert_int_equal(pmm_alloc(&p, 16, 0, 0), 0);
	assert_int_equal(pmm_free(&p, pages[16], 1), TERN_OK);
	for (int i = 17; i < 32; i++)
		assert_int_equal(pmm_free(&p, pages[i], 1), TERN_OK);
	assert_int_equal(pmm_alloc(&p, 16, 0, 0), pages[16]);
}

static void
test_align_and_limit(void **state)
{
	const struct tern_mem_range m[] = {
		R(0x1000, 0x3ff, TERN_MEM_FREE),		/* below 4 MiB */
		R(0x100000000ULL, 0x1000, TERN_MEM_FREE),	/* at 4 GiB */
		R(1ULL << 40, 0x100, TERN_MEM_FREE),	/* at 1 TiB */
	};
	build(m, 3);
	uint64_t a = pmm_alloc(&p, 4, 0x200000, 0);
	assert_true(a != 0);
	assert_int_equal(a % 0x200000, 0);
	/* Below 2^32: only the low range qualifies. */
	for (int i = 0; i < 100; i++) {
		uint64_t x = pmm_alloc(&p, 1, 0, 1ULL << 32);
		assert_true(x != 0 && x < (1ULL << 32));
	}
	/* A limit (as for a device's DMA width) is never crossed. */
	uint64_t x;
	while ((x = pmm_alloc(&p, 1, 0, 1ULL << 40)) != 0)
		assert_true(x + 4096 <= (1ULL << 40));
	assert_true(pmm_alloc(&p, 1, 0, 0) >= (1ULL << 40));
	/* Non-power-of-two alignment is refused. */
	assert_int_equal(pmm_alloc(&p, 1, 3 * 4096, 0), 0);
}

static void
test_bad_frees(void **state)
{
	const struct tern_mem_range m[] = {
		R(0x100000, 16, TERN_MEM_FREE),
		R(0x200000, 16, TERN_MEM_ACPI_RECLAIM),
	};
	build(m, 2);
	uint64_t a = pmm_alloc(&p, 2, 0, 0);
	assert_int_equal(pmm_free(&p, a, 2), TERN_OK);
	assert_int_equal(pmm_free(&p, a, 2), TERN_EINVAL);	/* double free */
	assert_int_equal(pmm_free(&p, 0x200000, 1), TERN_EINVAL);	/* ACPI */
	assert_int_equal(pmm_free(&p, a + 1, 1), TERN_EINVAL);	/* misaligned */
	assert_int_equal(pmm_free(&p, 0, 1), TERN_EINVAL);
	assert_int_equal(pmm_free(&p, 1ULL << 40, 1), TERN_EINVAL);
	assert_int_equal(p.bad_frees, 5);
	assert_int_equal(p.free_pages, 16);
}

static void
test_storage_placement(void **state)
{
	const struct tern_mem_range m[] = {
		R(0x0, 1, TERN_MEM_FREE),
		R(0x100000, 0x800, TERN_MEM_FREE),
		R(0x100000, 4, TERN_MEM_LOADER),	/* overlaps the start */
	};
	size_t bytes = pmm_bitmap_bytes(m, 3);
	uint64_t at = pmm_find_storage(m, 3, bytes);
	assert_true(at >= 0x104000);
	void *buf = calloc(1, bytes);
	assert_int_equal(pmm_init(&p, m, 3, buf, at), TERN_OK);
	assert_false(drain_contains(at));
	free(buf);
	/* No room at all. */
	const struct tern_mem_range tiny[] = { R(0x1000, 1, TERN_MEM_LOADER) };
	assert_int_equal(pmm_find_storage(tiny, 1, 4096), 0);
}

/* Used ranges covering the start of the only big FREE range, one of them
   larger than 16 MiB and overlapping another: storage lands after both. */
static void
test_storage_past_big_overlaps(void **state)
{
	const struct tern_mem_range m[] = {
		R(0x100000, 0x20000, TERN_MEM_FREE),		/* 1 MiB .. 513 MiB */
		R(0x100000, 0x2000, TERN_MEM_LOADER),	/* 32 MiB of loader */
		R(0x1f00000, 0x300, TERN_MEM_ACPI_RECLAIM),	/* straddles its end */
		R(0x2300000, 1, TERN_MEM_RESERVED),		/* a hole further up */
	};
	size_t bytes = pmm_bitmap_bytes(m, 4);
	assert_int_equal(bytes, (0x20100 + 63) / 64 * 8 * 2);
	uint64_t at = pmm_find_storage(m, 4, bytes);
	assert_int_equal(at, 0x2200000);	/* first window clear of all three */
	void *buf = calloc(1, bytes);
	assert_int_equal(pmm_init(&p, m, 4, buf, at), TERN_OK);
	uint64_t spages = (bytes + 4095) / 4096;
	assert_int_equal(p.total_free, 0x20000 - 0x2100 - 1 - spages);	/* union of the two */
	/* Reserving again is idempotent, and reserve past the end is ignored. */
	pmm_reserve(&p, at, spages);
	pmm_reserve(&p, 1ULL << 45, 4);
	assert_int_equal(p.free_pages, p.total_free);
	uint64_t x;
	while ((x = pmm_alloc(&p, 1, 0, 0)) != 0) {
		assert_false(x >= at && x < at + spages * 4096);
		assert_false(x < 0x2200000);
		assert_false(x == 0x2300000);
	}
	free(buf);
	/* A FREE range entirely covered by used memory offers nothing. */
	const struct tern_mem_range full[] = {
		R(0x100000, 0x10, TERN_MEM_FREE),
		R(0x100000, 0x8, TERN_MEM_RUNTIME),
		R(0x108000, 0x8, TERN_MEM_RESERVED),
	};
	assert_int_equal(pmm_find_storage(full, 3, 4096), 0);
	/* Page 0 is never chosen, even when FREE and big enough. */
	const struct tern_mem_range low[] = { R(0, 2, TERN_MEM_FREE) };
	assert_int_equal(pmm_find_storage(low, 1, 4096), 0x1000);
	assert_int_equal(pmm_find_storage(low, 1, 8192), 0);
}

/* Multi-page runs with alignment and a limit that cuts a range in two,
   plus requests that can never be met. */
static void
test_runs_under_limit(void **state)
{
	const uint64_t g4 = 1ULL << 32;
	const struct tern_mem_range m[] = {
		R(0x100000, 0x100, TERN_MEM_FREE),
		R(g4 - 0x10000, 0x20, TERN_MEM_FREE),	/* straddles 4 GiB */
	};
	build(m, 2);
	uint64_t a = pmm_alloc(&p, 16, 0x10000, g4);
	assert_int_equal(a, 0x100000);
	/* Use up the low range in 16-page runs: 15 more. */
	for (int i = 0; i < 15; i++)
		assert_true(pmm_alloc(&p, 16, 0, g4) < 0x200000);
	/* Below 4 GiB only 16 pages of the straddling range remain. */
	assert_int_equal(pmm_alloc(&p, 17, 0, g4), 0);
	assert_int_equal(pmm_alloc(&p, 16, 0, g4), g4 - 0x10000);
	assert_int_equal(pmm_alloc(&p, 1, 0, g4), 0);
	assert_int_equal(pmm_alloc(&p, 0, 0, 0), 0);		/* zero pages */
	assert_int_equal(pmm_alloc(&p, SIZE_MAX, 0, 0), 0);	/* absurd */
	assert_int_equal(pmm_alloc(&p, 1, 0, 4095), 0);		/* limit below page 1 */
	assert_int_equal(pmm_alloc(&p, 1, 1ULL << 62, 0), 0);	/* no such alignment */
	assert_int_equal(pmm_alloc(&p, 16, 0, 0), g4);		/* above the limit */
	assert_int_equal(p.free_pages, 0);
	assert_int_equal(pmm_free(&p, g4 - 0x10000, 32), TERN_OK);
	assert_int_equal(pmm_alloc(&p, 32, 0x20000, 0), 0);	/* base not 128K aligned */
	assert_int_equal(pmm_alloc(&p, 32, 0x10000, 0), g4 - 0x10000);
}

static void
teardown_all(void)
{
	free(store);
}

/* The bitmap built a word at a time against a page-at-a-time reference:
   random maps whose ranges start and end anywhere within a word,
   overlapping, FREE and not. */
static void
test_random_maps_vs_reference(void **state)
{
	uint32_t x = 2463534242u;
	for (int round = 0; round < 200; round++) {
		struct tern_mem_range m[12];
		size_t n = 1 + round % 12;
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13; x ^= x >> 17; x ^= x << 5;
			uint64_t base = (x % 3000) * PAGE_SIZE;
			x ^= x << 13; x ^= x >> 17; x ^= x << 5;
			uint64_t np = 1 + x % 700;
			uint32_t t = (x >> 20) % 3 == 0 ? TERN_MEM_RESERVED : TERN_MEM_FREE;
			m[i] = (struct tern_mem_range)R(base, np, t);
		}
		uint64_t top = 0;
		for (size_t i = 0; i < n; i++)
			if (m[i].type == TERN_MEM_FREE && m[i].base / PAGE_SIZE + m[i].npages > top)
				top = m[i].base / PAGE_SIZE + m[i].npages;
		if (top == 0)
			continue;
		size_t bytes = pmm_bitmap_bytes(m, n);
		free(store);
		store = calloc(1, bytes + 8);
		int rc = pmm_init(&p, m, n, store, 0);
		uint64_t want_free = 0;
		for (uint64_t pg = 0; pg < top; pg++) {
			bool fr = false, us = pg == 0;
			for (size_t i = 0; i < n; i++) {
				uint64_t s0 = m[i].base / PAGE_SIZE, e0 = s0 + m[i].npages;
				if (pg >= s0 && pg < e0) {
					if (m[i].type == TERN_MEM_FREE)
						fr = true;
					else
						us = true;
				}
			}
			bool want_used = !fr || us;
			want_free += !want_used;
			if (rc == TERN_OK && (bool)((p.bitmap[pg / 64] >> (pg % 64)) & 1) != want_used)
				fail_msg("round %d page %llu: used %d, want %d", round,
				    (unsigned long long)pg, !want_used, want_used);
		}
		assert_int_equal(rc, want_free > 0 ? TERN_OK : TERN_EINVAL);
		if (rc == TERN_OK)
			assert_int_equal(p.free_pages, want_free);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ovmf_like),
		cmocka_unit_test(test_unsorted_overlapping_absurd),
		cmocka_unit_test(test_exhaustion_and_free),
		cmocka_unit_test(test_align_and_limit),
		cmocka_unit_test(test_bad_frees),
		cmocka_unit_test(test_storage_placement),
		cmocka_unit_test(test_storage_past_big_overlaps),
		cmocka_unit_test(test_runs_under_limit),
		cmocka_unit_test(test_random_maps_vs_reference),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	teardown_all();
	return r;
}
