/*
 * test_elf.c - the loader's kernel ELF validation against good and
 * hostile files: every rejection reason, overflow attempts, and a real
 * good image that loads byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/bootinfo.h"
#include "boot/elf.h"

#define BASE TERN_KERNEL_VBASE

struct file {
	struct elf64_ehdr eh;
	struct elf64_phdr ph[3];
	uint8_t data[3 * 4096];
};

static struct file f;

/* A valid kernel: text RX at BASE, rodata R, data RW with bss. */
static void
good(void)
{
	memset(&f, 0, sizeof(f));
	memcpy(f.eh.ident, "\x7f" "ELF", 4);
	f.eh.ident[4] = 2;
	f.eh.ident[5] = 1;
	f.eh.type = ELF_ET_EXEC;
	f.eh.machine = ELF_EM_X86_64;
	f.eh.phoff = offsetof(struct file, ph);
	f.eh.phentsize = sizeof(struct elf64_phdr);
	f.eh.phnum = 3;
	f.eh.entry = BASE + 0x10;
	for (int i = 0; i < 3; i++) {
		f.ph[i].type = ELF_PT_LOAD;
		f.ph[i].offset = offsetof(struct file, data) + (uint64_t)i * 4096;
		f.ph[i].vaddr = BASE + (uint64_t)i * 4096;
		f.ph[i].filesz = 4096;
		f.ph[i].memsz = 4096;
		memset(f.data + i * 4096, 0x11 * (i + 1), 4096);
	}
	f.ph[0].flags = 5;
	f.ph[1].flags = 4;
	f.ph[2].flags = 6;
	f.ph[2].filesz = 100;
	f.ph[2].memsz = 3 * 4096;	/* bss */
}

static const char *
check(void)
{
	struct elf_image img;
	return elf_check(&f, sizeof(f), BASE, &img);
}

static void
test_good_loads(void **state)
{
	struct elf_image img;
	good();
	assert_null(elf_check(&f, sizeof(f), BASE, &img));
	assert_int_equal(img.lo, BASE);
	assert_int_equal(img.hi, BASE + 5 * 4096);
	assert_int_equal(img.entry, BASE + 0x10);
	/* The loader does not zero the pages first: elf_load must. */
	uint8_t *dst = malloc(img.hi - img.lo);
	memset(dst, 0xaa, img.hi - img.lo);
	elf_load(&f, &img, dst);
	assert_int_equal(dst[0], 0x11);
	assert_int_equal(dst[4096 + 5], 0x22);
	assert_int_equal(dst[8192 + 99], 0x33);
	for (uint64_t i = 8192 + 100; i < img.hi - img.lo; i++)
		assert_int_equal(dst[i], 0);	/* bss */
	free(dst);
}

/* Segments out of order with a page between two of them and the lowest
   one starting inside its page: every byte that is not the file's is
   zero, whatever the memory held before. */
static void
test_gaps_and_bss_zeroed(void **state)
{
	struct elf_image img;
	good();
	f.ph[0].vaddr = BASE + 3 * 4096;	/* data first, above a gap */
	f.ph[0].flags = 6;
	f.ph[0].filesz = 10;
	f.ph[0].memsz = 300;
	f.ph[1].vaddr = BASE + 0x20;		/* text, not page-aligned */
	f.ph[1].flags = 5;
	f.ph[1].filesz = 4000;
	f.ph[1].memsz = 4000;
	f.ph[2].vaddr = BASE + 4096;
	f.ph[2].flags = 4;
	f.ph[2].memsz = 4096;
	f.eh.entry = BASE + 0x30;
	assert_null(elf_check(&f, sizeof(f), BASE, &img));
	assert_int_equal(img.lo, BASE);
	assert_int_equal(img.hi, BASE + 4 * 4096);
	uint8_t *dst = malloc(img.hi - img.lo);
	memset(dst, 0xaa, img.hi - img.lo);
	elf_load(&f, &img, dst);
	for (uint64_t i = 0; i < img.hi - img.lo; i++) {
		uint8_t want = 0;
		if (i >= 0x20 && i < 0x20 + 4000)
			want = 0x22;			/* ph[1]'s file bytes */
		else if (i >= 4096 && i < 4096 + 100)
			want = 0x33;			/* ph[2]'s */
		else if (i >= 3 * 4096 && i < 3 * 4096 + 10)
			want = 0x11;			/* ph[0]'s */
		if (dst[i] != want)
			fail_msg("byte 0x%llx is 0x%02x, want 0x%02x",
			    (unsigned long long)i, dst[i], want);
	}
	free(dst);
}

