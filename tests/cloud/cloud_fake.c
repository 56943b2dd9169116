/*
 * cloud_fake.c - the fake IMDSv2, Azure IMDS and WireServer of
 * cloud_fake.h, and the Ethernet hub they share with the stack under
 * test.  Written from PROTOCOLS.md D.5/D.6, independently of cloud/: the
 * health report is checked with plain string matching, not with the
 * client's own extractor.
 */
#define _GNU_SOURCE 1	/* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernel/err.h"
#include "tests/cloud/cloud_fake.h"

uint64_t fake_clock_ns = 1000000000ULL;

static uint64_t port_now(void *ctx) { return fake_clock_ns; }
static uint32_t rnd_state = 12345;
static uint32_t
port_random(void *ctx)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state ^ (rnd_state >> 15);
}
const struct netstack_port fake_port = { port_now, port_random, NULL, NULL };

/* ---- the hub ---- */

#define HUB_Q 512
struct hub_nic {
	struct nic nic;
	struct netstack *ns;
	bool cut;
	struct ns_txbuf *tx;
	struct nic_buf rxb;
	uint8_t rxdata[2048];
};
static struct hub_nic hub_nics[FAKE_HUB_NICS];
static int hub_n;
static struct {
	int from;
	uint16_t len;
	uint8_t data[1536];
} hubq[HUB_Q];
static int hq_head, hq_len;

static int
hub_tx(struct nic *n, int q, struct nic_buf *chain, const struct nic_tx_meta *m)
{
	struct hub_nic *h = (struct hub_nic *)n;
	if (hq_len == HUB_Q)
		return TERN_EAGAIN;
	int slot = (hq_head + hq_len) % HUB_Q;
	size_t len = 0;
	for (struct nic_buf *b = chain; b != NULL; b = b->next)
		len += b->len;
	if (len <= sizeof(hubq[0].data)) {
		uint8_t *o = hubq[slot].data;
		for (struct nic_buf *b = chain; b != NULL; b = b->next) {
			memcpy(o, b->data, b->len);
			o += b->len;
		}
	}
	for (struct nic_buf *b = chain, *next; b != NULL; b = next) {
		next = b->next;
		nic_buf_release(b);
	}
	if (len > sizeof(hubq[0].data) || h->cut)
		return TERN_OK;		/* dropped on the wire */
	hubq[slot].from = (int)(h - hub_nics);
	hubq[slot].len = (uint16_t)len;
	hq_len++;
	return TERN_OK;
}
static int hub_poll(struct nic *n, int q, int budget) { return 0; }
static void hub_intr(struct nic *n, int q, bool on) { }
static void hub_detach(struct nic *n) { }
static const struct nic_ops hub_ops = { hub_tx, hub_poll, hub_intr, hub_detach, NULL };
static void hub_rx_release(struct nic_buf *b) { }

void
fake_hub_init(void)
{
	for (int i = 0; i < hub_n; i++)
		free(hub_nics[i].tx);
	memset(hub_nics, 0, sizeof(hub_nics));
	hub_n = 0;
	hq_head = hq_len = 0;
	fake_clock_ns = 1000000000ULL;
}

void
fake_hub_attach(struct netstack *ns, uint32_t ip, uint8_t mac_last)
{
	struct hub_nic *h = &hub_nics[hub_n++];
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xc1, 0x0d, 0x00 };
	memcpy(h->nic.mac, mac, 6);
	h->nic.mac[5] = mac_last;
	h->nic.mtu = 1500;
	h->nic.link_up = true;
	h->nic.ops = &hub_ops;
	h->nic.nqueues = 1;
	nic_queues_init(&h->nic);
	h->ns = ns;
	h->tx = calloc(NS_TXBUFS, sizeof(struct ns_txbuf));
	memset(ns, 0, sizeof(*ns));
	netstack_attach(ns, &h->nic, &fake_port, h->tx);
	netstack_set_static(ns, ip, 0xffff0000u, 0xa9fe0001u, 0);
}

void
fake_hub_cut(struct netstack *ns, bool cut)
{
	for (int i = 0; i < hub_n; i++)
		if (hub_nics[i].ns == ns)
			hub_nics[i].cut = cut;
}

bool
fake_hub_pump(void)
{
	if (hq_len == 0)
		return false;
	int slot = hq_head;
	hq_head = (hq_head + 1) % HUB_Q;
	hq_len--;
	for (int i = 0; i < hub_n; i++) {
		struct hub_nic *h = &hub_nics[i];
		if (i == hubq[slot].from || h->cut)
			continue;
		memcpy(h->rxdata, hubq[slot].data, hubq[slot].len);
		h->rxb = (struct nic_buf){ .data = h->rxdata, .len = hubq[slot].len,
			.cap = sizeof(h->rxdata), .release = hub_rx_release, .owner = h };
		h->nic.rx(h->nic.upper, &h->rxb);
	}
	return true;
}

