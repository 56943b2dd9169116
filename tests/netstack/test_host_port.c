/*
 * test_host_port.c - the host port's random hook (netstack/host/tap.c,
 * tap_host_port): stacks attached with it get their keys from
 * getrandom(2), and when getrandom fails the hook stops the process
 * (status 70) instead of handing out clock-derived values.  The failure
 * is real: a forked child installs a seccomp filter that makes
 * getrandom return ENOSYS before its first draw.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "netstack/host/tap.h"
#include "tests/netstack/fake_nic.h"

static struct fake_nic fa, fb;
static struct netstack na, nb;
static struct ns_txbuf txa[NS_TXBUFS], txb[NS_TXBUFS];

/* Two stacks on the host port: keys set at attach and different. */
static void test_keys_differ(void **state)
{
	(void)state;
	struct netstack_port port;
	tap_host_port(&port, 0);
	fake_init(&fa);
	fake_init(&fb);
	netstack_attach(&na, &fa.nic, &port, txa);
	netstack_attach(&nb, &fb.nic, &port, txb);
	assert_true(na.tcp.isn_key[0] != 0 && nb.tcp.isn_key[0] != 0);
	assert_memory_not_equal(na.tcp.isn_key, nb.tcp.isn_key, sizeof(na.tcp.isn_key));
	assert_memory_not_equal(na.tcp.cookie_key, nb.tcp.cookie_key,
	    sizeof(na.tcp.cookie_key));
}

/* getrandom -> ENOSYS, everything else allowed. */
static int
deny_getrandom(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getrandom, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

static void test_getrandom_failure_stops(void **state)
{
	(void)state;
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		if (deny_getrandom() != 0)
			_exit(77);	/* no seccomp here: skipped */
		struct netstack_port port;
		tap_host_port(&port, 0);
		/* The pool holds 64 words (maybe some inherited from the
		   parent, drawn while getrandom worked): 65 draws refill it. */
		uint32_t v = 0;
		for (int i = 0; i < 65; i++)
			v ^= port.random(port.ctx);
		/* Reaching here means the hook returned something weak. */
		if (write(pfd[1], &v, sizeof(v)) < 0)
			_exit(2);
		_exit(0);
	}
	close(pfd[1]);
	uint32_t leaked;
	ssize_t n = read(pfd[0], &leaked, sizeof(leaked));
	close(pfd[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		skip();
	assert_int_equal(n, 0);			/* no value came out */
	assert_int_equal(WEXITSTATUS(st), 70);
}

int main(void)
{
	(void)fake_now;
	(void)fake_random;
	(void)fake_inject;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getrandom_failure_stops),
		cmocka_unit_test(test_keys_differ),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
