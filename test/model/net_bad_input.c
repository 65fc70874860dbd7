// SPDX-License-Identifier: BSD-3-Clause
/*
 * Bad input over the public NIC API (updk_net_*), table-driven like bad_input.c for NVMe
 * (docs/reliability.md "Bad input from the user"), on sim:ixgbe: each case gets its documented
 * error and a log line that names what is wrong, and leaves nothing behind: no file descriptor,
 * no thread, no DMA allocation more than before, not one packet buffer taken from or given back
 * to the caller's pool more than the call says (a leaked buffer lowers the pool's free count, a
 * buffer freed twice raises it), and the same port opens afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test/model/held.h"
#include "test/model/ixgbe_test.h"

TestSuite(net_bad_input, .init = ixt_setup, .timeout = 60);

/* stderr, where updk logs, goes to a file while @fn runs; its text comes back in @log. */
struct capture {
	int saved, fd;
};

static void capture_start(struct capture *c)
{
	char path[] = "/tmp/updk-net-bad.XXXXXX";

	fflush(stderr);
	c->fd = mkstemp(path);
	cr_assert_geq(c->fd, 0);
	unlink(path);
	c->saved = dup(2);
	cr_assert_geq(c->saved, 0);
	cr_assert_eq(dup2(c->fd, 2), 2);
}

static void capture_end(struct capture *c, char *log, size_t len)
{
	ssize_t n;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	n = pread(c->fd, log, len - 1, 0);
	log[n > 0 ? n : 0] = '\0';
	close(c->fd);
	fputs(log, stderr);
}

/* The free count of @pool is @before: nothing leaked, nothing freed twice. */
static void pool_assert(const struct updk_pktpool *pool, unsigned before, const char *what)
{
	unsigned now = updk_pktpool_avail(pool);

	cr_assert_eq(now, before, "%s: the pool has %u free buffers, %u before (%s)", what, now,
		     before, now < before ? "leaked" : "freed twice");
}

/* A NIC opens (and closes) at @addr: nothing left over from what was refused before. */
static void opens_fine(const char *addr)
{
	struct updk_net_opts o = ixt_opts();

	updk_net_close(ixt_open(addr, &o));
}

Test(net_bad_input, addresses_open_nothing)
{
	static const struct {
		const char *addr;
		int rc;
		const char *says;
	} cases[] = {
		{ "", -EINVAL, "" },
		{ "0000:zz:00.0", -EINVAL, "0000:zz:00.0" },
		{ "0000:01:00.0x", -EINVAL, "0000:01:00.0x" },
		{ " 0000:01:00.0", -EINVAL, " 0000:01:00.0" },
		{ "0000:01:20.0", -EINVAL, "0000:01:20.0" }, /* device 0x20: 5 bits only */
		{ "0000:ff:1f.7", -ENODEV, "0000:ff:1f.7" }, /* well formed, no such device */
		{ "sim:", -EINVAL, "sim:" },
		{ "sim:nosuchmodel", -ENODEV, "nosuchmodel" },
		{ "sim:ixgbe?", -EINVAL, "sim:ixgbe?" },
		{ "sim:ixgbe?bogus=1", -EINVAL, "bogus" },
		{ "sim:ixgbe?mac=02:00:00:00:00", -EINVAL, "mac" },
		{ "sim:nvme", -ENODEV, "no updk NIC driver" }, /* a device, not a NIC */
		{ "sim:dmacopy", -ENODEV, "no updk NIC driver" },
	};
	struct updk_pktpool *pool = updk_pktpool_create("rx", 2048, 0, 0, 0, UPDK_NUMA_ANY);
	struct updk_net_opts with_pool = ixt_opts();
	char log[4096];

	cr_assert_not_null(pool);
	with_pool.pool = pool;

	struct held before = held_now();
	unsigned free0 = updk_pktpool_avail(pool);

	/* each address twice: with the defaults (the device's own pool), with the caller's */
	for (size_t i = 0; i < 2 * sizeof(cases) / sizeof(cases[0]); i++) {
		const char *addr = cases[i / 2].addr;
		struct updk_net_dev *dev = (void *)cases; /* must come back NULL */
		struct capture cap;
		int rc;

		capture_start(&cap);
		rc = updk_net_open(addr, i & 1 ? &with_pool : NULL, &dev);
		capture_end(&cap, log, sizeof(log));
		cr_assert_eq(rc, cases[i / 2].rc, "'%s': %d, want %d", addr, rc, cases[i / 2].rc);
		cr_assert_null(dev, "'%s': *dev not cleared", addr);
		cr_assert(log[0], "'%s': refused without a word", addr);
		cr_assert(strstr(log, cases[i / 2].says), "'%s': the log does not name '%s':\n%s",
			  addr, cases[i / 2].says, log);
		held_assert_same(before, addr);
		pool_assert(pool, free0, addr);
	}
	cr_assert_eq(updk_net_open(NULL, &with_pool, &(struct updk_net_dev *){ NULL }), -EINVAL);
	cr_assert_eq(updk_net_open("sim:ixgbe", &with_pool, NULL), -EINVAL);
	held_assert_same(before, "NULL address or device pointer");
	pool_assert(pool, free0, "NULL address or device pointer");
	for (int i = 0; i < 2; i++)
		opens_fine("sim:ixgbe?name=nb0");
	held_assert_same(before, "open and close twice");
	updk_pktpool_free(pool);
}

