// SPDX-License-Identifier: BSD-3-Clause
/*
 * drivers/ixgbe bring-up against sim:ixgbe: the register sequence of 82599 datasheet §4.6,
 * link, MAC, options, close and reopen.
 */
#include <errno.h>

#include "drivers/ixgbe/ixgbe_regs.h"
#include "test/model/ixgbe_test.h"

TestSuite(ixgbe_bringup, .init = ixt_setup, .timeout = 60);

static struct sim_ixgbe_reg_access log_[8192];
static int n_log;

/* Index of the first access at or after @from matching, or fail. */
static int find(int from, bool write, uint32_t off, uint32_t mask, uint32_t want, const char *what)
{
	for (int i = from; i < n_log; i++)
		if (log_[i].write == write && log_[i].off == off && (log_[i].val & mask) == want)
			return i;
	cr_assert_fail("bring-up: no %s after access %d", what, from);
	return -1;
}

Test(ixgbe_bringup, register_sequence)
{
	struct updk_net_opts o = ixt_opts();

	o.rx_queues = 2;
	o.tx_queues = 2;
	o.promiscuous = true;
	struct updk_net_dev *d = ixt_open("sim:ixgbe?name=seq,trace=1", &o);

	n_log = sim_ixgbe_reg_log("seq", log_, 8192);
	cr_assert_gt(n_log, 0);
	cr_assert_lt(n_log, 8192);
	/* §4.6.3.1 interrupts masked, then §4.6.3.2 the global reset */
	int i = find(0, true, IXGBE_EIMC, ~0u, IXGBE_EIMC_ALL, "EIMC mask-all");
	int rst = find(i, true, IXGBE_CTRL, IXGBE_CTRL_RST_MASK, IXGBE_CTRL_RST_MASK, "CTRL.RST");
	/* polled until self-clear: the model keeps RST set for one read */
	i = find(rst, false, IXGBE_CTRL, IXGBE_CTRL_RST, IXGBE_CTRL_RST, "CTRL read with RST");
	i = find(i, false, IXGBE_CTRL, IXGBE_CTRL_RST, 0, "CTRL read with RST clear");
	i = find(i, true, IXGBE_EIMC, ~0u, IXGBE_EIMC_ALL, "EIMC again after reset");
	/* §4.6.3: EEPROM auto-read and DMA init done, each polled until set */
	i = find(i, false, IXGBE_EEC, IXGBE_EEC_ARD, IXGBE_EEC_ARD, "EEC.ARD set");
	i = find(i, false, IXGBE_RDRXCTL, IXGBE_RDRXCTL_DMAIDONE, IXGBE_RDRXCTL_DMAIDONE,
		 "RDRXCTL.DMAIDONE set");
	i = find(i, false, IXGBE_RAL(0), 0, 0, "RAL(0) read");
	/* §4.6.4 link: AN restarted */
	i = find(i, true, IXGBE_AUTOC, IXGBE_AUTOC_AN_RESTART, IXGBE_AUTOC_AN_RESTART,
		 "AUTOC.AN_RESTART");
	/* §4.6.5 statistics read (cleared) */
	i = find(i, false, IXGBE_GPRC, 0, 0, "GPRC read");
	/* §4.6.7 receive: RXEN off first, then buffers, CRC strip, broadcast, rings */
	int rx = find(i, true, IXGBE_RXCTRL, IXGBE_RXCTRL_RXEN, 0, "RXCTRL.RXEN cleared");
	i = find(rx, true, IXGBE_RXPBSIZE(0), ~0u, IXGBE_RXPBSIZE_128KB, "RXPBSIZE(0)");
	i = find(i, true, IXGBE_HLREG0, IXGBE_HLREG0_RXCRCSTRP, IXGBE_HLREG0_RXCRCSTRP,
		 "HLREG0.RXCRCSTRP");
	i = find(i, true, IXGBE_RDRXCTL, IXGBE_RDRXCTL_CRCSTRIP, IXGBE_RDRXCTL_CRCSTRIP,
		 "RDRXCTL.CRCSTRIP");
	i = find(i, true, IXGBE_FCTRL, IXGBE_FCTRL_BAM, IXGBE_FCTRL_BAM, "FCTRL.BAM");
	for (uint32_t q = 0; q < 2; q++) {
		int r = find(i, true, IXGBE_RDBAL(q), 0, 0, "RDBAL");

		r = find(r, true, IXGBE_RDLEN(q), ~0u, 512 * 16, "RDLEN");
		r = find(r, true, IXGBE_SRRCTL(q),
			 IXGBE_SRRCTL_DESCTYPE_MASK | IXGBE_SRRCTL_DROP_EN,
			 IXGBE_SRRCTL_DESCTYPE_ADV_ONEBUF | IXGBE_SRRCTL_DROP_EN,
			 "SRRCTL advanced one-buffer with DROP_EN");
	}
	i = find(i, true, IXGBE_MRQC, IXGBE_MRQC_MRQE_MASK, IXGBE_MRQC_RSSEN, "MRQC RSS on");
	/* §4.6.8 transmit */
	int tx = find(i, true, IXGBE_HLREG0, IXGBE_HLREG0_TXCRCEN | IXGBE_HLREG0_TXPADEN,
		      IXGBE_HLREG0_TXCRCEN | IXGBE_HLREG0_TXPADEN, "HLREG0 TXCRCEN|TXPADEN");
	i = find(tx, true, IXGBE_TXPBSIZE(0), ~0u, IXGBE_TXPBSIZE_40KB, "TXPBSIZE(0)");
	i = find(i, true, IXGBE_DTXMXSZRQ, 0, 0, "DTXMXSZRQ");
	i = find(i, true, IXGBE_RTTDCS, IXGBE_RTTDCS_ARBDIS, 0, "RTTDCS.ARBDIS cleared");
	i = find(i, true, IXGBE_TDLEN(1), ~0u, 512 * 16, "TDLEN(1)");
	i = find(i, true, IXGBE_TXDCTL(1), 0, 0, "TXDCTL(1) thresholds");
	int te = find(i, true, IXGBE_DMATXCTL, IXGBE_DMATXCTL_TE, IXGBE_DMATXCTL_TE, "DMATXCTL.TE");
	find(te, true, IXGBE_FCTRL, IXGBE_FCTRL_UPE | IXGBE_FCTRL_MPE,
	     IXGBE_FCTRL_UPE | IXGBE_FCTRL_MPE, "FCTRL promiscuous");
	/* queues enabled and polled until the enable reads back, RXEN after them */
	for (uint32_t q = 0; q < 2; q++) {
		int e = find(te, true, IXGBE_RXDCTL(q), IXGBE_RXDCTL_ENABLE, IXGBE_RXDCTL_ENABLE,
			     "RXDCTL.ENABLE");

		e = find(e, false, IXGBE_RXDCTL(q), IXGBE_RXDCTL_ENABLE, IXGBE_RXDCTL_ENABLE,
			 "RXDCTL.ENABLE read back");
		find(e, true, IXGBE_RDT(q), ~0u, 511, "RDT after enable");
		e = find(te, true, IXGBE_TXDCTL(q), IXGBE_TXDCTL_ENABLE, IXGBE_TXDCTL_ENABLE,
			 "TXDCTL.ENABLE");
		find(e, false, IXGBE_TXDCTL(q), IXGBE_TXDCTL_ENABLE, IXGBE_TXDCTL_ENABLE,
		     "TXDCTL.ENABLE read back");
	}
	find(find(te, true, IXGBE_RXDCTL(1), IXGBE_RXDCTL_ENABLE, IXGBE_RXDCTL_ENABLE, "RXDCTL(1)"),
	     true, IXGBE_RXCTRL, IXGBE_RXCTRL_RXEN, IXGBE_RXCTRL_RXEN, "RXCTRL.RXEN after queues");
	cr_assert_str_eq(updk_net_driver_name(d), "ixgbe");
	updk_net_close(d);
	cr_assert_eq(sim_ixgbe_errors(), 0);
}