/* ---- requests ---- */

const char *
fake_req_header(const struct fake_req *q, const char *name)
{
	for (int i = 0; i < q->nh; i++)
		if (strcasecmp(q->hname[i], name) == 0)
			return q->hval[i];
	return NULL;
}

/* 1: a whole request parsed into q; 0: need more; -1: malformed. */
static int
parse_req(const char *buf, size_t len, struct fake_req *q)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	if (end == NULL)
		return 0;
	memset(q, 0, sizeof(*q));
	const char *p = buf;
	const char *eol = strstr(p, "\r\n");
	char line[1024];
	size_t n = (size_t)(eol - p);
	if (n >= sizeof(line))
		return -1;
	memcpy(line, p, n);
	line[n] = '\0';
	char proto[16];
	if (sscanf(line, "%7s %255s %15s", q->method, q->target, proto) != 3 ||
	    strcmp(proto, "HTTP/1.1") != 0)
		return -1;
	p = eol + 2;
	while (p < end) {
		eol = strstr(p, "\r\n");
		n = (size_t)(eol - p);
		const char *colon = memchr(p, ':', n);
		if (colon == NULL || q->nh == 24)
			return -1;
		size_t nl = (size_t)(colon - p);
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		size_t vl = (size_t)(eol - v);
		if (nl >= sizeof(q->hname[0]) || vl >= sizeof(q->hval[0]))
			return -1;
		memcpy(q->hname[q->nh], p, nl);
		memcpy(q->hval[q->nh], v, vl);
		q->nh++;
		p = eol + 2;
	}
	const char *cl = fake_req_header(q, "Content-Length");
	size_t head = (size_t)(end + 4 - buf);
	q->blen = cl ? strtoul(cl, NULL, 10) : 0;
	if (len < head + q->blen)
		return 0;
	q->body = buf + head;
	return 1;
}

static void
b64(const char *in, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint8_t)in[i] << 16;
		if (i + 1 < n)
			w |= (uint8_t)in[i + 1] << 8;
		if (i + 2 < n)
			w |= (uint8_t)in[i + 2];
		out[o++] = a[(w >> 18) & 63];
		out[o++] = a[(w >> 12) & 63];
		out[o++] = i + 1 < n ? a[(w >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? a[w & 63] : '=';
	}
	out[o] = '\0';
}

#define GS_CONTAINER "c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2"
#define GS_INSTANCE "4e7bc4a4-1d2b-4b1b-a7c8-2a5d2e8f6b3c.tern-vm"

static int
health_check(struct fake_srv *s, const struct fake_req *q)
{
	char want[256];
	char body[4096];
	const char *ct = fake_req_header(q, "Content-Type");
	if (q->blen >= sizeof(body))
		return snprintf(s->last_bad, sizeof(s->last_bad), "too_long"), 400;
	memcpy(body, q->body, q->blen);
	body[q->blen] = '\0';
	if (ct == NULL || strncasecmp(ct, "text/xml", 8) != 0)
		return snprintf(s->last_bad, sizeof(s->last_bad), "content_type"), 400;
	if (strncmp(body, "<?xml version=\"1.0\" encoding=\"utf-8\"?>", 38) != 0 ||
	    strstr(body, "<Health xmlns:xsi=") == NULL)
		return snprintf(s->last_bad, sizeof(s->last_bad), "prolog"), 400;
	snprintf(want, sizeof(want), "<GoalStateIncarnation>%u</GoalStateIncarnation>",
	    s->incarnation);
	if (strstr(body, want) == NULL)
		return snprintf(s->last_bad, sizeof(s->last_bad), "incarnation"), 400;
	if (strstr(body, "<ContainerId>" GS_CONTAINER "</ContainerId>") == NULL)
		return snprintf(s->last_bad, sizeof(s->last_bad), "container"), 400;
	if (strstr(body, "<InstanceId>" GS_INSTANCE "</InstanceId>") == NULL)
		return snprintf(s->last_bad, sizeof(s->last_bad), "instance"), 400;
	if (strstr(body, "<State>Ready</State>") != NULL) {
		strcpy(s->last_state, "Ready");
	} else if (strstr(body, "<State>NotReady</State>") != NULL) {
		strcpy(s->last_state, "NotReady");
		const char *d = strstr(body, "<Description>");
		const char *e = d ? strstr(d, "</Description>") : NULL;
		if (strstr(body, "<SubStatus>ProvisioningFailed</SubStatus>") == NULL ||
		    e == NULL || e - d - 13 >= (long)sizeof(s->last_desc))
			return snprintf(s->last_bad, sizeof(s->last_bad), "details"), 400;
		memcpy(s->last_desc, d + 13, (size_t)(e - d - 13));
		s->last_desc[e - d - 13] = '\0';
	} else {
		return snprintf(s->last_bad, sizeof(s->last_bad), "state"), 400;
	}
	return 200;
}

