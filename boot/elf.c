/*
 * elf.c - kernel ELF validation and loading (see elf.h).
 */
#include "boot/elf.h"

static int
add_overflows(uint64_t a, uint64_t b, uint64_t *sum)
{
	*sum = a + b;
	return *sum < a;
}

const char *
elf_check(const void *buf, size_t len, uint64_t min_vaddr,
    struct elf_image *out)
{
	const struct elf64_ehdr *eh = buf;
	uint64_t end;

	if (buf == NULL || len < sizeof(*eh))
		return "file_too_small";
	if (eh->ident[0] != 0x7f || eh->ident[1] != 'E' || eh->ident[2] != 'L' ||
	    eh->ident[3] != 'F')
		return "bad_magic";
	if (eh->ident[4] != 2)
		return "not_elf64";
	if (eh->ident[5] != 1)
		return "not_little_endian";
	if (eh->type != ELF_ET_EXEC)
		return "not_executable";
	if (eh->machine != ELF_EM_X86_64)
		return "wrong_machine";
	if (eh->phentsize != sizeof(struct elf64_phdr))
		return "bad_phentsize";
	if (eh->phnum == 0 || eh->phnum > ELF_MAX_PHDRS)
		return "bad_phnum";
	if (add_overflows(eh->phoff, (uint64_t)eh->phnum * sizeof(struct elf64_phdr), &end) ||
	    end > len)
		return "phdrs_outside_file";
	if (eh->phoff % 8 != 0)
		return "phdrs_misaligned";

	const struct elf64_phdr *ph = (const void *)((const uint8_t *)buf + eh->phoff);
	uint64_t lo = ~0ULL, hi = 0;
	int nload = 0, entry_ok = 0;

	for (int i = 0; i < eh->phnum; i++) {
		const struct elf64_phdr *p = &ph[i];
		uint64_t fend, vend;
		if (p->type != ELF_PT_LOAD)
			continue;
		nload++;
		if (p->filesz > p->memsz)
			return "filesz_exceeds_memsz";
		if (add_overflows(p->offset, p->filesz, &fend) || fend > len)
			return "segment_outside_file";
		if (p->vaddr < min_vaddr)
			return "segment_below_kernel_base";
		if (p->memsz > ELF_MAX_SPAN ||
		    add_overflows(p->vaddr, p->memsz, &vend))
			return "segment_too_large";
		for (int j = 0; j < i; j++) {
			const struct elf64_phdr *q = &ph[j];
			if (q->type != ELF_PT_LOAD || q->memsz == 0 || p->memsz == 0)
				continue;
			if (p->vaddr < q->vaddr + q->memsz && q->vaddr < vend)
				return "segments_overlap";
		}
		if (p->vaddr < lo)
			lo = p->vaddr;
		if (vend > hi)
			hi = vend;
		if ((p->flags & ELF_PF_X) && eh->entry >= p->vaddr && eh->entry < vend)
			entry_ok = 1;
	}
	if (nload == 0)
		return "no_loadable_segments";
	lo &= ~0xfffULL;
	if (hi > ~0xfffULL)
		return "segment_too_large";
	hi = (hi + 0xfff) & ~0xfffULL;
	if (hi - lo > ELF_MAX_SPAN)
		return "image_too_large";
	if (!entry_ok)
		return "entry_not_in_code";
	out->entry = eh->entry;
	out->lo = lo;
	out->hi = hi;
	out->nload = (uint16_t)nload;
	out->phdrs = ph;
	out->phnum = eh->phnum;
	return NULL;
}

/* Eight bytes a store where it can (no memset in the loader's library;
   gnu-efi's SetMem stores a byte at a time). */
static void
zero(uint8_t *d, uint64_t n)
{
	uint64_t k = 0;

	for (; n - k >= 8; k += 8)
		__builtin_memcpy(d + k, &(uint64_t){ 0 }, 8);
	for (; k < n; k++)
		d[k] = 0;
}

void
elf_load(const void *buf, const struct elf_image *img, void *dst)
{
	uint8_t *base = dst;
	uint64_t first = img->hi;

	for (int i = 0; i < img->phnum; i++) {
		const struct elf64_phdr *p = &img->phdrs[i];
		if (p->type != ELF_PT_LOAD)
			continue;
		const uint8_t *s = (const uint8_t *)buf + p->offset;
		uint8_t *d = base + (p->vaddr - img->lo);
		uint64_t k = 0;
		/* Eight bytes a step (no memcpy in the loader's library). */
		for (; p->filesz - k >= 8; k += 8) {
			uint64_t w;
			__builtin_memcpy(&w, s + k, 8);
			__builtin_memcpy(d + k, &w, 8);
		}
		for (; k < p->filesz; k++)
			d[k] = s[k];
		/* The segment's bss, then the gap up to the next segment (or
		   the image's end): segments do not overlap (elf_check). */
		uint64_t end = p->vaddr + p->memsz, next = img->hi;
		for (int j = 0; j < img->phnum; j++) {
			const struct elf64_phdr *q = &img->phdrs[j];
			if (q->type == ELF_PT_LOAD && q->vaddr >= end && q->vaddr < next)
				next = q->vaddr;
		}
		zero(d + p->filesz, next - (p->vaddr + p->filesz));
		if (p->vaddr < first)
			first = p->vaddr;
	}
	zero(base, first - img->lo);	/* below the lowest segment */
}
