/*
 * http.c - the metadata clients' HTTP/1.1 codec (http.h): a request
 * builder that refuses control characters, and a byte-at-a-time response
 * parser with fixed limits (RFC 9112 sections 4, 5, 6 and 7.1, reduced
 * to what IMDS and WireServer send).  Nothing here allocates or trusts a
 * length it has not checked against the caller's buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cloud/http.h"

enum { S_STATUS, S_HEADER, S_BODY_LEN, S_BODY_CLOSE, S_CHUNK_SIZE,
	S_CHUNK_DATA, S_CHUNK_CRLF, S_TRAILER, S_DONE };

static const char *const http_err_names[HTTP_E_NERR] = {
	[HTTP_OK] = "ok",
	[HTTP_E_STATUS] = "http_status_line",
	[HTTP_E_HEADER] = "http_header",
	[HTTP_E_LINE] = "http_line_too_long",
	[HTTP_E_HEAD_SIZE] = "http_head_too_big",
	[HTTP_E_LENGTH] = "http_content_length",
	[HTTP_E_CODING] = "http_transfer_coding",
	[HTTP_E_CHUNK] = "http_chunk",
	[HTTP_E_BODY_SIZE] = "http_body_too_big",
	[HTTP_E_TRUNCATED] = "http_truncated",
	[HTTP_E_EXTRA] = "http_extra_bytes",
};

const char *
http_err_name(int e)
{
	if (e < 0 || e >= HTTP_E_NERR)
		return "?";
	return http_err_names[e];
}

void
http_resp_init(struct http_resp *r, uint8_t *body, size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->state = S_STATUS;
	r->body = body;
	r->body_cap = cap;
}

bool
http_resp_done(const struct http_resp *r)
{
	return r->err == HTTP_OK && r->state == S_DONE;
}

static int
set_err(struct http_resp *r, int e)
{
	if (r->err == HTTP_OK)
		r->err = e;
	return r->err;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static bool
ieq(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b);
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/* RFC 9110 5.6.2 tchar */
static bool
is_tchar(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
parse_status(struct http_resp *r, const char *l, size_t n)
{
	/* "HTTP/1.x DDD" then end or " reason" */
	if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') ||
	    l[8] != ' ')
		return set_err(r, HTTP_E_STATUS);
	int s = 0;
	for (int i = 9; i < 12; i++) {
		if (l[i] < '0' || l[i] > '9')
			return set_err(r, HTTP_E_STATUS);
		s = s * 10 + (l[i] - '0');
	}
	if (n > 12 && l[12] != ' ')
		return set_err(r, HTTP_E_STATUS);
	/* 1xx would need Expect or an upgrade, which we never send. */
	if (s < 200 || s > 599)
		return set_err(r, HTTP_E_STATUS);
	r->status = s;
	r->state = S_HEADER;
	return HTTP_OK;
}

static int
end_of_head(struct http_resp *r)
{
	if (r->status == 204 || r->status == 304) {
		r->state = S_DONE;
		return HTTP_OK;
	}
	if (r->chunked) {
		r->state = S_CHUNK_SIZE;
	} else if (r->have_len) {
		if (r->content_len > r->body_cap)
			return set_err(r, HTTP_E_BODY_SIZE);
		r->state = r->content_len == 0 ? S_DONE : S_BODY_LEN;
	} else {
		r->until_close = true;
		r->state = S_BODY_CLOSE;
	}
	return HTTP_OK;
}

