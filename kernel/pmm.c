/*
 * pmm.c - the physical page allocator (kernel/pmm.h).
 *
 * A bitmap with one bit per 4 KiB page up to the end of the highest FREE
 * range; 1 means used.  Building it is two passes over the map: first
 * every FREE range is cleared, then every other range is set again, so a
 * page is free only when no non-FREE range covers it, whatever order or
 * overlaps the firmware produced.  Allocation is first fit from a moving
 * hint (a page at a time in the common case, which costs one bitmap word
 * test); runs with alignment or an address limit scan from the bottom.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/pmm.h"

static bool
range_ok(const struct tern_mem_range *r, uint64_t *start, uint64_t *end)
{
	if (r->npages == 0 || r->npages > PMM_MAX_PHYS / PAGE_SIZE ||
	    r->base >= PMM_MAX_PHYS || (r->base & (PAGE_SIZE - 1)) != 0)
		return false;
	uint64_t e = r->base + r->npages * PAGE_SIZE;
	if (e > PMM_MAX_PHYS || e < r->base)
		return false;
	*start = r->base / PAGE_SIZE;
	*end = e / PAGE_SIZE;
	return true;
}

static uint64_t
top_page(const struct tern_mem_range *map, size_t n)
{
	uint64_t top = 0, s, e;
	for (size_t i = 0; i < n; i++)
		if (map[i].type == TERN_MEM_FREE && range_ok(&map[i], &s, &e) && e > top)
			top = e;
	return top;
}

/* Two bitmaps share the storage: "used" and "allocated by us". */
size_t
pmm_bitmap_bytes(const struct tern_mem_range *map, size_t n)
{
	return (size_t)((top_page(map, n) + 63) / 64 * 8) * 2;
}

/*
 * End page of the highest-ending non-FREE range overlapping pages [s, e),
 * or 0 when nothing overlaps (a used range never ends at page 0).
 */
static uint64_t
overlap_end(const struct tern_mem_range *map, size_t n, uint64_t s, uint64_t e)
{
	uint64_t rs, re, end = 0;
	for (size_t i = 0; i < n; i++) {
		if (map[i].type == TERN_MEM_FREE || !range_ok(&map[i], &rs, &re))
			continue;
		if (s < re && rs < e && re > end)
			end = re;
	}
	return end;
}

uint64_t
pmm_find_storage(const struct tern_mem_range *map, size_t n, size_t bytes)
{
	uint64_t need = (bytes + PAGE_SIZE - 1) / PAGE_SIZE, s, e;
	if (need == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (map[i].type != TERN_MEM_FREE || !range_ok(&map[i], &s, &e))
			continue;
		if (s == 0)
			s = 1;	/* never page 0 */
		/* Slide a window through the range, jumping past the end of
		   whatever used range overlaps it; each jump passes the end
		   of at least one map entry, so this takes at most n steps. */
		for (uint64_t p = s; p + need <= e;) {
			uint64_t u = overlap_end(map, n, p, p + need);
			if (u == 0)
				return p * PAGE_SIZE;
			p = u;
		}
	}
	return 0;
}

static inline bool
used(const struct pmm *p, uint64_t pg)
{
	return (p->bitmap[pg / 64] >> (pg % 64)) & 1;
}

static inline void
set_used(struct pmm *p, uint64_t pg)
{
	p->bitmap[pg / 64] |= 1ULL << (pg % 64);
}

static inline void
set_free(struct pmm *p, uint64_t pg)
{
	p->bitmap[pg / 64] &= ~(1ULL << (pg % 64));
}

/* Pages [s, e) (below npages) used or free, a bitmap word at a time:
   under an emulator a page at a time over 256 MiB was milliseconds. */
static void
mark_range(struct pmm *p, uint64_t s, uint64_t e, bool use)
{
	if (e > p->npages)
		e = p->npages;
	while (s < e) {
		uint64_t b = s % 64, k = e - s < 64 - b ? e - s : 64 - b;
		uint64_t m = k == 64 ? ~0ULL : ((1ULL << k) - 1) << b;
		if (use)
			p->bitmap[s / 64] |= m;
		else
			p->bitmap[s / 64] &= ~m;
		s += k;
	}
}

static unsigned
popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

