// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio-net receive interrupts through vfio-pci, inside the test guest: QEMU's virtio-net at
 * UPDK_VM_VIRTIO_NET (06.0) opened with rx_interrupts receives, in the hybrid loop, frames
 * that a second updk port on the same hub (UPDK_VM_VIRTIO_NET2, 09.0) sends one every 2 ms:
 * the receive virtqueue's MSI-X vector (virtio 1.2 §4.1.4.3 queue_msix_vector) wakes the loop,
 * the guest counts it in /proc/interrupts as vfio-msix[0](0000:00:06.0), every frame arrives,
 * and the loop sleeps between frames (its CPU time printed). And a virtio-net without MSI-X
 * (QEMU's vectors=0 at UPDK_VM_VIRTIO_NOMSIX, 0f.0: INTx only) asked for receive interrupts:
 * refused, naming the device, nothing left open, and the same function then works polled.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <updk/loop.h>
#include <updk/net.h>

#include "test/common/log_capture.h"
#include "test/vm/vm_util.h"

#define FRAMES 500
#define ETHERTYPE_TEST 0x88b5 /* local experimental: nothing else on the hub sends it */

TestSuite(net_irq_vm, .timeout = 300);

struct sender {
	struct updk_net_dev *dev;
	struct updk_pktpool *pool;
	uint8_t dst[6];
};

/* One 64-byte test frame every 2 ms to the receiver's MAC. */
static void *send_paced(void *arg)
{
	struct sender *s = arg;
	uint8_t src[6];

	updk_net_mac(s->dev, src);
	for (uint32_t seq = 0; seq < FRAMES; seq++) {
		struct updk_pkt *p = updk_pkt_alloc(s->pool);
		uint8_t *f;

		cr_assert_not_null(p);
		f = updk_pkt_data(p);
		memset(f, 0, 64);
		memcpy(f, s->dst, 6);
		memcpy(f + 6, src, 6);
		f[12] = ETHERTYPE_TEST >> 8;
		f[13] = ETHERTYPE_TEST & 0xff;
		memcpy(f + 14, &seq, 4);
		p->len = 64;
		while (!updk_net_tx_burst(s->dev, 0, &p, 1))
			;
		usleep(2000);
	}
	return NULL;
}

struct receiver {
	struct updk_net_dev *dev;
	unsigned got;
};

static int rx_poll(void *arg)
{
	struct receiver *r = arg;
	struct updk_pkt *p[32];
	uint16_t n = updk_net_rx_burst(r->dev, 0, p, 32);

	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *f = updk_pkt_data(p[i]);

		if (p[i]->len >= 18 && f[12] == ETHERTYPE_TEST >> 8 &&
		    f[13] == (ETHERTYPE_TEST & 0xff))
			r->got++;
	}
	updk_pkt_free_bulk(p, n);
	return n;
}

static struct updk_net_dev *open_port(const char *bdf, bool interrupts, struct updk_pktpool *pool)
{
	struct updk_net_opts o = { .opts_size = sizeof(o),
				   .link_wait_ms = 2000,
				   .rx_interrupts = interrupts,
				   .pool = pool };
	struct updk_net_dev *dev = NULL;

	vm_bind(bdf, "vfio-pci");
	cr_assert_eq(updk_net_open(bdf, &o, &dev), 0, "open %s", bdf);
	return dev;
}