Test(net_bad_input, options_open_nothing)
{
	struct updk_pktpool *small = updk_pktpool_create("small", 256, 512, 0, 0, UPDK_NUMA_ANY);
	struct updk_pktpool *big = updk_pktpool_create("big", 2048, 0, 0, 0, UPDK_NUMA_ANY);
	struct updk_pktpool *few = updk_pktpool_create("few", 256, 0, 0, 0, UPDK_NUMA_ANY);
	struct updk_pktpool *one_ring =
		updk_pktpool_create("one-ring", 768, 0, 0, 0, UPDK_NUMA_ANY);
	static const struct {
		const char *what;
		size_t opts_size;
		uint16_t rxq, txq, rx_ring, tx_ring;
		int pool; /* 0: the big pool, 1: small data room, 2: 256 buffers, 3: 768 buffers */
		int rc;
		const char *says;
	} cases[] = {
		{ "opts_size 0", 0, 0, 0, 0, 0, 0, -EINVAL, "opts_size is 0" },
		{ "opts_size beyond the struct", sizeof(struct updk_net_opts) + 8, 0, 0, 0, 0, 0,
		  -EINVAL, "opts_size" },
		{ "receive ring of 32", sizeof(struct updk_net_opts), 0, 0, 32, 0, 0, -EINVAL,
		  "receive ring size 32" },
		{ "transmit ring of 8192", sizeof(struct updk_net_opts), 0, 0, 0, 8192, 0, -EINVAL,
		  "transmit ring size 8192" },
		{ "ring of 100 (not a power of two)", sizeof(struct updk_net_opts), 0, 0, 100, 0, 0,
		  -EINVAL, "use a power of two from 64 to 4096" },
		{ "17 receive queues", sizeof(struct updk_net_opts), 17, 0, 0, 0, 0, -EINVAL,
		  "at most 16" },
		{ "65535 transmit queues", sizeof(struct updk_net_opts), 0, 65535, 0, 0, 0, -EINVAL,
		  "at most 16" },
		{ "pool with 512 bytes of data room", sizeof(struct updk_net_opts), 0, 0, 0, 0, 1,
		  -EINVAL, "receive needs at least 1024" },
		{ "pool of 256 buffers for a ring of 512", sizeof(struct updk_net_opts), 0, 0, 0, 0,
		  2, -ENOBUFS, "fewer than 512 free buffers for receive ring 0" },
		{ "pool of 768 buffers for two rings of 512", sizeof(struct updk_net_opts), 2, 0, 0,
		  0, 3, -ENOBUFS, "fewer than 512 free buffers for receive ring 1" },
	};
	struct updk_pktpool *pools[] = { big, small, few, one_ring };
	char log[4096];

	cr_assert_not_null(small);
	cr_assert_not_null(big);
	cr_assert_not_null(few);
	cr_assert_not_null(one_ring);

	struct held before = held_now();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct updk_net_opts o = ixt_opts();
		struct updk_net_dev *dev = (void *)cases;
		struct updk_pktpool *pool = pools[cases[i].pool];
		unsigned free0 = updk_pktpool_avail(pool);
		struct capture cap;
		int rc;

		o.opts_size = cases[i].opts_size;
		o.rx_queues = cases[i].rxq;
		o.tx_queues = cases[i].txq;
		o.rx_ring_size = cases[i].rx_ring;
		o.tx_ring_size = cases[i].tx_ring;
		o.pool = pool;
		capture_start(&cap);
		rc = updk_net_open("sim:ixgbe?name=nb1", &o, &dev);
		capture_end(&cap, log, sizeof(log));
		cr_assert_eq(rc, cases[i].rc, "%s: %d, want %d", cases[i].what, rc, cases[i].rc);
		cr_assert_null(dev, "%s: *dev not cleared", cases[i].what);
		/* the options are checked against the address as given; the driver names the
		 * device it opened (a sim device by its model) */
		cr_assert(
			strstr(log, cases[i].rc == -ENOBUFS ? "sim:ixgbe: " : "sim:ixgbe?name=nb1"),
			"%s: the log does not name the port:\n%s", cases[i].what, log);
		cr_assert(strstr(log, cases[i].says), "%s: the log does not say '%s':\n%s",
			  cases[i].what, cases[i].says, log);
		held_assert_same(before, cases[i].what);
		pool_assert(pool, free0, cases[i].what);
	}
	/* the documented defaults: 0 is not an error */
	opens_fine("sim:ixgbe?name=nb1");
	/* two ports with one name: the second is refused, the first unharmed */
	struct updk_net_opts o = ixt_opts();

	o.pool = big;

	struct updk_net_dev *a = ixt_open("sim:ixgbe?name=nb1", &o), *b = (void *)cases;
	unsigned free0 = updk_pktpool_avail(big);

	cr_assert_lt(free0, 2048, "the first port's receive ring holds buffers of the pool");
	cr_assert_lt(updk_net_open("sim:ixgbe?name=nb1", &o, &b), 0);
	cr_assert_null(b);
	pool_assert(big, free0, "duplicate name");
	struct updk_net_link link;

	cr_assert_eq(updk_net_link(a, &link), 0);
	updk_net_close(a);
	pool_assert(big, 2048, "close after a duplicate name");
	held_assert_same(before, "duplicate name");
	for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++)
		updk_pktpool_free(pools[i]);
}

