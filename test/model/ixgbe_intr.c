// SPDX-License-Identifier: BSD-3-Clause
/*
 * ixgbe receive interrupts against sim:ixgbe (82599 datasheet §7.3): the registers the driver
 * programs (GPIE, IVAR, EIAC, EIAM, EITR), frames injected at random moments waking a hybrid
 * loop asleep on the queues' MSI-X vectors (no wake-up lost), a vector auto-masked after its
 * message until the next arm, an arm with a frame already written back, EITR throttling, the
 * one INTx vector shared by two queues, a close with armed queues, and the refusals.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <updk/loop.h>
#include <updk/net.h>
#include <updk/pci.h>
#include <updk/tsc.h>

#include "drivers/ixgbe/ixgbe_regs.h"
#include "lib/net/net_driver.h"
#include "sim/sim.h"
#include "test/common/log_capture.h"
#include "test/common/loop_thread.h"
#include "test/model/held.h"
#include "test/model/ixgbe_test.h"

TestSuite(ixgbe_intr, .init = ixt_setup, .timeout = 120);

static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x0c };
static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x01 };

static struct updk_net_dev *open_intr(const char *addr, uint16_t queues, uint16_t usecs)
{
	struct updk_net_opts o = ixt_opts();

	o.rx_queues = queues;
	o.rx_interrupts = true;
	o.rx_intr_usecs = usecs;
	return ixt_open(addr, &o);
}

static struct updk_pci_dev *pci_of(struct updk_net_dev *dev)
{
	return net_dev_of(dev)->pci;
}

static uint64_t raised(struct updk_net_dev *dev, unsigned v)
{
	uint64_t n;

	cr_assert_eq(sim_irq_stats(pci_of(dev), v, &n, NULL), 0);
	return n;
}

static void inject_one(const char *port, uint16_t sport, uint32_t seq)
{
	uint8_t f[128];
	int rc;

	ixt_frame(f, sizeof(f), mac, src, sport, seq);
	while ((rc = sim_ixgbe_inject(port, f, sizeof(f))) == -ENOSPC)
		usleep(100);
	cr_assert_eq(rc, 0);
}

/* A receive queue in the loop: burst, count, free. */
struct rxq {
	struct updk_net_dev *dev;
	uint16_t q;
	uint64_t got; /* read by the injecting thread */
};

static int rx_poll(void *arg)
{
	struct rxq *r = arg;
	struct updk_pkt *p[32];
	uint16_t n = updk_net_rx_burst(r->dev, r->q, p, 32);

	updk_pkt_free_bulk(p, n);
	__atomic_add_fetch(&r->got, n, __ATOMIC_RELEASE);
	return n;
}

static struct updk_loop *loop_of(struct rxq *r, unsigned n, uint32_t max_sleep_ms)
{
	struct updk_loop_opts o = { .opts_size = sizeof(o),
				    .idle_us = UPDK_LOOP_IDLE_NONE,
				    .max_sleep_ms = max_sleep_ms };
	struct updk_loop *l;

	cr_assert_eq(updk_loop_create(&o, &l), 0);
	for (unsigned i = 0; i < n; i++) {
		struct updk_loop_queue lq =
			updk_net_rx_loop_queue(r[i].dev, r[i].q, rx_poll, &r[i]);

		cr_assert_eq(updk_loop_add(l, &lq), 0);
	}
	return l;
}

static uint64_t total(struct rxq *r, unsigned n)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < n; i++)
		t += __atomic_load_n(&r[i].got, __ATOMIC_ACQUIRE);
	return t;
}

