/*
 * hv_reg.h - Hyper-V enlightenment wire layouts and numbers: CPUID leaves
 * (PROTOCOLS.md B.1), synthetic MSRs (B.2), the guest OS id (B.3),
 * hypercall codes and the PostMessage input (B.4), SynIC message and event
 * pages (B.5), the reference TSC page (B.6).  Layout only; no code.
 */
#ifndef TERN_HV_REG_H
#define TERN_HV_REG_H

#include <stddef.h>
#include <stdint.h>

/* B.1 CPUID leaves. */
#define HV_CPUID_VENDOR		0x40000000u
#define HV_CPUID_IFACE		0x40000001u
#define HV_CPUID_VERSION	0x40000002u
#define HV_CPUID_FEATURES	0x40000003u
#define HV_CPUID_RECOMMEND	0x40000004u
#define HV_CPUID_LIMITS		0x40000005u
#define HV_CPUID_HWFEAT		0x40000006u
#define HV_CPUID_LAST		0x4000000Au	/* highest leaf we read */
#define HV_CPUID_NLEAVES	(HV_CPUID_LAST - HV_CPUID_VENDOR + 1)

#define HV_VENDOR_EBX		0x7263694Du	/* "Micr" */
#define HV_VENDOR_ECX		0x666F736Fu	/* "osof" */
#define HV_VENDOR_EDX		0x76482074u	/* "t Hv" */
#define HV_IFACE_SIG		0x31237648u	/* "Hv#1" */

/* 0x40000003 EAX: partition privileges, low half. */
#define HV_P_VP_RUNTIME		(1u << 0)
#define HV_P_TIME_REF_COUNT	(1u << 1)
#define HV_P_SYNIC		(1u << 2)
#define HV_P_STIMER		(1u << 3)
#define HV_P_APIC_MSRS		(1u << 4)
#define HV_P_HYPERCALL		(1u << 5)
#define HV_P_VP_INDEX		(1u << 6)
#define HV_P_RESET		(1u << 7)
#define HV_P_REF_TSC		(1u << 9)
#define HV_P_FREQ_MSRS		(1u << 11)
/* 0x40000003 EBX: privileges, high half. */
#define HV_PH_POST_MESSAGES	(1u << 4)
#define HV_PH_SIGNAL_EVENTS	(1u << 5)
/* 0x40000003 EDX: miscellaneous features. */
#define HV_M_FREQ_MSRS		(1u << 8)
#define HV_M_CRASH_MSRS		(1u << 10)
#define HV_M_STIMER_DIRECT	(1u << 19)
/* 0x40000004 EAX: recommendations. */
#define HV_R_DEPRECATE_AUTOEOI	(1u << 9)

/* B.2 synthetic MSRs. */
#define HV_MSR_GUEST_OS_ID	0x40000000u
#define HV_MSR_HYPERCALL	0x40000001u
#define HV_MSR_VP_INDEX		0x40000002u
#define HV_MSR_TIME_REF_COUNT	0x40000020u
#define HV_MSR_REFERENCE_TSC	0x40000021u
#define HV_MSR_TSC_FREQUENCY	0x40000022u
#define HV_MSR_SCONTROL		0x40000080u
#define HV_MSR_SVERSION		0x40000081u
#define HV_MSR_SIEFP		0x40000082u
#define HV_MSR_SIMP		0x40000083u
#define HV_MSR_EOM		0x40000084u
#define HV_MSR_SINT0		0x40000090u
#define HV_MSR_STIMER0_CONFIG	0x400000B0u
#define HV_MSR_STIMER0_COUNT	0x400000B1u
#define HV_MSR_CRASH_P0		0x40000100u
#define HV_MSR_CRASH_CTL	0x40000105u

/* Page-address MSRs (HYPERCALL, REFERENCE_TSC, SIMP, SIEFP): bit 0
   enable, 11:1 preserved, 63:12 the page number. */
#define HV_PAGE_ENABLE		1ull
#define HV_PAGE_KEEP		0xffeull
#define HV_PAGE_MASK		(~0xfffull)

/* SINTn. */
#define HV_SINT_VECTOR_MASK	0xffull
#define HV_SINT_MASKED		(1ull << 16)
#define HV_SINT_AUTOEOI		(1ull << 17)
#define HV_SINT_VMBUS		2u	/* the VMBus SINT (B.5) */

#define HV_CRASH_CTL_NOTIFY	(1ull << 63)

/* B.6 STIMERn_CONFIG.  COUNT: one-shot = absolute expiry in reference
   time (100 ns), periodic = the period (100 ns); 0 stops the timer. */
