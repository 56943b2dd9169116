/*
 * hw_replay.c - replay backend of the hardware seam: plays a recorded
 * trace (docs/trace-format.md) back to the real driver source on the host.
 * See hw_replay.h for what callers may rely on.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/hw/hw_replay.h"

struct rp_ev {
	char kind;		/* R W c C A V S D T m M X H B N */
	int bar, width;		/* N: bar = source, width = ok */
	uint32_t seq;
	uint64_t off, val;	/* A/V/S/D/B: off = pa or offset, val = len;
				   m/M: off = msr; X: off = leaf;
				   H: off = control, val = status */
	uint64_t a[2];		/* X: a[0] subleaf; H: input, output page */
	uint32_t r4[4];		/* X: eax, ebx, ecx, edx */
	uint8_t *bytes;		/* S, D and B */
	int line;
};

struct rp_map {
	const uint8_t *va;
	uint64_t pa, len;
};

struct hw_replay {
	char dev[24];
	struct rp_ev *ev;
	size_t nev, cap, pos;
	struct rp_map *map;
	size_t nmap, mapcap;
	bool diverged;
	bool stopped;		/* hw_replay_stop: accesses past pos are free */
	uint64_t clock;		/* last time handed out */
	struct hw_bar *bars[8];	/* last window seen per index, for names */
	bool (*namer)(void *, uint64_t, struct hw_replay_field *);
	void *namer_arg;
	char msg[512];
	void (*fail)(void *, const char *);
	void *fail_arg;
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse one line; returns 0 if it is not ours (ignored), 1 if added, -1
   when it is ours but malformed. */
static int
parse_line(struct hw_replay *r, char *l, int lineno)
{
	char name[32], kind;
	unsigned seq;
	int n = 0;
	if (sscanf(l, "%31s %u %c%n", name, &seq, &kind, &n) != 3 ||
	    strcmp(name, r->dev) != 0)
		return 0;
	struct rp_ev e = { .kind = kind, .seq = seq, .line = lineno };
	const char *p = l + n;
	unsigned long long a, b;
	switch (kind) {
	case 'R': case 'W':
		if (sscanf(p, "%d %d %llx %llx", &e.bar, &e.width, &a, &b) != 4)
			return -1;
		e.off = a, e.val = b;
		break;
	case 'c': case 'C':
		if (sscanf(p, "%d %llx %llx", &e.width, &a, &b) != 3)
			return -1;
		e.off = a, e.val = b;
		break;
	case 'A': case 'V':
		if (sscanf(p, "%llx %llx", &a, &b) != 2)
			return -1;
		e.off = a, e.val = b;
		break;
	case 'T':
		if (sscanf(p, "%llu", &a) != 1)
			return -1;
		e.val = a;
		break;
	case 'm': case 'M':
		if (sscanf(p, "%llx %llx", &a, &b) != 2)
			return -1;
		e.off = a, e.val = b;
		break;
	case 'X': {
		unsigned long long sub, r0, r1, r2, r3;
		if (sscanf(p, "%llx %llx %llx %llx %llx %llx", &a, &sub, &r0, &r1, &r2,
		    &r3) != 6)
			return -1;
		e.off = a, e.a[0] = sub;
		e.r4[0] = (uint32_t)r0, e.r4[1] = (uint32_t)r1;
		e.r4[2] = (uint32_t)r2, e.r4[3] = (uint32_t)r3;
		break;
	}
	case 'H': {
		unsigned long long in, out;
		if (sscanf(p, "%llx %llx %llx %llx", &a, &in, &out, &b) != 4)
			return -1;
		e.off = a, e.a[0] = in, e.a[1] = out, e.val = b;
		break;
	}
	case 'N': {
		char src[16];
		int ok;
		if (sscanf(p, "%15s %d %llx", src, &ok, &a) != 3 ||
		    (strcmp(src, "seed") != 0 && strcmp(src, "rand") != 0))
			return -1;
		e.bar = strcmp(src, "seed") == 0 ? HW_RAND_SEED : HW_RAND_RAND;
		e.width = ok != 0;
		e.val = a;
		break;
	}
	case 'S': case 'D': case 'B': {
		int m = 0;
		if (kind == 'B') {
			if (sscanf(p, "%d %n", &e.bar, &m) != 1)
				return -1;
			p += m;
		}
		if (sscanf(p, "%llx %llu %n", &a, &b, &m) != 2 || b > (1u << 24) ||
		    (kind == 'B' && (b == 0 || b % 8 != 0)))
			return -1;
		e.off = a, e.val = b;
		p += m;
		if (strlen(p) < 2 * b)
			return -1;
		e.bytes = malloc(b ? b : 1);
		for (uint64_t i = 0; i < b; i++) {
			int h = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);
			if (h < 0 || lo < 0) {
				free(e.bytes);
				return -1;
			}
			e.bytes[i] = (uint8_t)(h << 4 | lo);
		}
		break;
	}
	default:
		return -1;
	}
	if (r->nev == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 256;
		r->ev = realloc(r->ev, r->cap * sizeof(*r->ev));
	}
	r->ev[r->nev++] = e;
	return 1;
}

