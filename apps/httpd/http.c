/*
 * http.c - HTTP/1.1 request heads (RFC 9112 sections 2-3, 5-6; field
 * syntax from RFC 9110 section 5).  Lines end in CRLF; a bare LF is
 * accepted as the RFC allows, a bare CR is not.  Leading empty lines
 * before the request line are skipped.
 */
#include "apps/httpd/http.h"

static bool
is_tchar(unsigned char c)
{
	/* RFC 9110 5.6.2 tchar as a bitmap of all 256 byte values: ALPHA,
	   DIGIT and !#$%&'*+-.^_`|~ (tests/apps/test_http.c checks every
	   byte). */
	static const uint64_t tchar[4] = { 0x03ff6cfa00000000ULL, 0x57ffffffc7fffffeULL, 0, 0 };
	return (tchar[c >> 6] >> (c & 63) & 1) != 0;
}

/* One bit per byte value: the visible bytes of a request target (any
   byte above SP but DEL, obs-text included), and those of them that can
   be in its path (not '?' or '#'). */
static const uint64_t target_byte[4] = { 0xfffffffe00000000ULL, 0x7fffffffffffffffULL, ~0ULL, ~0ULL };
static const uint64_t path_byte[4] = { 0x7ffffff600000000ULL, 0x7fffffffffffffffULL, ~0ULL, ~0ULL };

static bool
in_set(const uint64_t set[4], unsigned char c)
{
	return (set[c >> 6] >> (c & 63) & 1) != 0;
}

/* Index of the first byte of l[i..n) not in path_byte, or n.  Eight
   bytes a step as in find_eol: (w - 0x21 * ones) & ~w & highs flags
   the bytes below 0x21 (only bytes above the lowest flag can be
   flagged falsely), the zero-byte test on w ^ c * ones those equal to
   c; the lowest flag of any of them is the first byte out of the set. */
