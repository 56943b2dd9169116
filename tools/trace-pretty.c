/*
 * trace-pretty - print a hardware trace (docs/trace-format.md) with
 * register names.
 *
 *   trace-pretty [-l BAR,COMMON,ISR,DEVICE,NOTIFY] [-x] [file]
 *
 * Virtio devices (name starting "virtio-") get names for the common
 * configuration, ISR, notify and device-specific regions.  The regions'
 * places are not in the trace (the capabilities are parsed before tracing
 * starts), so the default is QEMU 7.2's modern virtio-pci layout: BAR 4,
 * common 0x0, ISR 0x1000, device 0x2000, notify 0x3000; -l overrides it.
 * NVMe devices ("nvme...") get the controller registers of BAR 0 (NVMe
 * Base 2.0 3.1.3) and doorbells as SQ<n>TDBL / CQ<n>HDBL (stride 4).
 * S (device wrote, the CPU reads) and D (the CPU wrote, the device reads)
 * events show their first 32 bytes and are checked for a hex length that
 * matches the byte count.
 * CPU-level events (m M msr read/write, X cpuid, H hypercall, B block
 * write, N random draw) are printed too; MSRs get their names (the
 * architectural ones the kernel uses and the Hyper-V synthetic MSRs of
 * PROTOCOLS.md B.2), hypercalls their call code (B.4), CPUID leaves
 * 0x40000000.. their Hyper-V meaning (B.1).
 * Non-event lines (firmware output on COM2) are dropped unless -x is given;
 * '#' comments are printed.  Exit status 1 on a sequence gap.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvme/nvme_reg.h"
#include "virtio/virtio_reg.h"

struct name {
	uint32_t off;
	const char *name;
};

static const struct name common_names[] = {
	{ VIRTIO_C_DFSELECT, "device_feature_select" },
	{ VIRTIO_C_DF, "device_feature" },
	{ VIRTIO_C_GFSELECT, "driver_feature_select" },
	{ VIRTIO_C_GF, "driver_feature" },
	{ VIRTIO_C_MSIX, "config_msix_vector" },
	{ VIRTIO_C_NUMQ, "num_queues" },
	{ VIRTIO_C_STATUS, "device_status" },
	{ VIRTIO_C_GEN, "config_generation" },
	{ VIRTIO_C_Q_SELECT, "queue_select" },
	{ VIRTIO_C_Q_SIZE, "queue_size" },
	{ VIRTIO_C_Q_MSIX, "queue_msix_vector" },
	{ VIRTIO_C_Q_ENABLE, "queue_enable" },
	{ VIRTIO_C_Q_NOFF, "queue_notify_off" },
	{ VIRTIO_C_Q_DESC, "queue_desc" },
	{ VIRTIO_C_Q_DESC + 4, "queue_desc_hi" },
	{ VIRTIO_C_Q_AVAIL, "queue_driver" },
	{ VIRTIO_C_Q_AVAIL + 4, "queue_driver_hi" },
	{ VIRTIO_C_Q_USED, "queue_device" },
	{ VIRTIO_C_Q_USED + 4, "queue_device_hi" },
	{ 0, NULL },
};

static const struct name blk_names[] = {
	{ VIRTIO_BLK_CFG_CAPACITY, "capacity" },
	{ VIRTIO_BLK_CFG_CAPACITY + 4, "capacity_hi" },
	{ VIRTIO_BLK_CFG_SIZE_MAX, "size_max" },
	{ VIRTIO_BLK_CFG_SEG_MAX, "seg_max" },
	{ VIRTIO_BLK_CFG_BLK_SIZE, "blk_size" },
	{ 0, NULL },
};

static const struct name net_names[] = {
	{ VIRTIO_NET_CFG_MAC + 0, "mac[0]" },
	{ VIRTIO_NET_CFG_MAC + 1, "mac[1]" },
	{ VIRTIO_NET_CFG_MAC + 2, "mac[2]" },
	{ VIRTIO_NET_CFG_MAC + 3, "mac[3]" },
	{ VIRTIO_NET_CFG_MAC + 4, "mac[4]" },
	{ VIRTIO_NET_CFG_MAC + 5, "mac[5]" },
	{ VIRTIO_NET_CFG_STATUS, "status" },
	{ 8, "max_virtqueue_pairs" },
	{ VIRTIO_NET_CFG_MTU, "mtu" },
	{ 0, NULL },
};

/* MSR names (Intel SDM 4; Hyper-V, PROTOCOLS.md B.2). */
static const char *
msr_name(uint32_t msr, char *buf, size_t n)
{
	static const struct { uint32_t msr; const char *name; } t[] = {
		{ 0x1b, "IA32_APIC_BASE" }, { 0x277, "IA32_PAT" },
		{ 0xc0000080, "IA32_EFER" },
		{ 0x40000000, "HV_GUEST_OS_ID" }, { 0x40000001, "HV_HYPERCALL" },
		{ 0x40000002, "HV_VP_INDEX" }, { 0x40000003, "HV_RESET" },
		{ 0x40000010, "HV_VP_RUNTIME" }, { 0x40000020, "HV_TIME_REF_COUNT" },
		{ 0x40000021, "HV_REFERENCE_TSC" }, { 0x40000022, "HV_TSC_FREQUENCY" },
		{ 0x40000023, "HV_APIC_FREQUENCY" }, { 0x40000073, "HV_VP_ASSIST_PAGE" },
		{ 0x40000080, "HV_SCONTROL" }, { 0x40000081, "HV_SVERSION" },
		{ 0x40000082, "HV_SIEFP" }, { 0x40000083, "HV_SIMP" },
		{ 0x40000084, "HV_EOM" }, { 0x400000f0, "HV_GUEST_IDLE" },
		{ 0x40000105, "HV_CRASH_CTL" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].msr == msr)
			return t[i].name;
	if (msr >= 0x40000090 && msr < 0x400000a0)
		snprintf(buf, n, "HV_SINT%u", msr - 0x40000090);
	else if (msr >= 0x400000b0 && msr < 0x400000b8)
		snprintf(buf, n, "HV_STIMER%u_%s", (msr - 0x400000b0) / 2,
		    (msr & 1) ? "COUNT" : "CONFIG");
	else if (msr >= 0x40000100 && msr < 0x40000105)
		snprintf(buf, n, "HV_CRASH_P%u", msr - 0x40000100);
	else
		snprintf(buf, n, "msr?");
	return buf;
}