struct hw_replay *
hw_replay_open_mem(const char *text, const char *dev)
{
	struct hw_replay *r = calloc(1, sizeof(*r));
	snprintf(r->dev, sizeof(r->dev), "%s", dev);
	char *copy = strdup(text), *save = NULL;
	int lineno = 0;
	/* strtok_r drops empty lines, so count newlines by hand. */
	for (char *l = copy; l != NULL; ) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = 0;
		lineno++;
		if (l[0] != '#' && parse_line(r, l, lineno) < 0) {
			fprintf(stderr, "hw_replay: %s: malformed line %d\n", dev, lineno);
			free(copy);
			hw_replay_close(r);
			return NULL;
		}
		l = nl ? nl + 1 : NULL;
	}
	(void)save;
	free(copy);
	return r;
}

struct hw_replay *
hw_replay_open(const char *path, const char *dev)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "hw_replay: cannot open %s\n", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	size_t got = fread(buf, 1, (size_t)n, f);
	buf[got] = 0;
	fclose(f);
	struct hw_replay *r = hw_replay_open_mem(buf, dev);
	free(buf);
	return r;
}

void
hw_replay_close(struct hw_replay *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nev; i++)
		free(r->ev[i].bytes);
	free(r->ev);
	free(r->map);
	free(r);
}

void
hw_replay_attach(struct hw_replay *r, struct hw_dev *d)
{
	d->ops = &hw_replay_ops;
	d->backend = r;
	snprintf(d->name, sizeof(d->name), "%s", r->dev);
}

void
hw_replay_set_fail(struct hw_replay *r, void (*fn)(void *, const char *), void *arg)
{
	r->fail = fn;
	r->fail_arg = arg;
}

bool hw_replay_diverged(const struct hw_replay *r) { return r->diverged; }
const char *hw_replay_message(const struct hw_replay *r) { return r->msg; }
size_t hw_replay_pos(const struct hw_replay *r) { return r->pos; }
size_t hw_replay_count(const struct hw_replay *r) { return r->nev; }
bool hw_replay_done(const struct hw_replay *r) { return !r->diverged && r->pos == r->nev; }
void hw_replay_stop(struct hw_replay *r) { r->stopped = true; }

void
hw_replay_set_namer(struct hw_replay *r,
    bool (*fn)(void *arg, uint64_t pa, struct hw_replay_field *f), void *arg)
{
	r->namer = fn;
	r->namer_arg = arg;
}

static const char *
regname(const struct hw_bar *b, uint64_t off, int width)
{
	if (b == NULL || b->names == NULL)
		return "?";
	for (const struct hw_regname *n = b->names; n->name != NULL; n++)
		if (n->off == off && (n->width == 0 || n->width == width))
			return n->name;
	return "?";
}

