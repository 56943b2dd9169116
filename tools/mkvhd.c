/*
 * mkvhd: turn a raw disk image into a fixed VHD for Azure.
 *
 *   mkvhd <in.raw> <out.vhd>
 *
 * A fixed VHD is the raw bytes followed by a 512-byte footer (tools/vhd.h).
 * The input must be a whole number of MiB (Azure's rule for the virtual
 * size); the footer gets the spec's CHS geometry for that size, a random
 * version-4 unique id, creator "tern" and the checksum.  The timestamp is
 * $SOURCE_DATE_EPOCH when set, else now.  Exit 1 with a reason on error.
 *
 * qemu-img can write fixed VHDs too, but with force_size (needed to keep
 * the size exact) it stores the maximum geometry 65535/16/255 instead of
 * the spec's, which tools/check-image refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tools/vhd.h"

static const char *out_path;
static char tmp_path[4096];

static void
die(const char *msg)
{
	fprintf(stderr, "mkvhd: %s%s%s\n", msg, errno ? ": " : "",
	    errno ? strerror(errno) : "");
	if (tmp_path[0] != '\0')
		unlink(tmp_path);
	exit(1);
}

static void
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write failed");
		p += w;
		n -= (size_t)w;
	}
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mkvhd <in.raw> <out.vhd>\n");
		return 2;
	}
	out_path = argv[2];
	int in = open(argv[1], O_RDONLY);
	if (in < 0)
		die("cannot open the input");
	struct stat st;
	if (fstat(in, &st) != 0)
		die("cannot stat the input");
	uint64_t size = (uint64_t)st.st_size;
	errno = 0;
	if (size == 0 || size % MIB != 0) {
		fprintf(stderr, "mkvhd: %s is %llu bytes, not a whole number of "
		    "MiB (Azure refuses such a VHD)\n", argv[1],
		    (unsigned long long)size);
		return 1;
	}

	if (snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", out_path) >=
	    (int)sizeof(tmp_path))
		die("output path too long");
	int out = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		die("cannot create the output");

	static uint8_t buf[1 << 20];
	uint64_t copied = 0;
	for (;;) {
		ssize_t r = read(in, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read failed");
		if (r == 0)
			break;
		write_all(out, buf, (size_t)r);
		copied += (uint64_t)r;
	}
	errno = 0;
	if (copied != size)
		die("the input changed size while being copied");

	uint8_t f[VHD_FOOTER_SIZE];
	memset(f, 0, sizeof(f));
	memcpy(f + VHD_OFF_COOKIE, VHD_COOKIE, 8);
	vhd_put_be(f + VHD_OFF_FEATURES, VHD_FEATURES_RESERVED, 4);
	vhd_put_be(f + VHD_OFF_VERSION, VHD_VERSION, 4);
	vhd_put_be(f + VHD_OFF_DATA_OFFSET, ~0ull, 8);

	time_t now = time(NULL);
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde != NULL && *sde != '\0')
		now = (time_t)strtoll(sde, NULL, 10);
	uint64_t ts = (uint64_t)now > VHD_EPOCH_UNIX ?
	    (uint64_t)now - VHD_EPOCH_UNIX : 0;
	vhd_put_be(f + VHD_OFF_TIMESTAMP, ts, 4);
	memcpy(f + VHD_OFF_CREATOR_APP, "tern", 4);
	vhd_put_be(f + VHD_OFF_CREATOR_VER, 0x00010000, 4);
	memcpy(f + VHD_OFF_CREATOR_OS, "Wi2k", 4);
	vhd_put_be(f + VHD_OFF_ORIG_SIZE, size, 8);
	vhd_put_be(f + VHD_OFF_CUR_SIZE, size, 8);

	struct vhd_chs g = vhd_geometry(size / 512);
	vhd_put_be(f + VHD_OFF_CYLINDERS, g.cylinders, 2);
	f[VHD_OFF_HEADS] = (uint8_t)g.heads;
	f[VHD_OFF_SPT] = (uint8_t)g.spt;
	vhd_put_be(f + VHD_OFF_DISK_TYPE, VHD_TYPE_FIXED, 4);

	/* RFC 4122 version 4: random, with the version and variant bits. */
	uint8_t *id = f + VHD_OFF_UNIQUE_ID;
	if (getrandom(id, 16, 0) != 16)
		die("getrandom failed");
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);

	vhd_put_be(f + VHD_OFF_CHECKSUM, vhd_checksum(f), 4);
	write_all(out, f, sizeof(f));
	if (close(out) != 0)
		die("cannot finish the output");
	close(in);
	if (rename(tmp_path, out_path) != 0)
		die("cannot rename the output into place");
	return 0;
}
