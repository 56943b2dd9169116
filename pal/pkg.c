/*
 * pkg.c: workload package validator (docs/packages.md).
 *
 * Layout, little-endian: a 24-byte header (magic "TERNPKG1", version,
 * entry count, total length, checksum of bytes [24, total)), then
 * count 64-byte entries (type, offset, length, reserved, name[48]), then
 * the data.  Each check below maps to one reason string so a broken image
 * says exactly what is wrong on the serial console.
 */
#include <string.h>

#include "pal/pkg.h"

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* FNV-1a 64 over little-endian 8-byte words, then over the last bytes
   one at a time, folded to 32 bits: an eighth of the steps of version
   1's byte-wise FNV-1a 32.  Each step xors in a word and multiplies by
   an odd constant, a bijection, so a change within one word always
   changes the 64-bit sum. */
uint32_t pkg_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	const uint64_t prime = 1099511628211ULL;
	uint64_t h = 14695981039346656037ULL;
	size_t i = 0;

	for (; len - i >= 8; i += 8) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		uint64_t w;
		__builtin_memcpy(&w, p + i, 8);	/* one load */
#else
		uint64_t w = (uint64_t)rd32(p + i) | (uint64_t)rd32(p + i + 4) << 32;
#endif
		h = (h ^ w) * prime;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * prime;
	return (uint32_t)(h ^ h >> 32);
}

static int fail(const char **reason, const char *r)
{
	*reason = r;
	return -1;
}

static int kv_is(const struct pkg_kv *kv, const char *s)
{
	size_t n = strlen(s);

	return kv->klen == n && memcmp(kv->key, s, n) == 0;
}

/* Decimal u64 with an optional K/M/G suffix (mult != 0 enables it). */
static int parse_num(const char *s, uint32_t n, uint64_t *out, int suffix)
{
	uint64_t v = 0, mul = 1;

	if (n == 0)
		return -1;
	if (suffix) {
		char c = s[n - 1];
		if (c == 'K' || c == 'k')
			mul = 1024;
		else if (c == 'M' || c == 'm')
			mul = 1024 * 1024;
		else if (c == 'G' || c == 'g')
			mul = 1024ull * 1024 * 1024;
		if (mul != 1)
			n--;
		if (n == 0)
			return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX / 10) - 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int parse_ipv4(const char *s, uint32_t n, uint32_t *ip)
{
	uint32_t v = 0, part = 0;
	unsigned dots = 0, digits = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (digits == 0 || ++dots > 3)
				return -1;
			v = v << 8 | part;
			part = 0;
			digits = 0;
		} else if (s[i] >= '0' && s[i] <= '9' && digits < 3) {
			part = part * 10 + (uint32_t)(s[i] - '0');
			digits++;
			if (part > 255)
				return -1;
		} else {
			return -1;
		}
	}
	if (dots != 3 || digits == 0)
		return -1;
	*ip = v << 8 | part;
	return 0;
}

/* listen = PORT | IP:PORT */
static int parse_listen(const char *s, uint32_t n, struct pkg_manifest *m)
{
	uint64_t port;
	uint32_t colon = n;

	for (uint32_t i = 0; i < n; i++)
		if (s[i] == ':')
			colon = i;
	if (colon < n) {
		if (parse_ipv4(s, colon, &m->listen_ip) != 0)
			return -1;
		s += colon + 1;
		n -= colon + 1;
	}
	if (parse_num(s, n, &port, 0) != 0 || port == 0 || port > 65535)
		return -1;
	m->listen_port = (uint16_t)port;
	return 0;
}

static int name_ok(const char *s, uint32_t n)
{
	if (n == 0 || n > 31)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static void trim(const char **s, uint32_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' ||
	    (*s)[*n - 1] == '\r'))
		(*n)--;
}