static int
parse_header(struct http_resp *r, const char *l, size_t n)
{
	if (n == 0)
		return end_of_head(r);
	if (++r->nhdr > HTTP_HDR_MAX)
		return set_err(r, HTTP_E_HEAD_SIZE);
	size_t c = 0;
	while (c < n && is_tchar(l[c]))
		c++;
	/* No empty name, no whitespace before the colon, no folding. */
	if (c == 0 || c == n || l[c] != ':')
		return set_err(r, HTTP_E_HEADER);
	const char *name = l;
	size_t nlen = c;
	const char *v = l + c + 1;
	size_t vn = n - c - 1;
	while (vn > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vn--;
	}
	while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	if (ieq(name, nlen, "content-length")) {
		if (vn == 0 || vn > 18)
			return set_err(r, HTTP_E_LENGTH);
		uint64_t len = 0;
		for (size_t i = 0; i < vn; i++) {
			if (v[i] < '0' || v[i] > '9')
				return set_err(r, HTTP_E_LENGTH);
			len = len * 10 + (uint64_t)(v[i] - '0');
		}
		if (r->have_len && len != r->content_len)
			return set_err(r, HTTP_E_LENGTH);
		if (r->chunked)
			return set_err(r, HTTP_E_CODING);
		r->have_len = true;
		r->content_len = len;
	} else if (ieq(name, nlen, "transfer-encoding")) {
		if (!ieq(v, vn, "chunked") || r->have_len || r->chunked)
			return set_err(r, HTTP_E_CODING);
		r->chunked = true;
	} else if (ieq(name, nlen, "content-type")) {
		size_t k = vn < sizeof(r->ctype) - 1 ? vn : sizeof(r->ctype) - 1;
		memcpy(r->ctype, v, k);
		r->ctype[k] = '\0';
	}
	return HTTP_OK;
}

static int
parse_chunk_size(struct http_resp *r, const char *l, size_t n)
{
	size_t i = 0;
	uint64_t sz = 0;
	while (i < n && hexval(l[i]) >= 0) {
		if (i == 8)
			return set_err(r, HTTP_E_CHUNK);
		sz = sz * 16 + (uint64_t)hexval(l[i]);
		i++;
	}
	if (i == 0 || (i < n && l[i] != ';'))
		return set_err(r, HTTP_E_CHUNK);
	if (sz == 0) {
		r->nhdr = 0;	/* trailers have their own budget */
		r->state = S_TRAILER;
		return HTTP_OK;
	}
	if (sz > r->body_cap - r->body_len)
		return set_err(r, HTTP_E_BODY_SIZE);
	r->chunk_left = sz;
	r->state = S_CHUNK_DATA;
	return HTTP_OK;
}

static int
line_done(struct http_resp *r)
{
	const char *l = r->line;
	size_t n = r->line_len;
	r->line_len = 0;
	switch (r->state) {
	case S_STATUS:
		return parse_status(r, l, n);
	case S_HEADER:
		return parse_header(r, l, n);
	case S_CHUNK_SIZE:
		return parse_chunk_size(r, l, n);
	case S_CHUNK_CRLF:
		if (n != 0)
			return set_err(r, HTTP_E_CHUNK);
		r->state = S_CHUNK_SIZE;
		return HTTP_OK;
	case S_TRAILER:
		if (n == 0) {
			r->state = S_DONE;
			return HTTP_OK;
		}
		if (++r->nhdr > HTTP_HDR_MAX || memchr(l, ':', n) == NULL)
			return set_err(r, HTTP_E_CHUNK);
		return HTTP_OK;
	}
	return set_err(r, HTTP_E_HEADER);
}

/* The error a malformed line gets in the current state. */
static int
line_err(const struct http_resp *r)
{
	if (r->state == S_STATUS)
		return HTTP_E_STATUS;
	if (r->state == S_HEADER)
		return HTTP_E_HEADER;
	return HTTP_E_CHUNK;
}

static int
line_byte(struct http_resp *r, char c)
{
	if (r->state == S_STATUS || r->state == S_HEADER) {
		if (++r->head_bytes > HTTP_HEAD_MAX)
			return set_err(r, HTTP_E_HEAD_SIZE);
	}
	if (r->cr) {
		r->cr = false;
		if (c != '\n')
			return set_err(r, line_err(r));
		return line_done(r);
	}
	if (c == '\r') {
		r->cr = true;
		return HTTP_OK;
	}
	/* Bare LF, NUL and other controls (tab is allowed in values). */
	if ((unsigned char)c < 0x20 && c != '\t')
		return set_err(r, line_err(r));
	if (c == 0x7f)
		return set_err(r, line_err(r));
	if (r->line_len >= sizeof(r->line) - 1)
		return set_err(r, HTTP_E_LINE);
	r->line[r->line_len++] = c;
	return HTTP_OK;
}

