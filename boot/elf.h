/*
 * elf.h - validation of the kernel ELF before the loader trusts it.
 *
 * Pure C with no firmware or libc dependency, so the same code runs in the
 * loader and in host tests (tests/boot/test_elf.c).  The kernel file is
 * input from a disk: every field is checked before use.
 */
#ifndef TERN_BOOT_ELF_H
#define TERN_BOOT_ELF_H

#include <stddef.h>
#include <stdint.h>

struct elf64_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

#define ELF_PT_LOAD	1
#define ELF_PF_X	1
#define ELF_ET_EXEC	2
#define ELF_EM_X86_64	62
#define ELF_MAX_SPAN	(64ULL << 20)	/* the kernel image may not exceed */
#define ELF_MAX_PHDRS	32

struct elf_image {
	uint64_t entry;
	uint64_t lo;		/* lowest vaddr, page aligned down */
	uint64_t hi;		/* end of the highest segment, page aligned up */
	uint16_t nload;
	const struct elf64_phdr *phdrs; /* inside the file buffer */
	uint16_t phnum;
};

/*
 * Check `buf` (`len` bytes) is an x86-64 executable linked at or above
 * `min_vaddr` whose loadable segments are inside the file, do not overlap
 * and span at most ELF_MAX_SPAN, with the entry point in an executable
 * segment.  On success fills `out` and returns NULL; otherwise returns a
 * short reason without spaces ("bad_magic", "segment_outside_file"...).
 */
const char *elf_check(const void *buf, size_t len, uint64_t min_vaddr,
    struct elf_image *out);

/* Copy the segments into `dst` (hi - lo bytes) and zero every other byte
   of it (each segment's bss, the gaps between segments); `dst` need not
   be zeroed first. */
void elf_load(const void *buf, const struct elf_image *img, void *dst);

#endif