Test(ixgbe_bringup, link_and_mac)
{
	struct updk_net_opts o = ixt_opts();

	o.link_wait_ms = 30;
	struct updk_net_dev *d = ixt_open("sim:ixgbe?name=lk,link=down,mac=02:12:34:56:78:9a", &o);
	struct updk_net_link l;
	uint8_t mac[6];
	static const uint8_t want[6] = { 0x02, 0x12, 0x34, 0x56, 0x78, 0x9a };

	updk_net_mac(d, mac);
	cr_assert_eq(memcmp(mac, want, 6), 0, "MAC from RAL/RAH(0)");
	cr_assert_eq(updk_net_link(d, &l), 0);
	cr_assert(!l.up, "link=down holds the link down");
	cr_assert_eq(l.speed_mbps, 0);
	cr_assert_eq(sim_ixgbe_set_link("lk", true), 0);
	cr_assert_eq(updk_net_link(d, &l), 0);
	cr_assert(l.up);
	cr_assert_eq(l.speed_mbps, 10000);
	updk_net_close(d);
	cr_assert_eq(sim_ixgbe_errors(), 0);
}

Test(ixgbe_bringup, link_comes_up_after_a_delay)
{
	struct updk_net_opts o = ixt_opts();
	double t0 = ixt_now();
	struct updk_net_dev *d = ixt_open("sim:ixgbe?name=lkd,link_delay_ms=100", &o);
	struct updk_net_link l;

	/* open waits for the link (bounded by link_wait_ms) */
	cr_assert_geq(ixt_now() - t0, 0.1);
	cr_assert_eq(updk_net_link(d, &l), 0);
	cr_assert(l.up);
	updk_net_close(d);
}

