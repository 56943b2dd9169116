/*
 * extract.c - the XML, JSON and base64 extractors of extract.h.  They
 * read only what the metadata clients need (the WireServer goal state of
 * PROTOCOLS.md D.5, Azure IMDS's instance document) and refuse anything
 * they do not understand rather than skip over it: a document is input
 * from the network, and a value taken from it ends up in a request we
 * send (the health report), so it must be exactly what it claims.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cloud/extract.h"
#include "kernel/err.h"

/* ---- XML ---- */

static bool
xml_name_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':')
		return true;
	return !first && ((c >= '0' && c <= '9') || c == '-' || c == '.');
}

static bool
xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Index of the first occurrence of s at or after i, or len. */
static size_t
find(const char *d, size_t len, size_t i, const char *s)
{
	size_t n = strlen(s);
	while (i + n <= len) {
		if (memcmp(d + i, s, n) == 0)
			return i;
		i++;
	}
	return len;
}

/* Does the stack (names[0..depth)) equal the '/'-separated path? */
static bool
path_is(const char *path, char names[][CLOUD_XML_NAME_MAX + 1], int depth)
{
	const char *p = path;
	for (int k = 0; k < depth; k++) {
		size_t n = strlen(names[k]);
		if (strncmp(p, names[k], n) != 0)
			return false;
		p += n;
		if (k < depth - 1) {
			if (*p != '/')
				return false;
			p++;
		}
	}
	return *p == '\0';
}

int
cloud_xml_get(const char *d, size_t len, const char *path, char *out, size_t cap)
{
	char names[CLOUD_XML_DEPTH][CLOUD_XML_NAME_MAX + 1];
	int depth = 0;
	size_t i = 0;

	if (len > CLOUD_DOC_MAX || cap == 0)
		return TERN_ERANGE;
	out[0] = '\0';
	while (i < len) {
		if (d[i] != '<') {
			if (d[i] == '\0')
				return TERN_EPROTO;
			i++;
			continue;
		}
		if (i + 1 >= len)
			return TERN_EPROTO;
		if (d[i + 1] == '?') {
			size_t e = find(d, len, i + 2, "?>");
			if (e == len)
				return TERN_EPROTO;
			i = e + 2;
			continue;
		}
		if (len - i >= 4 && memcmp(d + i, "<!--", 4) == 0) {
			size_t e = find(d, len, i + 4, "-->");
			if (e == len)
				return TERN_EPROTO;
			i = e + 3;
			continue;
		}
		if (d[i + 1] == '!')	/* DOCTYPE, CDATA: not in a goal state */
			return TERN_EPROTO;
		bool closing = d[i + 1] == '/';
		size_t s = i + (closing ? 2 : 1), e = s;
		while (e < len && xml_name_char(d[e], e == s))
			e++;
		size_t nlen = e - s;
		if (nlen == 0 || nlen > CLOUD_XML_NAME_MAX)
			return nlen == 0 ? TERN_EPROTO : TERN_ERANGE;
		if (closing) {
			while (e < len && xml_space(d[e]))
				e++;
			if (e >= len || d[e] != '>' || depth == 0 ||
			    strlen(names[depth - 1]) != nlen ||
			    memcmp(names[depth - 1], d + s, nlen) != 0)
				return TERN_EPROTO;
			depth--;
			i = e + 1;
			continue;
		}
		/* Attributes: name="value" or name='value', no '<' anywhere. */
		char quote = 0;
		size_t a = e;
		while (a < len) {
			char c = d[a];
			if (quote) {
				if (c == quote)
					quote = 0;
				else if (c == '<')
					return TERN_EPROTO;
			} else if (c == '"' || c == '\'') {
				quote = c;
			} else if (c == '>' || c == '<') {
				break;
			}
			a++;
		}
		if (a >= len || d[a] != '>' || quote)
			return TERN_EPROTO;
		if (e < len && !xml_space(d[e]) && d[e] != '>' && d[e] != '/')
			return TERN_EPROTO;
		bool empty = d[a - 1] == '/';
		if (depth == CLOUD_XML_DEPTH)
			return TERN_ERANGE;
		memcpy(names[depth], d + s, nlen);
		names[depth][nlen] = '\0';
		i = a + 1;
		if (empty) {
			/* <Name/>: matches with an empty value */
			if (path_is(path, names, depth + 1))
				return TERN_OK;
			continue;
		}
		depth++;
		if (!path_is(path, names, depth))
			continue;
		/* The target: text up to its own closing tag. */
		size_t t = i;
		while (t < len && d[t] != '<') {
			if (d[t] == '&' || d[t] == '\0' || d[t] == '>')
				return TERN_EPROTO;
			t++;
		}
		if (t + 2 + nlen + 1 > len || d[t + 1] != '/' ||
		    memcmp(d + t + 2, d + s, nlen) != 0)
			return TERN_EPROTO;
		size_t g = t + 2 + nlen;
		while (g < len && xml_space(d[g]))
			g++;
		if (g >= len || d[g] != '>')
			return TERN_EPROTO;
		size_t vs = i, ve = t;
		while (vs < ve && xml_space(d[vs]))
			vs++;
		while (ve > vs && xml_space(d[ve - 1]))
			ve--;
		if (ve - vs >= cap)
			return TERN_ERANGE;
		memcpy(out, d + vs, ve - vs);
		out[ve - vs] = '\0';
		return TERN_OK;
	}
	return depth == 0 ? TERN_ENOENT : TERN_EPROTO;
}