#define HV_STIMER_ENABLE	(1ull << 0)
#define HV_STIMER_PERIODIC	(1ull << 1)
#define HV_STIMER_LAZY		(1ull << 2)
#define HV_STIMER_AUTO_ENABLE	(1ull << 3)
#define HV_STIMER_VECTOR_SHIFT	4		/* 11:4, direct mode only */
#define HV_STIMER_VECTOR_MASK	(0xffull << HV_STIMER_VECTOR_SHIFT)
#define HV_STIMER_DIRECT	(1ull << 12)
#define HV_STIMER_SINT_SHIFT	16		/* 19:16, message mode */
#define HV_STIMER_SINT_MASK	(0xfull << HV_STIMER_SINT_SHIFT)
#define HV_STIMER_RESERVED	(~0xf1fffull)	/* 63:20 and 15:13 */
/* The SINT tern gives timer messages: its own slot and vector, so a
   tick never sits in the VMBus slot (Linux shares SINT2; B.6 lets the
   guest pick any SINTx). */
#define HV_SINT_TIMER		3u

/* B.3: open-source format.  OS type 0x54 ('T') is tern's own choice;
   no registry of these numbers is known. */
#define HV_OSID_OPEN_SOURCE	(1ull << 63)
#define HV_OSID_TYPE_TERN	0x54ull
#define HV_OSID_TYPE_SHIFT	56

/* B.4 hypercalls. */
#define HV_CALL_POST_MESSAGE	0x005Cu
#define HV_CALL_SIGNAL_EVENT	0x005Du
#define HV_CALL_FAST		(1ull << 16)
#define HV_CALL_STATUS(r)	((uint16_t)((r) & 0xffff))

#define HV_STATUS_SUCCESS		0
#define HV_STATUS_INVALID_CODE		2
#define HV_STATUS_INVALID_INPUT		3
#define HV_STATUS_INVALID_ALIGNMENT	4
#define HV_STATUS_INVALID_PARAMETER	5
#define HV_STATUS_INSUFFICIENT_MEMORY	11
#define HV_STATUS_INVALID_PORT_ID	17
#define HV_STATUS_INVALID_CONNECTION_ID	18
#define HV_STATUS_INSUFFICIENT_BUFFERS	19

#define HV_MSG_PAYLOAD		240	/* bytes of payload in a message */

/* HvPostMessage input (B.4), 256 bytes. */
struct hv_post_msg {
	uint32_t connection_id;		/* 23:0 */
	uint32_t reserved;
	uint32_t message_type;		/* VMBus: 1 */
	uint32_t payload_size;		/* <= 240 */
	uint8_t payload[HV_MSG_PAYLOAD];
};
_Static_assert(sizeof(struct hv_post_msg) == 256, "B.4 post message");
_Static_assert(offsetof(struct hv_post_msg, payload_size) == 12, "B.4");
_Static_assert(offsetof(struct hv_post_msg, payload) == 16, "B.4");

/* B.5 message page: 16 slots of 256 bytes, slot n for SINTn. */
#define HV_MSGTYPE_NONE		0u
#define HV_MSGTYPE_VMBUS	1u
#define HV_MSGTYPE_TIMER	0x80000010u
#define HV_MSGFLAG_PENDING	0x01u

struct hv_message {
	uint32_t message_type;
	uint8_t payload_size;
	uint8_t flags;			/* bit0 msg_pending */
	uint16_t reserved;
	uint64_t sender;
	uint8_t payload[HV_MSG_PAYLOAD];
};
_Static_assert(sizeof(struct hv_message) == 256, "B.5 message slot");
_Static_assert(offsetof(struct hv_message, payload_size) == 4, "B.5");
_Static_assert(offsetof(struct hv_message, flags) == 5, "B.5");
_Static_assert(offsetof(struct hv_message, sender) == 8, "B.5");
_Static_assert(offsetof(struct hv_message, payload) == 16, "B.5");

#define HV_SINT_COUNT		16

/* B.6 HVMSG_TIMER_EXPIRED payload (message type 0x80000010). */
struct hv_timer_msg {
	uint32_t timer_index;
	uint32_t reserved;
	uint64_t expiration_time;	/* 100 ns reference time */
	uint64_t delivery_time;
};
_Static_assert(sizeof(struct hv_timer_msg) == 24, "B.6 timer message");
_Static_assert(offsetof(struct hv_timer_msg, expiration_time) == 8, "B.6");
_Static_assert(offsetof(struct hv_timer_msg, delivery_time) == 16, "B.6");
#define HV_EVENT_AREA		256	/* bytes of flags per SINT (2048 bits) */
#define HV_EVENT_BITS		(HV_EVENT_AREA * 8)

/* B.6 reference TSC page (first 24 bytes of a 4 KiB page). */
struct hv_tsc_page {
	uint32_t sequence;		/* 0: invalid, use TIME_REF_COUNT */
	uint32_t reserved;
	uint64_t scale;
	int64_t offset;
};
_Static_assert(offsetof(struct hv_tsc_page, scale) == 8, "B.6");
_Static_assert(offsetof(struct hv_tsc_page, offset) == 16, "B.6");

#define HV_PAGE_SIZE		4096u

#endif /* TERN_HV_REG_H */
