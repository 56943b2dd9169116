/*
 * workload.c: a tiny PAL workload the ELF-loader test builds as a static
 * PIE.  The pointer table forces R_X86_64_RELATIVE relocations, so a
 * missing or wrong relocation shows up as a bad string or a crash.
 */
#include "pal/pal.h"

/* Writable and indexed through a volatile so the compiler must keep the
 * pointers in memory, where the loader has to relocate them. */
static const char *greetings[] = { "hello from", "a workload" };
static volatile int two = 2;
static int counter = 40;

int pal_main(const struct pal_api *api, int argc, const char *const *argv)
{
	if (!pal_init(api))
		return -1;
	for (int i = 0; i < two; i++)
		pal_log(PAL_LOG_INFO, greetings[i]);
	const char *v = pal_env("ANSWER");
	if (v == 0 || v[0] != '4')
		return -2;
	return counter + argc;
}