static const char *
cpuid_name(unsigned long leaf)
{
	switch (leaf) {
	case 0x1: return "features";
	case 0x40000000: return "hypervisor vendor";
	case 0x40000001: return "Hyper-V interface";
	case 0x40000002: return "Hyper-V version";
	case 0x40000003: return "Hyper-V features";
	case 0x40000004: return "Hyper-V recommendations";
	case 0x40000005: return "Hyper-V limits";
	case 0x40000006: return "Hyper-V hardware features";
	}
	return "";
}

static const char *
hypercall_name(unsigned long long control)
{
	switch (control & 0xffff) {
	case 0x5c: return "HvPostMessage";
	case 0x5d: return "HvSignalEvent";
	}
	return "hypercall?";
}

static unsigned long lay_bar = 4, lay_common = 0, lay_isr = 0x1000;
static unsigned long lay_device = 0x2000, lay_notify = 0x3000;

static const char *
lookup(const struct name *t, uint32_t off)
{
	for (; t->name != NULL; t++)
		if (t->off == off)
			return t->name;
	return NULL;
}

static void
status_bits(uint64_t v, char *out, size_t n)
{
	static const struct { uint64_t bit; const char *s; } b[] = {
		{ 1, "ACK" }, { 2, "DRIVER" }, { 4, "DRIVER_OK" },
		{ 8, "FEATURES_OK" }, { 64, "NEEDS_RESET" }, { 128, "FAILED" },
	};
	out[0] = '\0';
	if (v == 0) {
		snprintf(out, n, " (reset)");
		return;
	}
	size_t len = 0;
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		if (v & b[i].bit)
			len += (size_t)snprintf(out + len, len < n ? n - len : 0,
			    "%s%s", len ? "|" : " (", b[i].s);
	if (len > 0 && len < n)
		snprintf(out + len, n - len, ")");
}

static const struct name nvme_names[] = {
	{ NVME_CAP, "CAP" }, { NVME_CAP + 4, "CAP.hi" }, { NVME_VS, "VS" },
	{ NVME_INTMS, "INTMS" }, { 0x10, "INTMC" }, { NVME_CC, "CC" },
	{ NVME_CSTS, "CSTS" }, { NVME_AQA, "AQA" }, { NVME_ASQ, "ASQ" },
	{ NVME_ASQ + 4, "ASQ.hi" }, { NVME_ACQ, "ACQ" }, { NVME_ACQ + 4, "ACQ.hi" },
	{ 0, NULL },
};

/* Name of an NVMe controller register (BAR 0), into buf. */
static void
nvme_name(unsigned long bar, unsigned long off, char *buf, size_t n)
{
	const char *nm;
	buf[0] = '\0';
	if (bar != 0)
		return;
	if (off >= NVME_DB_BASE) {
		unsigned long i = (off - NVME_DB_BASE) / 4;
		snprintf(buf, n, "%s%lu%s", i & 1 ? "CQ" : "SQ", i / 2, i & 1 ? "HDBL" : "TDBL");
	} else if ((nm = lookup(nvme_names, (uint32_t)off)) != NULL) {
		snprintf(buf, n, "%s", nm);
	}
}