/* ---- JSON ---- */

struct jp {
	const char *d;
	size_t len, i;
	const char *path;	/* remaining components, '.'-separated */
	char *out;
	size_t cap;
	int found;		/* 0 not yet, 1 copied, <0 error for the match */
};

static void
jws(struct jp *p)
{
	while (p->i < p->len && (p->d[p->i] == ' ' || p->d[p->i] == '\t' ||
	    p->d[p->i] == '\r' || p->d[p->i] == '\n'))
		p->i++;
}

static int
jhex4(struct jp *p, uint32_t *v)
{
	if (p->len - p->i < 4)
		return TERN_EPROTO;
	*v = 0;
	for (int k = 0; k < 4; k++) {
		char c = p->d[p->i++];
		int h;
		if (c >= '0' && c <= '9')
			h = c - '0';
		else if (c >= 'a' && c <= 'f')
			h = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			h = c - 'A' + 10;
		else
			return TERN_EPROTO;
		*v = *v * 16 + (uint32_t)h;
	}
	return TERN_OK;
}

/*
 * A string at p->i (the opening quote).  With out != NULL it is decoded
 * into out[0..cap) (TERN_ERANGE when too long, checked after the whole
 * string is validated); raw points at the undecoded bytes.
 */
static int
jstring(struct jp *p, char *out, size_t cap, size_t *olen, const char **raw,
    size_t *rawlen)
{
	size_t o = 0;
	bool over = false;
	if (p->i >= p->len || p->d[p->i] != '"')
		return TERN_EPROTO;
	p->i++;
	*raw = p->d + p->i;
	size_t start = p->i;
	for (;;) {
		if (p->i >= p->len)
			return TERN_EPROTO;
		unsigned char c = (unsigned char)p->d[p->i];
		if (c == '"')
			break;
		if (c < 0x20)
			return TERN_EPROTO;
		uint8_t enc[4];
		size_t en = 0;
		p->i++;
		if (c != '\\') {
			enc[en++] = c;
		} else {
			if (p->i >= p->len)
				return TERN_EPROTO;
			char e = p->d[p->i++];
			uint32_t u;
			switch (e) {
			case '"': enc[en++] = '"'; break;
			case '\\': enc[en++] = '\\'; break;
			case '/': enc[en++] = '/'; break;
			case 'b': enc[en++] = '\b'; break;
			case 'f': enc[en++] = '\f'; break;
			case 'n': enc[en++] = '\n'; break;
			case 'r': enc[en++] = '\r'; break;
			case 't': enc[en++] = '\t'; break;
			case 'u':
				if (jhex4(p, &u) != TERN_OK)
					return TERN_EPROTO;
				if (u >= 0xd800 && u <= 0xdfff) {
					/* A pair: high then \u low. */
					uint32_t lo;
					if (u > 0xdbff || p->len - p->i < 6 ||
					    p->d[p->i] != '\\' || p->d[p->i + 1] != 'u')
						return TERN_EPROTO;
					p->i += 2;
					if (jhex4(p, &lo) != TERN_OK || lo < 0xdc00 || lo > 0xdfff)
						return TERN_EPROTO;
					u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				}
				if (u < 0x80) {
					enc[en++] = (uint8_t)u;
				} else if (u < 0x800) {
					enc[en++] = (uint8_t)(0xc0 | (u >> 6));
					enc[en++] = (uint8_t)(0x80 | (u & 0x3f));
				} else if (u < 0x10000) {
					enc[en++] = (uint8_t)(0xe0 | (u >> 12));
					enc[en++] = (uint8_t)(0x80 | ((u >> 6) & 0x3f));
					enc[en++] = (uint8_t)(0x80 | (u & 0x3f));
				} else {
					enc[en++] = (uint8_t)(0xf0 | (u >> 18));
					enc[en++] = (uint8_t)(0x80 | ((u >> 12) & 0x3f));
					enc[en++] = (uint8_t)(0x80 | ((u >> 6) & 0x3f));
					enc[en++] = (uint8_t)(0x80 | (u & 0x3f));
				}
				break;
			default:
				return TERN_EPROTO;
			}
		}
		if (out != NULL) {
			if (o + en >= cap)
				over = true;
			else
				for (size_t k = 0; k < en; k++)
					out[o++] = (char)enc[k];
		}
	}
	*rawlen = p->i - start;
	p->i++;	/* closing quote */
	if (out != NULL) {
		out[o] = '\0';
		if (olen)
			*olen = o;
		if (over)
			return TERN_ERANGE;
	}
	return TERN_OK;
}

