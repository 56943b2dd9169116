/*
 * panic.c - stopping the machine: panic(), fail(), machine_exit(), and the
 * stack-protector hooks.
 *
 * Under QEMU the isa-debug-exit device (port 0xf4) turns the exit code into
 * the process status; on real clouds the write hits nothing and we halt
 * with interrupts off so the serial log stays as the last word.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "kernel/panic.h"

/* Set from an early random seed in kmain before anything else runs. */
uint64_t __stack_chk_guard = 0x595e9fbd94fda766ULL;

/* Optional platform power-off (ACPI S5), installed once ACPI is parsed. */
void (*machine_poweroff_hook)(void);
void (*machine_shutdown_hook)(void);
void (*panic_report_hook)(const char *reason);

void
machine_exit(int code)
{
	/* After a panic the machine is not trusted to drive devices. */
	static bool shutting_down;
	if (code != EXIT_PANIC && machine_shutdown_hook != NULL && !shutting_down) {
		shutting_down = true;
		machine_shutdown_hook();
	}
	cpu_cli();
	outb(DEBUG_EXIT_PORT, (uint8_t)code);
	if (machine_poweroff_hook != NULL)
		machine_poweroff_hook();
	for (;;)
		cpu_hlt();
}

void
panic(const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	cpu_cli();
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	marker("PANIC reason=\"%s\"", buf);
	/* Once: a hook that panics itself must not loop. */
	void (*report)(const char *) = panic_report_hook;
	panic_report_hook = NULL;
	if (report != NULL)
		report(buf);
	machine_exit(EXIT_PANIC);
}

void
fail(const char *stage, const char *reason)
{
	marker("FAIL stage=%s reason=%s", stage, reason);
	machine_exit(EXIT_FAIL);
}

__attribute__((noreturn)) void __stack_chk_fail(void);
void
__stack_chk_fail(void)
{
	panic("stack smashing detected");
}
