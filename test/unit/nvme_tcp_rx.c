// SPDX-License-Identifier: BSD-3-Clause
/*
 * The NVMe/TCP receiver and header builder (lib/nvme_tcp): PDUs built by
 * updk_nvme_tcp_pdu_finish() come out of the receiver whole, however the stream is cut;
 * every malformed header field is refused with the Fatal Error Status and the offset a
 * TermReq must carry (NVMe/TCP 1.0 §3.6.2.4); digests are checked; over a socket, data goes
 * straight to its destination.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <updk/crc.h>
#include <updk/nvme_tcp.h>

#define ALL_H2C                                                     \
	(1u << UPDK_NVME_TCP_ICREQ | 1u << UPDK_NVME_TCP_H2C_TERM | \
	 1u << UPDK_NVME_TCP_CAPSULE_CMD | 1u << UPDK_NVME_TCP_H2C_DATA)

static uint8_t stage[4096];
static struct updk_nvme_tcp_rx rx;

static void rx_setup(bool hdgst, bool ddgst, uint8_t pda)
{
	updk_nvme_tcp_rx_init(&rx, stage, sizeof(stage), ALL_H2C);
	rx.hdgst = hdgst;
	rx.ddgst = ddgst;
	rx.pda = pda;
	rx.max_data[UPDK_NVME_TCP_CAPSULE_CMD] = 8192;
	rx.max_data[UPDK_NVME_TCP_H2C_DATA] = 65536;
	rx.max_data[UPDK_NVME_TCP_H2C_TERM] = UPDK_NVME_TCP_TERM_MAX_DATA;
}

/* A whole CapsuleCmd PDU with @len bytes of in-capsule data into @out; returns its length. */
static size_t build_cmd(uint8_t *out, uint16_t cid, const uint8_t *data, uint32_t len, bool hdgst,
			bool ddgst, uint8_t pda)
{
	struct updk_nvme_tcp_cmd *c = (void *)out;
	size_t off;

	memset(out, 0, 256);
	c->ccsqe.opc = UPDK_NVME_OPC_WRITE;
	c->ccsqe.cid = cid;
	off = updk_nvme_tcp_pdu_finish(out, UPDK_NVME_TCP_CAPSULE_CMD, 0, len, hdgst, ddgst, pda);
	if (len)
		memcpy(out + off, data, len);
	if (ddgst && len) {
		uint32_t crc = updk_crc32c(0, data, len);

		memcpy(out + off + len, &crc, 4);
		return off + len + 4;
	}
	return off + len;
}

/* Feed @len bytes @chunk at a time; collect the events. The data goes to @dst. */
static int feed_all(const uint8_t *buf, size_t len, size_t chunk, uint8_t *dst, int *events,
		    int max)
{
	int n = 0;

	for (size_t pos = 0; pos < len || n < max;) {
		int ev = updk_nvme_tcp_rx_next(&rx);

		if (ev == UPDK_NVME_TCP_RX_MORE) {
			if (pos == len)
				break;
			size_t k = len - pos < chunk ? len - pos : chunk;

			k = updk_nvme_tcp_rx_feed(&rx, buf + pos, k);
			cr_assert_gt(k, 0);
			pos += k;
			continue;
		}
		cr_assert_lt(n, max);
		events[n++] = ev;
		if (ev < 0)
			break;
		if (ev == UPDK_NVME_TCP_RX_HDR && updk_nvme_tcp_rx_data_len(&rx)) {
			struct iovec v = { dst, updk_nvme_tcp_rx_data_len(&rx) };

			cr_assert_eq(updk_nvme_tcp_rx_set_data(&rx, dst ? &v : NULL, 1), 0);
		}
	}
	return n;
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed);
}

Test(nvme_tcp_rx, capsule_without_data)
{
	uint8_t buf[256];
	int ev[4];
	size_t len;

	rx_setup(false, false, 0);
	len = build_cmd(buf, 0x1234, NULL, 0, false, false, 0);
	cr_assert_eq(len, 72);
	cr_assert_eq(feed_all(buf, len, len, NULL, ev, 4), 1);
	cr_assert_eq(ev[0], UPDK_NVME_TCP_RX_HDR);
	cr_assert_eq(rx.hdr.cmd.ccsqe.cid, 0x1234);
	cr_assert_eq(rx.hdr.ch.plen, 72);
	cr_assert_eq(updk_nvme_tcp_rx_data_len(&rx), 0);
}