static int jvalue(struct jp *p, int depth, int matched);

static bool
jlit(struct jp *p, const char *s)
{
	size_t n = strlen(s);
	if (p->len - p->i < n || memcmp(p->d + p->i, s, n) != 0)
		return false;
	p->i += n;
	return true;
}

static int
jnumber(struct jp *p)
{
	size_t s = p->i;
	if (p->i < p->len && p->d[p->i] == '-')
		p->i++;
	if (p->i >= p->len)
		return TERN_EPROTO;
	if (p->d[p->i] == '0') {
		p->i++;
	} else if (p->d[p->i] >= '1' && p->d[p->i] <= '9') {
		while (p->i < p->len && p->d[p->i] >= '0' && p->d[p->i] <= '9')
			p->i++;
	} else {
		return TERN_EPROTO;
	}
	if (p->i < p->len && p->d[p->i] == '.') {
		p->i++;
		size_t f = p->i;
		while (p->i < p->len && p->d[p->i] >= '0' && p->d[p->i] <= '9')
			p->i++;
		if (p->i == f)
			return TERN_EPROTO;
	}
	if (p->i < p->len && (p->d[p->i] == 'e' || p->d[p->i] == 'E')) {
		p->i++;
		if (p->i < p->len && (p->d[p->i] == '+' || p->d[p->i] == '-'))
			p->i++;
		size_t f = p->i;
		while (p->i < p->len && p->d[p->i] >= '0' && p->d[p->i] <= '9')
			p->i++;
		if (p->i == f)
			return TERN_EPROTO;
	}
	return p->i > s ? TERN_OK : TERN_EPROTO;
}

/* Component `k` of the path (0-based): pointer and length, or NULL. */
static const char *
jcomp(const char *path, int k, size_t *n)
{
	const char *s = path;
	for (int j = 0; j < k; j++) {
		s = strchr(s, '.');
		if (s == NULL)
			return NULL;
		s++;
	}
	const char *e = strchr(s, '.');
	*n = e ? (size_t)(e - s) : strlen(s);
	return s;
}

static int
jcomps(const char *path)
{
	int n = 1;
	for (const char *s = path; *s; s++)
		n += *s == '.';
	return n;
}