/* Name of a register of a virtio device, into buf. */
static void
virtio_name(const char *dev, unsigned long bar, unsigned long off, uint64_t v,
    char *buf, size_t n)
{
	const char *nm;
	buf[0] = '\0';
	if (bar != lay_bar)
		return;
	if (off >= lay_common && off < lay_common + 0x38 &&
	    (nm = lookup(common_names, (uint32_t)(off - lay_common))) != NULL) {
		char st[64] = "";
		if (off - lay_common == VIRTIO_C_STATUS)
			status_bits(v, st, sizeof(st));
		snprintf(buf, n, "common.%s%s", nm, st);
	} else if (off == lay_isr) {
		snprintf(buf, n, "isr");
	} else if (off >= lay_notify && off < lay_notify + 0x1000) {
		snprintf(buf, n, "notify+0x%lx", off - lay_notify);
	} else if (off >= lay_device && off < lay_device + 0x1000) {
		const struct name *t = strncmp(dev, "virtio-blk", 10) == 0 ?
		    blk_names : strncmp(dev, "virtio-net", 10) == 0 ? net_names : NULL;
		nm = t ? lookup(t, (uint32_t)(off - lay_device)) : NULL;
		if (nm != NULL)
			snprintf(buf, n, "device.%s", nm);
		else
			snprintf(buf, n, "device+0x%lx", off - lay_device);
	}
}

static int
parse_layout(const char *s)
{
	unsigned long v[5];
	char *end;
	for (int i = 0; i < 5; i++) {
		v[i] = strtoul(s, &end, 0);
		if (end == s || (i < 4 && *end != ',') || (i == 4 && *end != '\0'))
			return -1;
		s = end + 1;
	}
	lay_bar = v[0];
	lay_common = v[1];
	lay_isr = v[2];
	lay_device = v[3];
	lay_notify = v[4];
	return 0;
}