/* MSRs the drivers use (Intel SDM 4; Hyper-V TLFS, PROTOCOLS.md B.2). */
static const char *
msr_name(uint32_t msr)
{
	static const struct { uint32_t msr; const char *name; } t[] = {
		{ 0x1b, "IA32_APIC_BASE" }, { 0x277, "IA32_PAT" },
		{ 0xc0000080, "IA32_EFER" },
		{ 0x40000000, "HV_GUEST_OS_ID" }, { 0x40000001, "HV_HYPERCALL" },
		{ 0x40000002, "HV_VP_INDEX" }, { 0x40000020, "HV_TIME_REF_COUNT" },
		{ 0x40000021, "HV_REFERENCE_TSC" }, { 0x40000022, "HV_TSC_FREQUENCY" },
		{ 0x40000023, "HV_APIC_FREQUENCY" }, { 0x40000080, "HV_SCONTROL" },
		{ 0x40000081, "HV_SVERSION" }, { 0x40000082, "HV_SIEFP" },
		{ 0x40000083, "HV_SIMP" }, { 0x40000084, "HV_EOM" },
		{ 0x40000092, "HV_SINT2" }, { 0x400000b0, "HV_STIMER0_CONFIG" },
		{ 0x400000b1, "HV_STIMER0_COUNT" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].msr == msr)
			return t[i].name;
	if (msr >= 0x40000090 && msr < 0x400000a0)
		return "HV_SINTn";
	return "?";
}

