/*
 * elf_load.h: loader for workload ELFs (docs/packages.md, "The ELF").
 * Accepts only a little-endian ELF64 x86-64 ET_DYN image whose PT_LOAD
 * segments are in ascending order, page-aligned and within a bounded span,
 * and whose relocations (PT_DYNAMIC DT_RELA) are all R_X86_64_RELATIVE or
 * R_X86_64_NONE.  Portable: kernel and host tests.  The image is hostile
 * input; every failure sets a static reason ("elf_bad_magic", ...).
 */
#ifndef TERN_PAL_ELF_LOAD_H
#define TERN_PAL_ELF_LOAD_H

#include <stddef.h>
#include <stdint.h>

#define ELF_LOAD_MAX_SPAN (256u << 20)

/* Validates img[0..len) and returns in *span the bytes of memory (a
 * multiple of 4096) the image needs when loaded. */
int elf_load_check(const void *img, size_t len, size_t *span, const char **reason);

/*
 * Loads a checked image into mem (span bytes, page-aligned, writable and
 * executable; the caller owns it and may tighten protections afterwards),
 * zero-fills the rest, applies relocations against the load address and
 * returns the entry point address in *entry.
 */
int elf_load(const void *img, size_t len, void *mem, size_t span,
    uintptr_t *entry, const char **reason);

/* PT_LOAD segment flags (p_flags). */
#define ELF_PF_X 1
#define ELF_PF_W 2
#define ELF_PF_R 4

/* Calls fn once per PT_LOAD segment of an image that passed
 * elf_load_check: vaddr (the offset from the load base), memory size and
 * p_flags, so the caller can set page permissions. */
void elf_segments(const void *img, size_t len,
    void (*fn)(void *ctx, uint64_t vaddr, uint64_t memsz, uint32_t flags),
    void *ctx);

#endif /* TERN_PAL_ELF_LOAD_H */
