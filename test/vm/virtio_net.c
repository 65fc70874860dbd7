// SPDX-License-Identifier: BSD-3-Clause
/*
 * drivers/virtio-net on real VFIO, inside the test guest (test/vm/run.sh): QEMU's
 * virtio-net-pci (disable-legacy=on, iommu_platform=on) at UPDK_VM_VIRTIO_NET, bound to
 * vfio-pci and driven by updk through the virtual IOMMU, shares a QEMU hub with an e1000e at
 * UPDK_VM_E1000E that stays with the guest kernel. The kernel's view of the wire (a raw
 * AF_PACKET socket on the e1000e) is the independent second opinion:
 * - MAC and link as QEMU was told (run.sh: mac=52:54:00:12:34:06);
 * - updk sends numbered frames of many sizes: the kernel receives every one, in order,
 *   byte-identical;
 * - the kernel sends numbered frames: updk receives every one, in order, byte-identical;
 * - promiscuous mode through the control queue: frames for another MAC are filtered until it
 *   is on;
 * - forwarding: the kernel sends, updk swaps the MACs and sends back, the kernel gets them all;
 * - two updk ports on the hub; a frame over two buffers dropped whole; a device without
 *   iommu_platform refused;
 * - several queue pairs (UPDK_VM_VIRTIO_MQ, on a hairpinned host tap): MQ negotiated and
 *   VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET sent, each queue pair's frames come back on that pair;
 * - DEVICE_NEEDS_RESET: QEMU's device given a bad available ring entry stops; the driver
 *   notices it from the data path and the control path, refuses work, and a reopen recovers.
 *
 * Frames carry the local experimental EtherType 0x88b5 so that anything else on the hub (IPv6
 * chatter of the kernel) is ignored. The e1000e under TCG takes ~120k frames a second, so
 * frames go in bursts of 32 and each side waits for the burst before the next.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <updk/net.h>

#include "drivers/virtio-net/virtio_net_test.h"
#include "test/common/udp_frame.h"
#include "test/vm/vm_util.h"

#define ETHERTYPE_TEST 0x88b5
#define QEMU_VIRTIO_MAC "\x52\x54\x00\x12\x34\x06" /* test/vm/run.sh: mac= of 06.0 */
#define FRAMES 2000
#define BURST 32
#define MAGIC 0x75706b64u /* "updk" */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the kernel's side: the e1000e interface and a raw socket on it ----------------------- */

struct kside {
	char ifname[IFNAMSIZ];
	int ifindex;
	uint8_t mac[6];
	int fd;
};

static void kside_open(struct kside *k)
{
	const char *bdf = vm_env("UPDK_VM_E1000E");
	char path[256], cmd[512];
	struct ifreq ifr;
	FILE *f;
	int s;

	snprintf(cmd, sizeof(cmd), "ls /sys/bus/pci/devices/%s/net/ 2>/dev/null", bdf);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(k->ifname, sizeof(k->ifname), f),
			   "%s has no network interface: is it bound to e1000e?", bdf);
	pclose(f);
	k->ifname[strcspn(k->ifname, "\n")] = '\0';

	/* no IPv6 chatter from this interface; the tests filter by EtherType anyway */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", k->ifname);
	f = fopen(path, "w");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_geq(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", k->ifname);
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0, "SIOCGIFFLAGS %s: %s", k->ifname,
		     strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0, "bringing %s up: %s", k->ifname,
		     strerror(errno));
	cr_assert_eq(ioctl(s, SIOCGIFHWADDR, &ifr), 0);
	memcpy(k->mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	k->ifindex = (int)if_nametoindex(k->ifname);
	cr_assert_gt(k->ifindex, 0);

	k->fd = socket(AF_PACKET, SOCK_RAW, htons(ETHERTYPE_TEST));
	cr_assert_geq(k->fd, 0, "AF_PACKET socket: %s", strerror(errno));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETHERTYPE_TEST),
				   .sll_ifindex = k->ifindex };
	cr_assert_eq(bind(k->fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	int rcvbuf = 8 << 20;

	setsockopt(k->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* the e1000e's carrier comes up some time after IFF_UP */
	uint64_t end = now_ms() + 5000;

	for (;;) {
		char c = '0';

		snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", k->ifname);
		f = fopen(path, "r");
		if (f) {
			c = (char)fgetc(f);
			fclose(f);
		}
		if (c == '1')
			break;
		cr_assert_lt(now_ms(), end, "%s has no carrier 5 s after going up", k->ifname);
		usleep(10000);
	}
}

static void kside_send(struct kside *k, const uint8_t *frame, size_t len)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETHERTYPE_TEST),
				   .sll_ifindex = k->ifindex,
				   .sll_halen = 6 };

	memcpy(sll.sll_addr, frame, 6);
	ssize_t n = sendto(k->fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll));

	cr_assert_eq(n, (ssize_t)len, "sendto on %s: %s", k->ifname, strerror(errno));
}

