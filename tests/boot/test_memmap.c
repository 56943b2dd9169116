/*
 * test_memmap.c - translation of UEFI memory maps into tern ranges:
 * types, sorting, merging, odd descriptor sizes, junk entries; and where
 * the loader places big buffers (memmap_place: free pages in 2 MiB
 * regions the firmware already used).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "boot/memmap.h"

static uint8_t map[64 * 48];
static size_t nd;
static size_t dsz;

static void
add(uint32_t type, uint64_t base, uint64_t np)
{
	uint8_t *d = map + nd * dsz;
	memset(d, 0, dsz);
	memcpy(d + EFI_DESC_TYPE, &type, 4);
	memcpy(d + EFI_DESC_PHYS, &base, 8);
	memcpy(d + EFI_DESC_NPAGES, &np, 8);
	nd++;
}

static void
test_types(void **state)
{
	assert_int_equal(memmap_type(7), TERN_MEM_FREE);
	assert_int_equal(memmap_type(3), TERN_MEM_FREE);
	assert_int_equal(memmap_type(4), TERN_MEM_FREE);
	assert_int_equal(memmap_type(1), TERN_MEM_LOADER);
	assert_int_equal(memmap_type(2), TERN_MEM_LOADER);
	assert_int_equal(memmap_type(9), TERN_MEM_ACPI_RECLAIM);
	assert_int_equal(memmap_type(10), TERN_MEM_ACPI_NVS);
	assert_int_equal(memmap_type(5), TERN_MEM_RUNTIME);
	assert_int_equal(memmap_type(8), TERN_MEM_BAD);
	assert_int_equal(memmap_type(11), TERN_MEM_RESERVED);
	assert_int_equal(memmap_type(0x70000000), TERN_MEM_RESERVED);
}

static void
test_sort_merge(void **state)
{
	struct tern_mem_range out[64];
	uint64_t top;
	dsz = 48;	/* OVMF uses 48-byte descriptors */
	nd = 0;
	add(7, 0x200000, 16);
	add(4, 0x100000, 256);	/* BS data: free, adjacent to the next */
	add(11, 0xfec00000, 1);	/* MMIO */
	add(9, 0x7f000000, 16);
	add(3, 0x210000, 16);	/* adjacent free: merges */
	add(2, 0x1000000, 4);
	add(7, 0x0, 0);		/* zero length: dropped */
	add(7, 0x1234, 1);	/* misaligned: dropped */
	size_t n = memmap_translate(map, nd * dsz, dsz, out, 64, &top);
	assert_int_equal(n, 4);
	assert_int_equal(out[0].base, 0x100000);
	assert_int_equal(out[0].type, TERN_MEM_FREE);
	assert_int_equal(out[0].npages, 256 + 16 + 16);
	assert_int_equal(out[1].base, 0x1000000);
	assert_int_equal(out[1].type, TERN_MEM_LOADER);
	assert_int_equal(out[2].type, TERN_MEM_ACPI_RECLAIM);
	assert_int_equal(out[3].type, TERN_MEM_RESERVED);
	assert_int_equal(top, 0x7f000000 + 16 * 4096);	/* MMIO not RAM */
	for (size_t i = 1; i < n; i++)
		assert_true(out[i - 1].base < out[i].base);
}

static void
test_bounds(void **state)
{
	struct tern_mem_range out[2];
	uint64_t top;
	dsz = 40;
	nd = 0;
	for (int i = 0; i < 10; i++)
		add(i % 2 ? 7 : 11, (uint64_t)i * 0x100000, 1);
	/* Output capacity is respected. */
	assert_int_equal(memmap_translate(map, nd * dsz, dsz, out, 2, &top), 2);
	/* A descriptor size too small to hold a descriptor yields nothing. */
	assert_int_equal(memmap_translate(map, nd * dsz, 16, out, 2, &top), 0);
	/* A partial trailing descriptor is ignored. */
	assert_true(memmap_translate(map, dsz + 10, dsz, out, 2, &top) == 1);
}

#define MB	0x100000ULL
#define PLACE(np)	memmap_place(map, nd * dsz, dsz, (np), 0)

static void
place_reset(void)
{
	dsz = 48;
	nd = 0;
}

/* Free pages next to firmware data win over a fresh region, and the
   buffer is taken from the top of the run. */
static void
test_place_warm(void **state)
{
	place_reset();
	add(7, 1 * MB, (128 - 1) * MB / 4096);		/* 1-128 MiB free */
	add(4, 128 * MB, MB / 4096);			/* boot services data */
	add(7, 129 * MB, MB / 4096);			/* free, same region */
	assert_int_equal(PLACE(64), 130 * MB - 64 * 4096);
	assert_int_equal(PLACE(256), 130 * MB - 256 * 4096);
	/* The tail of 1-128 MiB lies in a region of its own: never used,
	   even for a buffer only it could hold. */
	assert_int_equal(PLACE(257), 0);
	/* Without the firmware's page the region is fresh: nothing. */
	place_reset();
	add(7, 1 * MB, (128 - 1) * MB / 4096);
	add(7, 129 * MB, MB / 4096);
	assert_int_equal(PLACE(1), 0);
}

