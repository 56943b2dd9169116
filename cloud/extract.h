/*
 * extract.h - bounded extractors for what the metadata services return:
 * one text value out of XML (the WireServer goal state, PROTOCOLS.md
 * D.5), one string out of JSON (Azure IMDS), strict base64 (Azure's
 * userData), and the tern user-data format (docs/clouds.md, "Metadata
 * and user data").
 *
 * Portable C, no allocation.  Every input is hostile: each function
 * checks every length against its own limits and the caller's buffer and
 * returns a negative tern_err (kernel/err.h) instead of guessing:
 * TERN_ENOENT (not there), TERN_EPROTO (malformed document), TERN_ERANGE
 * (value or nesting over a limit), TERN_EINVAL (wrong type / alphabet).
 */
#ifndef TERN_CLOUD_EXTRACT_H
#define TERN_CLOUD_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLOUD_XML_DEPTH		16
#define CLOUD_XML_NAME_MAX	64
#define CLOUD_JSON_DEPTH	32
#define CLOUD_DOC_MAX		65536	/* larger documents are refused */

/*
 * The text of the first element at `path` ("GoalState/Container/
 * ContainerId": element names from the root, '/'-separated), trimmed of
 * white space, NUL-terminated in out[0..cap).  The element must hold only
 * text (no child element, no entity or '&', no CDATA); comments and
 * processing instructions are skipped; a DOCTYPE, a mismatched or
 * unclosed tag, or nesting deeper than CLOUD_XML_DEPTH is TERN_EPROTO.
 * The document is checked up to the match.
 */
int cloud_xml_get(const char *doc, size_t len, const char *path, char *out,
    size_t cap);

/*
 * The string at `path` ("compute.vmId": object keys, '.'-separated) of a
 * JSON document (RFC 8259), unescaped (\uXXXX as UTF-8; lone surrogates
 * refused), NUL-terminated in out[0..cap).  The whole document is
 * validated (one value, nothing after it but white space, nesting at
 * most CLOUD_JSON_DEPTH); TERN_EINVAL when the value is not a string.
 * When a key repeats, the first one counts.
 */
int cloud_json_get(const char *doc, size_t len, const char *path, char *out,
    size_t cap);

/* Standard base64 (RFC 4648 section 4) with padding, no white space;
   *outlen gets the decoded length.  TERN_EINVAL for any other input,
   TERN_ERANGE when it would not fit in cap. */
int cloud_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap,
    size_t *outlen);

/* User data (docs/clouds.md "Metadata and user data"). */
#define CLOUD_UD_MAX		16384	/* bytes of user data */
#define CLOUD_UD_ENV_MAX	16
#define CLOUD_UD_ARGS_MAX	255
#define CLOUD_UD_KEY_MAX	63
#define CLOUD_UD_VAL_MAX	127
#define CLOUD_UD_HEADER		"#tern v1"

struct cloud_userdata {
	bool present;		/* the data starts with CLOUD_UD_HEADER */
	bool have_args, have_port;
	char args[CLOUD_UD_ARGS_MAX + 1];
	uint16_t port;
	unsigned nenv;
	struct {
		char key[CLOUD_UD_KEY_MAX + 1];
		char val[CLOUD_UD_VAL_MAX + 1];
	} env[CLOUD_UD_ENV_MAX];
};

/*
 * Parses user data into *u.  Data that does not start with a "#tern"
 * line is not for us: TERN_OK with u->present false.  Otherwise every
 * line must be valid, or the call returns TERN_EINVAL and a static reason
 * for `TERN FAIL stage=config reason=<reason>` ("userdata_bad_port",
 * ...; no spaces).
 */
int cloud_userdata_parse(const uint8_t *d, size_t n, struct cloud_userdata *u,
    const char **reason);

#endif /* TERN_CLOUD_EXTRACT_H */
