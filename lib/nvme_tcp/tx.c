// SPDX-License-Identifier: BSD-3-Clause
/*
 * NVMe/TCP send queue: both ends of a connection (the initiator's queues in drivers/nvme/tcp,
 * updk-nvmf's connections) queue PDUs as iovecs over their own buffers and send them with one
 * sendmsg() per batch, resuming a PDU the socket took only part of.
 */
#include <errno.h>
#include <sys/socket.h>

#include <updk/nvme_tcp.h>

/*
 * iovecs handed to one sendmsg(), well under IOV_MAX (1024): a read is three (C2HData's
 * header, its data, the CapsuleResp), so what a queue of 64 reads completed in one pass goes
 * out in one call and one run through the TCP stack.
 */
#define TX_BATCH_IOV 256

_Static_assert(TX_BATCH_IOV >= UPDK_NVME_TCP_TX_IOV_MAX, "a whole PDU fits one batch");

void updk_nvme_tcp_txq_append(struct updk_nvme_tcp_txq *q, struct updk_nvme_tcp_tx *t)
{
	t->next = NULL;
	t->prev = q->tail;
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
}

void updk_nvme_tcp_txq_unlink(struct updk_nvme_tcp_txq *q, struct updk_nvme_tcp_tx *t)
{
	if (t == q->head)
		q->off = 0; /* its sent part goes with it */
	if (t->prev)
		t->prev->next = t->next;
	else
		q->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		q->tail = t->prev;
	t->next = t->prev = NULL;
}

static size_t tx_len(const struct updk_nvme_tcp_tx *t)
{
	size_t len = 0;

	for (int i = 0; i < t->niov; i++)
		len += t->iov[i].iov_len;
	return len;
}

int updk_nvme_tcp_txq_flush(struct updk_nvme_tcp_txq *q, int fd, updk_nvme_tcp_tx_sent_fn sent,
			    void *arg)
{
	while (q->head) {
		struct iovec v[TX_BATCH_IOV];
		struct msghdr msg = { .msg_iov = v };
		size_t skip = q->off, want = 0, done;
		ssize_t n = 0;
		int k = 0;

		/* whole PDUs only, the head from where the socket stopped */
		for (struct updk_nvme_tcp_tx *t = q->head; t && k + t->niov <= TX_BATCH_IOV;
		     t = t->next)
			for (int i = 0; i < t->niov; i++) {
				if (skip >= t->iov[i].iov_len) {
					skip -= t->iov[i].iov_len;
					continue;
				}
				v[k].iov_base = (uint8_t *)t->iov[i].iov_base + skip;
				v[k].iov_len = t->iov[i].iov_len - skip;
				want += v[k++].iov_len;
				skip = 0;
			}
		if (!k)
			return -EINVAL; /* a PDU of more than TX_BATCH_IOV iovecs */
		if (want) {
			msg.msg_iovlen = (size_t)k;
			n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -errno;
			q->bytes += (uint64_t)n;
		}
		done = q->off + (size_t)n;
		while (q->head) {
			struct updk_nvme_tcp_tx *t = q->head;
			size_t len = tx_len(t);

			if (done < len)
				break;
			done -= len;
			updk_nvme_tcp_txq_unlink(q, t);
			sent(arg, t);
		}
		q->off = done;
		if ((size_t)n < want)
			return 1; /* the socket took part: wait for room */
	}
	return 0;
}