Test(ixgbe_bringup, bad_options_and_devices)
{
	struct updk_net_opts o = ixt_opts();
	struct updk_net_dev *d = NULL;

	o.rx_ring_size = 100;
	cr_assert_eq(updk_net_open("sim:ixgbe", &o, &d), -EINVAL, "ring not a power of two");
	o = ixt_opts();
	o.rx_queues = UPDK_NET_MAX_QUEUES + 1;
	cr_assert_eq(updk_net_open("sim:ixgbe", &o, &d), -EINVAL);
	o = ixt_opts();
	o.opts_size = 0;
	cr_assert_eq(updk_net_open("sim:ixgbe", &o, &d), -EINVAL);
	cr_assert_eq(updk_net_open("sim:dmacopy", NULL, &d), -ENODEV, "not a NIC");
	cr_assert_eq(updk_net_open("sim:ixgbe?bogus=1", NULL, &d), -EINVAL);
	cr_assert_null(d);
	/* two ports with one name */
	o = ixt_opts();
	struct updk_net_dev *a = ixt_open("sim:ixgbe?name=dup", &o);

	cr_assert_lt(updk_net_open("sim:ixgbe?name=dup", &o, &d), 0);
	updk_net_close(a);
	/* a queue that does not exist: no packets, no crash */
	a = ixt_open("sim:ixgbe?name=q1", &o);
	struct updk_pkt *p[4];

	cr_assert_eq(updk_net_rx_burst(a, 1, p, 4), 0);
	cr_assert_eq(updk_net_tx_burst(a, 7, p, 4), 0);
	updk_net_close(a);
	cr_assert_eq(sim_ixgbe_errors(), 0);
}

Test(ixgbe_bringup, close_and_reopen)
{
	struct updk_pktpool *pool = updk_pktpool_create("rx", 2048, 0, 0, 0, UPDK_NUMA_ANY);
	static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0xa };
	static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0xb };
	uint8_t f[256];

	for (int round = 0; round < 3; round++) {
		struct updk_net_opts o = ixt_opts();

		o.pool = pool;
		struct updk_net_dev *b = ixt_open("sim:ixgbe?name=ro,mac=02:00:00:00:00:0b", &o);
		struct updk_pkt *p[16];

		for (uint32_t i = 0; i < 16; i++) {
			ixt_frame(f, 256, mac_b, mac_a, 5, 100 * (uint32_t)round + i);
			cr_assert_eq(sim_ixgbe_inject("ro", f, 256), 0);
		}
		cr_assert_eq(ixt_rx(b, 0, p, 16, 2), 16);
		for (uint32_t i = 0; i < 16; i++)
			cr_assert_eq(ixt_seq(updk_pkt_data(p[i])), 100 * (uint32_t)round + i,
				     "round %d starts clean", round);
		updk_pkt_free_bulk(p, 16);
		struct updk_net_stats s;

		cr_assert_eq(updk_net_stats(b, &s), 0);
		cr_assert_eq(s.rx_packets, 16, "counters start from zero at each open");
		updk_net_close(b);
		cr_assert_eq(updk_pktpool_avail(pool), 2048, "close gave every ring buffer back");
	}
	updk_pktpool_free(pool);
	cr_assert_eq(sim_ixgbe_errors(), 0);
}

/*
 * Forwarding leaves one port's buffers in the other's transmit ring. Closing the first port
 * must not free its pool under the second (it used to crash at the second close).
 */
Test(ixgbe_bringup, close_while_buffers_sit_in_another_port)
{
	struct updk_net_opts o = ixt_opts();
	struct updk_net_dev *a = ixt_open("sim:ixgbe?name=fa,mac=02:00:00:00:00:0a", &o);

	o.link_wait_ms = 10;
	struct updk_net_dev *b = ixt_open("sim:ixgbe?name=fb,link=down", &o);
	static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0xa };
	uint8_t f[128];
	struct updk_pkt *p[8];

	for (uint32_t i = 0; i < 8; i++) {
		ixt_frame(f, 128, mac_a, mac_a, 1, i);
		cr_assert_eq(sim_ixgbe_inject("fa", f, 128), 0);
	}
	cr_assert_eq(ixt_rx(a, 0, p, 8, 2), 8);
	/* b's link is down: the 8 buffers of a's pool stay in b's transmit ring */
	cr_assert_eq(updk_net_tx_burst(b, 0, p, 8), 8);
	updk_net_close(a);
	updk_net_close(b);
	cr_assert_eq(sim_ixgbe_errors(), 0);
}
