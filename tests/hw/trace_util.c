/*
 * trace_util.c - see trace_util.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/hw/trace_util.h"

int
trace_marker_value(const char *path, const char *key, const char *stop, char *out,
    size_t n)
{
	FILE *f = fopen(path, "r");
	char l[512];
	out[0] = 0;
	if (f == NULL)
		return -1;
	while (fgets(l, sizeof(l), f) != NULL && l[0] == '#') {
		char *p = strstr(l, key);
		if (p != NULL && strncmp(l, "# marker:", 9) == 0) {
			p += strlen(key);
			char stops[16];
			snprintf(stops, sizeof(stops), "%s\n", stop);
			snprintf(out, n, "%.*s", (int)strcspn(p, stops), p);
		}
	}
	fclose(f);
	return 0;
}

char *
trace_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (s != NULL && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	if (s != NULL)
		s[n] = 0;
	fclose(f);
	return s;
}

void
blktest_pattern(uint8_t *buf, size_t len, uint64_t seed)
{
	memcpy(buf, &seed, 8);
	uint64_t x = seed;
	for (size_t i = 8; i < len; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		buf[i] = (uint8_t)(x >> 56);
	}
}

void
nettest_arp_request(uint8_t eth[14], uint8_t arp[46], const uint8_t mac[6])
{
	static const uint8_t head[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	static const uint8_t my_ip[4] = { 10, 0, 2, 15 }, gw_ip[4] = { 10, 0, 2, 2 };
	memset(eth, 0xff, 6);
	memcpy(eth + 6, mac, 6);
	eth[12] = 0x08;
	eth[13] = 0x06;
	memset(arp, 0, 46);
	memcpy(arp, head, 8);
	memcpy(arp + 8, mac, 6);
	memcpy(arp + 14, my_ip, 4);
	memcpy(arp + 24, gw_ip, 4);
}

void
trace_hex_le(uint64_t v, int bytes, char *out)
{
	for (int i = 0; i < bytes; i++, v >>= 8)
		sprintf(out + 2 * i, "%02x", (unsigned)(v & 0xff));
	out[2 * bytes] = 0;
}

/* Is the line at l an event of dev?  Sets *seq and *kind. */
static int
event_of(const char *l, const char *dev, unsigned *seq, char *kind, int *rest)
{
	char name[32];
	return sscanf(l, "%31s %u %c %n", name, seq, kind, rest) == 3 &&
	    strcmp(name, dev) == 0;
}

static char *
edit_bytes(const char *text, const char *dev, char want, size_t len,
    const char *prefix, size_t off, const char *old, const char *new)
{
	size_t ol = strlen(new);
	if (old != NULL && ol != strlen(old))
		return NULL;
	for (const char *l = text; l != NULL && *l; ) {
		const char *nl = strchr(l, '\n');
		unsigned seq, n = 0;
		char kind;
		int rest = 0, m = 0;
		unsigned long long pa;
		if (l[0] != '#' && event_of(l, dev, &seq, &kind, &rest) && kind == want &&
		    sscanf(l + rest, "%llx %u %n", &pa, &n, &m) == 2 && n == len) {
			const char *hex = l + rest + m;
			if (strncmp(hex, prefix, strlen(prefix)) == 0 && 2 * off + ol <= 2 * len &&
			    (old == NULL || strncmp(hex + 2 * off, old, ol) == 0)) {
				char *s = strdup(text);
				memcpy(s + (hex - text) + 2 * off, new, ol);
				return s;
			}
		}
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

char *
trace_edit_dma(const char *text, const char *dev, size_t len, const char *prefix,
    size_t off, const char *old, const char *new)
{
	return edit_bytes(text, dev, 'D', len, prefix, off, old, new);
}

char *
trace_edit_sync(const char *text, const char *dev, size_t len, const char *prefix,
    size_t off, const char *old, const char *new)
{
	return edit_bytes(text, dev, 'S', len, prefix, off, old, new);
}

char *
trace_drop_last(const char *text, const char *dev, int n)
{
	char *s = strdup(text);
	while (n-- > 0) {
		char *last = NULL;
		for (char *l = s; l != NULL && *l; ) {
			char *nl = strchr(l, '\n');
			unsigned seq;
			char kind;
			int rest;
			if (l[0] != '#' && event_of(l, dev, &seq, &kind, &rest))
				last = l;
			l = nl ? nl + 1 : NULL;
		}
		if (last == NULL) {
			free(s);
			return NULL;
		}
		char *nl = strchr(last, '\n');
		memmove(last, nl ? nl + 1 : last + strlen(last), strlen(nl ? nl + 1 : "") + 1);
	}
	return s;
}

char *
trace_append(const char *text, const char *dev, const char *event)
{
	long last = -1;
	for (const char *l = text; l != NULL && *l; ) {
		const char *nl = strchr(l, '\n');
		unsigned seq;
		char kind;
		int rest;
		if (l[0] != '#' && event_of(l, dev, &seq, &kind, &rest))
			last = seq;
		l = nl ? nl + 1 : NULL;
	}
	if (last < 0)
		return NULL;
	size_t n = strlen(text);
	char *s = malloc(n + strlen(dev) + strlen(event) + 32);
	memcpy(s, text, n);
	sprintf(s + n, "%s%s %ld %s\n", n && text[n - 1] != '\n' ? "\n" : "", dev, last + 1,
	    event);
	return s;
}

const char *
trace_msg_missing(const char *msg, const char *const *want)
{
	for (; *want != NULL; want++)
		if (strstr(msg, *want) == NULL)
			return *want;
	return NULL;
}