int
pmm_init(struct pmm *p, const struct tern_mem_range *map, size_t n,
    void *storage, uint64_t storage_phys)
{
	uint64_t s, e;

	memset(p, 0, sizeof(*p));
	p->npages = top_page(map, n);
	if (p->npages == 0 || storage == NULL)
		return TERN_EINVAL;
	size_t words = (size_t)((p->npages + 63) / 64);
	p->bitmap = storage;
	p->allocd = p->bitmap + words;
	memset(p->bitmap, 0xff, words * 8);
	memset(p->allocd, 0, words * 8);
	for (size_t i = 0; i < n; i++) {
		if (!range_ok(&map[i], &s, &e)) {
			p->bad_ranges++;
			continue;
		}
		if (map[i].type != TERN_MEM_FREE)
			continue;
		mark_range(p, s, e, false);
	}
	for (size_t i = 0; i < n; i++) {
		if (map[i].type == TERN_MEM_FREE || !range_ok(&map[i], &s, &e))
			continue;
		mark_range(p, s, e, true);
	}
	set_used(p, 0);
	if (storage_phys != 0)
		pmm_reserve(p, storage_phys,
		    (words * 16 + PAGE_SIZE - 1) / PAGE_SIZE);
	/* Bits past npages stay set from the memset above. */
	p->free_pages = 0;
	for (size_t w = 0; w < words; w++)
		p->free_pages += popcount64(~p->bitmap[w]);
	p->total_free = p->free_pages;
	p->hint = 1;
	return p->free_pages > 0 ? TERN_OK : TERN_EINVAL;
}

void
pmm_reserve(struct pmm *p, uint64_t phys, size_t npages)
{
	uint64_t pg = phys / PAGE_SIZE;
	for (size_t i = 0; i < npages; i++, pg++) {
		if (pg >= p->npages)
			break;
		if (!used(p, pg)) {
			set_used(p, pg);
			p->free_pages--;
		}
	}
}

/* Is [pg, pg+n) entirely free?  Returns the first used page or pg+n. */
static uint64_t
first_used(const struct pmm *p, uint64_t pg, uint64_t n)
{
	for (uint64_t i = pg; i < pg + n; i++) {
		if ((i & 63) == 0 && i + 64 <= pg + n && p->bitmap[i / 64] == 0) {
			i += 63;
			continue;
		}
		if (used(p, i))
			return i;
	}
	return pg + n;
}

uint64_t
pmm_alloc(struct pmm *p, size_t npages, size_t align, uint64_t limit)
{
	if (npages == 0 || npages > p->free_pages)
		return 0;
	uint64_t step = align <= PAGE_SIZE ? 1 : align / PAGE_SIZE;
	if (align != 0 && (align & (align - 1)) != 0)
		return 0;
	uint64_t end = p->npages;
	if (limit != 0 && limit / PAGE_SIZE < end)
		end = limit / PAGE_SIZE;

	/* Two passes: from the hint, then from the bottom. */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t pg = pass == 0 ? p->hint : 1;
		pg = (pg + step - 1) / step * step;
		if (pg == 0)
			pg = step;
		while (pg + npages <= end) {
			/* Skip fully used words quickly in the 1-page case. */
			if (step == 1 && p->bitmap[pg / 64] == ~0ULL) {
				pg = (pg / 64 + 1) * 64;
				continue;
			}
			uint64_t u = first_used(p, pg, npages);
			if (u == pg + npages) {
				for (uint64_t i = pg; i < pg + npages; i++) {
					set_used(p, i);
					p->allocd[i / 64] |= 1ULL << (i % 64);
				}
				p->free_pages -= npages;
				p->hint = pg + npages;
				return pg * PAGE_SIZE;
			}
			pg = (u + 1 + step - 1) / step * step;
		}
	}
	return 0;
}

int
pmm_free(struct pmm *p, uint64_t phys, size_t npages)
{
	uint64_t pg = phys / PAGE_SIZE;
	if ((phys & (PAGE_SIZE - 1)) != 0 || pg == 0 || npages == 0 ||
	    pg + npages > p->npages || pg + npages < pg) {
		p->bad_frees++;
		return TERN_EINVAL;
	}
	/* Every page must be one we handed out and still out: this refuses
	   double frees and frees of firmware/loader memory alike. */
	for (uint64_t i = pg; i < pg + npages; i++) {
		if (!((p->allocd[i / 64] >> (i % 64)) & 1)) {
			p->bad_frees++;
			return TERN_EINVAL;
		}
	}
	for (uint64_t i = pg; i < pg + npages; i++) {
		set_free(p, i);
		p->allocd[i / 64] &= ~(1ULL << (i % 64));
	}
	p->free_pages += npages;
	if (pg < p->hint)
		p->hint = pg;
	return TERN_OK;
}
