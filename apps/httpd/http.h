/*
 * http.h - the HTTP/1.1 request-head parser of apps/httpd (RFC 9112).
 *
 * Portable and allocation-free: it reads a buffer holding the start of a
 * connection's input and either finds one complete, valid request head,
 * asks for more bytes, or names the status to answer with.  Nothing in the
 * buffer is trusted; every pointer it returns lies inside the buffer,
 * except the path of an absolute-form target that has none ("http://h"),
 * which is a static "/".
 * Built into the workload and into host tests and a libFuzzer target.
 */
#ifndef TERN_APPS_HTTP_H
#define TERN_APPS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 64

enum http_method { HTTP_GET = 1, HTTP_HEAD, HTTP_OTHER };

struct http_req {
	enum http_method method;
	const char *method_str;
	size_t method_len;
	const char *path;		/* origin-form, without the query */
	size_t path_len;
	const char *query;		/* after '?', may be empty */
	size_t query_len;
	int minor;			/* HTTP/1.<minor>: 0 or 1 */
	bool keep_alive;		/* after this request */
	bool has_host;
	uint64_t content_length;	/* body bytes that follow the head */
	bool chunked;			/* Transfer-Encoding: chunked */
	size_t head_len;		/* bytes of the head, final CRLF included */
	unsigned nheaders;
};

/*
 * Parses the request head at buf[0..len).  Returns:
 *   1  a complete head: *r is filled, r->head_len bytes are consumed;
 *   0  no complete head yet and len < max_head: read more;
 *  -1  the request must be refused with *status (then close):
 *      400 malformed, 431 head longer than max_head or too many headers,
 *      501 a transfer coding other than chunked, 505 not HTTP/1.x.
 * A head with both Content-Length and Transfer-Encoding, or two different
 * Content-Length values, is a 400 (request smuggling, RFC 9112 6.3).
 */
int http_parse(const char *buf, size_t len, size_t max_head,
    struct http_req *r, int *status);

/* The standard reason phrase for status, "" if unknown. */
const char *http_reason(int status);

#endif