static int apply_kv(struct pkg_manifest *m, struct pkg_kv *kv, const char **reason)
{
	uint64_t v;

	if (kv_is(kv, "name")) {
		if (!name_ok(kv->val, kv->vlen))
			return fail(reason, "manifest_bad_name");
		m->name = *kv;
	} else if (kv_is(kv, "entry")) {
		if (kv->vlen == 0 || kv->vlen > 63)
			return fail(reason, "manifest_bad_entry");
		m->entry = *kv;
	} else if (kv_is(kv, "args")) {
		m->args = *kv;
	} else if (kv_is(kv, "listen")) {
		if (parse_listen(kv->val, kv->vlen, m) != 0)
			return fail(reason, "manifest_bad_listen");
	} else if (kv_is(kv, "restart")) {
		struct pkg_kv t = { kv->val, kv->vlen, NULL, 0 };
		if (kv_is(&t, "never"))
			m->restart = PKG_RESTART_NEVER;
		else if (kv_is(&t, "on-failure"))
			m->restart = PKG_RESTART_ON_FAILURE;
		else if (kv_is(&t, "always"))
			m->restart = PKG_RESTART_ALWAYS;
		else
			return fail(reason, "manifest_bad_restart");
	} else if (kv_is(kv, "backoff_ms")) {
		if (parse_num(kv->val, kv->vlen, &v, 0) != 0 || v == 0 ||
		    v > 3600000)
			return fail(reason, "manifest_bad_backoff");
		m->backoff_ms = (uint32_t)v;
	} else if (kv_is(kv, "backoff_max_ms")) {
		if (parse_num(kv->val, kv->vlen, &v, 0) != 0 || v == 0 ||
		    v > 3600000)
			return fail(reason, "manifest_bad_backoff");
		m->backoff_max_ms = (uint32_t)v;
	} else if (kv_is(kv, "memory")) {
		if (parse_num(kv->val, kv->vlen, &v, 1) != 0)
			return fail(reason, "manifest_bad_memory");
		m->mem_limit = v;
	} else if (kv_is(kv, "file")) {
		if (kv->vlen == 0 || kv->vlen >= PKG_NAME_MAX)
			return fail(reason, "manifest_bad_file");
		if (m->nreq == PKG_MAX_REQ)
			return fail(reason, "manifest_too_many_files");
		m->req[m->nreq++] = *kv;
	} else if (kv->klen > 4 && memcmp(kv->key, "env.", 4) == 0) {
		if (m->nenv == PKG_MAX_ENV)
			return fail(reason, "manifest_too_many_env");
		kv->key += 4;
		kv->klen -= 4;
		m->env[m->nenv++] = *kv;
	} else {
		return fail(reason, "manifest_unknown_key");
	}
	return 0;
}

int pkg_manifest_parse(const char *text, size_t len, struct pkg_manifest *m,
    const char **reason)
{
	size_t i = 0;

	memset(m, 0, sizeof(*m));
	m->entry.val = "pal_main";
	m->entry.vlen = 8;
	m->backoff_ms = 1000;
	m->backoff_max_ms = 60000;
	if (len > 65536)
		return fail(reason, "manifest_too_big");
	while (i < len) {
		size_t e = i;
		while (e < len && text[e] != '\n')
			e++;
		const char *l = text + i;
		uint32_t n = (uint32_t)(e - i);
		i = e + 1;
		trim(&l, &n);
		if (n == 0 || l[0] == '#')
			continue;
		uint32_t eq = 0;
		while (eq < n && l[eq] != '=')
			eq++;
		if (eq == n)
			return fail(reason, "manifest_syntax");
		for (uint32_t k = 0; k < n; k++)
			if ((unsigned char)l[k] < 0x20 && l[k] != '\t')
				return fail(reason, "manifest_syntax");
		struct pkg_kv kv = { l, eq, l + eq + 1, n - eq - 1 };
		trim(&kv.key, &kv.klen);
		trim(&kv.val, &kv.vlen);
		if (kv.klen == 0)
			return fail(reason, "manifest_syntax");
		if (apply_kv(m, &kv, reason) != 0)
			return -1;
	}
	if (m->name.vlen == 0)
		return fail(reason, "manifest_missing_name");
	if (m->backoff_max_ms < m->backoff_ms)
		m->backoff_max_ms = m->backoff_ms;
	return 0;
}

