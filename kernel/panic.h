/*
 * panic.h - stopping the machine, and the isa-debug-exit codes.
 *
 * Under QEMU with -device isa-debug-exit,iobase=0xf4,iosize=0x04 the
 * process exits with status (code << 1) | 1; elsewhere the write is
 * harmless and the CPU halts (or ACPI powers off when available).
 * The codes are part of docs/markers.md.
 */
#ifndef TERN_PANIC_H
#define TERN_PANIC_H

#include <stdint.h>

enum tern_exit {
	EXIT_BOOT_OK = 0x10,	/* exit=boot_ok after TERN BOOT_OK: qemu 33 */
	EXIT_READY = 0x11,	/* exit=ready after TERN READY:     qemu 35 */
	EXIT_TEST_OK = 0x12,	/* a test= hook passed:             qemu 37 */
	EXIT_NET_UP = 0x14,	/* exit=net_up after TERN NET_UP:    qemu 41 */
	EXIT_POWEROFF = 0x13,	/* orderly halt/poweroff:           qemu 39 */
	EXIT_PANIC = 0x20,	/* TERN PANIC (exception, assert):   qemu 65 */
	EXIT_FAIL = 0x21,	/* TERN FAIL stage=... :             qemu 67 */
	EXIT_TEST_FAIL = 0x22,	/* a test= hook failed:              qemu 69 */
};

/* Set once ACPI is known (ACPI S5); machine_exit tries it after the
   debug-exit port.  It returns only if power-off failed. */
extern void (*machine_poweroff_hook)(void);

/* Orderly device shutdown (disks write back and stop), run once by
   machine_exit before it leaves, for every code except EXIT_PANIC. */
extern void (*machine_shutdown_hook)(void);
/* Optional: tells the hypervisor about a panic (Hyper-V crash MSRs,
   kernel/hv), called once by panic() after the TERN PANIC line. */
extern void (*panic_report_hook)(const char *reason);

/* A CPU exception, as offered to exception_hook. */
struct exc_info {
	int vector;
	const char *name;		/* "page-fault", ... */
	uint64_t error, rip, cr2, rsp, rflags;
};

/* Offered every CPU exception (vectors 0-31) before the kernel reports it
   with TERN PANIC; pal/rt.c installs it.  The hook runs on the faulting
   context's stack (or the vector's IST stack), with interrupts disabled.
   It returns when the fault is not one it can contain (the kernel then
   panics); otherwise it MUST NOT return: it leaves the faulting context
   for good (the runtime switches to its scheduler).  NULL: every
   exception panics. */
extern void (*exception_hook)(const struct exc_info *ei);

/* Leave through isa-debug-exit if present, else power off / halt. */
__attribute__((noreturn)) void machine_exit(int code);

/* Print "TERN PANIC reason=..." with a register dump where known; stops. */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

/* Print "TERN FAIL stage=<stage> reason=<reason>" and stop with EXIT_FAIL. */
__attribute__((noreturn)) void fail(const char *stage, const char *reason);

#define KASSERT(c) do { if (!(c)) panic("assert %s at %s:%d", #c, __FILE__, __LINE__); } while (0)

#endif
