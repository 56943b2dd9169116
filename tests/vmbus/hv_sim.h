/*
 * hv_sim.h - a strict Hyper-V host simulator (PROTOCOLS.md B.1-B.10,
 * checklist B.15) as a struct hw_ops backend: CPUID leaves, synthetic
 * MSRs, HvPostMessage / HvSignalEvent, SynIC message delivery with the
 * slot-busy, msg_pending and EOM rules, the event page, the reference
 * TSC page, and the VMBus host (contact, offers, GPADL, open, close,
 * rescind, unload) with the host ends of channel rings.
 *
 * Strict: every field the guest sends is checked; a violation is
 * recorded (hv_sim_error_count, hv_sim_has_error) and the call fails the
 * way a host would, so tests assert both the guest's reaction and that
 * a correct guest made no protocol error.  Time is virtual: delays and
 * interrupt waits advance it.  Guest memory is whatever the guest got
 * from dma_alloc (pa == va); any other address the guest hands the host
 * is an error.
 */
#ifndef TERN_TESTS_HV_SIM_H
#define TERN_TESTS_HV_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/hw/hw.h"

#define SIM_MAX_CHANS	8
#define SIM_MAX_GPADLS	16
#define SIM_MAX_PFNS	1024
#define SIM_QLEN	64
#define SIM_MAX_ALLOCS	64
#define SIM_MAX_ERRS	16

struct sim_ring {			/* host view of one ring */
	uint8_t *base;			/* header page */
	uint32_t dsize;
};

struct sim_chan {
	bool present;			/* offered and not rescinded */
	bool rescinded;			/* waiting for RELID_RELEASED */
	bool open;
	uint8_t class_guid[16], instance[16];
	uint32_t relid, conn_id;
	uint16_t sub_index;
	uint32_t gpadl;			/* ring GPADL while open */
	struct sim_ring in, out;	/* in: guest->host, out: host->guest */
	uint64_t signals;		/* HvSignalEvent from the guest */
	uint64_t guest_irqs;		/* host signalled the guest */
	/* B.10 writer audit of the guest->host ring (every host read and
	   hv_sim_chan_audit): the write index and the free bytes when last
	   looked at, plus what the host has read since.  The guest may
	   have written less than that since, never more. */
	bool audited;
	uint32_t audit_w, audit_free;
	uint64_t pend_signals;		/* guest signalled: pending_send_sz
					   bytes became free */
};

struct sim_gpadl {
	bool used, created;
	uint32_t handle, relid;
	uint32_t npfn, got;
	uint32_t byte_count;
	uint64_t pfn[SIM_MAX_PFNS];
};

struct sim_msg {
	uint8_t len;
	uint64_t at_ns;			/* deliver no earlier than this */
	uint8_t data[240];
};

struct hv_sim;
/* Device hook (a VSP): called when the guest signals channel `c`, from
   inside the guest's HvSignalEvent.  The guest signals only when the
   ring goes from empty to non-empty, so the hook drains every packet with
   hv_sim_chan_recv; it may answer with hv_sim_chan_send and MUST NOT call
   guest code. */
typedef void (*hv_sim_hook)(struct hv_sim *s, struct sim_chan *c, void *ctx);