/* The same two PDUs whatever the cut: whole, in 1-byte pieces, in 7-byte pieces. */
static void in_capsule_data(bool hdgst, bool ddgst, uint8_t pda)
{
	static uint8_t wire[2 * (256 + 4096)], data[4096], got[4096];
	size_t cuts[] = { sizeof(wire), 1, 7, 100 };

	pattern(data, sizeof(data), 3);
	size_t len = build_cmd(wire, 1, data, 4096, hdgst, ddgst, pda);

	len += build_cmd(wire + len, 2, NULL, 0, hdgst, ddgst, pda);
	for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		int ev[8];

		rx_setup(hdgst, ddgst, pda);
		memset(got, 0, sizeof(got));
		cr_assert_eq(feed_all(wire, len, cuts[c], got, ev, 8), 3, "cut %zu", cuts[c]);
		cr_assert_eq(ev[0], UPDK_NVME_TCP_RX_HDR);
		cr_assert_eq(ev[1], UPDK_NVME_TCP_RX_DATA);
		cr_assert_eq(ev[2], UPDK_NVME_TCP_RX_HDR);
		cr_assert_eq(rx.hdr.cmd.ccsqe.cid, 2);
		cr_assert_not(rx.ddgst_error);
		cr_assert_eq(memcmp(got, data, sizeof(data)), 0, "cut %zu", cuts[c]);
	}
}

Test(nvme_tcp_rx, in_capsule_data_any_cut)
{
	in_capsule_data(false, false, 0);
}

Test(nvme_tcp_rx, in_capsule_data_with_digests)
{
	in_capsule_data(true, true, 0);
}

Test(nvme_tcp_rx, in_capsule_data_aligned_for_pda)
{
	/* PDA 31: data on a 128-byte boundary, 52 pad bytes after a 72+4 byte header */
	uint8_t buf[256];

	cr_assert_eq(build_cmd(buf, 1, (const uint8_t *)"abcd", 4, true, false, 31), 132);
	cr_assert_eq(((struct updk_nvme_tcp_ch *)buf)->pdo, 128);
	in_capsule_data(true, false, 31);
}

Test(nvme_tcp_rx, data_digest_error_is_reported_not_fatal)
{
	uint8_t wire[256 + 512], data[512], got[512];
	int ev[4];
	size_t len;

	pattern(data, sizeof(data), 9);
	rx_setup(false, true, 0);
	len = build_cmd(wire, 1, data, sizeof(data), false, true, 0);
	wire[len - 10] ^= 1; /* a data byte */
	cr_assert_eq(feed_all(wire, len, len, got, ev, 4), 2);
	cr_assert_eq(ev[1], UPDK_NVME_TCP_RX_DATA);
	cr_assert(rx.ddgst_error);
	/* the stream goes on */
	len = build_cmd(wire, 2, data, sizeof(data), false, true, 0);
	cr_assert_eq(feed_all(wire, len, len, got, ev, 4), 2);
	cr_assert_not(rx.ddgst_error);
}

Test(nvme_tcp_rx, header_digest_error_is_fatal)
{
	uint8_t buf[256];
	int ev[4];
	size_t len;

	rx_setup(true, false, 0);
	len = build_cmd(buf, 1, NULL, 0, true, false, 0);
	buf[20] ^= 0x40; /* in the SQE */
	cr_assert_eq(feed_all(buf, len, len, NULL, ev, 4), 1);
	cr_assert_eq(ev[0], -EPROTO);
	cr_assert_eq(rx.fes, UPDK_NVME_TCP_FES_HEADER_DIGEST_ERROR);
	/* a receiver that failed stays failed */
	cr_assert_eq(updk_nvme_tcp_rx_next(&rx), -EPROTO);
}

/*
 * Set byte @at (and @at2 when not 0) of a valid CapsuleCmd and expect a fatal error naming the
 * field.
 */
static void refused2(size_t at, uint8_t value, size_t at2, uint8_t value2, uint16_t fes,
		     uint32_t fei, bool hdgst, uint32_t len)
{
	uint8_t buf[256 + 4096], data[4096] = { 0 };
	int ev[4];
	size_t n;

	rx_setup(hdgst, false, 0);
	n = build_cmd(buf, 1, data, len, hdgst, false, 0);
	buf[at] = value;
	if (at2)
		buf[at2] = value2;
	cr_assert_eq(feed_all(buf, n, n, data, ev, 4), 1, "byte %zu = %#x", at, value);
	cr_assert_eq(ev[0], -EPROTO, "byte %zu = %#x", at, value);
	cr_assert_eq(rx.fes, fes, "byte %zu = %#x: fes %u", at, value, rx.fes);
	cr_assert_eq(rx.fei, fei, "byte %zu = %#x: fei %u", at, value, rx.fei);
}

