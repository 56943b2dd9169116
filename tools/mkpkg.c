/*
 * mkpkg: builds a tern workload package (docs/packages.md).
 *
 *   mkpkg -o out.pkg -m manifest -e app.elf [name=path | path]...
 *
 * A file argument "name=path" stores host file path under package name
 * name; a bare path is stored under its basename.  The result is checked
 * with the same validator the runtime uses (pal/pkg.c), so a package that
 * mkpkg writes is one the runtime accepts, and mkpkg exits 1 with the
 * runtime's reason string otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pal/pkg.h"

struct item {
	uint32_t type;
	char name[PKG_NAME_MAX];
	uint8_t *data;
	size_t len;
};

static void usage(void)
{
	fprintf(stderr, "usage: mkpkg -o out.pkg -m manifest -e app.elf "
	    "[name=path | path]...\n");
	exit(2);
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void load(struct item *it, uint32_t type, const char *name,
    const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		perror(path);
		exit(1);
	}
	if (strlen(name) == 0 || strlen(name) >= PKG_NAME_MAX) {
		fprintf(stderr, "mkpkg: %s: name must be 1..%d bytes\n", name,
		    PKG_NAME_MAX - 1);
		exit(1);
	}
	it->type = type;
	strcpy(it->name, name);
	it->len = (size_t)n;
	it->data = malloc(it->len ? it->len : 1);
	if (it->data == NULL || fread(it->data, 1, it->len, f) != it->len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *out = NULL, *man = NULL, *elf = NULL;
	struct item items[PKG_MAX_ENTRIES];
	unsigned n = 2;
	int c;

	while ((c = getopt(argc, argv, "o:m:e:")) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'm')
			man = optarg;
		else if (c == 'e')
			elf = optarg;
		else
			usage();
	}
	if (out == NULL || man == NULL || elf == NULL)
		usage();
	load(&items[0], PKG_T_MANIFEST, "manifest", man);
	load(&items[1], PKG_T_ELF, "app.elf", elf);
	for (int i = optind; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		const char *name, *path = argv[i];
		if (n == PKG_MAX_ENTRIES) {
			fprintf(stderr, "mkpkg: more than %d entries\n", PKG_MAX_ENTRIES);
			return 1;
		}
		if (eq != NULL) {
			*eq = '\0';
			name = argv[i];
			path = eq + 1;
		} else {
			name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		}
		load(&items[n++], PKG_T_FILE, name, path);
	}

	size_t total = PKG_HDR_SIZE + (size_t)n * PKG_ENT_SIZE;
	for (unsigned i = 0; i < n; i++)
		total += items[i].len;
	if (total > UINT32_MAX) {
		fprintf(stderr, "mkpkg: package larger than 4 GiB\n");
		return 1;
	}
	uint8_t *img = calloc(1, total);
	size_t off = PKG_HDR_SIZE + (size_t)n * PKG_ENT_SIZE;
	memcpy(img, PKG_MAGIC, 8);
	wr32(img + 8, PKG_VERSION);
	wr32(img + 12, n);
	wr32(img + 16, (uint32_t)total);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = img + PKG_HDR_SIZE + i * PKG_ENT_SIZE;
		wr32(e, items[i].type);
		wr32(e + 4, (uint32_t)off);
		wr32(e + 8, (uint32_t)items[i].len);
		memcpy(e + 16, items[i].name, strlen(items[i].name));
		memcpy(img + off, items[i].data, items[i].len);
		off += items[i].len;
		free(items[i].data);
	}
	wr32(img + 20, pkg_checksum(img + PKG_HDR_SIZE, total - PKG_HDR_SIZE));

	static struct pkg p;
	const char *reason;
	if (pkg_parse(img, total, &p, &reason) != 0) {
		fprintf(stderr, "mkpkg: invalid package: %s\n", reason);
		return 1;
	}
	FILE *f = fopen(out, "wb");
	if (f == NULL || fwrite(img, 1, total, f) != total || fclose(f) != 0) {
		perror(out);
		unlink(out);
		return 1;
	}
	free(img);
	return 0;
}
