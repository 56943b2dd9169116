/*
 * hv_kern_stubs.c - see hv_kern_stubs.h.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel/clock/clock.h"
#include "kernel/err.h"
#include "kernel/hv/hv_reg.h"
#include "kernel/hw/hw.h"
#include "kernel/intr.h"
#include "kernel/panic.h"
#include "tests/vmbus/hv_kern_stubs.h"

/* Declared for the kernel build only (TERN_KERNEL) in their headers. */
int platform_name(void);
bool platform_has_hyperv_hypercalls(void);
void clock_hv_ref_tsc(uint64_t scale);
void hw_hypercall_set_page(void *page);
void *exec_page_alloc(const void *code, size_t len, uint64_t *pa_out);
void *kzalloc(size_t size);
void kfree(void *p);
void time_set_tsc_hz(uint64_t hz, const char *ref);
uint64_t time_tsc_hz(void);
void lapic_timer_stop(void);

struct hv_sim *kstub_hv_sim;
int kstub_platform;
bool kstub_hv_hypercalls;
bool kstub_irqs_lost;
void *kstub_hcall_page;
struct hw_dma kstub_exec_page;
intr_handler_fn kstub_handlers[256];
const char *kstub_handler_names[256];
unsigned kstub_lapic_stops, kstub_ticks, kstub_idles;
uint64_t kstub_hv_scale, kstub_tsc_hz;
const char *kstub_tsc_ref;
void (*panic_report_hook)(const char *reason);
volatile uint64_t timer_ticks;
static uint64_t seen_direct, seen_msgs;

void
hv_kern_stubs_reset(struct hv_sim *s)
{
	kstub_hv_sim = s;
	kstub_irqs_lost = false;
	kstub_hcall_page = NULL;
	memset(&kstub_exec_page, 0, sizeof(kstub_exec_page));
	memset(kstub_handlers, 0, sizeof(kstub_handlers));
	memset(kstub_handler_names, 0, sizeof(kstub_handler_names));
	kstub_lapic_stops = kstub_ticks = kstub_idles = 0;
	kstub_hv_scale = kstub_tsc_hz = 0;
	kstub_tsc_ref = NULL;
	panic_report_hook = NULL;
	timer_ticks = 0;
	seen_direct = seen_msgs = 0;
	kstub_intr_saves = 0;
}

int
kstub_vector(const char *name)
{
	for (int v = 0; v < 256; v++)
		if (kstub_handlers[v] != NULL && strcmp(kstub_handler_names[v], name) == 0)
			return v;
	return -1;
}

int platform_name(void) { return kstub_platform; }
bool platform_has_hyperv_hypercalls(void) { return kstub_hv_hypercalls; }

void
clock_hv_ref_tsc(uint64_t scale)
{
	kstub_hv_scale = scale;
	kstub_tsc_hz = clock_hv_scale_tsc_hz(scale);
	kstub_tsc_ref = "hv-ref-tsc";
}

void
time_set_tsc_hz(uint64_t hz, const char *ref)
{
	kstub_tsc_hz = hz;
	kstub_tsc_ref = ref;
}

uint64_t time_tsc_hz(void) { return kstub_tsc_hz; }
void hw_hypercall_set_page(void *page) { kstub_hcall_page = page; }
void lapic_timer_stop(void) { kstub_lapic_stops++; }

/* Guest memory of the simulated machine, so the host accepts its GPA. */
void *
exec_page_alloc(const void *code, size_t len, uint64_t *pa_out)
{
	if (hw_dma_alloc(&kstub_hv_sim->dev, 4096, 4096, &kstub_exec_page) != 0)
		return NULL;
	*pa_out = kstub_exec_page.pa;
	return kstub_exec_page.va;
}

void *kzalloc(size_t size) { return calloc(1, size); }
void kfree(void *p) { free(p); }

int
intr_alloc(intr_handler_fn fn, void *ctx, const char *name)
{
	for (int v = 0x21; v < 0xff; v++)
		if (kstub_handlers[v] == NULL) {
			kstub_handlers[v] = fn;
			kstub_handler_names[v] = name;
			return v;
		}
	return TERN_ENOMEM;
}

void
intr_free(int v)
{
	if (v > 0 && v < 256)
		kstub_handlers[v] = NULL;
}

/* One CPU, no real interrupts: the state is only counted. */
static bool intr_on = true;
unsigned kstub_intr_saves;

bool
intr_save(void)
{
	bool was = intr_on;
	intr_on = false;
	kstub_intr_saves++;
	return was;
}

void
intr_restore(bool was)
{
	intr_on = was;
}

void
timer_tick(void)
{
	timer_ticks++;
	kstub_ticks++;
}

/* 1 ms passes; each interrupt the simulator raised reaches its handler. */
void
cpu_idle(void)
{
	struct hv_sim *s = kstub_hv_sim;
	kstub_idles++;
	hv_sim_advance(s, 1000000);
	if (kstub_irqs_lost)
		return;
	while (seen_direct < s->stimer_direct_irqs) {
		seen_direct++;
		if (kstub_handlers[s->stimer_vec] != NULL)
			kstub_handlers[s->stimer_vec](NULL, s->stimer_vec);
	}
	while (seen_msgs < s->stimer_msgs) {
		seen_msgs++;
		int v = (int)(s->sint[HV_SINT_TIMER] & 0xff);
		if (kstub_handlers[v] != NULL)
			kstub_handlers[v](NULL, v);
	}
}