Test(ixgbe_intr, driver_programs_msix_mapping)
{
	struct updk_net_dev *dev = open_intr("sim:ixgbe?name=regs,mac=02:00:00:00:00:0c", 4, 100);

	cr_assert_eq(updk_pci_irq_type(pci_of(dev)), UPDK_PCI_IRQ_MSIX);
	cr_assert_eq(updk_pci_irq_count(pci_of(dev)), 4, "a vector per receive queue");
	cr_assert_eq(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_GPIE) &
			     (IXGBE_GPIE_MSIX_MODE | IXGBE_GPIE_EIAME),
		     IXGBE_GPIE_MSIX_MODE | IXGBE_GPIE_EIAME);
	/* IVAR(0): RX 0 -> vector 0, RX 1 -> vector 1, valid; IVAR(1): RX 2, 3. */
	cr_assert_eq(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_IVAR(0)) & 0x00ff00ff, 0x00810080);
	cr_assert_eq(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_IVAR(1)) & 0x00ff00ff, 0x00830082);
	cr_assert_eq(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_EIAC) & 0xffff, 0xf);
	cr_assert_eq(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_EIAM_EX(0)), 0xf);
	/* 100 µs in EITR's 2.048 µs steps, rounded up: 49 (§8.2.3.5). */
	cr_assert_eq(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_EITR(3)) & 0xff8, 49u << 3);
	cr_assert_eq(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_EIMS_EX(0)), 0, "masked");
	/* Armed: unmasked; disarmed: masked again. */
	cr_assert_eq(updk_net_rx_intr_arm(dev, 2), 0);
	cr_assert_eq(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_EIMS_EX(0)), 0x4);
	updk_net_rx_intr_disarm(dev, 2);
	cr_assert_eq(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_EIMS_EX(0)), 0);
	/* Every one of the 64 vectors has its EITR; 24..63 live at 0x12300. */
	updk_pci_reg_write32(pci_of(dev), 0, IXGBE_EITR(40), IXGBE_EITR_INTERVAL(10));
	cr_assert_eq(IXGBE_EITR(40), 0x12340);
	cr_assert_eq(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_EITR(40)), 5u << 3);
	cr_assert_eq(sim_ixgbe_errors(), 0);
	updk_net_close(dev);
}

/* Wait for receive queue 0's cause to show in EICS (the model's thread writes the frame). */
static void wait_cause(struct updk_net_dev *dev)
{
	while (!(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_EICS) & 1))
		usleep(100);
}

/*
 * How a queue's cause is cleared (§7.3 Clearing Interrupt Causes): a read of EICS shows EICR
 * and clears nothing; with GPIE.OCD, which the driver sets in MSI-X mode, a read of EICR
 * clears only the other causes, never a queue's (a read for the link would otherwise take a
 * vector's cause); writing 1b clears it; without OCD the read clears what it shows.
 */
Test(ixgbe_intr, queue_cause_cleared_by_write_not_by_read_with_ocd)
{
	struct updk_net_dev *dev = open_intr("sim:ixgbe?name=ocd,mac=02:00:00:00:00:0c", 1, 0);
	struct updk_pci_dev *pci = pci_of(dev);
	uint32_t gpie = updk_pci_reg_read32(pci, 0, IXGBE_GPIE);
	struct rxq r = { .dev = dev };

	cr_assert(gpie & IXGBE_GPIE_OCD, "the driver sets GPIE.OCD in MSI-X mode");
	/* Not armed: the vector is masked, a frame sets its cause and raises nothing. */
	inject_one("ocd", 1, 0);
	wait_cause(dev);
	cr_assert_eq(updk_pci_reg_read32(pci, 0, IXGBE_EICS) & 0xffff, 1, "EICS clears nothing");
	cr_assert_eq(updk_pci_reg_read32(pci, 0, IXGBE_EICR) & 0xffff, 1);
	cr_assert_eq(updk_pci_reg_read32(pci, 0, IXGBE_EICR_EX(0)), 1, "OCD: the read kept it");
	updk_pci_reg_write32(pci, 0, IXGBE_EICR_EX(0), 1);
	cr_assert_eq(updk_pci_reg_read32(pci, 0, IXGBE_EICR_EX(0)), 0, "cleared by writing 1b");

	updk_pci_reg_write32(pci, 0, IXGBE_GPIE, gpie & ~IXGBE_GPIE_OCD);
	inject_one("ocd", 1, 1);
	wait_cause(dev);
	cr_assert_eq(updk_pci_reg_read32(pci, 0, IXGBE_EICR) & 0xffff, 1);
	cr_assert_eq(updk_pci_reg_read32(pci, 0, IXGBE_EICR_EX(0)), 0, "no OCD: read to clear");
	cr_assert_eq(raised(dev, 0), 0, "masked all along");
	while (r.got < 2)
		rx_poll(&r);
	cr_assert_eq(sim_ixgbe_errors(), 0);
	updk_net_close(dev);
}