static void
test_header_rejections(void **state)
{
	struct elf_image img;
	good();
	assert_string_equal(elf_check(&f, 10, BASE, &img), "file_too_small");
	assert_string_equal(elf_check(NULL, 0, BASE, &img), "file_too_small");
	good(); f.eh.ident[1] = 'X';
	assert_string_equal(check(), "bad_magic");
	good(); f.eh.ident[4] = 1;
	assert_string_equal(check(), "not_elf64");
	good(); f.eh.ident[5] = 2;
	assert_string_equal(check(), "not_little_endian");
	good(); f.eh.type = 3;
	assert_string_equal(check(), "not_executable");
	good(); f.eh.machine = 3;
	assert_string_equal(check(), "wrong_machine");
	good(); f.eh.phentsize = 40;
	assert_string_equal(check(), "bad_phentsize");
	good(); f.eh.phnum = 0;
	assert_string_equal(check(), "bad_phnum");
	good(); f.eh.phnum = 1000;
	assert_string_equal(check(), "bad_phnum");
	good(); f.eh.phoff = sizeof(f) - 10;
	assert_string_equal(check(), "phdrs_outside_file");
	good(); f.eh.phoff = UINT64_MAX - 8;
	assert_string_equal(check(), "phdrs_outside_file");
}

static void
test_segment_rejections(void **state)
{
	good(); f.ph[0].filesz = 8192; f.ph[0].memsz = 4096;
	assert_string_equal(check(), "filesz_exceeds_memsz");
	good(); f.ph[1].offset = sizeof(f) - 100;
	assert_string_equal(check(), "segment_outside_file");
	good(); f.ph[1].offset = UINT64_MAX - 10;
	assert_string_equal(check(), "segment_outside_file");
	good(); f.ph[0].vaddr = 0x100000;
	assert_string_equal(check(), "segment_below_kernel_base");
	good(); f.ph[2].memsz = 1ULL << 40;	/* huge p_memsz */
	assert_string_equal(check(), "segment_too_large");
	good(); f.ph[2].vaddr = UINT64_MAX - 4095; f.ph[2].memsz = 8192;
	assert_string_equal(check(), "segment_too_large");
	good(); f.ph[1].vaddr = BASE + 100;	/* overlaps text */
	assert_string_equal(check(), "segments_overlap");
	good(); f.ph[2].vaddr = BASE + (100ULL << 20);
	assert_string_equal(check(), "image_too_large");
	good(); f.eh.entry = BASE + 4096 + 8;	/* in rodata */
	assert_string_equal(check(), "entry_not_in_code");
	good(); f.eh.entry = 0;
	assert_string_equal(check(), "entry_not_in_code");
	good();
	for (int i = 0; i < 3; i++)
		f.ph[i].type = 4;
	assert_string_equal(check(), "no_loadable_segments");
}

/* Random single-byte corruption of headers never crashes the checker,
   and whatever it accepts stays inside the file. */
static void
test_mutations(void **state)
{
	srand(7);
	for (int n = 0; n < 20000; n++) {
		good();
		uint8_t *p = (uint8_t *)&f;
		int k = rand() % (int)offsetof(struct file, data);
		p[k] = (uint8_t)rand();
		struct elf_image img;
		if (elf_check(&f, sizeof(f), BASE, &img) == NULL) {
			assert_true(img.hi > img.lo);
			assert_true(img.hi - img.lo <= ELF_MAX_SPAN);
			for (int i = 0; i < img.phnum; i++)
				if (img.phdrs[i].type == ELF_PT_LOAD)
					assert_true(img.phdrs[i].offset + img.phdrs[i].filesz <= sizeof(f));
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_loads),
		cmocka_unit_test(test_gaps_and_bss_zeroed),
		cmocka_unit_test(test_header_rejections),
		cmocka_unit_test(test_segment_rejections),
		cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