const struct pkg_ent *pkg_find(const struct pkg *p, const char *path)
{
	for (unsigned i = 0; i < p->nent; i++)
		if (p->ent[i].type == PKG_T_FILE && strcmp(p->ent[i].name, path) == 0)
			return &p->ent[i];
	return NULL;
}

static const struct pkg_ent *find_n(const struct pkg *p, const char *s, uint32_t n)
{
	for (unsigned i = 0; i < p->nent; i++)
		if (p->ent[i].type == PKG_T_FILE && strlen(p->ent[i].name) == n &&
		    memcmp(p->ent[i].name, s, n) == 0)
			return &p->ent[i];
	return NULL;
}

int pkg_parse(const void *data, size_t len, struct pkg *p, const char **reason)
{
	const uint8_t *b = data;

	memset(p, 0, sizeof(*p));
	if (len < PKG_HDR_SIZE)
		return fail(reason, "pkg_truncated");
	if (memcmp(b, PKG_MAGIC, 8) != 0)
		return fail(reason, "pkg_bad_magic");
	if (rd32(b + 8) != PKG_VERSION)
		return fail(reason, "pkg_bad_version");
	uint32_t nent = rd32(b + 12), total = rd32(b + 16);
	if (total > len)
		return fail(reason, "pkg_truncated");
	if (total < PKG_HDR_SIZE)
		return fail(reason, "pkg_bad_length");
	if (nent == 0 || nent > PKG_MAX_ENTRIES)
		return fail(reason, "pkg_bad_entry_count");
	if ((uint64_t)PKG_HDR_SIZE + (uint64_t)nent * PKG_ENT_SIZE > total)
		return fail(reason, "pkg_bad_length");
	if (pkg_checksum(b + PKG_HDR_SIZE, total - PKG_HDR_SIZE) != rd32(b + 20))
		return fail(reason, "pkg_bad_checksum");

	for (uint32_t i = 0; i < nent; i++) {
		const uint8_t *e = b + PKG_HDR_SIZE + i * PKG_ENT_SIZE;
		uint32_t type = rd32(e), off = rd32(e + 4), elen = rd32(e + 8);
		struct pkg_ent *pe = &p->ent[i];

		if (type < PKG_T_MANIFEST || type > PKG_T_FILE)
			return fail(reason, "pkg_bad_entry_type");
		if ((uint64_t)off + elen > total ||
		    off < PKG_HDR_SIZE + nent * PKG_ENT_SIZE)
			return fail(reason, "pkg_bad_entry_length");
		if (memchr(e + 16, 0, PKG_NAME_MAX) == NULL || e[16] == 0)
			return fail(reason, "pkg_bad_entry_name");
		pe->type = type;
		pe->name = (const char *)(e + 16);
		pe->data = b + off;
		pe->len = elen;
		p->nent = i + 1;
		if (type == PKG_T_MANIFEST) {
			if (p->manifest)
				return fail(reason, "pkg_two_manifests");
			p->manifest = pe;
		} else if (type == PKG_T_ELF) {
			if (p->elf)
				return fail(reason, "pkg_two_elfs");
			p->elf = pe;
		} else if (find_n(p, pe->name, (uint32_t)strlen(pe->name)) != pe) {
			return fail(reason, "pkg_duplicate_file");
		}
	}
	if (p->manifest == NULL)
		return fail(reason, "pkg_no_manifest");
	if (p->elf == NULL)
		return fail(reason, "pkg_no_elf");
	if (pkg_manifest_parse((const char *)p->manifest->data, p->manifest->len,
	    &p->m, reason) != 0)
		return -1;
	for (unsigned i = 0; i < p->m.nreq; i++)
		if (find_n(p, p->m.req[i].val, p->m.req[i].vlen) == NULL)
			return fail(reason, "missing_file");
	return 0;
}