int
http_resp_feed(struct http_resp *r, const uint8_t *d, size_t n)
{
	size_t i = 0;
	while (i < n && r->err == HTTP_OK) {
		size_t take;
		switch (r->state) {
		case S_BODY_LEN:
			take = n - i;
			if (take > r->content_len - r->body_len)
				take = (size_t)(r->content_len - r->body_len);
			memcpy(r->body + r->body_len, d + i, take);
			r->body_len += take;
			i += take;
			if (r->body_len == r->content_len)
				r->state = S_DONE;
			break;
		case S_BODY_CLOSE:
			take = n - i;
			if (take > r->body_cap - r->body_len)
				return set_err(r, HTTP_E_BODY_SIZE);
			memcpy(r->body + r->body_len, d + i, take);
			r->body_len += take;
			i += take;
			break;
		case S_CHUNK_DATA:
			take = n - i;
			if (take > r->chunk_left)
				take = (size_t)r->chunk_left;
			/* parse_chunk_size checked the chunk against the cap. */
			memcpy(r->body + r->body_len, d + i, take);
			r->body_len += take;
			r->chunk_left -= take;
			i += take;
			if (r->chunk_left == 0)
				r->state = S_CHUNK_CRLF;
			break;
		case S_DONE:
			return set_err(r, HTTP_E_EXTRA);
		default:
			line_byte(r, (char)d[i]);
			i++;
			break;
		}
	}
	return r->err;
}

int
http_resp_eof(struct http_resp *r)
{
	if (r->err != HTTP_OK)
		return r->err;
	if (r->state == S_BODY_CLOSE) {
		r->state = S_DONE;
		return HTTP_OK;
	}
	if (r->state == S_DONE)
		return HTTP_OK;
	return set_err(r, HTTP_E_TRUNCATED);
}

/* Printable ASCII and tab only: no CR, LF, NUL or other control. */
static bool
clean(const char *s, bool allow_space)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c >= 0x7f)
			if (!(allow_space && c == '\t'))
				return false;
		if (c == ' ' && !allow_space)
			return false;
	}
	return true;
}

struct wbuf {
	char *p;
	size_t cap, len;
	bool over;
};

static void
put(struct wbuf *w, const void *s, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void
puts_(struct wbuf *w, const char *s)
{
	put(w, s, strlen(s));
}

int
http_build_request(char *out, size_t cap, const char *method,
    const char *host, const char *target, const struct http_hdr *h, int nh,
    const void *body, size_t blen)
{
	if (!clean(method, false) || !clean(host, false) || !clean(target, false) ||
	    target[0] != '/' || nh < 0)
		return -1;
	for (const char *m = method; *m; m++)
		if (!is_tchar(*m))
			return -1;
	struct wbuf w = { out, cap, 0, false };
	puts_(&w, method);
	puts_(&w, " ");
	puts_(&w, target);
	puts_(&w, " HTTP/1.1\r\nHost: ");
	puts_(&w, host);
	puts_(&w, "\r\n");
	for (int i = 0; i < nh; i++) {
		const char *nm = h[i].name;
		if (nm == NULL || *nm == '\0' || !clean(h[i].value, true))
			return -1;
		for (const char *q = nm; *q; q++)
			if (!is_tchar(*q))
				return -1;
		puts_(&w, nm);
		puts_(&w, ": ");
		puts_(&w, h[i].value);
		puts_(&w, "\r\n");
	}
	puts_(&w, "Connection: close\r\n");
	if (body != NULL) {
		char num[24];
		int k = 0;
		size_t v = blen;
		char rev[24];
		do {
			rev[k++] = (char)('0' + v % 10);
			v /= 10;
		} while (v > 0);
		for (int i = 0; i < k; i++)
			num[i] = rev[k - 1 - i];
		num[k] = '\0';
		puts_(&w, "Content-Length: ");
		puts_(&w, num);
		puts_(&w, "\r\n");
	}
	puts_(&w, "\r\n");
	if (body != NULL)
		put(&w, body, blen);
	if (w.over || w.len > (size_t)INT32_MAX)
		return -1;
	return (int)w.len;
}
