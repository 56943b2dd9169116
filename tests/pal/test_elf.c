/*
 * test_elf.c: the workload ELF loader (pal/elf_load.c) on a real static
 * PIE built from tests/pal/workload.c, entered through a mock pal_api in
 * mmap'd executable memory, plus malformed images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "pal/elf_load.h"
#include "pal/pal.h"

static uint8_t *wl;
static size_t wl_len;
static char logged[256];

static void mock_log(int level, const char *msg, size_t len)
{
	strncat(logged, msg, len);
	strcat(logged, "|");
}

static const char *mock_env(const char *key)
{
	return strcmp(key, "ANSWER") == 0 ? "42" : NULL;
}

static int setup(void **st)
{
	FILE *f = fopen(WL_PATH, "rb");

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	wl_len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	wl = malloc(wl_len);
	assert_int_equal(fread(wl, 1, wl_len, f), wl_len);
	fclose(f);
	return 0;
}

static int teardown(void **st)
{
	free(wl);
	return 0;
}

static void test_load_and_run(void **st)
{
	size_t span;
	const char *reason = NULL;
	uintptr_t entry;

	assert_int_equal(elf_load_check(wl, wl_len, &span, &reason), 0);
	void *mem = mmap(NULL, span, PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_int_equal(elf_load(wl, wl_len, mem, span, &entry, &reason), 0);

	struct pal_api api;
	memset(&api, 0, sizeof(api));
	api.abi_major = PAL_ABI_MAJOR;
	api.abi_minor = PAL_ABI_MINOR;
	api.size = sizeof(api);
	api.log = mock_log;
	api.config_env = mock_env;
	const char *argv[] = { "wl", "x" };
	pal_entry_fn fn = (pal_entry_fn)entry;
	logged[0] = '\0';
	assert_int_equal(fn(&api, 2, argv), 42);
	assert_string_equal(logged, "hello from|a workload|");
	api.abi_major = 99;
	assert_int_equal(fn(&api, 2, argv), -1);
	munmap(mem, span);
}

static const char *check(const uint8_t *img, size_t len)
{
	size_t span;
	const char *reason = "ok";

	elf_load_check(img, len, &span, &reason);
	return reason;
}

static void test_malformed(void **st)
{
	uint8_t *c = malloc(wl_len);

	assert_string_equal(check(wl, 10), "elf_truncated");
	memcpy(c, wl, wl_len);
	c[1] = 'X';
	assert_string_equal(check(c, wl_len), "elf_bad_magic");
	memcpy(c, wl, wl_len);
	c[16] = 2;			/* ET_EXEC */
	assert_string_equal(check(c, wl_len), "elf_not_pie");
	memcpy(c, wl, wl_len);
	c[18] = 3;			/* EM_386 */
	assert_string_equal(check(c, wl_len), "elf_not_x86_64");
	memcpy(c, wl, wl_len);
	memset(c + 24, 0xff, 8);	/* e_entry */
	assert_string_equal(check(c, wl_len), "elf_bad_entry");
	memcpy(c, wl, wl_len);
	memset(c + 32, 0x7f, 8);	/* e_phoff */
	assert_string_equal(check(c, wl_len), "elf_bad_phdrs");
	/* Truncating the file cuts a segment's bytes. */
	assert_string_equal(check(wl, wl_len / 2), "elf_bad_segment");

	/* An unsupported relocation type in the loaded table is refused. */
	size_t span;
	const char *reason;
	uintptr_t entry;
	assert_int_equal(elf_load_check(wl, wl_len, &span, &reason), 0);
	uint8_t *mem = aligned_alloc(4096, span);
	memcpy(c, wl, wl_len);
	/* Find the first R_X86_64_RELATIVE (info == 8) in the file, make it
	 * R_X86_64_64 (1). */
	int patched = 0;
	for (size_t o = 0; o + 24 <= wl_len && !patched; o += 8) {
		uint64_t r[3];
		memcpy(r, c + o, 24);
		if (r[1] == 8 && r[0] != 0 && r[0] < span && r[2] != 0 &&
		    r[2] < span) {
			patched = 1;
			c[o + 8] = 1;
		}
	}
	assert_true(patched);
	assert_int_equal(elf_load(c, wl_len, mem, span, &entry, &reason), -1);
	assert_string_equal(reason, "elf_unsupported_reloc");
	free(mem);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_and_run),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