static void
diverge(struct hw_replay *r, const char *fmt, ...)
{
	if (r->diverged)
		return;
	r->diverged = true;
	int n = snprintf(r->msg, sizeof(r->msg), "replay %s: divergence at event %zu: ",
	    r->dev, r->pos);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->msg + n, sizeof(r->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (r->fail != NULL) {
		r->fail(r->fail_arg, r->msg);
		return;
	}
	fprintf(stderr, "%s\n", r->msg);
	abort();
}

static const char *
kind_name(char k)
{
	switch (k) {
	case 'R': return "read";
	case 'W': return "write";
	case 'c': return "config read";
	case 'C': return "config write";
	case 'A': return "dma alloc";
	case 'V': return "virt_to_phys";
	case 'S': return "dma sync";
	case 'D': return "device read of driver memory";
	case 'T': return "time read";
	case 'm': return "msr read";
	case 'M': return "msr write";
	case 'X': return "cpuid";
	case 'H': return "hypercall";
	case 'B': return "block write";
	case 'N': return "random draw";
	}
	return "event";
}

/* One recorded event in words, e.g. "read8 device_status (bar 4 +0x14)
   = 0xf", for messages about events the driver never reached. */
static void
describe(struct hw_replay *r, const struct rp_ev *e, char *buf, size_t n)
{
	const struct hw_bar *b = e->bar >= 0 && e->bar < 8 ? r->bars[e->bar] : NULL;
	switch (e->kind) {
	case 'R': case 'W':
		snprintf(buf, n, "%s%d %s (bar %d +0x%" PRIx64 ") = 0x%" PRIx64,
		    e->kind == 'R' ? "read" : "write", e->width * 8,
		    regname(b, e->off, e->width), e->bar, e->off, e->val);
		break;
	case 'c': case 'C':
		snprintf(buf, n, "%s%d +0x%" PRIx64 " = 0x%" PRIx64, kind_name(e->kind),
		    e->width * 8, e->off, e->val);
		break;
	case 'T':
		snprintf(buf, n, "time read = %" PRIu64, e->val);
		break;
	case 'm': case 'M':
		snprintf(buf, n, "%s %s (0x%" PRIx64 ") = 0x%" PRIx64, kind_name(e->kind),
		    msr_name((uint32_t)e->off), e->off, e->val);
		break;
	case 'X':
		snprintf(buf, n, "cpuid leaf 0x%" PRIx64 " subleaf 0x%" PRIx64, e->off,
		    e->a[0]);
		break;
	case 'H':
		snprintf(buf, n, "hypercall code 0x%" PRIx64 " (control 0x%" PRIx64 ")",
		    e->off & 0xffff, e->off);
		break;
	case 'B':
		snprintf(buf, n, "block write of %" PRIu64 " bytes to %s (bar %d +0x%" PRIx64 ")",
		    e->val, regname(b, e->off, 8), e->bar, e->off);
		break;
	case 'N':
		snprintf(buf, n, "%s draw", e->bar == HW_RAND_SEED ? "rdseed" : "rdrand");
		break;
	default:
		snprintf(buf, n, "%s at pa 0x%" PRIx64 " len 0x%" PRIx64, kind_name(e->kind),
		    e->off, e->val);
	}
}

/* The driver went on after the last event: the recording has nothing
   for it, which must not pass quietly as a read of 0. */
static void
past_end(struct hw_replay *r, const char *what)
{
	if (r->nev == 0) {
		diverge(r, "driver did %s, but the trace has no events", what);
		return;
	}
	const struct rp_ev *last = &r->ev[r->nev - 1];
	diverge(r, "driver did %s past the end of the trace (%zu events, the last is "
	    "seq %u, line %d)", what, r->nev, last->seq, last->line);
}

/* The next event, which must be of kind `want`; skips bus-glue config
   events.  NULL (divergence reported) on a mismatch or past the end,
   NULL silently once stopped or diverged. */
static struct rp_ev *
next(struct hw_replay *r, char want, const char *what)
{
	if (r->diverged)
		return NULL;
	while (r->pos < r->nev && want != 'c' && want != 'C' &&
	    (r->ev[r->pos].kind == 'c' || r->ev[r->pos].kind == 'C'))
		r->pos++;
	if (r->pos == r->nev) {
		if (!r->stopped)
			past_end(r, what);
		return NULL;
	}
	if (r->stopped)
		return NULL;
	struct rp_ev *e = &r->ev[r->pos];
	if (e->kind != want) {
		diverge(r, "driver did %s, trace (seq %u, line %d) expects %s",
		    what, e->seq, e->line, kind_name(e->kind));
		return NULL;
	}
	r->pos++;
	return e;
}

static struct hw_replay *
of(struct hw_dev *d)
{
	return d->backend;
}

static uint64_t
rp_read(struct hw_bar *b, uint32_t off, int width)
{
	struct hw_replay *r = of(b->dev);
	char what[96];
	if (b->index < 8)
		r->bars[b->index] = b;
	snprintf(what, sizeof(what), "read%d %s (bar %d +0x%x)", width * 8,
	    regname(b, off, width), b->index, off);
	struct rp_ev *e = next(r, 'R', what);
	if (e == NULL)
		return r->diverged ? ~0ULL : 0;
	if (e->bar != b->index || e->off != off || e->width != width) {
		diverge(r, "driver did %s, trace (seq %u, line %d) reads %s (bar %d +0x%" PRIx64
		    " width %d)", what, e->seq, e->line, regname(b, e->off, e->width),
		    e->bar, e->off, e->width);
		return ~0ULL;
	}
	return e->val;
}

static void
rp_write(struct hw_bar *b, uint32_t off, int width, uint64_t v)
{
	struct hw_replay *r = of(b->dev);
	char what[128];
	if (b->index < 8)
		r->bars[b->index] = b;
	snprintf(what, sizeof(what), "write%d %s (bar %d +0x%x) = 0x%" PRIx64, width * 8,
	    regname(b, off, width), b->index, off, v);
	struct rp_ev *e = next(r, 'W', what);
	if (e == NULL)
		return;
	if (e->bar != b->index || e->off != off || e->width != width)
		diverge(r, "driver did %s, trace (seq %u, line %d) writes %s (bar %d +0x%" PRIx64
		    " width %d)", what, e->seq, e->line, regname(b, e->off, e->width),
		    e->bar, e->off, e->width);
	else if (e->val != v)
		diverge(r, "register %s (bar %d +0x%x): expected write 0x%" PRIx64
		    ", driver wrote 0x%" PRIx64 " (trace seq %u, line %d)",
		    regname(b, off, width), b->index, off, e->val, v, e->seq, e->line);
}

static uint32_t
rp_cfg_read(struct hw_dev *d, uint16_t off, int width)
{
	struct hw_replay *r = of(d);
	char what[64];
	snprintf(what, sizeof(what), "config read%d +0x%x", width * 8, off);
	struct rp_ev *e = next(r, 'c', what);
	if (e == NULL)
		return r->diverged ? ~0U : 0;
	if (e->off != off || e->width != width) {
		diverge(r, "driver did %s, trace (seq %u) reads config +0x%" PRIx64,
		    what, e->seq, e->off);
		return ~0U;
	}
	return (uint32_t)e->val;
}

static void
rp_cfg_write(struct hw_dev *d, uint16_t off, int width, uint32_t v)
{
	struct hw_replay *r = of(d);
	char what[64];
	snprintf(what, sizeof(what), "config write%d +0x%x = 0x%x", width * 8, off, v);
	struct rp_ev *e = next(r, 'C', what);
	if (e != NULL && (e->off != off || e->width != width || e->val != v))
		diverge(r, "driver did %s, trace (seq %u) expects config write +0x%" PRIx64
		    " = 0x%" PRIx64, what, e->seq, e->off, e->val);
}

static void
map_add(struct hw_replay *r, const void *va, uint64_t pa, uint64_t len)
{
	for (size_t i = 0; i < r->nmap; i++)
		if (r->map[i].va == va) {
			r->map[i].pa = pa;
			if (len > r->map[i].len)
				r->map[i].len = len;
			return;
		}
	if (r->nmap == r->mapcap) {
		r->mapcap = r->mapcap ? 2 * r->mapcap : 16;
		r->map = realloc(r->map, r->mapcap * sizeof(*r->map));
	}
	r->map[r->nmap++] = (struct rp_map){ va, pa, len };
}

static void
map_del(struct hw_replay *r, const void *va)
{
	for (size_t i = 0; i < r->nmap; i++)
		if (r->map[i].va == va) {
			r->map[i] = r->map[--r->nmap];
			return;
		}
}

/* Recorded pa of host va, or ~0 when unknown. */
static uint64_t
map_pa(struct hw_replay *r, const void *va)
{
	const uint8_t *p = va;
	for (size_t i = 0; i < r->nmap; i++) {
		const struct rp_map *m = &r->map[i];
		if (p == m->va || (p > m->va && p < m->va + m->len))
			return m->pa + (uint64_t)(p - m->va);
	}
	return ~0ULL;
}

static int
rp_dma_alloc(struct hw_dev *d, size_t len, size_t align, struct hw_dma *out)
{
	struct hw_replay *r = of(d);
	char what[64];
	snprintf(what, sizeof(what), "dma alloc of %zu bytes", len);
	struct rp_ev *e = next(r, 'A', what);
	if (e == NULL)
		return r->diverged ? -2 : -2;
	size_t rlen = (len + 4095) & ~(size_t)4095;
	if (e->val != rlen) {
		diverge(r, "driver did %s (%zu rounded), trace (seq %u) allocated 0x%" PRIx64,
		    what, rlen, e->seq, e->val);
		return -2;
	}
	void *va = aligned_alloc(4096, rlen);
	if (va == NULL)
		return -2;
	memset(va, 0, rlen);
	out->va = va;
	out->pa = e->off;
	out->len = rlen;
	map_add(r, va, e->off, rlen);
	return 0;
}

static void
rp_dma_free(struct hw_dev *d, struct hw_dma *dma)
{
	map_del(of(d), dma->va);
	free(dma->va);
	dma->va = NULL;
	dma->len = 0;
}

static uint64_t
rp_virt_to_phys(struct hw_dev *d, const void *va)
{
	struct hw_replay *r = of(d);
	struct rp_ev *e = next(r, 'V', "virt_to_phys");
	if (e == NULL) {
		uint64_t pa = map_pa(r, va);
		return pa != ~0ULL ? pa : (uint64_t)(uintptr_t)va;
	}
	/* Length unknown: the buffer extends until another mapping starts;
	   one page is enough to resolve later syncs at its start. */
	map_add(r, va, e->off, 1);
	return e->off;
}

static void
rp_dma_sync_cpu(struct hw_dev *d, const void *va, size_t len)
{
	struct hw_replay *r = of(d);
	char what[64];
	snprintf(what, sizeof(what), "dma sync of %zu bytes", len);
	struct rp_ev *e = next(r, 'S', what);
	if (e == NULL)
		return;
	uint64_t pa = map_pa(r, va);
	if (pa != e->off || e->val != len) {
		diverge(r, "driver synced %zu bytes at pa 0x%" PRIx64 ", trace (seq %u, line %d)"
		    " synced %" PRIu64 " bytes at 0x%" PRIx64, len, pa, e->seq, e->line,
		    e->val, e->off);
		return;
	}
	memcpy((void *)(uintptr_t)va, e->bytes, len);
}

/* The field at recorded address pa from the test's namer; false (and
   f->len 0, f->name "memory") when it has none. */
static bool
field_at(struct hw_replay *r, uint64_t pa, struct hw_replay_field *f)
{
	memset(f, 0, sizeof(*f));
	if (r->namer != NULL && r->namer(r->namer_arg, pa, f) && f->len > 0 &&
	    f->pa <= pa && pa < f->pa + f->len)
		return true;
	f->pa = pa;
	f->len = 0;
	snprintf(f->name, sizeof(f->name), "memory");
	return false;
}

/* Up to 16 bytes as hex, and as a little-endian number when they form
   a field of at most 8 bytes. */
static void
show_bytes(const uint8_t *p, size_t n, char *buf, size_t cap)
{
	size_t k = 0, m = n < 16 ? n : 16;
	if (n <= 8) {
		uint64_t v = 0;
		for (size_t i = n; i-- > 0; )
			v = v << 8 | p[i];
		k += (size_t)snprintf(buf, cap, "0x%" PRIx64 " (", v);
	}
	for (size_t i = 0; i < m && k + 3 < cap; i++)
		k += (size_t)snprintf(buf + k, cap - k, "%s%02x", i ? " " : "", p[i]);
	if (m < n && k + 4 < cap)
		k += (size_t)snprintf(buf + k, cap - k, " ...");
	if (n <= 8 && k + 2 < cap)
		snprintf(buf + k, cap - k, ")");
}

/* D: the device is about to read what the driver wrote at va.  The
   place (through the A/V mappings, so host addresses do not matter), the
   length and every byte must be what the recorded driver handed over. */
static void
rp_dma_sync_dev(struct hw_dev *d, const void *va, size_t len)
{
	struct hw_replay *r = of(d);
	uint64_t pa = map_pa(r, va);
	char what[96];
	snprintf(what, sizeof(what), "a device read of %zu bytes at pa 0x%" PRIx64, len, pa);
	struct rp_ev *e = next(r, 'D', what);
	if (e == NULL)
		return;
	struct hw_replay_field want, got;
	if (pa != e->off || e->val != len) {
		field_at(r, e->off, &want);
		field_at(r, pa, &got);
		diverge(r, "driver hands the device %zu bytes at pa 0x%" PRIx64 " (%s), "
		    "trace (seq %u, line %d) has %" PRIu64 " bytes at pa 0x%" PRIx64 " (%s)",
		    len, pa, got.name, e->seq, e->line, e->val, e->off, want.name);
		return;
	}
	const uint8_t *p = va;
	size_t first = 0, ndiff = 0;
	while (first < len && p[first] == e->bytes[first])
		first++;
	if (first == len)
		return;
	for (size_t i = first; i < len; i++)
		ndiff += p[i] != e->bytes[i];
	field_at(r, e->off + first, &want);
	/* Show the whole named field, clipped to what was synced; unnamed
	   bytes from the first difference on. */
	uint64_t lo = want.len ? want.pa : e->off + first;
	uint64_t hi = want.len ? want.pa + want.len : e->off + len;
	if (lo < e->off)
		lo = e->off;
	if (hi > e->off + len)
		hi = e->off + len;
	size_t o = (size_t)(lo - e->off), n = (size_t)(hi - lo);
	char exp[96], act[96];
	show_bytes(e->bytes + o, n, exp, sizeof(exp));
	show_bytes(p + o, n, act, sizeof(act));
	diverge(r, "device read of %zu bytes at pa 0x%" PRIx64 " (trace seq %u, line %d): "
	    "%s at pa 0x%" PRIx64 " (+0x%zx): expected %s, driver wrote %s "
	    "(%zu byte%s differ)", len, e->off, e->seq, e->line,
	    want.len ? want.name : "bytes", lo, o, exp, act, ndiff, ndiff == 1 ? "" : "s");
}

bool
hw_replay_finish(struct hw_replay *r)
{
	if (r->diverged)
		return false;
	/* Trailing config events belong to the PCI glue (never replayed). */
	size_t p = r->pos;
	while (p < r->nev && (r->ev[p].kind == 'c' || r->ev[p].kind == 'C'))
		p++;
	if (p == r->nev) {
		r->pos = p;
		return true;
	}
	const struct rp_ev *e = &r->ev[p];
	char desc[160];
	describe(r, e, desc, sizeof(desc));
	r->pos = p;
	diverge(r, "driver finished with %zu of %zu events not replayed; the first is "
	    "seq %u (line %d): %s", r->nev - p, r->nev, e->seq, e->line, desc);
	return false;
}

static uint64_t
rp_now_ns(struct hw_dev *d)
{
	struct hw_replay *r = of(d);
	static const char what[] = "time read";
	struct rp_ev *e = next(r, 'T', what);
	/* Past the end (or a divergence) time moves 1 ms per read, so every
	   bounded wait in the driver still ends. */
	r->clock = e != NULL ? e->val : r->clock + 1000000;
	return r->clock;
}

static void
rp_delay_us(struct hw_dev *d, uint32_t us)
{
}

static uint64_t
rp_msr_read(struct hw_dev *d, uint32_t msr)
{
	struct hw_replay *r = of(d);
	char what[96];
	snprintf(what, sizeof(what), "msr read %s (0x%x)", msr_name(msr), msr);
	struct rp_ev *e = next(r, 'm', what);
	if (e == NULL)
		return r->diverged ? ~0ULL : 0;
	if (e->off != msr) {
		diverge(r, "driver did %s, trace (seq %u, line %d) reads msr %s (0x%" PRIx64 ")",
		    what, e->seq, e->line, msr_name((uint32_t)e->off), e->off);
		return ~0ULL;
	}
	return e->val;
}

static void
rp_msr_write(struct hw_dev *d, uint32_t msr, uint64_t v)
{
	struct hw_replay *r = of(d);
	char what[128];
	snprintf(what, sizeof(what), "msr write %s (0x%x) = 0x%" PRIx64, msr_name(msr),
	    msr, v);
	struct rp_ev *e = next(r, 'M', what);
	if (e == NULL)
		return;
	if (e->off != msr)
		diverge(r, "driver did %s, trace (seq %u, line %d) writes msr %s (0x%" PRIx64 ")",
		    what, e->seq, e->line, msr_name((uint32_t)e->off), e->off);
	else if (e->val != v)
		diverge(r, "msr %s (0x%x): expected write 0x%" PRIx64 ", driver wrote 0x%"
		    PRIx64 " (trace seq %u, line %d)", msr_name(msr), msr, e->val, v,
		    e->seq, e->line);
}

static void
rp_cpuid(struct hw_dev *d, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	struct hw_replay *r = of(d);
	char what[64];
	snprintf(what, sizeof(what), "cpuid leaf 0x%x subleaf 0x%x", leaf, subleaf);
	struct rp_ev *e = next(r, 'X', what);
	if (e != NULL && (e->off != leaf || e->a[0] != subleaf)) {
		diverge(r, "driver did %s, trace (seq %u, line %d) has cpuid leaf 0x%" PRIx64
		    " subleaf 0x%" PRIx64, what, e->seq, e->line, e->off, e->a[0]);
		e = NULL;
	}
	for (int i = 0; i < 4; i++)
		out[i] = e != NULL ? e->r4[i] : r->diverged ? ~0u : 0;
}

static uint64_t
rp_hypercall(struct hw_dev *d, uint64_t control, uint64_t in_pa, uint64_t out_pa)
{
	struct hw_replay *r = of(d);
	char what[128];
	snprintf(what, sizeof(what), "hypercall code 0x%" PRIx64 " (control 0x%" PRIx64
	    ", in 0x%" PRIx64 ", out 0x%" PRIx64 ")", control & 0xffff, control, in_pa,
	    out_pa);
	struct rp_ev *e = next(r, 'H', what);
	if (e == NULL)
		return HW_HYPERCALL_NO_PAGE;
	if (e->off != control || e->a[0] != in_pa || e->a[1] != out_pa) {
		diverge(r, "driver did %s, trace (seq %u, line %d) expects hypercall code 0x%"
		    PRIx64 " (control 0x%" PRIx64 ", in 0x%" PRIx64 ", out 0x%" PRIx64 ")",
		    what, e->seq, e->line, e->off & 0xffff, e->off, e->a[0], e->a[1]);
		return HW_HYPERCALL_NO_PAGE;
	}
	return e->val;
}

/* B: the block must land at the recorded window and offset, with the
   recorded length and words; a difference names the register at the
   first differing word. */
static void
rp_write_block(struct hw_bar *b, uint32_t off, const uint64_t *w, size_t nwords)
{
	struct hw_replay *r = of(b->dev);
	char what[128];
	if (b->index < 8)
		r->bars[b->index] = b;
	snprintf(what, sizeof(what), "block write of %zu bytes to %s (bar %d +0x%x)",
	    nwords * 8, regname(b, off, 8), b->index, off);
	struct rp_ev *e = next(r, 'B', what);
	if (e == NULL)
		return;
	if (e->bar != b->index || e->off != off || e->val != nwords * 8) {
		diverge(r, "driver did %s, trace (seq %u, line %d) writes %" PRIu64
		    " bytes to %s (bar %d +0x%" PRIx64 ")", what, e->seq, e->line, e->val,
		    regname(b, e->off, 8), e->bar, e->off);
		return;
	}
	for (size_t i = 0; i < nwords; i++) {
		uint64_t want = 0;
		for (int k = 7; k >= 0; k--)
			want = want << 8 | e->bytes[8 * i + (size_t)k];
		if (want == w[i])
			continue;
		size_t ndiff = 0;
		for (size_t j = i; j < nwords; j++) {
			uint64_t x = 0;
			for (int k = 7; k >= 0; k--)
				x = x << 8 | e->bytes[8 * j + (size_t)k];
			ndiff += x != w[j];
		}
		uint32_t at = off + 8 * (uint32_t)i;
		diverge(r, "block write to bar %d +0x%x (trace seq %u, line %d): word %zu, "
		    "%s (+0x%x): expected 0x%" PRIx64 ", driver wrote 0x%" PRIx64
		    " (%zu word%s differ)", b->index, off, e->seq, e->line, i,
		    regname(b, at, 8), at, want, w[i], ndiff, ndiff == 1 ? "" : "s");
		return;
	}
}

static bool
rp_rand(struct hw_dev *d, int src, uint64_t *v)
{
	struct hw_replay *r = of(d);
	const char *what = src == HW_RAND_SEED ? "an rdseed draw" : "an rdrand draw";
	struct rp_ev *e = next(r, 'N', what);
	*v = 0;
	if (e == NULL)
		return false;
	if (e->bar != src) {
		diverge(r, "driver did %s, trace (seq %u, line %d) has an %s draw", what,
		    e->seq, e->line, e->bar == HW_RAND_SEED ? "rdseed" : "rdrand");
		return false;
	}
	*v = e->val;
	return e->width != 0;
}

const struct hw_ops hw_replay_ops = {
	.read = rp_read,
	.write = rp_write,
	.cfg_read = rp_cfg_read,
	.cfg_write = rp_cfg_write,
	.dma_alloc = rp_dma_alloc,
	.dma_free = rp_dma_free,
	.virt_to_phys = rp_virt_to_phys,
	.dma_sync_cpu = rp_dma_sync_cpu,
	.dma_sync_dev = rp_dma_sync_dev,
	.now_ns = rp_now_ns,
	.delay_us = rp_delay_us,
	.msr_read = rp_msr_read,
	.msr_write = rp_msr_write,
	.cpuid = rp_cpuid,
	.hypercall = rp_hypercall,
	.write_block = rp_write_block,
	.rand = rp_rand,
};

bool
hw_replay_pick(const struct hw_replay_layout *t, uint64_t base, uint64_t off,
    const char *prefix, struct hw_replay_field *f)
{
	for (; t->name != NULL; t++)
		if (off >= t->off && off < t->off + t->len) {
			f->pa = base + t->off;
			f->len = t->len;
			snprintf(f->name, sizeof(f->name), "%s.%s", prefix, t->name);
			return true;
		}
	return false;
}