struct hv_sim {
	struct hw_dev dev;
	uint64_t now_ns;
	uint64_t tsc_hz;
	/* CPUID (defaults: Hyper-V 10.0.20348 with everything offered). */
	bool not_hyperv;
	uint32_t max_leaf, priv_lo, priv_hi, misc, recommend;
	/* MSRs */
	uint64_t guest_os_id, hypercall, scontrol, simp, siefp, ref_tsc;
	uint64_t sint[16], crash[6];
	uint32_t vp_index;
	uint64_t eoms, irqs;
	bool irq_pending;
	bool eom_needed;		/* msg_pending shown: wait for EOM */
	/* TSC page behaviour */
	bool f_tsc_seq0;		/* publish sequence 0 (invalid page) */
	int f_tsc_bump;			/* bump the sequence on the next n TSC reads */
	uint32_t tsc_seq;
	/* Message queue for SINT2 */
	struct sim_msg q[SIM_QLEN];
	int qhead, qlen;
	/* VMBus host */
	uint32_t ver_max, ver_min;	/* accepted versions */
	bool conn4_unknown;		/* a <= 4.x host: connection 4 fails */
	bool connected;
	uint32_t version, msg_conn_id;
	uint32_t contacts;		/* INITIATE_CONTACTs seen */
	struct sim_chan ch[SIM_MAX_CHANS];
	struct sim_gpadl gp[SIM_MAX_GPADLS];
	/* Faults */
	bool f_mute;			/* never answer anything */
	bool f_mute_open;		/* never answer OPENCHANNEL */
	bool f_rescind_on_open;		/* answer OPENCHANNEL with a rescind */
	uint32_t f_gpadl_status;	/* GPADL_CREATED status */
	uint32_t f_open_status;		/* OPENCHANNEL_RESULT status */
	uint64_t f_offer_delay_ns;	/* offers arrive this late */
	int f_busy_posts;		/* next n posts: INSUFFICIENT_BUFFERS */
	int f_dma_fail_at;		/* n-th dma_alloc from now fails (0: never) */
	int f_drop_at;			/* n-th host reply from now is lost (0: never) */
	/* Counters */
	uint64_t posts, post_msgs[32], signals, unloads, relid_released;
	uint64_t signals_after_rescind;	/* ignored: rescinded, not released */
	/* Memory the guest allocated: the only valid guest addresses. */
	struct { uint8_t *va; size_t len; } mem[SIM_MAX_ALLOCS];
	int nalloc;
	/* Optional fixed arena (hv_sim_use_arena): guest memory at the same
	   addresses on every run, so a recorded trace is reproducible. */
	uint8_t *arena;
	size_t arena_len, arena_used;
	/* ternsim: every address is guest memory (the kernel heap is the
	   process's malloc, not dma_alloc). */
	bool gpa_any;
	/* Errors */
	int nerr;
	char err[SIM_MAX_ERRS][160];
	hv_sim_hook hook;
	void *hook_ctx;
	/* Synthetic timer 0 (B.6), run by simulated time: expiries happen
	   in hv_sim_advance, delay_us and intr_wait. */
	uint64_t stimer_config, stimer_count;
	uint64_t stimer_next_ns;	/* next expiry (sim time), 0: none */
	uint64_t stimer_fires;		/* expiries */
	uint64_t stimer_direct_irqs;	/* direct mode: vector raised */
	int stimer_vec;			/* vector last raised in direct mode */
	uint64_t stimer_msgs;		/* message mode: messages delivered */
	uint64_t stimer_lost;		/* message mode: SINT/SIMP not ready */
	bool stimer_msg_wait;		/* an expiry waits for the slot (EOM) */
	uint64_t stimer_msg_exp;	/* its expiration time (100 ns) */
};

extern const struct hw_ops hv_sim_ops;

void hv_sim_init(struct hv_sim *s);
/* Free guest memory still allocated (leak check: returns the count). */
int hv_sim_fini(struct hv_sim *s);
/* The simulator's TSC (for hv->read_tsc). */
uint64_t hv_sim_read_tsc(struct hw_dev *d);

/* Add a channel offer (before REQUEST_OFFERS, or later: then it is sent
   at once).  Returns the channel or NULL. */
struct sim_chan *hv_sim_offer(struct hv_sim *s, const uint8_t class_guid[16],
    uint8_t inst_last, uint32_t relid, uint32_t conn_id);
/* The same for a sub-channel (sub_index > 0) of the device whose
   instance GUID ends in inst_last. */
struct sim_chan *hv_sim_offer_sub(struct hv_sim *s, const uint8_t class_guid[16],
    uint8_t inst_last, uint32_t relid, uint32_t conn_id, uint16_t sub_index);
