/*
 * elf_load.c: loads a static position-independent workload ELF (System V
 * gABI ch. 4-5, x86-64 psABI 4.4 for relocation types).  The whole image
 * is placed at one base; segment vaddrs are offsets from it.  Only
 * R_X86_64_RELATIVE (B + A) is applied: the workload imports nothing, it
 * reaches the kernel through struct pal_api.
 */
#include <string.h>

#include "pal/elf_load.h"

#define PT_LOAD 1
#define PT_DYNAMIC 2
#define DT_NULL 0
#define DT_RELA 7
#define DT_RELASZ 8
#define DT_RELAENT 9
#define DT_REL 17
#define DT_TEXTREL 22
#define DT_JMPREL 23
#define DT_PLTRELSZ 2
#define R_X86_64_NONE 0
#define R_X86_64_RELATIVE 8

struct ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};
struct rela {
	uint64_t offset, info;
	int64_t addend;
};

static int fail(const char **reason, const char *r)
{
	*reason = r;
	return -1;
}

static int get_ehdr(const void *img, size_t len, struct ehdr *eh,
    const char **reason)
{
	if (len < sizeof(*eh))
		return fail(reason, "elf_truncated");
	memcpy(eh, img, sizeof(*eh));
	if (memcmp(eh->ident, "\177ELF", 4) != 0)
		return fail(reason, "elf_bad_magic");
	if (eh->ident[4] != 2 || eh->ident[5] != 1 || eh->machine != 62)
		return fail(reason, "elf_not_x86_64");
	if (eh->type != 3)
		return fail(reason, "elf_not_pie");
	if (eh->phentsize != sizeof(struct phdr) || eh->phnum == 0 ||
	    eh->phnum > 64 || eh->phoff > len ||
	    len - eh->phoff < (size_t)eh->phnum * sizeof(struct phdr))
		return fail(reason, "elf_bad_phdrs");
	return 0;
}

static void get_phdr(const void *img, const struct ehdr *eh, unsigned i,
    struct phdr *ph)
{
	memcpy(ph, (const uint8_t *)img + eh->phoff + i * sizeof(*ph), sizeof(*ph));
}

int elf_load_check(const void *img, size_t len, size_t *span, const char **reason)
{
	struct ehdr eh;
	struct phdr ph;
	uint64_t end = 0;
	int nload = 0, entry_ok = 0;

	if (get_ehdr(img, len, &eh, reason) != 0)
		return -1;
	for (unsigned i = 0; i < eh.phnum; i++) {
		get_phdr(img, &eh, i, &ph);
		if (ph.type == PT_DYNAMIC && (ph.filesz % 16 != 0 ||
		    ph.offset > len || len - ph.offset < ph.filesz))
			return fail(reason, "elf_bad_dynamic");
		if (ph.type != PT_LOAD)
			continue;
		if (ph.filesz > ph.memsz || ph.offset > len ||
		    len - ph.offset < ph.filesz ||
		    ph.vaddr > ELF_LOAD_MAX_SPAN ||
		    ph.memsz > ELF_LOAD_MAX_SPAN - ph.vaddr ||
		    ph.vaddr < end || (ph.vaddr % 4096) != (ph.offset % 4096))
			return fail(reason, "elf_bad_segment");
		end = ph.vaddr + ph.memsz;
		if ((ph.flags & 1) && eh.entry >= ph.vaddr && eh.entry < end)
			entry_ok = 1;
		nload++;
	}
	if (nload == 0)
		return fail(reason, "elf_no_segments");
	if (!entry_ok)
		return fail(reason, "elf_bad_entry");
	*span = (size_t)((end + 4095) & ~(uint64_t)4095);
	return 0;
}

static int relocate(const void *img, size_t len, const struct ehdr *eh,
    uint8_t *mem, size_t span, const char **reason)
{
	struct phdr ph;
	uint64_t rela = 0, relasz = 0, relaent = sizeof(struct rela);

	for (unsigned i = 0; i < eh->phnum; i++) {
		get_phdr(img, eh, i, &ph);
		if (ph.type != PT_DYNAMIC)
			continue;
		for (uint64_t o = 0; o + 16 <= ph.filesz; o += 16) {
			uint64_t d[2];
			memcpy(d, (const uint8_t *)img + ph.offset + o, 16);
			if (d[0] == DT_NULL)
				break;
			if (d[0] == DT_RELA)
				rela = d[1];
			else if (d[0] == DT_RELASZ)
				relasz = d[1];
			else if (d[0] == DT_RELAENT)
				relaent = d[1];
			else if (d[0] == DT_REL || d[0] == DT_TEXTREL ||
			    (d[0] == DT_PLTRELSZ && d[1] != 0))
				return fail(reason, "elf_unsupported_reloc");
		}
	}
	if (relasz == 0)
		return 0;
	/* The table is read from the loaded image: DT_RELA is a vaddr. */
	if (relaent != sizeof(struct rela) || rela > span || relasz > span - rela ||
	    relasz % sizeof(struct rela) != 0)
		return fail(reason, "elf_bad_reloc_table");
	for (uint64_t o = 0; o < relasz; o += sizeof(struct rela)) {
		struct rela r;
		memcpy(&r, mem + rela + o, sizeof(r));
		uint32_t type = (uint32_t)r.info;
		if (type == R_X86_64_NONE)
			continue;
		if (type != R_X86_64_RELATIVE || (r.info >> 32) != 0)
			return fail(reason, "elf_unsupported_reloc");
		if (r.offset > span - 8)
			return fail(reason, "elf_bad_reloc_offset");
		uint64_t v = (uint64_t)(uintptr_t)mem + (uint64_t)r.addend;
		memcpy(mem + r.offset, &v, 8);
	}
	return 0;
}

int elf_load(const void *img, size_t len, void *mem, size_t span,
    uintptr_t *entry, const char **reason)
{
	struct ehdr eh;
	struct phdr ph;
	size_t need;

	if (elf_load_check(img, len, &need, reason) != 0)
		return -1;
	if (need > span)
		return fail(reason, "elf_too_big");
	get_ehdr(img, len, &eh, reason);
	memset(mem, 0, span);
	for (unsigned i = 0; i < eh.phnum; i++) {
		get_phdr(img, &eh, i, &ph);
		if (ph.type == PT_LOAD)
			memcpy((uint8_t *)mem + ph.vaddr,
			    (const uint8_t *)img + ph.offset, ph.filesz);
	}
	if (relocate(img, len, &eh, mem, span, reason) != 0)
		return -1;
	*entry = (uintptr_t)mem + eh.entry;
	return 0;
}

void elf_segments(const void *img, size_t len,
    void (*fn)(void *ctx, uint64_t vaddr, uint64_t memsz, uint32_t flags),
    void *ctx)
{
	struct ehdr eh;
	struct phdr ph;
	const char *reason;

	if (get_ehdr(img, len, &eh, &reason) != 0)
		return;
	for (unsigned i = 0; i < eh.phnum; i++) {
		get_phdr(img, &eh, i, &ph);
		if (ph.type == PT_LOAD)
			fn(ctx, ph.vaddr, ph.memsz, ph.flags);
	}
}