/* The vector fires once per arm (EIAM masks it with the message) and only when armed. */
Test(ixgbe_intr, vector_auto_masked_until_the_next_arm)
{
	struct updk_net_dev *dev = open_intr("sim:ixgbe?name=am,mac=02:00:00:00:00:0c", 1, 0);
	struct rxq r = { .dev = dev };
	double end;

	inject_one("am", 1, 0);
	end = ixt_now() + 5;
	while (!rx_poll(&r))
		cr_assert_lt(ixt_now(), end);
	usleep(20000);
	cr_assert_eq(raised(dev, 0), 0, "not armed: no interrupt");

	cr_assert_geq(updk_net_rx_intr_ack(dev, 0), 0);
	cr_assert_eq(updk_net_rx_intr_arm(dev, 0), 0);
	for (uint32_t i = 1; i <= 3; i++)
		inject_one("am", 1, i);
	end = ixt_now() + 5;
	while (raised(dev, 0) < 1)
		cr_assert_lt(ixt_now(), end, "armed: the frames raise the vector");
	usleep(20000);
	cr_assert_eq(raised(dev, 0), 1, "one message, then masked by EIAM");
	cr_assert_eq(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_EIMS_EX(0)), 0);
	cr_assert_eq(updk_net_rx_intr_ack(dev, 0), 1);
	/* Armed again with the frames still in the ring: the arm says so. */
	cr_assert_eq(updk_net_rx_intr_arm(dev, 0), 1);
	updk_net_rx_intr_disarm(dev, 0);
	/* Polled empty, armed: the causes the frames latched while masked are cleared by the arm,
	 * so the unmask sends no message (a spurious wake-up). */
	while (rx_poll(&r))
		;
	cr_assert_eq(r.got, 4);
	cr_assert_eq(updk_net_rx_intr_ack(dev, 0), 0);
	cr_assert_eq(updk_net_rx_intr_arm(dev, 0), 0);
	usleep(20000);
	cr_assert_eq(raised(dev, 0), 1, "no interrupt for frames already received");
	inject_one("am", 1, 4);
	end = ixt_now() + 5;
	while (raised(dev, 0) < 2)
		cr_assert_lt(ixt_now(), end, "armed again: the next frame raises the vector");
	updk_net_rx_intr_disarm(dev, 0);
	updk_net_close(dev);
}

struct injector {
	const char *port;
	struct rxq *r;
	unsigned nq, n;
	uint64_t rng;
};

/* One frame at a time, each after the last was received and a random pause. */
static void *inject_random(void *arg)
{
	struct injector *in = arg;

	for (uint32_t i = 0; i < in->n; i++) {
		unsigned spins;

		while (total(in->r, in->nq) != i)
			;
		in->rng ^= in->rng << 13;
		in->rng ^= in->rng >> 7;
		in->rng ^= in->rng << 17;
		spins = (in->rng & 3) == 0 ? 0 : (unsigned)(in->rng >> 40) % 20000;
		for (volatile unsigned s = 0; s < spins; s++)
			;
		inject_one(in->port, (uint16_t)(in->rng >> 16), i);
	}
	return NULL;
}

/*
 * Frames one at a time at random moments (the model writes each back when its thread gets to
 * it) over two queues, RSS spreading the flows; a sleep slept through ends only by its 10 s
 * timeout.
 */
Test(ixgbe_intr, no_lost_wakeup_with_frames_at_random_times)
{
	struct updk_net_dev *dev = open_intr("sim:ixgbe?name=rnd,mac=02:00:00:00:00:0c", 2, 0);
	struct rxq r[2] = { { .dev = dev, .q = 0 }, { .dev = dev, .q = 1 } };
	struct injector in = { .port = "rnd", .r = r, .nq = 2, .n = 3000, .rng = 42 };
	struct updk_loop *l = loop_of(r, 2, 10000);
	struct updk_loop_stats st;
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, inject_random, &in), 0);
	while (total(r, 2) < in.n)
		cr_assert_geq(updk_loop_run_once(l), 0);
	pthread_join(t, NULL);
	updk_loop_stats(l, &st);
	cr_log_info("%u frames (%llu on queue 0, %llu on 1): %llu sleeps, %llu woken by a vector",
		    in.n, (unsigned long long)r[0].got, (unsigned long long)r[1].got,
		    (unsigned long long)st.sleeps, (unsigned long long)st.wakeups);
	cr_assert_eq(st.timeouts, 0, "a wake-up was lost: a sleep ran into its 10 s timeout");
	cr_assert_gt(r[0].got, 0);
	cr_assert_gt(r[1].got, 0, "both queues, both vectors");
	cr_assert_gt(raised(dev, 0), 0);
	cr_assert_gt(raised(dev, 1), 0);
	cr_assert_gt(st.wakeups, in.n / 4, "the loop did sleep");
	cr_assert_eq(sim_ixgbe_errors(), 0);
	updk_loop_destroy(l);
	updk_net_close(dev);
}