/* The next test frame the kernel receives (others skipped), or -1 after @timeout_ms. */
static ssize_t kside_recv(struct kside *k, uint8_t *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd = { .fd = k->fd, .events = POLLIN };

	for (;;) {
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(k->fd, buf, len, 0, (struct sockaddr *)&from, &fl);

		if (n < 0)
			return -1;
		/* frames the interface sent itself come back as PACKET_OUTGOING: not ours */
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		return n;
	}
}

/* ---- frames ----------------------------------------------------------------------------- */

/* Frame @seq: dst, src, EtherType, magic, seq, then a byte pattern; 60..1514 bytes. */
static size_t make_frame(uint8_t *f, uint32_t seq, const uint8_t dst[6], const uint8_t src[6])
{
	size_t len = 60 + (seq * 89u) % (1514 - 60 + 1); /* 89 and 1455 coprime: every size */
	uint32_t magic = htonl(MAGIC), nseq = htonl(seq);

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	memcpy(f + 14, &magic, 4);
	memcpy(f + 18, &nseq, 4);
	for (size_t i = 22; i < len; i++)
		f[i] = (uint8_t)(seq * 7 + i);
	return len;
}

/* A test frame received by updk (others, from elsewhere on the hub, are not). */
static bool is_test_frame(const uint8_t *f, size_t len)
{
	uint32_t magic;

	if (len < 22 || f[12] != ETHERTYPE_TEST >> 8 || f[13] != (ETHERTYPE_TEST & 0xff))
		return false;
	memcpy(&magic, f + 14, 4);
	return ntohl(magic) == MAGIC;
}

static struct updk_net_dev *open_virtio(bool promisc)
{
	const char *bdf = vm_env("UPDK_VM_VIRTIO_NET");
	struct updk_net_opts o = { .opts_size = sizeof(o),
				   .promiscuous = promisc,
				   .link_wait_ms = 2000 };
	struct updk_net_dev *dev = NULL;

	vm_bind(bdf, "vfio-pci");
	cr_assert_eq(updk_net_open(bdf, &o, &dev), 0, "updk_net_open(%s) failed", bdf);
	cr_assert_str_eq(updk_net_driver_name(dev), "virtio-net");
	return dev;
}

/* Poll updk until @want test frames arrived (others freed) or 3 s passed; returns how many. */
static unsigned updk_recv(struct updk_net_dev *dev, struct updk_pkt **got, unsigned want)
{
	uint64_t end = now_ms() + 3000;
	unsigned n = 0;

	while (n < want && now_ms() < end) {
		struct updk_pkt *p[BURST];
		uint16_t k = updk_net_rx_burst(dev, 0, p, BURST);

		for (uint16_t i = 0; i < k; i++) {
			if (n < want && is_test_frame(updk_pkt_data(p[i]), p[i]->len))
				got[n++] = p[i];
			else
				updk_pkt_free(p[i]);
		}
	}
	return n;
}

