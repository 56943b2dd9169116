/*
 * ternsim.c - the hosted guest (docs/ternsim.md): tern's virtio-net and
 * virtio-blk drivers, the device registry, the netstack, the PAL runtime
 * and a workload package, in one Linux process.  The hardware seam
 * (tests/hw/hw_host.c) is bound to the virtio device simulator
 * (tests/virtio/virtio_sim.c); the simulated NIC's wire is a TAP device
 * and the simulated disk is a file.
 *
 *   ternsim --tap=IF [--platform=qemu|nitro] [--disk=FILE] [--pkg=FILE]
 *           [--cmdline="ip=... gw=... ..."] [--fault=reset-after=N] [--mtu=N]
 *           [--impair=loss=P,reorder=P,dup=P,corrupt=P[,seed=N]] [--idle-ms=N]
 *   ternsim --platform=azure [--tap=IF [--fault=reset-after=N] [--impair=...]] [--disk=FILE
 *           [--disk=FILE2]] [--pkg=FILE] [--cmdline="..."]
 *
 * --platform=nitro runs the ENA driver over the ENA simulator (and an EBS
 * volume through the NVMe driver with --disk) instead (ts_nitro.c).
 * --platform=azure brings up kernel/hv and the VMBus against the Hyper-V
 * host simulator instead (ts_azure.c: TERN HV, TERN VMBUS); with a TAP
 * the netvsc driver binds and the simulator's netvsc VSP is the NIC on
 * it (--fault=reset-after=N: the host rescinds it after N frames and
 * offers it again); a --disk is served by a storvsc VSP to the storvsc
 * driver (sdb); a second --disk is LUN 1 on the same controller (sdc).
 *
 * The boot sequence is the kernel's (kernel/main.c, kernel/subsys.c):
 * command line, devices (TERN NIC, TERN BLK), pal_net_start (TERN NET_UP
 * once configured), rt_run (TERN APP_START, TERN READY port=...), with
 * the package handed over as the loader's boot module would be.  rt_run
 * never returns; SIGINT or SIGTERM ends the process with status 0.
 *
 * The wire: frames the driver transmits reach the simulator's on_tx hook
 * and are written to the TAP; frames read from the TAP are put into the
 * receive buffers the driver posted (vsim_net_inject) just before the
 * driver polls, and while the runtime idles (cpu_idle -> ts_wire_wait,
 * a poll(2) on the TAP bounded by the kernel's 1 ms tick).  Frames that
 * do not fit a posted buffer are dropped and counted.
 *
 * --mtu=N (576..9000): the simulated NIC offers VIRTIO_NET_F_MTU with N
 * (frames up to N + 18 bytes cross the wire, spread over several receive
 * buffers); without it the device offers none and the driver runs at
 * 1500.
 *
 * --fault=reset-after=N: the simulated NIC sets DEVICE_NEEDS_RESET after
 * N completions (frames received plus frames sent) and stops.  The
 * driver notices (virtio_check_broken), and ternsim - standing in for
 * the kernel's device supervision - has it recover in place
 * (virtio_net_recover): same struct nic, same MAC, registered again.
 *
 * --impair=...: loss, reordering, duplication and corruption of the
 * frames crossing the TAP, both directions, every platform
 * (ts_impair.c); counted and logged at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/bootinfo.h"
#include "kernel/dev/blk.h"
#include "kernel/dev/blktest.h"
#include "kernel/dev/nic.h"
#include "kernel/err.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "pal/pal_boot.h"
#include "tests/virtio/virtio_regnames.h"
#include "tests/virtio/virtio_sim.h"
#include "tools/ternsim/ternsim.h"
#include "tools/ternsim/ts_impair.h"
#include "virtio/virtio_var.h"


/* The one simulated machine (ternsim's short list of globals). */
static struct {
	int tap;
	struct vsim net_sim;
	struct virtio_net_softc *net;
	const struct nic_ops *drv_ops;	/* the driver's own ops */
	struct nic_ops ops;		/* drv_ops with poll wrapped */
	struct vsim blk_sim;
	struct virtio_blk_softc *blk;
	uint8_t *disk;
	size_t disk_len;
	int recover_fails;
	bool nitro;			/* --platform=nitro: ENA (ts_nitro.c) */
	uint64_t wire_rx, wire_tx, wire_rx_dropped, wire_tx_errors, recoveries;
	uint32_t wire_tx_max;		/* largest frame put on the wire */
	uint16_t mtu;			/* the wire's; offered with --mtu */
	int idle_ms;			/* --idle-ms: cpu_idle's wait, else 1 ms */
	volatile sig_atomic_t stop;
	struct tern_bootinfo bi;
} ts;