Test(net_irq_vm, virtio_rx_vector_wakes_the_loop)
{
	const char *tx_bdf = vm_env("UPDK_VM_VIRTIO_NET2");
	struct updk_pktpool *pool = updk_pktpool_create("net_irq", 2048, 0, 0, 64, -1);
	struct updk_loop_opts lo = { .opts_size = sizeof(lo), .idle_us = 20 };
	struct sender s = { .pool = pool };
	struct receiver r = { 0 };
	struct updk_loop_queue q;
	struct updk_loop_stats st;
	struct updk_loop *l;
	long long before;
	double cpu, wall, end;
	pthread_t t;

	const char *rx_bdf = vm_env("UPDK_VM_VIRTIO_NET");
	cr_assert_not_null(pool);
	r.dev = open_port(rx_bdf, true, NULL);
	s.dev = open_port(tx_bdf, false, pool);
	updk_net_mac(r.dev, s.dst);
	before = vm_msix_count(rx_bdf, 0);
	cr_assert_geq(before, 0, "vfio-msix[0](%s) in /proc/interrupts", rx_bdf);
	cr_assert_eq(updk_loop_create(&lo, &l), 0);
	q = updk_net_rx_loop_queue(r.dev, 0, rx_poll, &r);
	cr_assert_eq(updk_loop_add(l, &q), 0);

	cpu = vm_thread_cpu_s();
	wall = vm_wall_s();
	end = wall + 60;
	cr_assert_eq(pthread_create(&t, NULL, send_paced, &s), 0);
	while (r.got < FRAMES && vm_wall_s() < end)
		cr_assert_geq(updk_loop_run_once(l), 0);
	cpu = vm_thread_cpu_s() - cpu;
	wall = vm_wall_s() - wall;
	pthread_join(t, NULL);
	updk_loop_stats(l, &st);
	cr_log_info("%u of %u frames paced at 500/s in %.2f s: CPU %.3f s (%.1f%% of a core), "
		    "%llu sleeps (%llu woken by the vector), vector 0 counted %lld",
		    r.got, FRAMES, wall, cpu, 100 * cpu / wall, (unsigned long long)st.sleeps,
		    (unsigned long long)st.wakeups, vm_msix_count(rx_bdf, 0) - before);
	cr_assert_eq(r.got, FRAMES, "every frame received");
	cr_assert_geq(vm_msix_count(rx_bdf, 0) - before, FRAMES / 2,
		      "the guest counted the vector");
	cr_assert_geq(st.wakeups, FRAMES / 2, "the loop slept between frames");
	updk_loop_destroy(l);
	updk_net_close(s.dev);
	updk_net_close(r.dev);
	updk_pktpool_free(pool);
	cr_assert_eq(vm_msix_count(rx_bdf, 0), -1, "the vectors are gone with the device");
}

/* The process's open file descriptors. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/*
 * A virtio PCI function without MSI-X interrupts through INTx and its ISR status (virtio 1.2
 * §4.1.4.5), which the driver does not serve: rx_interrupts is refused (-ENOTSUP) with a
 * message that names the function and says to open it without; the refused open leaves no
 * eventfd or device fd behind; opened polled, the same function sends.
 */
Test(net_irq_vm, virtio_without_msix_refused_polling_works)
{
	const char *bdf = vm_env("UPDK_VM_VIRTIO_NOMSIX");
	struct updk_pktpool *pool = updk_pktpool_create("nomsix", 2048, 0, 0, 64, -1);
	struct updk_net_opts o = { .opts_size = sizeof(o), .link_wait_ms = 2000, .pool = pool };
	struct updk_net_dev *dev = NULL;
	struct updk_pkt *p;
	struct log_capture lc;
	int fds, rc;
	char *log;

	cr_assert_not_null(pool);
	vm_bind(bdf, "vfio-pci");
	/* Polled first, so what the process keeps after a first open (lib/mem) is counted. */
	cr_assert_eq(updk_net_open(bdf, &o, &dev), 0, "polled open of %s", bdf);
	updk_net_close(dev);
	dev = NULL;
	fds = open_fds();
	o.rx_interrupts = true;
	log_capture_start(&lc);
	rc = updk_net_open(bdf, &o, &dev);
	log = log_capture_stop(&lc);
	cr_assert_eq(rc, -ENOTSUP, "open with rx_interrupts returned %d", rc);
	cr_assert_null(dev);
	cr_assert_not_null(strstr(log, bdf), "the message names the device: %s", log);
	cr_assert_not_null(strstr(log, "need MSI-X"), "the message says why: %s", log);
	cr_assert_not_null(strstr(log, "open without rx_interrupts"), "and what to do: %s", log);
	free(log);
	cr_assert_eq(open_fds(), fds, "the refused open left no descriptor open");

	o.rx_interrupts = false;
	cr_assert_eq(updk_net_open(bdf, &o, &dev), 0, "polled after the refusal");
	cr_assert_eq(updk_net_rx_intr_fd(dev, 0), -EINVAL, "a polled port has no vector");
	p = updk_pkt_alloc(pool);
	cr_assert_not_null(p);
	memset(updk_pkt_data(p), 0xff, 64); /* broadcast, to the hub of its own */
	p->len = 64;
	cr_assert_eq(updk_net_tx_burst(dev, 0, &p, 1), 1, "polled, it sends");
	updk_net_close(dev);
	updk_pktpool_free(pool);
}