int
main(int argc, char **argv)
{
	int keep_other = 0, rc = 0;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-x") == 0)
			keep_other = 1;
		else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc) {
			if (parse_layout(argv[++i]) < 0) {
				fprintf(stderr, "trace-pretty: bad -l %s\n", argv[i]);
				return 2;
			}
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "usage: trace-pretty [-l BAR,COMMON,ISR,DEVICE,NOTIFY] [-x] [file]\n");
			return 2;
		} else
			path = argv[i];
	}
	FILE *f = path && strcmp(path, "-") != 0 ? fopen(path, "r") : stdin;
	if (f == NULL) {
		perror(path);
		return 2;
	}
	char *line = NULL;
	size_t cap = 0;
	long expect = -1;
	char lastdev[64] = "";
	unsigned long events = 0;
	while (getline(&line, &cap, f) != -1) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#') {
			printf("%s\n", line);
			continue;
		}
		char dev[64], kind;
		long seq;
		int used = 0;
		if (sscanf(line, "%63s %ld %c%n", dev, &seq, &kind, &used) != 3 ||
		    strchr("RWcCAVSDTImMXHBN", kind) == NULL ||
		    (line[used] != ' ' && line[used] != '\0')) {
			if (keep_other)
				printf("| %s\n", line);
			continue;
		}
		if (strcmp(dev, lastdev) != 0) {
			snprintf(lastdev, sizeof(lastdev), "%s", dev);
			expect = seq;
		}
		if (seq != expect) {
			printf("!! %s: sequence gap, expected %ld, got %ld\n", dev,
			    expect, seq);
			rc = 1;
		}
		expect = seq + 1;
		events++;
		const char *rest = line + used;
		unsigned long bar, width, off;
		unsigned long long v, pa, len;
		char name[96] = "";
		switch (kind) {
		case 'R':
		case 'W':
			if (sscanf(rest, "%lu %lu %li %lli", &bar, &width, &off, &v) == 4 &&
			    strncmp(dev, "virtio-", 7) == 0)
				virtio_name(dev, bar, off, v, name, sizeof(name));
			else if (sscanf(rest, "%lu %lu %li %lli", &bar, &width, &off, &v) == 4 &&
			    strncmp(dev, "nvme", 4) == 0)
				nvme_name(bar, off, name, sizeof(name));
			if (sscanf(rest, "%lu %lu %li %lli", &bar, &width, &off, &v) == 4)
				printf("%-12s %6ld %s%-2lu bar%lu+0x%04lx = 0x%llx  %s\n", dev,
				    seq, kind == 'R' ? "read" : "write", width * 8, bar,
				    off, v, name);
			else
				printf("%-12s %6ld %c?%s\n", dev, seq, kind, rest);
			break;
		case 'c':
		case 'C':
			if (sscanf(rest, "%lu %li %lli", &width, &off, &v) == 3)
				printf("%-12s %6ld cfg %s%lu 0x%03lx = 0x%llx\n", dev, seq,
				    kind == 'c' ? "read " : "write", width * 8, off, v);
			break;
		case 'A':
			if (sscanf(rest, "%lli %lli", &pa, &len) == 2)
				printf("%-12s %6ld dma alloc pa=0x%llx len=%llu\n", dev, seq,
				    pa, len);
			break;
		case 'V':
			if (sscanf(rest, "%lli", &pa) == 1)
				printf("%-12s %6ld virt_to_phys -> 0x%llx\n", dev, seq, pa);
			break;
		case 'S':
		case 'D': {
			int k = 0;
			if (sscanf(rest, "%lli %llu %n", &pa, &len, &k) >= 2) {
				const char *hex = rest + k;
				printf("%-12s %6ld %s pa=0x%llx len=%llu:", dev, seq,
				    kind == 'S' ? "sync" : "dev reads", pa, len);
				size_t hl = strlen(hex);
				for (size_t i = 0; i + 1 < hl && i < 64; i += 2)
					printf("%s%c%c", i % 8 == 0 ? " " : "", hex[i], hex[i + 1]);
				if (hl > 64)
					printf(" ...");
				if (hl != len * 2) {
					printf("  !! %zu hex digits for %llu bytes", hl, len);
					rc = 1;
				}
				printf("\n");
			}
			break;
		}
		case 'B': {	/* an LLQ entry or other block write */
			int k = 0;
			if (sscanf(rest, "%lu %li %llu %n", &bar, &off, &len, &k) >= 3) {
				const char *hex = rest + k;
				size_t hl = strlen(hex);
				printf("%-12s %6ld block write bar%lu+0x%04lx len=%llu:", dev, seq,
				    bar, off, len);
				for (size_t i = 0; i + 1 < hl && i < 64; i += 2)
					printf("%s%c%c", i % 8 == 0 ? " " : "", hex[i], hex[i + 1]);
				if (hl > 64)
					printf(" ...");
				if (hl != len * 2 || len % 8 != 0) {
					printf("  !! %zu hex digits for %llu bytes", hl, len);
					rc = 1;
				}
				printf("\n");
			}
			break;
		}
		case 'T':
			if (sscanf(rest, "%llu", &v) == 1)
				printf("%-12s %6ld time %llu.%06llu ms\n", dev, seq,
				    v / 1000000, v % 1000000);
			break;
		case 'm':
		case 'M': {
			unsigned long msr;
			if (sscanf(rest, "%lx %llx", &msr, &v) == 2)
				printf("%-12s %6ld msr %s 0x%08lx = 0x%llx  %s\n", dev, seq,
				    kind == 'm' ? "read " : "write", msr, v,
				    msr_name((uint32_t)msr, name, sizeof(name)));
			else
				printf("%-12s %6ld %c?%s\n", dev, seq, kind, rest);
			break;
		}
		case 'X': {
			unsigned long leaf, sub, r0, r1, r2, r3;
			if (sscanf(rest, "%lx %lx %lx %lx %lx %lx", &leaf, &sub, &r0, &r1,
			    &r2, &r3) == 6)
				printf("%-12s %6ld cpuid 0x%lx.%lu = %08lx %08lx %08lx %08lx  %s\n",
				    dev, seq, leaf, sub, r0, r1, r2, r3, cpuid_name(leaf));
			else
				printf("%-12s %6ld X?%s\n", dev, seq, rest);
			break;
		}
		case 'H': {
			unsigned long long ctl, in, out;
			if (sscanf(rest, "%llx %llx %llx %llx", &ctl, &in, &out, &v) == 4)
				printf("%-12s %6ld hypercall %s (control 0x%llx%s) in=0x%llx out=0x%llx -> status %llu\n",
				    dev, seq, hypercall_name(ctl), ctl,
				    (ctl >> 16) & 1 ? ", fast" : "", in, out, v & 0xffff);
			else
				printf("%-12s %6ld H?%s\n", dev, seq, rest);
			break;
		}
		default:
			printf("%-12s %6ld %c%s\n", dev, seq, kind, rest);
		}
	}
	free(line);
	if (f != stdin)
		fclose(f);
	fprintf(stderr, "trace-pretty: %lu events\n", events);
	return rc;
}
