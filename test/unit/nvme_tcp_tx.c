// SPDX-License-Identifier: BSD-3-Clause
/*
 * The NVMe/TCP send queue (lib/nvme_tcp/tx.c), over a socket pair with a small send buffer:
 * what comes out of the other end is every queued PDU's bytes, in order, however often the
 * socket is full and a PDU is cut; each PDU is reported sent once, only when wholly in the
 * socket; a PDU queued from the sent callback goes in the same flush; taking a PDU off before
 * it is sent leaves it out of the stream; a peer that is gone is an error, not a signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <updk/nvme_tcp.h>

#define NPDU 64
#define PDU_BYTES 3000 /* header 24, data 2972: over three iovecs */

struct pdu {
	struct updk_nvme_tcp_tx t;
	struct iovec iov[3];
	int sent;
	int order;
};

static struct pdu pdus[NPDU];
static uint8_t bytes[NPDU][PDU_BYTES];
static int sent_count, sv[2];

static void sent_cb(void *arg, struct updk_nvme_tcp_tx *t)
{
	struct pdu *p = (struct pdu *)t;

	cr_assert_eq(arg, pdus);
	cr_assert_null(t->next);
	p->sent++;
	p->order = sent_count++;
}

static void setup(void)
{
	int small = 4096;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	sent_count = 0;
	for (int i = 0; i < NPDU; i++) {
		for (int b = 0; b < PDU_BYTES; b++)
			bytes[i][b] = (uint8_t)(i * 7 + b * 13 + (b >> 8));
		memset(&pdus[i], 0, sizeof(pdus[i]));
		pdus[i].iov[0] = (struct iovec){ bytes[i], 24 };
		pdus[i].iov[1] = (struct iovec){ bytes[i] + 24, 2000 };
		pdus[i].iov[2] = (struct iovec){ bytes[i] + 2024, PDU_BYTES - 2024 };
		pdus[i].t.iov = pdus[i].iov;
		pdus[i].t.niov = 3;
	}
}

static void teardown(void)
{
	close(sv[0]);
	close(sv[1]);
}

TestSuite(nvme_tcp_tx, .init = setup, .fini = teardown, .timeout = 20);

/* Flush, read a little from the peer, again, until the queue is empty; the stream read. */
static size_t drain(struct updk_nvme_tcp_txq *q, uint8_t *out, size_t cap, size_t step)
{
	size_t got = 0;
	int rc, full = 0;

	do {
		ssize_t n;

		rc = updk_nvme_tcp_txq_flush(q, sv[0], sent_cb, pdus);
		cr_assert_geq(rc, 0);
		full += rc;
		/* a PDU reported sent is wholly in the socket: every one before it too */
		for (struct updk_nvme_tcp_tx *t = q->head; t; t = t->next)
			cr_assert_eq(((struct pdu *)t)->sent, 0);
		n = read(sv[1], out + got, cap - got < step ? cap - got : step);
		if (n > 0)
			got += (size_t)n;
	} while (rc || q->head);
	for (ssize_t n; (n = read(sv[1], out + got, cap - got)) > 0;) {
		got += (size_t)n;
		if (got == cap)
			break;
	}
	cr_assert_gt(full, 0, "the socket never filled: the test proves nothing about resuming");
	return got;
}

Test(nvme_tcp_tx, every_byte_in_order_when_the_socket_is_full_again_and_again)
{
	static uint8_t out[NPDU * PDU_BYTES + 1];
	struct updk_nvme_tcp_txq q = { 0 };
	size_t got;

	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	for (int i = 0; i < NPDU; i++)
		updk_nvme_tcp_txq_append(&q, &pdus[i].t);
	got = drain(&q, out, sizeof(out), 777); /* reads that cut PDUs anywhere */
	cr_assert_eq(got, sizeof(bytes));
	cr_assert_eq(memcmp(out, bytes, sizeof(bytes)), 0);
	cr_assert_eq(q.bytes, sizeof(bytes));
	cr_assert_null(q.head);
	cr_assert_null(q.tail);
	cr_assert_eq(q.off, 0);
	for (int i = 0; i < NPDU; i++) {
		cr_assert_eq(pdus[i].sent, 1, "PDU %d reported %d times", i, pdus[i].sent);
		cr_assert_eq(pdus[i].order, i);
	}
}