Test(virtio_net, mac_and_link_as_qemu_was_told)
{
	struct updk_net_dev *dev = open_virtio(false);
	struct updk_net_link link = { 0 };
	struct updk_net_stats st;
	uint8_t mac[6];

	updk_net_mac(dev, mac);
	cr_assert_arr_eq(mac, QEMU_VIRTIO_MAC, 6,
			 "MAC %02x:%02x:%02x:%02x:%02x:%02x, QEMU was given 52:54:00:12:34:06",
			 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	cr_assert_eq(updk_net_link(dev, &link), 0);
	cr_assert(link.up, "QEMU's link is up (no set_link off)");
	cr_assert_eq(updk_net_stats(dev, &st), 0);
	cr_assert_eq(st.tx_packets, 0);
	cr_assert_eq(updk_net_set_promiscuous(dev, true), 0);
	cr_assert_eq(updk_net_set_promiscuous(dev, false), 0);
	updk_net_close(dev);
}

Test(virtio_net, updk_sends_kernel_receives_in_order)
{
	struct kside k;
	struct updk_net_dev *dev;
	struct updk_pktpool *pool;
	static uint8_t want[1600], got[2048];
	uint8_t mac[6];

	kside_open(&k);
	dev = open_virtio(false);
	updk_net_mac(dev, mac);
	pool = updk_pktpool_create("vm-tx", 1024, 0, 0, 32, -1);
	cr_assert_not_null(pool);
	for (uint32_t seq = 0; seq < FRAMES; seq += BURST) {
		struct updk_pkt *p[BURST];
		unsigned n = FRAMES - seq < BURST ? FRAMES - seq : BURST, sent = 0;

		cr_assert_eq(updk_pkt_alloc_bulk(pool, p, n), 0);
		for (unsigned i = 0; i < n; i++)
			p[i]->len = (uint16_t)make_frame(updk_pkt_data(p[i]), seq + i, k.mac, mac);
		uint64_t end = now_ms() + 2000;

		while (sent < n) {
			sent += updk_net_tx_burst(dev, 0, p + sent, (uint16_t)(n - sent));
			cr_assert_lt(now_ms(), end, "transmit ring stayed full");
		}
		for (unsigned i = 0; i < n; i++) {
			size_t wl = make_frame(want, seq + i, k.mac, mac);
			ssize_t gl = kside_recv(&k, got, sizeof(got), 3000);

			cr_assert_geq(gl, 0,
				      "the kernel received %u of %u frames; frame %u missing",
				      seq + i, FRAMES, seq + i);
			cr_assert_eq((size_t)gl, wl, "frame %u: %zd bytes, sent %zu", seq + i, gl,
				     wl);
			cr_assert_arr_eq(got, want, wl,
					 "frame %u differs (got seq %02x%02x%02x%02x)", seq + i,
					 got[18], got[19], got[20], got[21]);
		}
	}
	struct updk_net_stats st;

	cr_assert_eq(updk_net_stats(dev, &st), 0);
	cr_assert_eq(st.tx_packets, FRAMES);
	cr_assert_eq(st.tx_errors, 0);
	updk_net_close(dev);
	updk_pktpool_free(pool);
	close(k.fd);
}

Test(virtio_net, kernel_sends_updk_receives_in_order)
{
	struct kside k;
	struct updk_net_dev *dev;
	static uint8_t want[1600];
	uint8_t mac[6];

	kside_open(&k);
	dev = open_virtio(false);
	updk_net_mac(dev, mac);
	for (uint32_t seq = 0; seq < FRAMES; seq += BURST) {
		struct updk_pkt *p[BURST];
		unsigned n = FRAMES - seq < BURST ? FRAMES - seq : BURST, got;

		for (unsigned i = 0; i < n; i++) {
			size_t l = make_frame(want, seq + i, mac, k.mac);

			kside_send(&k, want, l);
		}
		got = updk_recv(dev, p, n);
		cr_assert_eq(got, n, "updk received %u of the %u frames from %u on", got, n, seq);
		for (unsigned i = 0; i < n; i++) {
			size_t wl = make_frame(want, seq + i, mac, k.mac);

			cr_assert_eq(p[i]->len, wl, "frame %u: %u bytes, sent %zu", seq + i,
				     p[i]->len, wl);
			cr_assert_arr_eq(updk_pkt_data(p[i]), want, wl, "frame %u differs",
					 seq + i);
		}
		updk_pkt_free_bulk(p, n);
	}
	struct updk_net_stats st;

	cr_assert_eq(updk_net_stats(dev, &st), 0);
	cr_assert_geq(st.rx_packets, FRAMES);
	cr_assert_eq(st.rx_errors, 0);
	updk_net_close(dev);
	close(k.fd);
}

Test(virtio_net, promiscuous_through_the_control_queue)
{
	static const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	struct kside k;
	struct updk_net_dev *dev;
	struct updk_pkt *p[BURST];
	static uint8_t f[1600];

	kside_open(&k);
	dev = open_virtio(false);
	for (uint32_t i = 0; i < 20; i++)
		kside_send(&k, f, make_frame(f, i, other, k.mac));
	uint64_t end = now_ms() + 500;
	unsigned n = 0;

	while (now_ms() < end)
		n += updk_recv(dev, p, 1) ? (updk_pkt_free(p[0]), 1) : 0;
	cr_assert_eq(n, 0, "%u frames for another MAC arrived with promiscuous mode off", n);
	cr_assert_eq(updk_net_set_promiscuous(dev, true), 0);
	for (uint32_t i = 0; i < 20; i++)
		kside_send(&k, f, make_frame(f, 100 + i, other, k.mac));
	n = updk_recv(dev, p, 20);
	cr_assert_eq(n, 20, "promiscuous on: %u of 20 frames for another MAC arrived", n);
	updk_pkt_free_bulk(p, n);
	updk_net_close(dev);
	close(k.fd);
}

Test(virtio_net, forward_with_macs_swapped)
{
	struct kside k;
	struct updk_net_dev *dev;
	static uint8_t f[1600], back[2048];
	uint8_t mac[6];

	kside_open(&k);
	dev = open_virtio(false);
	updk_net_mac(dev, mac);
	for (uint32_t seq = 0; seq < 1000; seq += BURST) {
		struct updk_pkt *p[BURST];
		unsigned n = 1000 - seq < BURST ? 1000 - seq : BURST, got, sent = 0;

		for (unsigned i = 0; i < n; i++)
			kside_send(&k, f, make_frame(f, seq + i, mac, k.mac));
		got = updk_recv(dev, p, n);
		cr_assert_eq(got, n, "updk received %u of %u", got, n);
		for (unsigned i = 0; i < n; i++) {
			uint8_t *d = updk_pkt_data(p[i]), t[6];

			memcpy(t, d, 6);
			memcpy(d, d + 6, 6);
			memcpy(d + 6, t, 6);
		}
		while (sent < n)
			sent += updk_net_tx_burst(dev, 0, p + sent, (uint16_t)(n - sent));
		for (unsigned i = 0; i < n; i++) {
			size_t wl = make_frame(f, seq + i, k.mac, mac);
			ssize_t gl = kside_recv(&k, back, sizeof(back), 3000);

			cr_assert_eq(gl, (ssize_t)wl, "frame %u came back with %zd bytes", seq + i,
				     gl);
			cr_assert_arr_eq(back, f, wl, "frame %u came back different", seq + i);
		}
	}
	updk_net_close(dev);
	close(k.fd);
}

/* ---- two updk ports on the hub, and refusals ---------------------------------------------- */

static struct updk_net_dev *open_at(const char *env, struct updk_pktpool *pool)
{
	const char *bdf = vm_env(env);
	struct updk_net_opts o = { .opts_size = sizeof(o), .pool = pool, .link_wait_ms = 2000 };
	struct updk_net_dev *dev = NULL;

	vm_bind(bdf, "vfio-pci");
	cr_assert_eq(updk_net_open(bdf, &o, &dev), 0, "updk_net_open(%s) failed", bdf);
	return dev;
}

/* Send frames @first.. from @a to @b's MAC in bursts; @b must receive each burst in order. */
static void a_to_b(struct updk_net_dev *a, struct updk_net_dev *b, struct updk_pktpool *pool,
		   uint32_t first, uint32_t count)
{
	static uint8_t want[1600];
	uint8_t ma[6], mb[6];

	updk_net_mac(a, ma);
	updk_net_mac(b, mb);
	for (uint32_t seq = first; seq < first + count; seq += BURST) {
		struct updk_pkt *p[BURST];
		unsigned n = first + count - seq < BURST ? first + count - seq : BURST, sent = 0;

		cr_assert_eq(updk_pkt_alloc_bulk(pool, p, n), 0);
		for (unsigned i = 0; i < n; i++)
			p[i]->len = (uint16_t)make_frame(updk_pkt_data(p[i]), seq + i, mb, ma);
		while (sent < n)
			sent += updk_net_tx_burst(a, 0, p + sent, (uint16_t)(n - sent));
		unsigned got = updk_recv(b, p, n);

		cr_assert_eq(got, n, "port B received %u of %u frames from %u on", got, n, seq);
		for (unsigned i = 0; i < n; i++) {
			size_t wl = make_frame(want, seq + i, mb, ma);

			cr_assert_eq(p[i]->len, wl, "frame %u: %u bytes, sent %zu", seq + i,
				     p[i]->len, wl);
			cr_assert_arr_eq(updk_pkt_data(p[i]), want, wl, "frame %u differs",
					 seq + i);
		}
		updk_pkt_free_bulk(p, n);
	}
}

Test(virtio_net, two_updk_ports_on_the_hub)
{
	struct updk_pktpool *pool = updk_pktpool_create("vm-a", 2048, 0, 0, 32, -1);
	struct updk_net_dev *a, *b;
	struct updk_net_stats sa, sb;

	cr_assert_not_null(pool);
	a = open_at("UPDK_VM_VIRTIO_NET", NULL);
	b = open_at("UPDK_VM_VIRTIO_NET2", NULL);
	/* 20000 frames: both rings wrap many times, the 16-bit indices once */
	a_to_b(a, b, pool, 0, 20000);
	cr_assert_eq(updk_net_stats(a, &sa), 0);
	cr_assert_eq(updk_net_stats(b, &sb), 0);
	cr_assert_eq(sa.tx_packets, 20000);
	cr_assert_geq(sb.rx_packets, 20000);
	cr_assert_eq(sb.rx_errors, 0);
	updk_net_close(a);
	updk_net_close(b);
	updk_pktpool_free(pool);
}

Test(virtio_net, frame_over_two_buffers_dropped_whole)
{
	/* 1024 bytes of room: QEMU spreads a 1514-byte frame over two buffers (MRG_RXBUF) */
	struct updk_pktpool *small = updk_pktpool_create("vm-small", 1024, 1024, 0, 32, -1);
	struct updk_pktpool *pool = updk_pktpool_create("vm-a", 256, 0, 0, 32, -1);
	struct updk_net_dev *a, *b;
	struct updk_pkt *p[4];
	struct updk_net_stats st;
	uint8_t ma[6], mb[6];

	cr_assert_not_null(small);
	cr_assert_not_null(pool);
	a = open_at("UPDK_VM_VIRTIO_NET", NULL);
	b = open_at("UPDK_VM_VIRTIO_NET2", small);
	updk_net_mac(a, ma);
	updk_net_mac(b, mb);
	cr_assert_eq(updk_pkt_alloc_bulk(pool, p, 3), 0);
	/* frame 14 is 60 + 14 * 89 = 1306 bytes; frames 0 and 1 are 60 and 149 */
	p[0]->len = (uint16_t)make_frame(updk_pkt_data(p[0]), 14, mb, ma);
	p[1]->len = (uint16_t)make_frame(updk_pkt_data(p[1]), 0, mb, ma);
	p[2]->len = (uint16_t)make_frame(updk_pkt_data(p[2]), 1, mb, ma);
	cr_assert_gt(p[0]->len, 1024 + 12);
	cr_assert_lt(p[1]->len, 1024);
	cr_assert_eq(updk_net_tx_burst(a, 0, p, 3), 3);
	unsigned got = updk_recv(b, p, 3);

	cr_assert_eq(got, 2, "port B got %u frames: the long one must be dropped, two short kept",
		     got);
	cr_assert_eq(p[0]->len, 60);
	cr_assert_eq(p[1]->len, 60 + 89);
	updk_pkt_free_bulk(p, got);
	cr_assert_eq(updk_net_stats(b, &st), 0);
	cr_assert_eq(st.rx_errors, 1, "one error for the frame, not one per buffer");
	updk_net_close(a);
	updk_net_close(b);
	updk_pktpool_free(pool);
	updk_pktpool_free(small);
}

Test(virtio_net, device_without_access_platform_refused)
{
	const char *bdf = vm_env("UPDK_VM_VIRTIO_NOIOMMU");
	struct updk_net_dev *dev = NULL;
	char path[] = "/tmp/updk-vm-vnet.XXXXXX", log[8192] = "";
	int fd = mkstemp(path), saved;

	cr_assert_geq(fd, 0);
	vm_bind(bdf, "vfio-pci");
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	int rc = updk_net_open(bdf, NULL, &dev);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(fd, log, sizeof(log) - 1, 0);

	close(fd);
	unlink(path);
	log[n > 0 ? n : 0] = '\0';
	fputs(log, stderr);
	cr_assert_eq(rc, -ENOTSUP, "open returned %d", rc);
	cr_assert_null(dev);
	cr_assert_not_null(strstr(log, "iommu_platform=on"), "the message says what to do: %s",
			   log);
	cr_assert_not_null(strstr(log, bdf), "the message names the device");
}

/* ---- several queue pairs ------------------------------------------------------------------ */

#define MQ_PAIRS 4 /* test/vm/run.sh: queues=4 on 00:0d.0 */
#define QEMU_MQ_MAC "\x52\x54\x00\x12\x34\x0d"
#define MQ_WARMUP 0xffffffu /* sequence number of each flow's first frame */

/*
 * An IPv4/UDP frame to @dst of flow @q (source port 1000 + q), sequence @seq, @len bytes: the
 * host tap's flow steering hashes addresses and ports, so each queue's flow is its own.
 */
static size_t make_udp_frame(uint8_t *f, uint16_t q, uint32_t seq, const uint8_t dst[6])
{
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x42 };
	size_t len = 60 + (seq * 89u) % 400;
	uint16_t sport = htons((uint16_t)(1000 + q)), dport = htons(2000);
	uint32_t nseq = htonl(seq);

	udp_frame_headers(f, len, dst, src);
	memcpy(f + 34, &sport, 2);
	memcpy(f + 36, &dport, 2);
	memcpy(f + 42, &nseq, 4);
	for (size_t i = 46; i < len; i++)
		f[i] = (uint8_t)(seq * 3 + q + i);
	return len;
}