static void refused(size_t at, uint8_t value, uint16_t fes, uint32_t fei, bool hdgst, uint32_t len)
{
	refused2(at, value, 0, 0, fes, fei, hdgst, len);
}

Test(nvme_tcp_rx, malformed_headers_name_the_field)
{
	const uint16_t bad = UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD;

	refused(0, 0x08, bad, 0, false, 0); /* no such type */
	refused(0, 0x0a, bad, 0, false, 0);
	refused(0, UPDK_NVME_TCP_C2H_DATA, bad, 0, false, 0); /* not for this end */
	refused(0, UPDK_NVME_TCP_R2T, bad, 0, false, 0);
	refused(2, 71, bad, 2, false, 0); /* HLEN */
	refused(1, UPDK_NVME_TCP_F_HDGSTF, bad, 1, false, 0); /* digest flag, none negotiated */
	refused(1, 0, bad, 1, true, 0); /* negotiated, flag missing */
	refused(4, 71, bad, 4, false, 0); /* PLEN below HLEN */
	refused(3, 70, bad, 3, false, 16); /* PDO inside the header */
	refused(3, 74, bad, 3, false, 16); /* PDO not on a dword */
	refused2(3, 76, 4, 74, bad, 4, false, 16); /* PLEN ends before PDO */
}

Test(nvme_tcp_rx, oversized_capsule)
{
	uint8_t buf[256];
	struct updk_nvme_tcp_ch *ch = (void *)buf;
	int ev[4];

	rx_setup(false, false, 0);
	build_cmd(buf, 1, NULL, 0, false, false, 0);
	ch->pdo = 72;
	ch->plen = 72 + 8192 + 1; /* one byte over the in-capsule limit */
	cr_assert_eq(feed_all(buf, 72, 72, NULL, ev, 4), 1);
	cr_assert_eq(ev[0], -EPROTO);
	cr_assert_eq(rx.fes, UPDK_NVME_TCP_FES_DATA_LIMIT_EXCEEDED);
	cr_assert_eq(rx.fei, 4);
}

Test(nvme_tcp_rx, h2c_data_without_data_is_refused)
{
	struct updk_nvme_tcp_data d = { 0 };
	int ev[4];

	rx_setup(false, false, 0);
	updk_nvme_tcp_pdu_finish(&d, UPDK_NVME_TCP_H2C_DATA, UPDK_NVME_TCP_F_LAST_PDU, 0, false,
				 false, 0);
	cr_assert_eq(feed_all((void *)&d, sizeof(d), sizeof(d), NULL, ev, 4), 1);
	cr_assert_eq(ev[0], -EPROTO);
	cr_assert_eq(rx.fei, 4);
}

Test(nvme_tcp_rx, term_req_and_icreq)
{
	uint8_t buf[256] = { 0 };
	struct updk_nvme_tcp_icreq *ic = (void *)buf;
	uint8_t got[UPDK_NVME_TCP_TERM_MAX_DATA];
	int ev[4];
	size_t off;

	rx_setup(false, false, 0);
	ic->maxr2t = 3;
	cr_assert_eq(updk_nvme_tcp_pdu_finish(ic, UPDK_NVME_TCP_ICREQ, 0, 0, true, true, 0), 128);
	cr_assert_eq(ic->ch.plen, 128); /* never a digest on an ICReq */
	cr_assert_eq(feed_all(buf, 128, 128, NULL, ev, 4), 1);
	cr_assert_eq(ev[0], UPDK_NVME_TCP_RX_HDR);
	cr_assert_eq(rx.hdr.icreq.maxr2t, 3);

	memset(buf, 0, sizeof(buf));
	((struct updk_nvme_tcp_term_req *)buf)->fes = UPDK_NVME_TCP_FES_PDU_SEQUENCE_ERROR;
	off = updk_nvme_tcp_pdu_finish(buf, UPDK_NVME_TCP_H2C_TERM, 0, 24, true, true, 0);
	cr_assert_eq(off, 24);
	memset(buf + 24, 0xab, 24);
	cr_assert_eq(feed_all(buf, 48, 5, got, ev, 4), 2);
	cr_assert_eq(rx.hdr.term.fes, UPDK_NVME_TCP_FES_PDU_SEQUENCE_ERROR);
	cr_assert_eq(got[23], 0xab);
}