Test(net_bad_input, bursts_and_queues)
{
	struct updk_net_opts o = ixt_opts();
	struct updk_pktpool *pool = updk_pktpool_create("tx", 1024, 0, 0, 0, UPDK_NUMA_ANY);
	struct updk_pktpool *rxpool = updk_pktpool_create("rx", 1024, 0, 0, 0, UPDK_NUMA_ANY);
	struct updk_pkt *p[600];
	struct updk_net_dev *dev;
	char log[4096];
	struct capture cap;
	/* volatile: with constants the compiler, not the API, would see they are out of range */
	static volatile uint16_t bad_q[] = { 2, UPDK_NET_MAX_QUEUES, 0xffff, 3 };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
			     src[6] = { 0x02, 0, 0, 0, 0, 0x77 };
	unsigned rx0, got = 0;
	uint16_t sent;

	cr_assert_not_null(pool);
	cr_assert_not_null(rxpool);
	o.rx_queues = 2;
	o.tx_queues = 2;
	o.rx_ring_size = 64;
	o.tx_ring_size = 64;
	o.pool = rxpool;
	dev = ixt_open("sim:ixgbe?name=nb2", &o);
	/* the receive rings hold their buffers from now on; the checks below count from here */
	rx0 = updk_pktpool_avail(rxpool);
	cr_assert_lt(rx0, 1024);

	/* n = 0: nothing taken or given, on either side, with buffers the caller holds */
	cr_assert_eq(updk_pkt_alloc_bulk(pool, p, 4), 0);
	cr_assert_eq(updk_net_rx_burst(dev, 0, p, 0), 0);
	cr_assert_eq(updk_net_tx_burst(dev, 0, p, 0), 0);
	pool_assert(pool, 1020, "bursts of 0");
	pool_assert(rxpool, rx0, "bursts of 0");

	/* a queue beyond what was opened: 0, logged once, for receive and transmit; the caller
	 * keeps its buffers */
	for (unsigned i = 0; i < 3; i++) {
		capture_start(&cap);
		cr_assert_eq(updk_net_rx_burst(dev, bad_q[i], p, 4), 0);
		cr_assert_eq(updk_net_tx_burst(dev, bad_q[i + 1], p, 4), 0);
		capture_end(&cap, log, sizeof(log));
		if (i == 0)
			cr_assert(strstr(log, "receive burst on queue 2, but the device was opened "
					      "with 2: use queues 0 to 1"),
				  "%s", log);
		else
			cr_assert_eq(log[0], '\0', "logged again: %s", log);
		pool_assert(pool, 1020, "bursts on a queue not opened");
		pool_assert(rxpool, rx0, "bursts on a queue not opened");
	}
	updk_pkt_free_bulk(p, 4);
	pool_assert(pool, 1024, "the caller's buffers given back");

	/* more than the ring holds: the ring's worth is taken, the caller keeps the rest */
	cr_assert_eq(updk_pkt_alloc_bulk(pool, p, 600), 0);
	for (unsigned i = 0; i < 600; i++)
		p[i]->len = 60;
	sent = updk_net_tx_burst(dev, 1, p, 600);
	cr_assert_gt(sent, 0);
	cr_assert_lt(sent, 64, "%u taken into a ring of 64 (one slot stays empty)", sent);
	/* the taken ones are the ring's until sent: none of them back in the pool yet */
	pool_assert(pool, 1024 - 600, "transmit burst of 600 into 64");
	updk_pkt_free_bulk(p + sent, 600 - sent);
	pool_assert(pool, 1024 - sent, "the buffers the ring did not take, given back");

	/* a receive burst asking for more than the ring: what there is, at most a ring */
	cr_assert_leq(updk_net_rx_burst(dev, 1, p, 600), 64);
	pool_assert(rxpool, rx0, "receive burst of 600 with nothing received");
	for (unsigned i = 0; i < 8; i++) {
		uint8_t f[64];

		ixt_frame(f, sizeof(f), bcast, src, (uint16_t)(1000 + i), i);
		cr_assert_eq(sim_ixgbe_inject("nb2", f, sizeof(f)), 0);
	}
	for (double until = ixt_now() + 10; got < 8 && ixt_now() < until;) {
		for (uint16_t q = 0; q < 2; q++) {
			uint16_t n = updk_net_rx_burst(dev, q, p, 600);

			cr_assert_leq(n, 64);
			got += n;
			updk_pkt_free_bulk(p, n);
		}
	}
	cr_assert_eq(got, 8, "%u of 8 frames received", got);

	/* control-path calls with NULL where the API wants a pointer: -EINVAL, logged */
	struct updk_net_stats st;
	struct updk_net_link link;
	unsigned tx1 = updk_pktpool_avail(pool), rx1 = updk_pktpool_avail(rxpool);

	capture_start(&cap);
	cr_assert_eq(updk_net_stats(dev, NULL), -EINVAL);
	cr_assert_eq(updk_net_stats(NULL, &st), -EINVAL);
	cr_assert_eq(updk_net_link(dev, NULL), -EINVAL);
	cr_assert_eq(updk_net_link(NULL, &link), -EINVAL);
	cr_assert_eq(updk_net_stats_reset(NULL), -EINVAL);
	cr_assert_eq(updk_net_set_promiscuous(NULL, true), -EINVAL);
	updk_net_mac(dev, NULL);
	updk_net_mac(NULL, (uint8_t[6]){ 0 });
	updk_net_close(NULL);
	capture_end(&cap, log, sizeof(log));
	cr_assert(strstr(log, "updk_net_stats: stats is NULL"), "%s", log);
	cr_assert(strstr(log, "updk_net_link: the device is NULL"), "%s", log);
	cr_assert(strstr(log, "updk_net_mac: mac is NULL"), "%s", log);
	pool_assert(pool, tx1, "control-path calls with NULL");
	pool_assert(rxpool, rx1, "control-path calls with NULL");
	/* the device is unharmed by all of it */
	cr_assert_eq(updk_net_stats(dev, &st), 0);
	cr_assert_eq(updk_net_link(dev, &link), 0);
	updk_net_close(dev);
	/* every buffer back exactly once: the ones sent, the rings', the receive stash's */
	pool_assert(pool, 1024, "transmitted buffers after close");
	pool_assert(rxpool, 1024, "receive buffers after close");
	updk_pktpool_free(pool);
	updk_pktpool_free(rxpool);
	cr_assert_eq(sim_ixgbe_errors(), 0);
}