static void
usage(void)
{
	fprintf(stderr, "usage: ternsim --tap=IFNAME [--platform=qemu|nitro] [--disk=FILE] "
	    "[--pkg=FILE] [--cmdline=\"...\"] [--fault=reset-after=N] [--mtu=N]\n"
	    "       [--impair=loss=P,reorder=P,dup=P,corrupt=P[,seed=N]] (P: 0.02 or 2%%) [--idle-ms=N]\n"
	    "       ternsim --platform=azure [--tap=IFNAME [--fault=reset-after=N] [--impair=...]] [--disk=FILE [--disk=FILE2]] "
	    "[--pkg=FILE] [--cmdline=\"...\"]\n");
	exit(2);
}

/* ---- the wire ---------------------------------------------------------- */

static int
tap_open(const char *ifname)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A frame onto the TAP (through the impairment, see wire_tx). */
static void
tap_put(void *ctx, const uint8_t *frame, uint32_t len)
{
	(void)ctx;
	if (write(ts.tap, frame, len) == (ssize_t)len) {
		ts.wire_tx++;
		if (len > ts.wire_tx_max)
			ts.wire_tx_max = len;
	}
	else
		ts.wire_tx_errors++;	/* lost, as on a wire */
}

/* vsim on_tx: the device puts a transmitted frame on the wire. */
static void
wire_tx(void *ctx, const uint8_t *frame, uint32_t len)
{
	ts_impair_frame(TS_FROM_GUEST, frame, len, tap_put, ctx);
}

/* A frame from the TAP into the posted receive buffers.  A frame larger
   than one receive buffer spans several (mergeable buffers); one the
   driver has no room for, or beyond the MTU the device offered, is lost
   as on a wire. */
static void
sim_put(void *ctx, const uint8_t *frame, uint32_t len)
{
	(void)ctx;
	if (len < 14 || (size_t)len > (size_t)ts.mtu + 18 ||
	    vsim_net_inject(&ts.net_sim, frame, len, 0) != 0) {
		ts.wire_rx_dropped++;
		return;
	}
	ts.wire_rx++;
}

/* Frames waiting on the TAP go into the posted receive buffers. */
static void
wire_pump(void)
{
	static uint8_t frame[65536];
	if (ts.net == NULL)
		return;
	ts_impair_poll();
	while (vsim_net_posted(&ts.net_sim) > 0) {
		ssize_t n = read(ts.tap, frame, sizeof(frame));
		if (n <= 0)
			return;
		ts_impair_frame(TS_TO_GUEST, frame, (uint32_t)n, sim_put, NULL);
	}
}

static void
stop_now(void)
{
	log_info("ternsim", "signal: shutting down");
	ts_shutdown();
	exit(0);
}

void
ts_check_stop(void)
{
	if (ts.stop)
		stop_now();
}