/* The callback queues the next PDU, as an R2T's H2CData do, one after another. */
static void chain_cb(void *arg, struct updk_nvme_tcp_tx *t)
{
	struct updk_nvme_tcp_txq *q = arg;
	struct pdu *p = (struct pdu *)t;

	p->sent++;
	p->order = sent_count++;
	if (p + 1 < pdus + NPDU)
		updk_nvme_tcp_txq_append(q, &p[1].t);
}

Test(nvme_tcp_tx, a_pdu_queued_by_the_callback_goes_in_the_same_flush)
{
	static uint8_t out[4 * PDU_BYTES];
	struct updk_nvme_tcp_txq q = { 0 };
	int big = 1 << 20;
	ssize_t n;
	size_t got = 0;

	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	pdus[NPDU - 4].t.niov = 3;
	updk_nvme_tcp_txq_append(&q, &pdus[NPDU - 4].t);
	cr_assert_eq(updk_nvme_tcp_txq_flush(&q, sv[0], chain_cb, &q), 0);
	cr_assert_null(q.head);
	while (got < sizeof(out) && (n = read(sv[1], out + got, sizeof(out) - got)) > 0)
		got += (size_t)n;
	cr_assert_eq(got, sizeof(out));
	cr_assert_eq(memcmp(out, bytes[NPDU - 4], sizeof(out)), 0);
	for (int i = NPDU - 4; i < NPDU; i++)
		cr_assert_eq(pdus[i].sent, 1);
}

Test(nvme_tcp_tx, a_pdu_taken_off_before_it_is_sent_is_not_in_the_stream)
{
	static uint8_t out[2 * PDU_BYTES + 1];
	struct updk_nvme_tcp_txq q = { 0 };
	ssize_t n;
	size_t got = 0;

	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 3; i++)
		updk_nvme_tcp_txq_append(&q, &pdus[i].t);
	cr_assert_not(updk_nvme_tcp_txq_started(&q, &pdus[0].t));
	updk_nvme_tcp_txq_unlink(&q, &pdus[1].t);
	cr_assert_eq(q.head, &pdus[0].t);
	cr_assert_eq(q.tail, &pdus[2].t);
	/* a socket full in the middle of PDU 0: it is started, and a later one is not */
	for (int rc = updk_nvme_tcp_txq_flush(&q, sv[0], sent_cb, pdus); rc;
	     rc = updk_nvme_tcp_txq_flush(&q, sv[0], sent_cb, pdus)) {
		if (q.head == &pdus[0].t)
			cr_assert(updk_nvme_tcp_txq_started(&q, &pdus[0].t));
		cr_assert_not(updk_nvme_tcp_txq_started(&q, &pdus[2].t) && q.head != &pdus[2].t);
		n = read(sv[1], out + got, sizeof(out) - got);
		cr_assert_gt(n, 0);
		got += (size_t)n;
	}
	while ((n = read(sv[1], out + got, sizeof(out) - got)) > 0)
		got += (size_t)n;
	cr_assert_eq(got, 2 * PDU_BYTES);
	cr_assert_eq(memcmp(out, bytes[0], PDU_BYTES), 0);
	cr_assert_eq(memcmp(out + PDU_BYTES, bytes[2], PDU_BYTES), 0);
	cr_assert_eq(pdus[1].sent, 0);
	cr_assert_eq(pdus[0].order, 0);
	cr_assert_eq(pdus[2].order, 1);
}

Test(nvme_tcp_tx, a_peer_that_is_gone_is_an_error_not_sigpipe)
{
	struct updk_nvme_tcp_txq q = { 0 };

	close(sv[1]);
	sv[1] = open("/dev/null", O_RDONLY);
	updk_nvme_tcp_txq_append(&q, &pdus[0].t);
	cr_assert_eq(updk_nvme_tcp_txq_flush(&q, sv[0], sent_cb, pdus), -EPIPE);
	cr_assert_eq(q.head, &pdus[0].t, "nothing is reported sent");
	cr_assert_eq(pdus[0].sent, 0);
	cr_assert_eq(
		updk_nvme_tcp_txq_flush(&(struct updk_nvme_tcp_txq){ 0 }, sv[0], sent_cb, pdus), 0,
		"an empty queue sends nothing");
}