static inline __attribute__((always_inline)) size_t
path_end(const char *l, size_t i, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	for (; n - i >= 8; i += 8) {
		uint64_t w;
		__builtin_memcpy(&w, l + i, 8);
		uint64_t q = w ^ (ones * '?'), h = w ^ (ones * '#'), d = w ^ (ones * 0x7f);
		uint64_t m = ((w - ones * 0x21) & ~w) | ((q - ones) & ~q) |
		    ((h - ones) & ~h) | ((d - ones) & ~d);
		m &= highs;
		if (m != 0)
			return i + (size_t)(__builtin_ctzll(m) >> 3);
	}
#endif
	while (i < n && in_set(path_byte, (unsigned char)l[i]))
		i++;
	return i;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* Case-insensitive: s[0..n) equals the NUL-terminated lit. */
static bool
ieq(const char *s, size_t n, const char *lit)
{
	size_t i = 0;
	for (; i < n; i++)
		if (lit[i] == '\0' || lower(s[i]) != lit[i])
			return false;
	return lit[i] == '\0';
}

/* A header name s[0..n), all tchar, equals lit (lowercase letters and
   '-', n bytes long) ignoring case.  Among tchar bytes only 'A'-'Z'
   become a letter under | 0x20, and none becomes '-'. */
static bool
name_is(const char *s, size_t n, const char *lit)
{
	size_t i = 0;
	for (; n - i >= 8; i += 8) {	/* the same test on eight bytes at once */
		uint64_t a, b;
		__builtin_memcpy(&a, s + i, 8);
		__builtin_memcpy(&b, lit + i, 8);
		if ((a | 0x2020202020202020ULL) != b)
			return false;
	}
	if (n - i >= 4) {
		uint32_t a, b;
		__builtin_memcpy(&a, s + i, 4);
		__builtin_memcpy(&b, lit + i, 4);
		if ((a | 0x20202020u) != b)
			return false;
		i += 4;
	}
	for (; i < n; i++)
		if (((unsigned char)s[i] | 0x20) != (unsigned char)lit[i])
			return false;
	return true;
}

static bool
eq(const char *s, size_t n, const char *lit)
{
	size_t i = 0;
	for (; i < n; i++)
		if (lit[i] == '\0' || s[i] != lit[i])
			return false;
	return lit[i] == '\0';
}

static int
refuse(int *status, int code)
{
	*status = code;
	return -1;
}

/* Index of the first CR or LF in buf[i..len), or len.  Eight bytes a
   step where the byte order allows: a byte of w equal to c makes the
   same byte of w ^ c*ones zero, and the lowest byte flagged by
   (x - ones) & ~x & highs is exactly the first zero byte (the borrow
   can only flag bytes above it), so the lowest flag of either mask is
   the first CR or LF. */
static inline __attribute__((always_inline)) size_t
find_eol(const char *buf, size_t i, size_t len)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	for (; len - i >= 8; i += 8) {
		uint64_t w;
		__builtin_memcpy(&w, buf + i, 8);
		uint64_t a = w ^ (ones * '\n'), b = w ^ (ones * '\r');
		uint64_t m = (((a - ones) & ~a) | ((b - ones) & ~b)) & highs;
		if (m != 0)
			return i + (size_t)(__builtin_ctzll(m) >> 3);
	}
#endif
	for (; i < len; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			return i;
	return len;
}

/* Finds the next line at buf[*pos..len): sets [*ls, *le) to its content
   (without CR LF) and *pos past the LF.  0: no LF yet; -1: a bare CR
   (a CR not followed by LF) before the next LF. */
static inline __attribute__((always_inline)) int
next_line(const char *buf, size_t len, size_t *pos, size_t *ls, size_t *le)
{
	size_t i = find_eol(buf, *pos, len), e = i;
	if (i == len)
		return 0;
	if (buf[i] == '\r') {
		if (i + 1 == len)
			return 0;		/* its LF may still come */
		if (buf[i + 1] != '\n') {
			/* Refused once the line is complete, as if the
			   whole line had been read first. */
			for (i += 2; i < len; i++)
				if (buf[i] == '\n')
					return -1;
			return 0;
		}
		i++;
	}
	*ls = *pos;
	*le = e;
	*pos = i + 1;
	return 1;
}

/* Comma-separated tokens of a Connection value. */
static void
connection_tokens(const char *v, size_t n, bool *close, bool *ka)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (ieq(v + s, i - s, "close"))
			*close = true;
		else if (ieq(v + s, i - s, "keep-alive"))
			*ka = true;
	}
}

static int
parse_request_line(const char *l, size_t n, struct http_req *r, int *status)
{
	size_t i = 0;
	if (n > 4 && l[0] == 'G' && l[1] == 'E' && l[2] == 'T' && l[3] == ' ')
		i = 3;			/* the usual method, all tchar */
	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i > 16 || i >= n || l[i] != ' ')
		return refuse(status, 400);
	r->method_str = l;
	r->method_len = i;
	r->method = i == 3 && l[0] == 'G' && l[1] == 'E' && l[2] == 'T' ? HTTP_GET :
	    eq(l, i, "HEAD") ? HTTP_HEAD : HTTP_OTHER;
	/* The target: visible bytes up to the space; the first '?' or '#'
	   found on the way ends the path of an origin-form target. */
	size_t ts = ++i, qa;
	i = path_end(l, i, n);
	qa = i;
	while (i < n && in_set(target_byte, (unsigned char)l[i]))
		i++;
	if (i == ts || i >= n || l[i] != ' ')
		return refuse(status, 400);
	const char *t = l + ts;
	size_t tl = i - ts, q = qa - ts;
	/* Origin-form; absolute-form (a proxy request) reduced to its path;
	   asterisk-form only as "*". */
	if (t[0] != '/' && tl > 7 && ieq(t, 7, "http://")) {
		size_t k = 7;
		while (k < tl && t[k] != '/')
			k++;
		if (k == 7)
			return refuse(status, 400);
		if (k == tl) {
			t = "/";
			tl = 1;
		} else {
			t += k;
			tl -= k;
		}
		for (q = 0; q < tl && t[q] != '?' && t[q] != '#'; q++)
			;
	} else if (!(t[0] == '/' || (tl == 1 && t[0] == '*'))) {
		return refuse(status, 400);
	}
	r->path = t;
	r->path_len = q;
	r->query = q < tl ? t + q + 1 : t + q;
	r->query_len = q < tl ? tl - q - 1 : 0;
	i++;
	const char *v = l + i;
	size_t vl = n - i;
	if (vl != 8 || v[0] != 'H' || v[1] != 'T' || v[2] != 'T' || v[3] != 'P' ||
	    v[4] != '/' || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return refuse(status, 400);
	if (v[5] != '1' || v[7] > '1')
		return refuse(status, 505);
	r->minor = v[7] - '0';
	return 0;
}

