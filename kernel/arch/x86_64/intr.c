/*
 * intr.c - interrupt vector allocation and dispatch (kernel/intr.h).
 *
 * Vector 0x20 is the LAPIC timer, 0xff the LAPIC spurious vector; every
 * other vector from 0x21 to 0xfe can be allocated by drivers (MSI-X) and
 * the IOAPIC code.  Unclaimed and spurious interrupts are counted and
 * acknowledged, never fatal.
 */
#include <stdbool.h>
#include <stdint.h>

#include "kernel/arch/x86_64/arch.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/trap.h"
#include "kernel/err.h"
#include "kernel/intr.h"
#include "kernel/log.h"

#define VEC_FIRST_DYN	0x21
#define VEC_LAST_DYN	0xfe

struct intr_slot {
	intr_handler_fn fn;
	void *ctx;
	const char *name;
	uint64_t count;
};

static struct intr_slot slots[256];
uint64_t intr_spurious, intr_unclaimed;
volatile uint64_t timer_ticks;
static void (*tick_hook)(void);

int
intr_alloc(intr_handler_fn fn, void *ctx, const char *name)
{
	bool s = intr_save();
	for (int v = VEC_FIRST_DYN; v <= VEC_LAST_DYN; v++) {
		if (slots[v].fn == NULL) {
			slots[v].ctx = ctx;
			slots[v].name = name;
			slots[v].count = 0;
			slots[v].fn = fn;
			intr_restore(s);
			return v;
		}
	}
	intr_restore(s);
	log_warn("intr", "no free vector for %s", name);
	return TERN_ENOMEM;
}

void
intr_free(int v)
{
	if (v < VEC_FIRST_DYN || v > VEC_LAST_DYN)
		return;
	bool s = intr_save();
	slots[v].fn = NULL;
	slots[v].ctx = NULL;
	intr_restore(s);
}

void
timer_set_tick(void (*fn)(void))
{
	tick_hook = fn;
}

void
timer_tick(void)
{
	timer_ticks++;
	if (tick_hook != NULL)
		tick_hook();
}

void
intr_dispatch(int v)
{
	if (v == VEC_SPURIOUS) {
		intr_spurious++;	/* no EOI for spurious */
		return;
	}
	if (v == VEC_TIMER) {
		lapic_eoi();
		timer_tick();
		return;
	}
	struct intr_slot *s = &slots[v];
	if (s->fn != NULL) {
		s->count++;
		s->fn(s->ctx, v);
	} else {
		intr_unclaimed++;
	}
	lapic_eoi();
}

void intr_enable(void) { cpu_sti(); }
void intr_disable(void) { cpu_cli(); }

bool
intr_save(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(f) :: "memory");
	return (f & 0x200) != 0;
}

void
intr_restore(bool was)
{
	if (was)
		cpu_sti();
}

void
cpu_idle(void)
{
	/* sti takes effect after the next instruction, so no interrupt can
	   slip in between it and hlt and leave us asleep. */
	__asm__ volatile("sti; hlt" ::: "memory");
}
