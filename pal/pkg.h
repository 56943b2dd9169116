/*
 * pkg.h: the workload package format (docs/packages.md) and its validator.
 * Portable C (kernel and host tests): no allocation, no libc beyond
 * <string.h>.  Everything in a package is hostile input; pkg_parse either
 * fills a struct pkg whose pointers all lie inside the caller's buffer or
 * returns a negative value and a static reason string suitable for
 * `TERN FAIL stage=app reason=<reason>` (no spaces).
 */
#ifndef TERN_PAL_PKG_H
#define TERN_PAL_PKG_H

#include <stddef.h>
#include <stdint.h>

#define PKG_MAGIC "TERNPKG1"		/* 8 bytes, no NUL */
#define PKG_VERSION 2	/* 1: a byte-wise FNV-1a 32 checksum */
#define PKG_HDR_SIZE 24
#define PKG_ENT_SIZE 64
#define PKG_NAME_MAX 48			/* entry name incl. NUL */
#define PKG_MAX_ENTRIES 64
#define PKG_MAX_ENV 16
#define PKG_MAX_REQ 16

enum pkg_type { PKG_T_MANIFEST = 1, PKG_T_ELF = 2, PKG_T_FILE = 3 };
enum pkg_restart { PKG_RESTART_NEVER, PKG_RESTART_ON_FAILURE, PKG_RESTART_ALWAYS };

struct pkg_ent {
	uint32_t type;
	const char *name;		/* NUL-terminated, inside the package */
	const uint8_t *data;
	uint32_t len;
};

struct pkg_kv {
	const char *key;	/* not NUL-terminated: use the lengths */
	uint32_t klen;
	const char *val;
	uint32_t vlen;
};

struct pkg_manifest {
	struct pkg_kv name;		/* only val/vlen used */
	struct pkg_kv entry;		/* default "pal_main" */
	struct pkg_kv args;		/* may be empty */
	uint32_t listen_ip;		/* host order, 0 = any */
	uint16_t listen_port;		/* 0 = no listener expected */
	enum pkg_restart restart;
	uint32_t backoff_ms;		/* first restart delay, doubles */
	uint32_t backoff_max_ms;
	uint64_t mem_limit;		/* bytes, 0 = unlimited */
	unsigned nenv;
	struct pkg_kv env[PKG_MAX_ENV];
	unsigned nreq;			/* `file=` lines: files that must exist */
	struct pkg_kv req[PKG_MAX_REQ];
};

struct pkg {
	unsigned nent;
	struct pkg_ent ent[PKG_MAX_ENTRIES];
	const struct pkg_ent *manifest;
	const struct pkg_ent *elf;
	struct pkg_manifest m;
};

/* The package checksum over len bytes (docs/packages.md). */
uint32_t pkg_checksum(const void *data, size_t len);

/*
 * Validates the package image data[0..len) and fills *p.  On failure
 * returns a negative value and sets *reason to a static string such as
 * "pkg_bad_magic", "manifest_missing_name" or "missing_file".  data MUST
 * stay valid and unchanged while *p is used.
 */
int pkg_parse(const void *data, size_t len, struct pkg *p, const char **reason);

/* Parses manifest text alone (used by pkg_parse and mkpkg). */
int pkg_manifest_parse(const char *text, size_t len, struct pkg_manifest *m,
    const char **reason);

/* The file entry named path (type PKG_T_FILE), or NULL. */
const struct pkg_ent *pkg_find(const struct pkg *p, const char *path);

#endif /* TERN_PAL_PKG_H */