/* The smallest run that fits; types that are not RAM the firmware wrote
   (reserved, MMIO, unusable) do not make a region warm. */
static void
test_place_best_fit(void **state)
{
	place_reset();
	add(3, 10 * MB, 1);				/* boot services code */
	add(7, 10 * MB + 4096, MB / 4096 - 1);		/* ~1 MiB warm */
	add(9, 20 * MB, 1);				/* ACPI reclaim */
	add(7, 20 * MB + 4096, MB / 8192 - 1);		/* ~512 KiB warm */
	add(0, 30 * MB, 1);				/* reserved */
	add(7, 30 * MB + 4096, 100);
	add(11, 40 * MB, 1);				/* MMIO */
	add(7, 40 * MB + 4096, 100);
	add(8, 50 * MB, 1);				/* unusable */
	add(7, 50 * MB + 4096, 100);
	assert_int_equal(PLACE(100), 20 * MB + MB / 2 - 100 * 4096);
	assert_int_equal(PLACE(127), 20 * MB + MB / 2 - 127 * 4096);
	assert_int_equal(PLACE(128), 11 * MB - 128 * 4096);
	assert_int_equal(PLACE(255), 11 * MB - 255 * 4096);
	assert_int_equal(PLACE(256), 0);
}

/* A free range across a 2 MiB boundary with used pages on both sides is
   one run; one with a fresh region in its middle is two. */
static void
test_place_runs(void **state)
{
	place_reset();
	add(2, 31 * MB, MB / 4096);			/* loader data 31-32 */
	add(7, 32 * MB, MB / 4096 * 4);			/* free 32-36 */
	add(1, 36 * MB, 1);				/* loader code at 36 */
	/* Regions 32-34 and 34-36 are fresh (only free pages), 30-32 warm
	   but holds no free page: nothing. */
	assert_int_equal(PLACE(1), 0);
	place_reset();
	add(2, 31 * MB, MB / 4096);			/* loader data 31-32 */
	add(7, 32 * MB + MB / 2, MB / 4096 * 3);	/* free 32.5-35.5 */
	add(6, 32 * MB, MB / 8192);			/* runtime data 32-32.5 */
	add(5, 35 * MB + MB / 2, MB / 8192);		/* runtime code 35.5-36 */
	/* Both regions warm: one 3 MiB run across 34 MiB. */
	assert_int_equal(PLACE(MB / 4096 * 3), 32 * MB + MB / 2);
	assert_int_equal(PLACE(MB / 4096 * 2), 35 * MB + MB / 2 - 2 * MB);
	assert_int_equal(PLACE(MB / 4096 * 3 + 1), 0);
}

/* Page 0, the limit, junk and a short descriptor size. */
static void
test_place_bounds(void **state)
{
	place_reset();
	add(7, 0, 0x9f);				/* 0-636 KiB free */
	add(10, 0x9f000, 1);				/* ACPI NVS */
	assert_int_equal(PLACE(0x9e), 0x1000);		/* never page 0 */
	assert_int_equal(PLACE(0x9f), 0);
	assert_int_equal(PLACE(0), 0);
	/* Above the limit (and above 4 GiB, where regions are not
	   tracked): not used. */
	place_reset();
	add(4, 5ULL << 30, 1);
	add(7, (5ULL << 30) + 4096, 16);
	add(4, 64 * MB, 1);
	add(7, 64 * MB + 4096, 16);
	assert_int_equal(PLACE(16), 64 * MB + 4096);
	assert_int_equal(memmap_place(map, nd * dsz, dsz, 16, 64 * MB), 0);
	assert_int_equal(memmap_place(map, nd * dsz, dsz, 16, 65 * MB), 64 * MB + 4096);
	/* A free range cut by the limit keeps only what lies below it. */
	assert_int_equal(memmap_place(map, nd * dsz, dsz, 16, 64 * MB + 8 * 4096), 0);
	assert_int_equal(memmap_place(map, nd * dsz, dsz, 7, 64 * MB + 8 * 4096),
	    64 * MB + 4096);
	/* Junk: a misaligned free range, absurd page counts, a used range
	   running past 4 GiB (warms what lies below), a descriptor size too
	   small to hold a descriptor, a partial trailing descriptor. */
	place_reset();
	add(7, 8 * MB + 1, 16);
	add(4, 8 * MB + MB, 1);
	add(7, 12 * MB, 1ULL << 41);
	add(4, 12 * MB + MB, 1);
	add(4, (4ULL << 30) - MB, 1ULL << 30);
	add(7, (4ULL << 30) - 2 * MB, 16);
	assert_int_equal(PLACE(16), (4ULL << 30) - 2 * MB);
	assert_int_equal(memmap_place(map, nd * dsz, 16, 16, 0), 0);
	assert_int_equal(memmap_place(map, 3 * dsz + 10, dsz, 16, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_sort_merge),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_place_warm),
		cmocka_unit_test(test_place_best_fit),
		cmocka_unit_test(test_place_runs),
		cmocka_unit_test(test_place_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