/* EITR 1 ms: however fast frames come, the vector is raised once a millisecond at most. */
Test(ixgbe_intr, eitr_throttles_the_vector)
{
	struct updk_net_dev *dev = open_intr("sim:ixgbe?name=itr,mac=02:00:00:00:00:0c", 1, 1000);
	struct rxq r = { .dev = dev };
	double t0 = ixt_now(), ms;
	uint64_t n;

	for (uint32_t i = 0; i < 200; i++) {
		cr_assert_geq(updk_net_rx_intr_ack(dev, 0), 0);
		updk_net_rx_intr_arm(dev, 0); /* unmasked all the time */
		inject_one("itr", 1, i);
		usleep(50);
		rx_poll(&r);
	}
	ms = (ixt_now() - t0) * 1000;
	n = raised(dev, 0);
	cr_log_info("200 frames in %.1f ms: %llu interrupts", ms, (unsigned long long)n);
	cr_assert_gt(n, 0);
	/* A bound the model cannot pass however slow the machine: one per interval, plus one. */
	cr_assert_leq((double)n, ms / 1.0 + 1, "%llu interrupts in %.1f ms", (unsigned long long)n,
		      ms);
	updk_net_close(dev);
}

/*
 * Fewer MSI-X vectors than receive queues (msix=2 for 4 queues): one vector all four share,
 * each queue's IVAR entry pointing at it, and frames on every queue still wake the loop.
 */
Test(ixgbe_intr, fewer_vectors_than_queues_share_one)
{
	struct updk_net_dev *dev =
		open_intr("sim:ixgbe?name=few,mac=02:00:00:00:00:0c,msix=2", 4, 0);
	struct rxq r[4] = { { .dev = dev, .q = 0 },
			    { .dev = dev, .q = 1 },
			    { .dev = dev, .q = 2 },
			    { .dev = dev, .q = 3 } };
	struct injector in = { .port = "few", .r = r, .nq = 4, .n = 400, .rng = 11 };
	struct updk_loop_stats st;
	struct updk_loop *l;
	pthread_t t;

	cr_assert_eq(updk_pci_irq_type(pci_of(dev)), UPDK_PCI_IRQ_MSIX);
	cr_assert_eq(updk_pci_irq_count(pci_of(dev)), 1, "one vector for the four queues");
	for (uint16_t q = 1; q < 4; q++)
		cr_assert_eq(updk_net_rx_intr_fd(dev, q), updk_net_rx_intr_fd(dev, 0));
	cr_assert_eq(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_IVAR(0)) & 0x00ff00ff, 0x00800080);
	cr_assert_eq(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_IVAR(1)) & 0x00ff00ff, 0x00800080);
	l = loop_of(r, 4, 10000);
	cr_assert_eq(pthread_create(&t, NULL, inject_random, &in), 0);
	while (total(r, 4) < in.n)
		cr_assert_geq(updk_loop_run_once(l), 0);
	pthread_join(t, NULL);
	updk_loop_stats(l, &st);
	cr_assert_eq(st.timeouts, 0, "a wake-up was lost");
	cr_assert_gt(st.wakeups, 0);
	cr_assert_gt(raised(dev, 0), 0);
	updk_loop_destroy(l);
	updk_net_close(dev);
}