int
fake_srv_handle(struct fake_srv *s, const struct fake_req *q, char *body,
    size_t cap, size_t *blen)
{
	*blen = 0;
	body[0] = '\0';
	s->requests++;
	if (s->fail500 > 0) {
		s->fail500--;
		return 500;
	}
	if (s->kind == FAKE_IMDS_AWS) {
		if (strcmp(q->method, "PUT") == 0 &&
		    strcmp(q->target, "/latest/api/token") == 0) {
			if (fake_req_header(q, "X-Forwarded-For") != NULL) {
				s->xff_refused++;
				return 403;
			}
			const char *ttl = fake_req_header(q, "X-aws-ec2-metadata-token-ttl-seconds");
			long t = ttl ? strtol(ttl, NULL, 10) : 0;
			if (t < 1 || t > 21600) {
				s->bad_ttl++;
				return 400;
			}
			s->tokens_issued++;
			s->current_token = s->tokens_issued;
			s->token_used = 0;
			*blen = (size_t)snprintf(body, cap,
			    "AQAEAFakeTok%03u-xyzXYZ0123456789abcdefABCDEF==", s->current_token);
			return 200;
		}
		if (strcmp(q->method, "GET") != 0 || strncmp(q->target, "/latest/", 8) != 0)
			return 405;
		const char *tok = fake_req_header(q, "X-aws-ec2-metadata-token");
		if (tok == NULL) {
			s->tokenless++;
			return 401;
		}
		char want[96];
		snprintf(want, sizeof(want), "AQAEAFakeTok%03u-xyzXYZ0123456789abcdefABCDEF==",
		    s->current_token);
		if (s->always_401 || s->current_token == 0 || strcmp(tok, want) != 0 ||
		    (s->token_uses > 0 && s->token_used >= (unsigned)s->token_uses)) {
			s->bad_token++;
			return 401;
		}
		s->token_used++;
		s->gets_ok++;
		const char *v = NULL;
		if (strcmp(q->target, "/latest/meta-data/instance-id") == 0)
			v = "i-0123456789abcdef0";
		else if (strcmp(q->target, "/latest/meta-data/instance-type") == 0)
			v = "m5.large";
		else if (strcmp(q->target, "/latest/meta-data/placement/region") == 0)
			v = "eu-west-1";
		else if (strcmp(q->target, "/latest/meta-data/local-ipv4") == 0)
			v = "169.254.0.10";
		else if (strcmp(q->target, "/latest/user-data") == 0)
			v = s->userdata;
		if (v == NULL)
			return 404;
		*blen = (size_t)snprintf(body, cap, "%s", v);
		return 200;
	}
	if (s->kind == FAKE_IMDS_AZURE) {
		const char *m = fake_req_header(q, "Metadata");
		if (m == NULL || strcmp(m, "true") != 0) {
			s->no_metadata_hdr++;
			return 400;
		}
		if (strcmp(q->method, "GET") != 0 ||
		    strncmp(q->target, "/metadata/instance?api-version=", 31) != 0)
			return 404;
		static char ud[8192];
		b64(s->userdata ? s->userdata : "", ud);
		*blen = (size_t)snprintf(body, cap,
		    "{\"compute\":{\"location\":\"westeurope\",\"name\":\"tern-vm\","
		    "\"tagsList\":[],\"userData\":\"%s\","
		    "\"vmId\":\"02aab8a4-74ef-476e-8182-f6d2ba4166a6\","
		    "\"vmSize\":\"Standard_B1s\"},\"network\":{\"interface\":[]}}", ud);
		return 200;
	}
	/* WireServer */
	const char *ver = fake_req_header(q, "x-ms-version");
	if (ver == NULL || strcmp(ver, "2012-11-30") != 0) {
		s->no_version_hdr++;
		return 400;
	}
	if (strcmp(q->method, "GET") == 0 && strcmp(q->target, "/machine/?comp=goalstate") == 0) {
		s->goalstates++;
		if (s->incarnation == 0 || s->bump_incarnation)
			s->incarnation++;
		*blen = (size_t)snprintf(body, cap,
		    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
		    "<GoalState xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
		    "xsi:noNamespaceSchemaLocation=\"goalstate10.xsd\">\r\n"
		    "  <Version>2015-04-05</Version>\r\n"
		    "  <Incarnation>%u</Incarnation>\r\n"
		    "  <Machine>\r\n    <ExpectedState>Started</ExpectedState>\r\n  </Machine>\r\n"
		    "  <Container>\r\n    <ContainerId>" GS_CONTAINER "</ContainerId>\r\n"
		    "    <RoleInstanceList>\r\n      <RoleInstance>\r\n"
		    "        <InstanceId>" GS_INSTANCE "</InstanceId>\r\n"
		    "        <State>Started</State>\r\n"
		    "      </RoleInstance>\r\n    </RoleInstanceList>\r\n  </Container>\r\n"
		    "</GoalState>\r\n", s->incarnation);
		return 200;
	}
	if (strcmp(q->method, "POST") == 0 && strcmp(q->target, "/machine?comp=health") == 0) {
		if (s->fail500_health > 0) {
			s->fail500_health--;
			return 500;
		}
		int st = health_check(s, q);
		if (st == 200)
			s->health_ok++;
		else
			s->health_bad++;
		return st;
	}
	return 404;
}