void
ts_wire_wait(int ms)
{
	if (ts.idle_ms > 0)
		ms = ts.idle_ms;
	if (ts.stop)
		stop_now();
	if (ts_impair_held() && ms > TS_IMPAIR_HOLD_MS)
		ms = TS_IMPAIR_HOLD_MS;	/* a reordered frame is due */
	if (ts.nitro) {
		ts_nitro_wait(ms);
		if (ts.stop)
			stop_now();
		return;
	}
	if (ts.net != NULL && vsim_net_posted(&ts.net_sim) > 0) {
		struct pollfd p = { ts.tap, POLLIN, 0 };
		if (poll(&p, 1, ms) > 0)
			wire_pump();
	} else if (ts_azure_wire_fd() >= 0) {
		struct pollfd p = { ts_azure_wire_fd(), POLLIN, 0 };
		if (poll(&p, 1, ms) > 0)
			ts_azure_wire_pump();
	} else {
		usleep((useconds_t)ms * 1000);
	}
	ts_impair_poll();	/* virtio and azure wires; a no-op without --impair */
	if (ts.stop)
		stop_now();
}

/* The NIC's poll as the runtime calls it: the wire first, then the
   driver; a broken device is recovered before the driver polls it. */
static int
ts_nic_poll(struct nic *n, int queue, int budget)
{
	if (ts.stop)
		stop_now();
	if (ts.net->bus.vd.broken && ts.recover_fails < 5) {
		if (virtio_net_recover(ts.net) == TERN_OK)
			ts.recoveries++;
		else
			ts.recover_fails++;
	}
	wire_pump();
	return ts.drv_ops->poll(n, queue, budget);
}

static void
on_signal(int sig)
{
	(void)sig;
	ts.stop = 1;
}

void
ts_shutdown(void)
{
	if (ts.net != NULL)
		log_info("ternsim", "wire: %llu frames in, %llu out, %llu dropped in, "
		    "%llu lost out, %llu device recoveries, largest frame out %u bytes",
		    (unsigned long long)ts.wire_rx, (unsigned long long)ts.wire_tx,
		    (unsigned long long)ts.wire_rx_dropped,
		    (unsigned long long)ts.wire_tx_errors,
		    (unsigned long long)ts.recoveries, ts.wire_tx_max);
	ts_nitro_shutdown();
	ts_impair_report();
	ts_azure_shutdown();
	blk_shutdown_all();
	if (ts.disk != NULL)
		msync(ts.disk, ts.disk_len, MS_SYNC);
}

/* ---- devices ------------------------------------------------------------ */

static void
net_attach(const char *ifname, long reset_after, bool offer_mtu)
{
	ts.tap = tap_open(ifname);
	if (ts.tap < 0) {
		fprintf(stderr, "ternsim: TAP %s: %s\n", ifname, strerror(errno));
		exit(1);
	}
	struct virtio_net_softc *sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		exit(1);
	snprintf(sc->bus.hw.name, sizeof(sc->bus.hw.name), "virtio-net0");
	vsim_init(&ts.net_sim, VSIM_NET, &sc->bus.hw);
	ts.net_sim.on_tx = wire_tx;
	/* As QEMU's virtio-net on a tap with a vnet header: the device
	   segments TSO frames (the simulator cuts them, checking headers and
	   checksums, before they reach the wire). */
	ts.net_sim.dev_features |= 1ULL << VIRTIO_NET_F_HOST_TSO4;
	if (offer_mtu)
		vsim_net_set_mtu(&ts.net_sim, ts.mtu);
	virtio_qemu_windows(&sc->bus, virtio_net_regnames);
	sc->bus.vd.msix = false;	/* polled: ternsim has no interrupts */
	if (virtio_net_attach_core(sc, &sc->bus.vd, 0) != TERN_OK)
		fail("net", "virtio_net_attach");
	ts.net = sc;
	ts.drv_ops = sc->nic.ops;
	ts.ops = *sc->nic.ops;
	ts.ops.poll = ts_nic_poll;
	sc->nic.ops = &ts.ops;
	if (reset_after >= 0) {
		ts.net_sim.f.needs_reset_after = (int)reset_after;
		log_info("ternsim", "fault: the NIC needs a reset after %ld frames",
		    reset_after);
	}
}