/*
 * A device used after updk_net_close(): bursts take nothing and return 0 (one log line), the
 * control calls refuse it with -EINVAL, a second close is only logged, and every buffer of the
 * caller's pool came back at the close; the same port opens again.
 */
Test(net_bad_input, device_used_after_close)
{
	struct updk_net_opts o = ixt_opts();
	struct updk_pktpool *pool = updk_pktpool_create("nb3", 512, 0, 0, 0, UPDK_NUMA_ANY);
	struct updk_pkt *p[4];
	struct updk_net_dev *dev;
	struct updk_net_link link;
	struct updk_net_stats st;
	uint8_t mac[6] = { 1, 2, 3, 4, 5, 6 };
	char log[4096];
	struct capture cap;
	struct held before;

	cr_assert_not_null(pool);
	o.pool = pool;
	before = held_now();
	dev = ixt_open("sim:ixgbe?name=nb3", &o);
	cr_assert_lt(updk_pktpool_avail(pool), 512, "the receive ring took buffers");
	updk_net_close(dev);
	pool_assert(pool, 512, "closed");
	held_assert_same(before, "open and close");
	cr_assert_eq(updk_pkt_alloc_bulk(pool, p, 4), 0);
	for (unsigned i = 0; i < 4; i++)
		p[i]->len = 60;

	capture_start(&cap);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(updk_net_rx_burst(dev, 0, p, 4), 0);
		cr_assert_eq(updk_net_tx_burst(dev, 0, p, 4), 0);
	}
	cr_assert_eq(updk_net_link(dev, &link), -EINVAL);
	cr_assert_eq(updk_net_stats(dev, &st), -EINVAL);
	cr_assert_eq(updk_net_stats_reset(dev), -EINVAL);
	cr_assert_eq(updk_net_set_promiscuous(dev, true), -EINVAL);
	updk_net_mac(dev, mac);
	updk_net_close(dev);
	capture_end(&cap, log, sizeof(log));
	cr_assert(strstr(log, "receive burst on a device closed by updk_net_close()"), "%s", log);
	cr_assert_null(strstr(log, "transmit burst on a device closed"), "logged twice:\n%s", log);
	cr_assert(strstr(log, "updk_net_link: sim:ixgbe: the device was closed by "
			      "updk_net_close(): open it again"),
		  "%s", log);
	cr_assert(strstr(log, "updk_net_close: the device was closed already"), "%s", log);
	cr_assert_eq(mac[0], 1, "updk_net_mac wrote a closed device's address");
	pool_assert(pool, 508, "bursts on a closed device");
	held_assert_same(before, "calls on a closed device");

	updk_pkt_free_bulk(p, 4);
	opens_fine("sim:ixgbe?name=nb3");
	held_assert_same(before, "opened again");
	updk_pktpool_free(pool);
}
