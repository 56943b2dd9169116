/*
 * http.h - a small, bounded HTTP/1.1 client codec (RFC 9112) for the
 * metadata services: a request builder and an incremental response parser.
 *
 * Portable C (kernel and host tests), no allocation: the caller owns every
 * buffer.  A response is hostile input.  The parser accepts only what the
 * metadata services need and refuses the rest with a named error
 * (http_err_name): a status line "HTTP/1.x DDD reason" with 200..599,
 * header lines ending in CRLF (no bare LF, no folding), at most
 * HTTP_HDR_MAX headers and HTTP_HEAD_MAX bytes of head, a Content-Length
 * (digits only, repeated only with the same value) or
 * "Transfer-Encoding: chunked" (never both, no other coding) or a body
 * that ends when the server closes, and a body no larger than the
 * caller's buffer.  Chunk sizes are at most 8 hex digits; chunk
 * extensions are skipped, trailers are read and ignored (bounded like
 * headers).  Bytes after a complete response are an error.
 */
#ifndef TERN_CLOUD_HTTP_H
#define TERN_CLOUD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_LINE_MAX	1024	/* one status, header, chunk-size or trailer line */
#define HTTP_HDR_MAX	48	/* header (or trailer) lines */
#define HTTP_HEAD_MAX	8192	/* status line + headers, bytes */
#define HTTP_CTYPE_MAX	64

enum http_err {
	HTTP_OK = 0,
	HTTP_E_STATUS,		/* malformed status line or status out of range */
	HTTP_E_HEADER,		/* malformed header line (or bare LF, folding) */
	HTTP_E_LINE,		/* a line longer than HTTP_LINE_MAX */
	HTTP_E_HEAD_SIZE,	/* too many headers or head bytes */
	HTTP_E_LENGTH,		/* bad or conflicting Content-Length */
	HTTP_E_CODING,		/* unsupported Transfer-Encoding, or CL with TE */
	HTTP_E_CHUNK,		/* malformed chunk size or chunk framing */
	HTTP_E_BODY_SIZE,	/* body larger than the buffer */
	HTTP_E_TRUNCATED,	/* the server closed before the response ended */
	HTTP_E_EXTRA,		/* bytes after the end of the response */
	HTTP_E_NERR
};

/* Short name ("http_chunk") of an http_err; "?" when unknown. */
const char *http_err_name(int e);

struct http_resp {
	int state;			/* enum in http.c */
	int err;			/* enum http_err, sticky */
	int status;			/* 200..599 once the status line is read */
	uint8_t *body;			/* caller's buffer */
	size_t body_cap, body_len;
	char line[HTTP_LINE_MAX];	/* the line being assembled */
	size_t line_len;
	bool cr;			/* the last byte was a CR inside a line */
	int nhdr;
	size_t head_bytes;
	bool chunked, have_len, until_close;
	uint64_t content_len;
	uint64_t chunk_left;
	char ctype[HTTP_CTYPE_MAX];	/* Content-Type, truncated, NUL-terminated */
};

/* Start parsing a response; body[0..cap) receives the body. */
void http_resp_init(struct http_resp *r, uint8_t *body, size_t cap);
/* Feed n received bytes.  Returns HTTP_OK (more wanted or done) or the
   first error (the same one on every later call). */
int http_resp_feed(struct http_resp *r, const uint8_t *d, size_t n);
/* The server closed the connection: completes a body delimited by the
   close, else HTTP_E_TRUNCATED unless the response was already done. */
int http_resp_eof(struct http_resp *r);
/* The whole response has been parsed. */
bool http_resp_done(const struct http_resp *r);

struct http_hdr {
	const char *name;
	const char *value;
};

/*
 * Writes "METHOD target HTTP/1.1", Host, the given headers, Connection:
 * close, Content-Length when body is not NULL, and the body into
 * out[0..cap).  Returns the length, or -1 when it does not fit or any
 * method, target, host or header holds a control character (CR, LF, NUL
 * ...) or a header name is not a token: a value taken from a metadata
 * response (the IMDSv2 token) can never inject a header.
 */
int http_build_request(char *out, size_t cap, const char *method,
    const char *host, const char *target, const struct http_hdr *h, int nh,
    const void *body, size_t blen);

#endif /* TERN_CLOUD_HTTP_H */