struct sim_chan *hv_sim_chan(struct hv_sim *s, uint32_t relid);
void hv_sim_rescind(struct hv_sim *s, uint32_t relid);
/* Queue a raw host message (for malformed-input tests). */
void hv_sim_queue(struct hv_sim *s, const void *msg, size_t len);

/* Host end of a channel: write a packet into the host->guest ring with
   the B.10 rules and signal the guest when needed.  Returns 0, -1 if
   full or the channel is not open. */
int hv_sim_chan_send(struct hv_sim *s, struct sim_chan *c, uint16_t type,
    uint16_t flags, uint64_t trans_id, const void *data, size_t len);
/* Read one packet the guest sent (checks indices, lengths, trailer).
   Returns the payload length, -1 when empty, -2 on a protocol error. */
/* Check the guest's writes to the guest->host ring since the last look
   (B.10): no more bytes than were free (never exactly full), and a
   pending_send_sz below the ring size.  Violations go to the error
   list; returns the free bytes now.  Every host read audits too. */
uint32_t hv_sim_chan_audit(struct hv_sim *s, struct sim_chan *c);
int hv_sim_chan_recv(struct hv_sim *s, struct sim_chan *c, void *buf,
    size_t buflen, uint16_t *type, uint64_t *trans_id);
/* The same with a type-specific header after the descriptor (ext,
   extlen a multiple of 8: transfer-page ranges), and, on receive, the
   guest's type-specific header (GPA-direct page buffers): up to extcap
   bytes into ext, its full length in *extlen; flags the descriptor's. */
int hv_sim_chan_send_ext(struct hv_sim *s, struct sim_chan *c, uint16_t type,
    uint16_t flags, uint64_t trans_id, const void *ext, size_t extlen,
    const void *data, size_t len);
int hv_sim_chan_recv_ext(struct hv_sim *s, struct sim_chan *c, void *buf,
    size_t buflen, void *ext, size_t extcap, size_t *extlen, uint16_t *type,
    uint64_t *trans_id, uint16_t *flags);
/* Guest memory as the host sees it: a guest physical range (NULL and a
   recorded error when it is not guest memory), or `len` bytes at `off`
   in a created GPADL of channel `relid` (NULL when outside it). */
void *hv_sim_guest_va(struct hv_sim *s, uint64_t pa, size_t len,
    const char *what);
void *hv_sim_gpadl_va(struct hv_sim *s, uint32_t handle, uint32_t relid,
    uint64_t off, size_t len);

/* Take guest memory from `len` bytes mapped at the fixed address `base`
   from now on (bump allocation, never reused).  False when the address
   cannot be had (memory then comes from the heap as before). */
bool hv_sim_use_arena(struct hv_sim *s, uint64_t base, size_t len);

/* Let simulated time pass by `ns`, firing synthetic timer expiries
   and delivering due messages on the way. */
void hv_sim_advance(struct hv_sim *s, uint64_t ns);
/* The same, but the whole packet from its 16-byte descriptor on, so a
   VSP sees the type-specific header (GPA ranges); *hdr_len gets offset8
   * 8.  Returns the packet length (len8 * 8), -1 empty, -2 error. */
int hv_sim_chan_recv_pkt(struct hv_sim *s, struct sim_chan *c, void *buf,
    size_t buflen, uint16_t *type, uint64_t *trans_id, uint32_t *hdr_len);
/* For VSPs: the host view of guest memory [pa, pa + len) (NULL and a
   protocol error when it is not guest memory; with gpa_any any address). */
void *hv_sim_gpa(struct hv_sim *s, uint64_t pa, size_t len, const char *what);

int hv_sim_error_count(const struct hv_sim *s);
/* Record a protocol error found by a VSP (a device hook). */
void hv_sim_error(struct hv_sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool hv_sim_has_error(const struct hv_sim *s, const char *substr);
void hv_sim_clear_errors(struct hv_sim *s);

/* Class GUIDs (B.14, wire order). */
extern const uint8_t hv_sim_guid_netvsc[16];
extern const uint8_t hv_sim_guid_storvsc[16];

#endif