/* No MSI-X: one INTx vector, each queue its own EICR bit, unmasked after each interrupt. */
Test(ixgbe_intr, intx_shared_by_two_queues)
{
	struct updk_net_dev *dev =
		open_intr("sim:ixgbe?name=ix,mac=02:00:00:00:00:0c,msix=0,msi=0", 2, 0);
	struct rxq r[2] = { { .dev = dev, .q = 0 }, { .dev = dev, .q = 1 } };
	struct injector in = { .port = "ix", .r = r, .nq = 2, .n = 500, .rng = 7 };
	struct updk_loop *l;
	struct updk_loop_stats st;
	pthread_t t;

	cr_assert_eq(updk_pci_irq_type(pci_of(dev)), UPDK_PCI_IRQ_INTX);
	cr_assert_eq(updk_net_rx_intr_fd(dev, 0), updk_net_rx_intr_fd(dev, 1), "one vector");
	cr_assert_eq(updk_pci_reg_read32(pci_of(dev), 0, IXGBE_GPIE) & IXGBE_GPIE_MSIX_MODE, 0);
	l = loop_of(r, 2, 10000);
	cr_assert_eq(pthread_create(&t, NULL, inject_random, &in), 0);
	while (total(r, 2) < in.n)
		cr_assert_geq(updk_loop_run_once(l), 0);
	pthread_join(t, NULL);
	updk_loop_stats(l, &st);
	cr_assert_eq(st.timeouts, 0);
	cr_assert_gt(st.wakeups, 0);
	updk_loop_destroy(l);
	updk_net_close(dev);
}

Test(ixgbe_intr, close_with_armed_queues)
{
	struct held before = held_now();
	struct updk_net_dev *dev = open_intr("sim:ixgbe?name=cl,mac=02:00:00:00:00:0c", 2, 0);
	struct rxq r[2] = { { .dev = dev, .q = 0 }, { .dev = dev, .q = 1 } };
	struct loop_thread lt;

	loop_thread_start_asleep(&lt, loop_of(r, 2, UPDK_LOOP_SLEEP_FOREVER));
	cr_assert_eq(loop_thread_stop(&lt), 0);
	updk_net_close(dev); /* both queues armed */
	updk_loop_destroy(lt.l);
	held_assert_same(before, "the close");
}

static void refused(const char *addr, int err, const char *says)
{
	struct updk_net_opts o = ixt_opts();
	struct updk_net_dev *dev = NULL;
	struct held before = held_now();
	struct log_capture lc;
	char *log;

	o.rx_interrupts = true;
	log_capture_start(&lc);
	cr_assert_eq(updk_net_open(addr, &o, &dev), err, "%s", addr);
	log = log_capture_stop(&lc);
	cr_assert(strstr(log, "sim:ixgbe") && strstr(log, says), "'%s' in: %s", says, log);
	free(log);
	held_assert_same(before, addr);
	/* Polled, the same function works. */
	o.rx_interrupts = false;
	dev = ixt_open(addr, &o);
	updk_net_close(dev);
}

Test(ixgbe_intr, function_without_interrupts_refused)
{
	refused("sim:ixgbe?name=none,mac=02:00:00:00:00:0c,msix=0,msi=0,intx=0", -ENOSPC,
		"offers no interrupts");
}

Test(ixgbe_intr, open_file_limit_refused)
{
	struct rlimit saved, low;
	struct held h = held_now();

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = (rlim_t)h.fds + 6; /* the capture's and a few, not 16 eventfds */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	{
		struct updk_net_opts o = ixt_opts();
		struct updk_net_dev *dev = NULL;
		struct log_capture lc;
		char *log;
		int rc;

		o.rx_queues = 16;
		o.rx_interrupts = true;
		log_capture_start(&lc);
		rc = updk_net_open("sim:ixgbe?name=lim,mac=02:00:00:00:00:0c", &o, &dev);
		log = log_capture_stop(&lc);
		cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
		cr_assert_eq(rc, -EMFILE);
		cr_assert(strstr(log, "sim:ixgbe") && strstr(log, "ulimit -n"), "%s", log);
		free(log);
	}
	held_assert_same(h, "the refused open");
}

Test(ixgbe_intr, calls_on_a_polled_device_refused)
{
	struct updk_net_opts o = ixt_opts();
	struct updk_net_dev *dev = ixt_open("sim:ixgbe?name=pl,mac=02:00:00:00:00:0c", &o);
	struct updk_loop_queue lq;
	struct rxq r = { .dev = dev };

	cr_assert_eq(updk_net_rx_intr_fd(dev, 0), -EINVAL);
	cr_assert_eq(updk_net_rx_intr_arm(dev, 0), -EINVAL);
	lq = updk_net_rx_loop_queue(dev, 0, rx_poll, &r);
	cr_assert_lt(lq.fd, 0);
	updk_net_close(dev);
	o.rx_intr_usecs = 2000;
	cr_assert_eq(updk_net_open("sim:ixgbe?name=pl2,mac=02:00:00:00:00:0c", &o, &dev), -EINVAL,
		     "EITR's limit");
}