/* A frame of flow @q (make_udp_frame) and its sequence number; false for anything else. */
static bool udp_flow_of(const uint8_t *f, size_t len, uint16_t *q, uint32_t *seq)
{
	uint16_t sport;

	if (len < 46 || f[12] != 0x08 || f[13] != 0 || f[23] != 17)
		return false;
	memcpy(&sport, f + 34, 2);
	memcpy(seq, f + 42, 4);
	*q = (uint16_t)(ntohs(sport) - 1000);
	*seq = ntohl(*seq);
	return *q < MQ_PAIRS;
}

Test(virtio_net, mq_every_queue_pair_carries_its_own_flow)
{
	const char *bdf = vm_env("UPDK_VM_VIRTIO_MQ");
	struct updk_net_opts o = { .opts_size = sizeof(o),
				   .rx_queues = MQ_PAIRS,
				   .tx_queues = MQ_PAIRS,
				   .link_wait_ms = 2000 };
	/* sent buffers stay in the transmit rings until they are needed: 4 rings of 256 */
	struct updk_pktpool *pool = updk_pktpool_create("vm-mq", 4096, 0, 0, 32, -1);
	struct updk_net_dev *dev = NULL;
	struct updk_net_stats st;
	static uint8_t want[1600];
	uint8_t mac[6];

	cr_assert_not_null(pool);
	vm_bind(bdf, "vfio-pci");
	/* one pair more than QEMU was given: refused by name */
	o.rx_queues = o.tx_queues = MQ_PAIRS + 1;
	cr_assert_eq(updk_net_open(bdf, &o, &dev), -EINVAL);
	cr_assert_null(dev);
	o.rx_queues = o.tx_queues = MQ_PAIRS;
	cr_assert_eq(updk_net_open(bdf, &o, &dev), 0, "updk_net_open(%s, %u queue pairs) failed",
		     bdf, MQ_PAIRS);
	updk_net_mac(dev, mac);
	cr_assert_arr_eq(mac, QEMU_MQ_MAC, 6);
	/*
	 * The tap learns a flow's queue from the guest's frames, after the first one has already
	 * been passed on (and hairpinned back by its hash): one frame of each flow first, then
	 * every frame of a flow comes back on the queue it was sent from.
	 */
	for (uint16_t q = 0; q < MQ_PAIRS; q++) {
		struct updk_pkt *p;

		cr_assert_eq(updk_pkt_alloc_bulk(pool, &p, 1), 0);
		p->len = (uint16_t)make_udp_frame(updk_pkt_data(p), q, MQ_WARMUP, mac);
		cr_assert_eq(updk_net_tx_burst(dev, q, &p, 1), 1);
	}
	uint64_t end = now_ms() + 3000;

	for (unsigned seen = 0; seen < MQ_PAIRS;) {
		for (uint16_t q = 0; q < MQ_PAIRS; q++) {
			struct updk_pkt *p[BURST];
			uint16_t k = updk_net_rx_burst(dev, q, p, BURST);

			seen += k;
			updk_pkt_free_bulk(p, k);
		}
		cr_assert_lt(now_ms(), end, "%u of the %u first frames came back", seen, MQ_PAIRS);
	}
	/*
	 * Rounds of a burst per queue pair, all sent before any is received, so the device has
	 * frames of every flow at once; each must come back on the pair it went out on, in order.
	 */
	for (uint32_t round = 0; round < 16; round++) {
		for (uint16_t q = 0; q < MQ_PAIRS; q++) {
			struct updk_pkt *p[BURST];
			unsigned sent = 0;

			cr_assert_eq(updk_pkt_alloc_bulk(pool, p, BURST), 0);
			for (unsigned i = 0; i < BURST; i++)
				p[i]->len = (uint16_t)make_udp_frame(updk_pkt_data(p[i]), q,
								     round * BURST + i, mac);
			end = now_ms() + 2000;
			while (sent < BURST) {
				sent += updk_net_tx_burst(dev, q, p + sent,
							  (uint16_t)(BURST - sent));
				cr_assert_lt(now_ms(), end, "transmit queue %u stayed full", q);
			}
		}
		for (uint16_t q = 0; q < MQ_PAIRS; q++) {
			unsigned got = 0;

			end = now_ms() + 3000;

			while (got < BURST) {
				struct updk_pkt *p[BURST];
				uint16_t k = updk_net_rx_burst(dev, q, p, BURST);

				for (uint16_t i = 0; i < k; i++) {
					uint16_t fq;
					uint32_t seq;
					const uint8_t *d = updk_pkt_data(p[i]);

					if (!udp_flow_of(d, p[i]->len, &fq, &seq)) {
						updk_pkt_free(p[i]);
						continue;
					}
					cr_assert_eq(
						fq, q,
						"a frame of queue pair %u's flow arrived on receive "
						"queue %u",
						fq, q);
					cr_assert_eq(seq, round * BURST + got,
						     "queue %u: frame %u where %u was due", q, seq,
						     round * BURST + got);
					size_t wl = make_udp_frame(want, q, seq, mac);

					cr_assert_eq(p[i]->len, wl,
						     "queue %u frame %u: %u bytes, sent %zu", q,
						     seq, p[i]->len, wl);
					cr_assert_arr_eq(d, want, wl, "queue %u frame %u differs",
							 q, seq);
					updk_pkt_free(p[i]);
					got++;
				}
				cr_assert_lt(now_ms(), end,
					     "round %u: receive queue %u got %u of its %u frames",
					     round, q, got, BURST);
			}
		}
	}
	cr_assert_eq(updk_net_stats(dev, &st), 0);
	cr_assert_eq(st.n_queues, MQ_PAIRS);
	for (uint16_t q = 0; q < MQ_PAIRS; q++) {
		/* the rounds and the flow's first frame */
		cr_assert_eq(st.q[q].tx_packets, 16 * BURST + 1, "queue %u sent %llu", q,
			     (unsigned long long)st.q[q].tx_packets);
		cr_assert_geq(st.q[q].rx_packets, 16 * BURST, "queue %u received %llu", q,
			      (unsigned long long)st.q[q].rx_packets);
	}
	cr_assert_eq(st.rx_errors, 0);
	updk_net_close(dev);
	updk_pktpool_free(pool);
}