Test(nvme_tcp_rx, names)
{
	cr_assert_str_eq(updk_nvme_tcp_pdu_name(UPDK_NVME_TCP_R2T), "R2T");
	cr_assert_str_eq(updk_nvme_tcp_pdu_name(8), "unknown");
	cr_assert_str_eq(updk_nvme_tcp_fes_str(3), "Header Digest Error");
	cr_assert_eq(updk_nvme_tcp_hlen(UPDK_NVME_TCP_CAPSULE_CMD), 72);
	cr_assert_eq(updk_nvme_tcp_hlen(8), 0);
}

/*
 * Over a socket: a 64 KiB H2CData PDU followed by a capsule. The data lands in its buffer by
 * readv(), not through the stage: no more than one small stage read of it is copied.
 */
Test(nvme_tcp_rx, socket_data_goes_straight_to_its_buffer)
{
	static uint8_t data[65536], got[65536];
	struct updk_nvme_tcp_data d = { 0 };
	uint8_t hdr[256], capsule[256];
	int sv[2], ev, hdrs = 0, datas = 0;
	size_t off, clen;

	pattern(data, sizeof(data), 5);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	rx_setup(true, true, 0);
	d.cccid = 7;
	d.datal = sizeof(data);
	memcpy(hdr, &d, sizeof(d));
	off = updk_nvme_tcp_pdu_finish(hdr, UPDK_NVME_TCP_H2C_DATA, UPDK_NVME_TCP_F_LAST_PDU,
				       sizeof(data), true, true, 0);
	uint32_t crc = updk_crc32c(0, data, sizeof(data));

	clen = build_cmd(capsule, 8, NULL, 0, true, true, 0);
	struct iovec w[] = { { hdr, off }, { data, sizeof(data) }, { &crc, 4 }, { capsule, clen } };

	/* A second thread would do; a large enough socket buffer is simpler. */
	int sz = 1 << 20;

	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	cr_assert_eq(writev(sv[0], w, 4), (ssize_t)(off + sizeof(data) + 4 + clen));
	close(sv[0]);
	while ((ev = updk_nvme_tcp_rx_next(&rx)) >= 0) {
		if (ev == UPDK_NVME_TCP_RX_MORE) {
			long n = updk_nvme_tcp_rx_recv(&rx, sv[1]);

			cr_assert_geq(n, 0);
			if (n == 0)
				break;
		} else if (ev == UPDK_NVME_TCP_RX_HDR) {
			hdrs++;
			if (updk_nvme_tcp_rx_data_len(&rx)) {
				struct iovec v = { got, sizeof(got) };

				cr_assert_eq(rx.hdr.data.cccid, 7);
				cr_assert_eq(updk_nvme_tcp_rx_set_data(&rx, &v, 1), 0);
			}
		} else {
			datas++;
			cr_assert_not(rx.ddgst_error);
		}
	}
	close(sv[1]);
	cr_assert_eq(ev, UPDK_NVME_TCP_RX_MORE);
	cr_assert_eq(hdrs, 2);
	cr_assert_eq(datas, 1);
	cr_assert_eq(rx.hdr.cmd.ccsqe.cid, 8);
	cr_assert_eq(memcmp(got, data, sizeof(data)), 0);
	cr_assert_eq(rx.bytes_direct + rx.bytes_copied, sizeof(data));
	/* at most the first stage read's worth went through the stage */
	cr_assert_lt(rx.bytes_copied, sizeof(stage), "copied %lu", (unsigned long)rx.bytes_copied);
	cr_assert_gt(rx.bytes_direct, sizeof(data) - sizeof(stage));
}

/*
 * Over a socket, eight capsules with 1 KiB of in-capsule data each, then a 64 KiB H2CData,
 * all queued before the first read. By default, after a PDU with data the stage reads 256
 * bytes, so from the fourth capsule on each capsule's data takes a readv() of its own: 7
 * reads. With small_data 2048 the capsules come through the 4 KiB stage, several to a read,
 * and their data is copied, while the large PDU's data still goes straight to its buffer: 4.
 * Every byte lands where it belongs either way.
 */
