/*
 * fuzz_cloud.c - libFuzzer target over everything cloud/ parses from the
 * network: the first byte picks the parser (HTTP response fed in two
 * pieces split at the second byte, goal-state XML, IMDS JSON, base64,
 * user data), the rest is the input.  ASan/UBSan turn any out-of-bounds
 * access into a crash; the HTTP parser must also never report a body
 * longer than its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/extract.h"
#include "cloud/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t sel = data[0] % 5, split = data[1];
	data += 2;
	size -= 2;
	/* A private copy: the extractors must not read past size. */
	char *in = malloc(size ? size : 1);
	memcpy(in, data, size);
	static uint8_t body[512];
	static struct http_resp r;
	static char out[256];
	static uint8_t bin[512];
	static struct cloud_userdata u;
	size_t n;
	const char *reason;
	switch (sel) {
	case 0: {
		http_resp_init(&r, body, sizeof(body));
		size_t k = split < size ? split : size;
		http_resp_feed(&r, (const uint8_t *)in, k);
		http_resp_feed(&r, (const uint8_t *)in + k, size - k);
		http_resp_eof(&r);
		if (r.body_len > sizeof(body))
			abort();
		break;
	}
	case 1:
		cloud_xml_get(in, size, "GoalState/Container/ContainerId", out,
		    1 + split % sizeof(out));
		break;
	case 2:
		cloud_json_get(in, size, "compute.vmId", out, 1 + split % sizeof(out));
		break;
	case 3:
		cloud_b64_decode(in, size, bin, split % sizeof(bin), &n);
		if (n > split % sizeof(bin))
			abort();
		break;
	case 4:
		cloud_userdata_parse((const uint8_t *)in, size, &u, &reason);
		break;
	}
	free(in);
	return 0;
}
