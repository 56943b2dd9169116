/*
 * test_pkg.c: the package validator (pal/pkg.c) against well-formed and
 * broken packages built in memory, one reason string per defect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pal/pkg.h"

static uint8_t img[8192];

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

struct tent {
	uint32_t type;
	const char *name;
	const char *data;
};

/* Builds a package of n entries into img; returns its length. */
static size_t build(const struct tent *e, unsigned n)
{
	size_t off = PKG_HDR_SIZE + n * PKG_ENT_SIZE;

	memset(img, 0, sizeof(img));
	memcpy(img, PKG_MAGIC, 8);
	wr32(img + 8, PKG_VERSION);
	wr32(img + 12, n);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *d = img + PKG_HDR_SIZE + i * PKG_ENT_SIZE;
		size_t l = strlen(e[i].data);
		wr32(d, e[i].type);
		wr32(d + 4, (uint32_t)off);
		wr32(d + 8, (uint32_t)l);
		strcpy((char *)d + 16, e[i].name);
		memcpy(img + off, e[i].data, l);
		off += l;
	}
	wr32(img + 16, (uint32_t)off);
	wr32(img + 20, pkg_checksum(img + PKG_HDR_SIZE, off - PKG_HDR_SIZE));
	return off;
}

static void reseal(size_t len)
{
	wr32(img + 20, pkg_checksum(img + PKG_HDR_SIZE, len - PKG_HDR_SIZE));
}

static const char *good_manifest =
    "# httpd\nname = httpd\nlisten=0.0.0.0:80\nrestart=on-failure\n"
    "backoff_ms=500\nmemory=16M\nenv.ROOT=/www\nfile=index.html\n";

static size_t build_good(const char *manifest)
{
	struct tent e[] = {
		{ PKG_T_MANIFEST, "manifest", manifest },
		{ PKG_T_ELF, "app.elf", "\177ELF...." },
		{ PKG_T_FILE, "index.html", "<h1>hi</h1>" },
	};
	return build(e, 3);
}

static const char *parse(size_t len)
{
	static struct pkg p;
	const char *reason = NULL;

	if (pkg_parse(img, len, &p, &reason) == 0)
		return "ok";
	assert_non_null(reason);
	return reason;
}

static void test_good(void **st)
{
	struct pkg p;
	const char *reason = NULL;
	size_t len = build_good(good_manifest);

	assert_int_equal(pkg_parse(img, len, &p, &reason), 0);
	assert_int_equal(p.nent, 3);
	assert_int_equal(p.m.name.vlen, 5);
	assert_memory_equal(p.m.name.val, "httpd", 5);
	assert_memory_equal(p.m.entry.val, "pal_main", 8);
	assert_int_equal(p.m.listen_port, 80);
	assert_int_equal(p.m.restart, PKG_RESTART_ON_FAILURE);
	assert_int_equal(p.m.backoff_ms, 500);
	assert_int_equal(p.m.mem_limit, 16u << 20);
	assert_int_equal(p.m.nenv, 1);
	assert_memory_equal(p.m.env[0].key, "ROOT", 4);
	assert_memory_equal(p.m.env[0].val, "/www", 4);
	const struct pkg_ent *f = pkg_find(&p, "index.html");
	assert_non_null(f);
	assert_int_equal(f->len, 11);
	assert_null(pkg_find(&p, "nope"));
	assert_non_null(p.elf);
}

static void test_header_defects(void **st)
{
	size_t len = build_good(good_manifest);

	assert_string_equal(parse(len - 1), "pkg_truncated");
	assert_string_equal(parse(10), "pkg_truncated");
	img[40] ^= 1;
	assert_string_equal(parse(len), "pkg_bad_checksum");
	len = build_good(good_manifest);
	img[0] = 'X';
	assert_string_equal(parse(len), "pkg_bad_magic");
	len = build_good(good_manifest);
	wr32(img + 8, 1);			/* the byte-wise checksum's */
	assert_string_equal(parse(len), "pkg_bad_version");
	len = build_good(good_manifest);
	wr32(img + 12, 1000);
	assert_string_equal(parse(len), "pkg_bad_entry_count");
	len = build_good(good_manifest);
	wr32(img + PKG_HDR_SIZE + 8, 0x7fffffff);	/* manifest length */
	reseal(len);
	assert_string_equal(parse(len), "pkg_bad_entry_length");
	len = build_good(good_manifest);
	wr32(img + PKG_HDR_SIZE, 9);
	reseal(len);
	assert_string_equal(parse(len), "pkg_bad_entry_type");
	len = build_good(good_manifest);
	memset(img + PKG_HDR_SIZE + 16, 'a', PKG_NAME_MAX);
	reseal(len);
	assert_string_equal(parse(len), "pkg_bad_entry_name");
}

static void test_missing_parts(void **st)
{
	struct tent noelf[] = { { PKG_T_MANIFEST, "m", "name=a\n" } };
	struct tent nomf[] = { { PKG_T_ELF, "e", "x" } };
	struct tent dup[] = { { PKG_T_MANIFEST, "m", "name=a\n" },
		{ PKG_T_ELF, "e", "x" }, { PKG_T_FILE, "f", "1" },
		{ PKG_T_FILE, "f", "2" } };

	assert_string_equal(parse(build(noelf, 1)), "pkg_no_elf");
	assert_string_equal(parse(build(nomf, 1)), "pkg_no_manifest");
	assert_string_equal(parse(build(dup, 4)), "pkg_duplicate_file");
	assert_string_equal(parse(build_good("name=a\nfile=gone.txt\n")),
	    "missing_file");
}

static void test_manifest_defects(void **st)
{
	static const struct { const char *m, *reason; } cases[] = {
		{ "listen=80\n", "manifest_missing_name" },
		{ "name=Bad Name\n", "manifest_bad_name" },
		{ "name=a\nrestart=sometimes\n", "manifest_bad_restart" },
		{ "name=a\nlisten=70000\n", "manifest_bad_listen" },
		{ "name=a\nlisten=1.2.3:80\n", "manifest_bad_listen" },
		{ "name=a\nlisten=0\n", "manifest_bad_listen" },
		{ "name=a\nmemory=lots\n", "manifest_bad_memory" },
		{ "name=a\nmemory=99999999999999999999\n", "manifest_bad_memory" },
		{ "name=a\nbackoff_ms=0\n", "manifest_bad_backoff" },
		{ "name=a\ncolour=red\n", "manifest_unknown_key" },
		{ "name=a\njust words\n", "manifest_syntax" },
		{ "name=a\n=x\n", "manifest_syntax" },
		{ "name=a\nentry=\n", "manifest_bad_entry" },
		{ "name=a\r\nrestart=always\r\nlisten=10.0.0.1:8080\n", "ok" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkg_manifest m;
		const char *reason = "ok";
		pkg_manifest_parse(cases[i].m, strlen(cases[i].m), &m, &reason);
		assert_string_equal(reason, cases[i].reason);
	}
	struct pkg_manifest m;
	const char *r;
	const char *t = "name=a\nlisten=10.0.0.1:8080\nrestart=always\n";
	assert_int_equal(pkg_manifest_parse(t, strlen(t), &m, &r), 0);
	assert_int_equal(m.listen_ip, 0x0a000001);
	assert_int_equal(m.listen_port, 8080);
	assert_int_equal(m.restart, PKG_RESTART_ALWAYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_header_defects),
		cmocka_unit_test(test_missing_parts),
		cmocka_unit_test(test_manifest_defects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