/* ---- DEVICE_NEEDS_RESET ------------------------------------------------------------------- */

/* stderr into a temporary file while a test provokes a log line; stderr_end() returns it. */
struct captured {
	char path[32];
	int fd, saved;
	char log[8192];
};

static void stderr_begin(struct captured *c)
{
	snprintf(c->path, sizeof(c->path), "/tmp/updk-vm-log.XXXXXX");
	c->fd = mkstemp(c->path);
	cr_assert_geq(c->fd, 0);
	fflush(stderr);
	c->saved = dup(2);
	dup2(c->fd, 2);
}

static const char *stderr_end(struct captured *c)
{
	ssize_t n;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	n = pread(c->fd, c->log, sizeof(c->log) - 1, 0);
	close(c->fd);
	unlink(c->path);
	c->log[n > 0 ? n : 0] = '\0';
	fputs(c->log, stderr);
	return c->log;
}

Test(virtio_net, device_needs_reset_noticed_refused_and_reopen_recovers)
{
	struct updk_pktpool *pool = updk_pktpool_create("vm-nr", 2048, 0, 0, 32, -1);
	const char *bdf = vm_env("UPDK_VM_VIRTIO_NET");
	struct updk_net_dev *a, *b;
	struct updk_net_link link;
	struct updk_net_stats st;
	struct captured cap;
	struct updk_pkt *p[BURST];
	const char *log;
	uint64_t end, full_since = 0;

	cr_assert_not_null(pool);
	a = open_at("UPDK_VM_VIRTIO_NET", NULL);
	b = open_at("UPDK_VM_VIRTIO_NET2", NULL);
	a_to_b(a, b, pool, 0, 256);

	/*
	 * A sender that never calls the control path notices it once its ring has stayed full for
	 * a while (TX_STALL_MS, 100 ms): it goes on sending for a second after the ring filled.
	 */
	stderr_begin(&cap);
	cr_assert_eq(vnet_test_bad_avail(a, 0), 0);
	end = now_ms() + 5000;
	for (;;) {
		uint16_t k;

		cr_assert_eq(updk_pkt_alloc_bulk(pool, p, BURST), 0);
		for (unsigned i = 0; i < BURST; i++)
			p[i]->len = 60;
		k = updk_net_tx_burst(a, 0, p, BURST);
		updk_pkt_free_bulk(p + k, BURST - k);
		if (k)
			full_since = 0;
		else if (!full_since)
			full_since = now_ms();
		if ((full_since && now_ms() - full_since >= 1000) || now_ms() >= end)
			break;
	}
	log = stderr_end(&cap);
	cr_assert(full_since && now_ms() - full_since >= 1000,
		  "the transmit queue kept taking packets after the fault");
	cr_assert_not_null(strstr(log, "DEVICE_NEEDS_RESET"), "the data path reported: '%s'", log);
	cr_assert_not_null(strstr(log, bdf), "the message names the device: '%s'", log);
	cr_assert_not_null(strstr(log, "close and reopen"), "the message says what to do: '%s'",
			   log);

	/* The control path says so too, every time, and the queues give nothing. */
	cr_assert_eq(updk_net_link(a, &link), -EIO);
	cr_assert_eq(updk_net_stats(a, &st), -EIO);
	cr_assert_eq(updk_pkt_alloc_bulk(pool, p, 1), 0);
	cr_assert_eq(updk_net_tx_burst(a, 0, p, 1), 0, "a broken queue takes no packet");
	updk_pkt_free(p[0]);
	cr_assert_eq(updk_net_rx_burst(a, 0, p, BURST), 0);
	/* The port on the same hub is not affected. */
	cr_assert_eq(updk_net_link(b, &link), 0);

	/* Closing resets the device: reopened, it works again, both ways. */
	updk_net_close(a);
	a = open_at("UPDK_VM_VIRTIO_NET", NULL);
	cr_assert_eq(updk_net_link(a, &link), 0);
	cr_assert(link.up);
	a_to_b(a, b, pool, 256, 512);
	a_to_b(b, a, pool, 1024, 512);
	updk_net_close(a);
	updk_net_close(b);
	updk_pktpool_free(pool);
}
