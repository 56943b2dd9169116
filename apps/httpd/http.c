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
	/* RFC 9110 5.6.2 tchar as a bitmap of ASCII: ALPHA, DIGIT and
	   !#$%&'*+-.^_`|~ (tests/apps/test_http.c checks all 256 bytes). */
	static const uint64_t tchar[2] = { 0x03ff6cfa00000000ULL, 0x57ffffffc7fffffeULL };
	return c < 128 && (tchar[c >> 6] >> (c & 63) & 1) != 0;
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

/* Finds the next line at buf[*pos..len): sets [*ls, *le) to its content
   (without CR LF) and *pos past the LF.  0: no LF yet; -1: bare CR. */
static int
next_line(const char *buf, size_t len, size_t *pos, size_t *ls, size_t *le)
{
	size_t i = *pos;
	bool bare_cr = false;	/* a CR not followed by LF: one pass */
	for (; i < len && buf[i] != '\n'; i++)
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] != '\n')
			bare_cr = true;
	if (i == len)
		return 0;
	size_t e = i;
	if (e > *pos && buf[e - 1] == '\r')
		e--;
	if (bare_cr)
		return -1;
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
	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i > 16 || i >= n || l[i] != ' ')
		return refuse(status, 400);
	r->method_str = l;
	r->method_len = i;
	r->method = eq(l, i, "GET") ? HTTP_GET : eq(l, i, "HEAD") ? HTTP_HEAD : HTTP_OTHER;
	size_t ts = ++i;
	while (i < n && (unsigned char)l[i] > 0x20 && l[i] != 0x7f)
		i++;
	if (i == ts || i >= n || l[i] != ' ')
		return refuse(status, 400);
	const char *t = l + ts;
	size_t tl = i - ts;
	/* Origin-form; absolute-form (a proxy request) reduced to its path;
	   asterisk-form only as "*". */
	if (tl > 7 && ieq(t, 7, "http://")) {
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
	} else if (!(t[0] == '/' || (tl == 1 && t[0] == '*'))) {
		return refuse(status, 400);
	}
	size_t q = 0;
	while (q < tl && t[q] != '?' && t[q] != '#')
		q++;
	r->path = t;
	r->path_len = q;
	r->query = q < tl ? t + q + 1 : t + q;
	r->query_len = q < tl ? tl - q - 1 : 0;
	i++;
	const char *v = l + i;
	size_t vl = n - i;
	if (vl != 8 || !eq(v, 5, "HTTP/") || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
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
		if (ieq(h, nl, "content-length")) {
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
		} else if (ieq(h, nl, "transfer-encoding")) {
			if (te_seen || !ieq(v, vn, "chunked"))
				return refuse(status, 501);
			te_seen = true;
			r->chunked = true;
		} else if (ieq(h, nl, "connection")) {
			connection_tokens(v, vn, &close, &ka);
		} else if (ieq(h, nl, "host")) {
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