int
http_parse(const char *buf, size_t len, size_t max_head, struct http_req *r,
    int *status)
{
	size_t pos = 0, ls, le;
	bool close = false, ka = false, cl_seen = false, te_seen = false;
	int rc;

	*r = (struct http_req){ 0 };
	*status = 0;
	if (len > max_head)
		len = max_head;	/* a head must fit within max_head */
	/* Up to a few empty lines may precede the request (RFC 9112 2.2);
	   the first line that is not one of them is the request line. */
	for (int skip = 0;; skip++) {
		rc = next_line(buf, len, &pos, &ls, &le);
		if (rc <= 0 || le != ls || skip == 4)
			break;
	}
	if (rc < 0)
		return refuse(status, 400);
	if (rc == 0)
		return len >= max_head ? refuse(status, 431) : 0;
	if (parse_request_line(buf + ls, le - ls, r, status) != 0)
		return -1;
	for (;;) {
		rc = next_line(buf, len, &pos, &ls, &le);
		if (rc < 0)
			return refuse(status, 400);
		if (rc == 0)
			return len >= max_head ? refuse(status, 431) : 0;
		if (le == ls)
			break;			/* the empty line: end of head */
		const char *h = buf + ls;
		size_t hn = le - ls, i = 0;
		if (++r->nheaders > HTTP_MAX_HEADERS)
			return refuse(status, 431);
		while (i < hn && is_tchar((unsigned char)h[i]))
			i++;
		if (i == 0 || i >= hn || h[i] != ':')
			return refuse(status, 400);	/* incl. obs-fold, "Name :" */
		size_t nl = i++;
		while (i < hn && (h[i] == ' ' || h[i] == '\t'))
			i++;
		size_t ve = hn;
		while (ve > i && (h[ve - 1] == ' ' || h[ve - 1] == '\t'))
			ve--;
		for (size_t k = i; k < ve; k++) {
			unsigned char c = (unsigned char)h[k];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return refuse(status, 400);
		}
		const char *v = h + i;
		size_t vn = ve - i;
		/* Only the four names below matter; their lengths differ. */
		if (nl == 14 && name_is(h, nl, "content-length")) {
			uint64_t x = 0;
			if (vn == 0 || vn > 18)
				return refuse(status, 400);
			for (size_t k = 0; k < vn; k++) {
				if (v[k] < '0' || v[k] > '9')
					return refuse(status, 400);
				x = x * 10 + (uint64_t)(v[k] - '0');
			}
			if (cl_seen && x != r->content_length)
				return refuse(status, 400);
			cl_seen = true;
			r->content_length = x;
		} else if (nl == 17 && name_is(h, nl, "transfer-encoding")) {
			if (te_seen || !ieq(v, vn, "chunked"))
				return refuse(status, 501);
			te_seen = true;
			r->chunked = true;
		} else if (nl == 10 && name_is(h, nl, "connection")) {
			connection_tokens(v, vn, &close, &ka);
		} else if (nl == 4 && name_is(h, nl, "host")) {
			if (r->has_host)
				return refuse(status, 400);
			r->has_host = true;
		}
	}
	if (cl_seen && te_seen)
		return refuse(status, 400);
	if (r->minor == 1 && !r->has_host)
		return refuse(status, 400);
	r->keep_alive = r->minor == 1 ? !close : (ka && !close);
	r->head_len = pos;
	return 1;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "";
}
