/*
 * test_memmap.c - translation of UEFI memory maps into tern ranges:
 * types, sorting, merging, odd descriptor sizes, junk entries.
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_sort_merge),
		cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