/* matched: path components matched on the way here, -1 off the path. */
static int
jobject(struct jp *p, int depth, int matched)
{
	p->i++;	/* '{' */
	jws(p);
	if (p->i < p->len && p->d[p->i] == '}') {
		p->i++;
		return TERN_OK;
	}
	for (;;) {
		const char *key;
		size_t klen;
		jws(p);
		int rc = jstring(p, NULL, 0, NULL, &key, &klen);
		if (rc != TERN_OK)
			return rc;
		jws(p);
		if (p->i >= p->len || p->d[p->i] != ':')
			return TERN_EPROTO;
		p->i++;
		int child = -1;
		if (matched >= 0 && p->found == 0) {
			size_t cn;
			const char *c = jcomp(p->path, matched, &cn);
			if (c != NULL && cn == klen && memcmp(c, key, klen) == 0)
				child = matched + 1;
		}
		rc = jvalue(p, depth + 1, child);
		if (rc != TERN_OK)
			return rc;
		jws(p);
		if (p->i >= p->len)
			return TERN_EPROTO;
		if (p->d[p->i] == '}') {
			p->i++;
			return TERN_OK;
		}
		if (p->d[p->i] != ',')
			return TERN_EPROTO;
		p->i++;
	}
}

static int
jarray(struct jp *p, int depth)
{
	p->i++;	/* '[' */
	jws(p);
	if (p->i < p->len && p->d[p->i] == ']') {
		p->i++;
		return TERN_OK;
	}
	for (;;) {
		int rc = jvalue(p, depth + 1, -1);
		if (rc != TERN_OK)
			return rc;
		jws(p);
		if (p->i >= p->len)
			return TERN_EPROTO;
		if (p->d[p->i] == ']') {
			p->i++;
			return TERN_OK;
		}
		if (p->d[p->i] != ',')
			return TERN_EPROTO;
		p->i++;
	}
}

static int
jvalue(struct jp *p, int depth, int matched)
{
	if (depth > CLOUD_JSON_DEPTH)
		return TERN_ERANGE;
	jws(p);
	if (p->i >= p->len)
		return TERN_EPROTO;
	bool target = matched >= 0 && matched == jcomps(p->path);
	char c = p->d[p->i];
	if (c == '"') {
		const char *raw;
		size_t rl;
		if (!target)
			return jstring(p, NULL, 0, NULL, &raw, &rl);
		int rc = jstring(p, p->out, p->cap, NULL, &raw, &rl);
		if (rc == TERN_EPROTO)
			return rc;
		p->found = rc == TERN_OK ? 1 : rc;
		return TERN_OK;
	}
	if (target)
		p->found = TERN_EINVAL;
	if (c == '{')
		return jobject(p, depth, target ? -1 : matched);
	if (c == '[')
		return jarray(p, depth);
	if (jlit(p, "true") || jlit(p, "false") || jlit(p, "null"))
		return TERN_OK;
	return jnumber(p);
}

int
cloud_json_get(const char *doc, size_t len, const char *path, char *out, size_t cap)
{
	if (len > CLOUD_DOC_MAX || cap == 0 || path == NULL || *path == '\0')
		return TERN_ERANGE;
	struct jp p = { doc, len, 0, path, out, cap, 0 };
	out[0] = '\0';
	int rc = jvalue(&p, 0, 0);
	if (rc != TERN_OK) {
		out[0] = '\0';
		return rc;
	}
	jws(&p);
	if (p.i != p.len) {
		out[0] = '\0';
		return TERN_EPROTO;
	}
	if (p.found == 0)
		return TERN_ENOENT;
	if (p.found < 0) {
		out[0] = '\0';
		return p.found;
	}
	return TERN_OK;
}

/* ---- base64 ---- */

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
cloud_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t o = 0;
	*outlen = 0;
	if (n % 4 != 0)
		return TERN_EINVAL;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			if (in[i + k] == '=') {
				/* Padding only in the last quantum, only at its end. */
				if (i + 4 != n || k < 2)
					return TERN_EINVAL;
				pad++;
				v[k] = 0;
			} else {
				if (pad > 0)
					return TERN_EINVAL;
				v[k] = b64val(in[i + k]);
				if (v[k] < 0)
					return TERN_EINVAL;
			}
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* Non-canonical: bits under the padding must be zero. */
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
			return TERN_EINVAL;
		size_t take = 3 - (size_t)pad;
		if (take > cap - o)
			return TERN_ERANGE;
		out[o++] = (uint8_t)(w >> 16);
		if (take > 1)
			out[o++] = (uint8_t)(w >> 8);
		if (take > 2)
			out[o++] = (uint8_t)w;
	}
	*outlen = o;
	return TERN_OK;
}