/* The disk file, mmap'd shared into ts.disk (writes land in the file). */
static void
map_disk(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "ternsim: disk %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (st.st_size < 512 || st.st_size % 512 != 0) {
		fprintf(stderr, "ternsim: disk %s: size %lld is not a positive multiple "
		    "of 512\n", path, (long long)st.st_size);
		exit(1);
	}
	ts.disk_len = (size_t)st.st_size;
	ts.disk = mmap(NULL, ts.disk_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (ts.disk == MAP_FAILED) {
		fprintf(stderr, "ternsim: disk %s: mmap: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void
blk_attach(const char *path)
{
	map_disk(path);
	struct virtio_blk_softc *sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		exit(1);
	snprintf(sc->bus.hw.name, sizeof(sc->bus.hw.name), "virtio-blk0");
	vsim_init(&ts.blk_sim, VSIM_BLK, &sc->bus.hw);
	free(ts.blk_sim.disk);
	ts.blk_sim.disk = ts.disk;
	ts.blk_sim.sectors = ts.disk_len / 512;
	memcpy(ts.blk_sim.cfg + VIRTIO_BLK_CFG_CAPACITY, &ts.blk_sim.sectors, 8);
	virtio_qemu_windows(&sc->bus, virtio_blk_regnames);
	sc->bus.vd.msix = false;
	if (virtio_blk_attach_core(sc, &sc->bus.vd, 0) != TERN_OK)
		fail("blk", "virtio_blk_attach");
	ts.blk = sc;
}

/* The package as the loader hands it over: a boot module in memory. */
static void
load_pkg(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
		fprintf(stderr, "ternsim: package %s: %s\n", path,
		    fd < 0 ? strerror(errno) : "empty");
		exit(1);
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "ternsim: package %s: mmap: %s\n", path, strerror(errno));
		exit(1);
	}
	ts.bi.module_count = 1;
	ts.bi.modules[0].phys = (uint64_t)(uintptr_t)p;
	ts.bi.modules[0].size = (uint64_t)st.st_size;
	snprintf(ts.bi.modules[0].name, sizeof(ts.bi.modules[0].name), "\\tern\\app.pkg");
}

static void
cmdline_warn(void *ctx, const char *msg)
{
	(void)ctx;
	log_warn("cmdline", "%s", msg);
}

int
main(int argc, char **argv)
{
	const char *tap = NULL, *disk = NULL, *disk2 = NULL, *pkg = "build/apps/httpd.pkg";
	const char *cmd = "";
	long reset_after = -1;
	bool mtu_offered = false, azure = false, impair = false;

	ts.mtu = 1500;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--platform=", 11) == 0) {
			azure = strcmp(a + 11, "azure") == 0;
			if (strcmp(a + 11, "nitro") == 0) {
				ts.nitro = true;
			} else if (!azure && strcmp(a + 11, "qemu") != 0) {
				fprintf(stderr, "ternsim: platform %s: qemu (virtio), nitro "
				    "(ENA, NVMe) and azure (VMBus core) are simulated\n", a + 11);
				return 2;
			}
		} else if (strncmp(a, "--tap=", 6) == 0) {
			tap = a + 6;
		} else if (strncmp(a, "--disk=", 7) == 0) {
			if (disk != NULL && disk2 != NULL)
				usage();
			if (disk != NULL)
				disk2 = a + 7;	/* azure only: LUN 1 */
			else
				disk = a + 7;
		} else if (strncmp(a, "--pkg=", 6) == 0) {
			pkg = a + 6;
		} else if (strncmp(a, "--cmdline=", 10) == 0) {
			cmd = a + 10;
		} else if (strncmp(a, "--mtu=", 6) == 0) {
			char *end;
			long m = strtol(a + 6, &end, 10);
			if (*end != '\0' || m < 576 || m > 9000)
				usage();
			ts.mtu = (uint16_t)m;
			mtu_offered = true;
		} else if (strncmp(a, "--idle-ms=", 10) == 0) {
			char *end;
			long m = strtol(a + 10, &end, 10);
			if (*end != '\0' || m < 1 || m > 10000)
				usage();
			ts.idle_ms = (int)m;
		} else if (strncmp(a, "--fault=reset-after=", 20) == 0) {
			char *end;
			reset_after = strtol(a + 20, &end, 10);
			if (*end != '\0' || reset_after < 0 || reset_after > 1000000000)
				usage();
		} else if (strncmp(a, "--impair=", 9) == 0) {
			if (ts_impair_parse(a + 9) != 0)
				usage();
			impair = true;
		} else {
			usage();
		}
	}
	/* azure: netvsc on the TAP when one is given, a disk goes to
	   storvsc; no MTU offer; an impairment needs a wire. */
	if (azure ? (mtu_offered || (impair && tap == NULL) ||
	    (reset_after >= 0 && tap == NULL) ||
	    (tap != NULL && strlen(tap) >= IFNAMSIZ)) :
	    (tap == NULL || strlen(tap) >= IFNAMSIZ))
		usage();
	if (strlen(cmd) >= TERN_CMDLINE_MAX || (ts.nitro && mtu_offered) ||
	    (disk2 != NULL && !azure))
		usage();	/* the ENA simulator offers its own MTU (9001) */

	ts_clock_start();
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	snprintf(ts.bi.cmdline, sizeof(ts.bi.cmdline), "%s", cmd);
	kernel.bi = &ts.bi;
	cmdline_parse(&kernel.cmdline, ts.bi.cmdline, cmdline_warn, NULL);
	log_set_level(kernel.cmdline.log_level);
	load_pkg(pkg);
	if (azure) {
		log_info("ternsim", "platform azure (simulated Hyper-V host), "
		    "wire %s, disk %s (storvsc), package %s", tap != NULL ? tap : "none",
		    disk != NULL ? disk : "none", pkg);
		if (disk2 != NULL) {
			/* The second file: LUN 1 behind the file's controller. */
			map_disk(disk2);
			ts_azure_disk2(ts.disk, ts.disk_len);
		}
		if (disk != NULL) {
			map_disk(disk);
			ts_azure_disk(ts.disk, ts.disk_len);
		}
		int fd = -1;
		if (tap != NULL && (fd = tap_open(tap)) < 0) {
			fprintf(stderr, "ternsim: TAP %s: %s\n", tap, strerror(errno));
			exit(1);
		}
		if (reset_after >= 0) {
			ts_azure_set_rescind_after(reset_after);
			log_info("ternsim", "fault: netvsc rescinded after %ld frames, then offered again",
			    reset_after);
		}
		ts_impair_announce();
		int rc = ts_azure_start(fd);
		if (rc != TERN_OK)
			fail("vmbus", err_str(rc));
		if (disk != NULL && kernel.cmdline.blktest != 0) {
			blktest_run(kernel.cmdline.blktest);
			ts_azure_check();
		}
		pal_net_start();
		/* Host messages are serviced where the kernel services them:
		   the scheduler loop's service hook (pal/sched.h). */
		rt_service_hook = ts_azure_service;
		rt_run();
	}
	log_info("ternsim", "platform %s, wire %s, disk %s, package %s",
	    ts.nitro ? "nitro (simulated ENA)" : "qemu (simulated virtio)", tap,
	    disk != NULL ? disk : "none", pkg);
	ts_impair_announce();

	if (ts.nitro) {
		ts.tap = tap_open(tap);
		if (ts.tap < 0) {
			fprintf(stderr, "ternsim: TAP %s: %s\n", tap, strerror(errno));
			return 1;
		}
		ts_nitro_attach(ts.tap, reset_after);
	} else {
		net_attach(tap, reset_after, mtu_offered);
	}
	if (disk != NULL) {
		if (ts.nitro) {
			map_disk(disk);
			ts_nitro_disk(ts.disk, ts.disk_len);
		} else {
			blk_attach(disk);
		}
		if (kernel.cmdline.blktest != 0)
			blktest_run(kernel.cmdline.blktest);
	}
	pal_net_start();
	rt_run();
}