static int small_pdus(uint32_t small_data, uint64_t *copied, uint64_t *direct)
{
	static uint8_t data[8][1024], big[65536], got[8][1024], gotbig[65536];
	uint8_t caps[8][2048], hdr[256];
	struct updk_nvme_tcp_data d = { 0 };
	struct iovec w[11];
	int sv[2], ev, reads = 0, cur = -1, sz = 1 << 20;
	size_t total = 0, off;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	rx_setup(false, false, 0);
	rx.small_data = small_data;
	for (int i = 0; i < 8; i++) {
		pattern(data[i], sizeof(data[i]), (unsigned)i);
		w[i] = (struct iovec){ caps[i], build_cmd(caps[i], (uint16_t)i, data[i], 1024,
							  false, false, 0) };
		total += w[i].iov_len;
	}
	pattern(big, sizeof(big), 9);
	d.cccid = 8;
	d.datal = sizeof(big);
	memcpy(hdr, &d, sizeof(d));
	off = updk_nvme_tcp_pdu_finish(hdr, UPDK_NVME_TCP_H2C_DATA, UPDK_NVME_TCP_F_LAST_PDU,
				       sizeof(big), false, false, 0);
	w[8] = (struct iovec){ hdr, off };
	w[9] = (struct iovec){ big, sizeof(big) };
	total += off + sizeof(big);
	cr_assert_eq(writev(sv[0], w, 10), (ssize_t)total);
	close(sv[0]);
	memset(got, 0, sizeof(got));
	memset(gotbig, 0, sizeof(gotbig));
	while ((ev = updk_nvme_tcp_rx_next(&rx)) >= 0) {
		if (ev == UPDK_NVME_TCP_RX_MORE) {
			long n = updk_nvme_tcp_rx_recv(&rx, sv[1]);

			cr_assert_geq(n, 0);
			if (n == 0)
				break;
			reads++;
		} else if (ev == UPDK_NVME_TCP_RX_HDR) {
			struct iovec v;

			if (rx.hdr.ch.pdu_type == UPDK_NVME_TCP_CAPSULE_CMD) {
				cur = rx.hdr.cmd.ccsqe.cid;
				v = (struct iovec){ got[cur], sizeof(got[cur]) };
			} else {
				v = (struct iovec){ gotbig, sizeof(gotbig) };
			}
			cr_assert_eq(updk_nvme_tcp_rx_set_data(&rx, &v, 1), 0);
		}
	}
	close(sv[1]);
	cr_assert_eq(ev, UPDK_NVME_TCP_RX_MORE);
	cr_assert_eq(memcmp(got, data, sizeof(data)), 0);
	cr_assert_eq(memcmp(gotbig, big, sizeof(big)), 0);
	*copied = rx.bytes_copied;
	*direct = rx.bytes_direct;
	return reads;
}

Test(nvme_tcp_rx, small_data_comes_many_pdus_to_a_read)
{
	uint64_t copied, direct;
	int reads = small_pdus(0, &copied, &direct);

	cr_assert_geq(reads, 6, "%d reads for 8 capsules with data and one large PDU", reads);
	reads = small_pdus(2048, &copied, &direct);
	cr_assert_leq(reads, 4, "%d reads with small_data", reads);
	cr_assert_geq(copied, 8 * 1024, "the capsules' data was copied from the stage");
	cr_assert_gt(direct, 65536 - sizeof(stage), "the large PDU's data went straight");
}

Test(nvme_tcp_rx, set_data_checks_its_arguments)
{
	uint8_t buf[256 + 64], data[64] = { 0 }, dst[64];
	struct iovec v[2] = { { dst, 32 }, { dst + 32, 16 } };

	rx_setup(false, false, 0);
	size_t n = build_cmd(buf, 1, data, 64, false, false, 0);

	cr_assert_eq(updk_nvme_tcp_rx_set_data(&rx, v, 1), -EINVAL); /* no PDU waiting */
	updk_nvme_tcp_rx_feed(&rx, buf, n);
	cr_assert_eq(updk_nvme_tcp_rx_next(&rx), UPDK_NVME_TCP_RX_HDR);
	cr_assert_eq(updk_nvme_tcp_rx_next(&rx), -EINVAL); /* no destination yet */
	cr_assert_eq(updk_nvme_tcp_rx_set_data(&rx, v, 2), -EINVAL); /* 48 of 64 bytes */
	v[1].iov_len = 32;
	cr_assert_eq(updk_nvme_tcp_rx_set_data(&rx, v, 2), 0);
	cr_assert_eq(updk_nvme_tcp_rx_next(&rx), UPDK_NVME_TCP_RX_DATA);
}