/* ---- connections ---- */

static void fake_release(void *ctx) { }

static void
answer(struct fake_conn *c, const struct fake_req *q)
{
	struct fake_srv *s = c->srv;
	static char body[32768];
	size_t blen;
	int st = fake_srv_handle(s, q, body, sizeof(body), &blen);
	if (st >= 0 && st < 600)
		s->statuses[st]++;
	if (s->silent)
		return;
	size_t o;
	if (s->garbage) {
		o = (size_t)snprintf(c->out, sizeof(c->out), "HTTP/1.1 2OO OK\r\n\r\n");
	} else if (s->chunked) {
		o = (size_t)snprintf(c->out, sizeof(c->out),
		    "HTTP/1.1 %d X\r\nTransfer-Encoding: chunked\r\n\r\n", st);
		/* Chunks of 7 bytes, a chunk extension on the first. */
		for (size_t i = 0; i < blen; i += 7) {
			size_t k = blen - i < 7 ? blen - i : 7;
			o += (size_t)snprintf(c->out + o, sizeof(c->out) - o, "%zx%s\r\n",
			    k, i == 0 ? ";x=y" : "");
			memcpy(c->out + o, body + i, k);
			o += k;
			o += (size_t)snprintf(c->out + o, sizeof(c->out) - o, "\r\n");
		}
		o += (size_t)snprintf(c->out + o, sizeof(c->out) - o, "0\r\n\r\n");
	} else {
		o = (size_t)snprintf(c->out, sizeof(c->out),
		    "HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
		    "Server: fake\r\n\r\n", st, blen);
		memcpy(c->out + o, body, blen);
		o += blen;
	}
	c->outlen = o;
	tcp_write_ref(c->pcb, c->out, c->outlen, fake_release, c, false);
	tcp_close(c->pcb);
}

static void
srv_recv(void *ctx, struct tcp_pcb *pcb, const uint8_t *d, size_t n, struct nic_buf *b)
{
	struct fake_conn *c = ctx;
	if (n == 0) {
		if (!c->answered)
			tcp_close(pcb);
		return;
	}
	if (c->answered)
		return;
	if (n > sizeof(c->buf) - 1 - c->len) {
		c->answered = true;
		tcp_close(pcb);
		return;
	}
	memcpy(c->buf + c->len, d, n);
	c->len += n;
	c->buf[c->len] = '\0';
	struct fake_req q;
	int rc = parse_req(c->buf, c->len, &q);
	if (rc == 0)
		return;
	c->answered = true;
	if (rc < 0) {
		c->srv->statuses[400]++;
		tcp_close(pcb);
		return;
	}
	answer(c, &q);
}

static void
srv_closed(void *ctx, struct tcp_pcb *pcb, int reason)
{
	struct fake_conn *c = ctx;
	if (c->pcb == pcb)
		c->pcb = NULL;
}

static void
srv_accept(void *ctx, struct tcp_pcb *pcb)
{
	struct fake_srv *s = ctx;
	struct fake_conn *c = NULL;
	for (int i = 0; i < 4 && c == NULL; i++)
		if (s->conns[i].pcb == NULL)
			c = &s->conns[i];
	static const struct tcp_cbs cbs = { srv_recv, srv_closed, NULL };
	if (c == NULL) {
		pcb->cbs = (struct tcp_cbs){ NULL, NULL, NULL };
		tcp_close(pcb);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->srv = s;
	c->pcb = pcb;
	pcb->cbs = cbs;
	pcb->ctx = c;
}

void
fake_srv_start(struct fake_srv *s, int kind, uint32_t ip, uint8_t mac_last)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	fake_hub_attach(&s->ns, ip, mac_last);
	tcp_listen(&s->ns, 80, srv_accept, s);
}
