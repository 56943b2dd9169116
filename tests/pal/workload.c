/*
 * workload.c: a tiny PAL workload the ELF-loader test builds as a static
 * PIE.  The pointer table forces R_X86_64_RELATIVE relocations, so a
 * missing or wrong relocation shows up as a bad string or a crash.
 *
 * By default it logs two lines and returns 40 + argc.  With the manifest's
 * env.MODE = faults (tests/integration/app.sh) each run does the next step
 * of a script, picked by the runtime's pal.restarts counter:
 *   run 0: allocates 4 KiB, then writes to address 0 (page fault in the
 *          workload's own code; the exit frees the allocation)
 *   run 1: executes ud2 (invalid opcode)
 *   run 2: creates threads until thread_create fails (the kernel's
 *          ptfail= hook makes page-table memory run out) and expects
 *          -PAL_ENOMEM; then the first of those threads reads address 0
 *          (a fault on a thread other than the main one)
 *   run 3: hands the PAL log call the address 8: the fault happens in
 *          kernel code, so it must stop the machine with TERN PANIC
 */
#include "pal/pal.h"

/* Writable and indexed through a volatile so the compiler must keep the
 * pointers in memory, where the loader has to relocate them. */
static const char *greetings[] = { "hello from", "a workload" };
static volatile int two = 2;
static int counter = 40;

#define MS 1000000ULL

static uint64_t
counter_value(const struct pal_api *api, const char *name)
{
	static struct pal_counter c[128];
	size_t n = api->counters(c, 128);
	for (size_t i = 0; i < n; i++) {
		const char *a = c[i].name, *b = name;
		while (*a != '\0' && *a == *b)
			a++, b++;
		if (*a == *b)
			return c[i].value;
	}
	return ~0ULL;
}

static void
sleeper(void *arg)
{
	if (arg != 0) {
		pal_sleep(10 * MS);
		pal_log(PAL_LOG_INFO, "faults: thread reads address 0");
		(void)*(volatile int *)0;
	}
	pal_sleep(PAL_FOREVER);
}

static int
faults(const struct pal_api *api)
{
	uint64_t run = counter_value(api, "pal.restarts");
	if (run == 0) {
		if (pal_alloc(4096) == 0)
			return 4;
		pal_log(PAL_LOG_INFO, "faults: writing to address 0");
		*(volatile int *)0 = 1;
	} else if (run == 1) {
		pal_log(PAL_LOG_INFO, "faults: executing ud2");
		__asm__ volatile("ud2");
	} else if (run == 2) {
		int n, rc = 0;
		for (n = 0; n < 4000; n++) {
			rc = pal_thread_create(sleeper, n == 0 ? (void *)1 : 0,
			    16384, 0);
			if (rc != 0)
				break;
		}
		if (rc == -PAL_ENOMEM && n > 0)
			pal_log(PAL_LOG_INFO, "faults: thread_create -> PAL_ENOMEM");
		else
			return 3;
		pal_sleep(PAL_FOREVER);
	} else {
		pal_log(PAL_LOG_INFO, "faults: PAL call with a bad pointer");
		api->log(PAL_LOG_INFO, (const char *)8, 4);
	}
	pal_log(PAL_LOG_ERR, "faults: still running after the fault");
	return 2;
}

int pal_main(const struct pal_api *api, int argc, const char *const *argv)
{
	if (!pal_init(api))
		return -1;
	const char *mode = pal_env("MODE");
	if (mode != 0 && mode[0] == 'f')
		return faults(api);
	for (int i = 0; i < two; i++)
		pal_log(PAL_LOG_INFO, greetings[i]);
	const char *v = pal_env("ANSWER");
	if (v == 0 || v[0] != '4')
		return -2;
	return counter + argc;
}
