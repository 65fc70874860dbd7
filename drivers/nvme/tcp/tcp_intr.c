/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NVMe/TCP transport's interrupts: what wakes a sleeping owner is its queues' sockets
 * becoming readable. Each vector is an epoll fd watching the sockets of the queues on it
 * (level-triggered: a PDU in the socket keeps it readable until it is read) and an eventfd for
 * the wake-ups the core gives (a reset, an Abort to send, a failed controller). The owner
 * waits on the epoll fd, which is itself readable when anything in it is, through the same
 * updk_nvme_qpair_intr_fd()/_ack()/_arm() calls as a PCIe vector's eventfd.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/tcp/tcp.h"

/* Two fds a vector: enough for a qpair each on any machine this runs on. */
#define TCP_MAX_VECTORS 256

void tcp_intr_free(struct nvme_tcp_ctrlr *tc)
{
	for (uint32_t v = 0; v < tc->nvecs; v++) {
		if (tc->vecs[v].epfd >= 0)
			close(tc->vecs[v].epfd);
		if (tc->vecs[v].kickfd >= 0)
			close(tc->vecs[v].kickfd);
	}
	free(tc->vecs);
	tc->vecs = NULL;
	tc->nvecs = 0;
}

int tcp_intr_watch(struct nvme_tcp_qpair *tq)
{
	struct nvme_tcp_ctrlr *tc = tcp_ctrlr(tq->qp.ctrlr);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = tq->fd };
	int32_t iv = tq->qp.iv;

	if (iv < 0 || (uint32_t)iv >= tc->nvecs || tq->fd < 0)
		return 0;
	if (epoll_ctl(tc->vecs[iv].epfd, EPOLL_CTL_ADD, tq->fd, &ev) && errno != EEXIST) {
		log_err("%s: queue %u: its socket cannot wake vector %d: %s", tc->c.name,
			tq->qp.qid, iv, strerror(errno));
		return -errno;
	}
	return 0;
}

int tcp_intr_setup(struct updk_nvme_ctrlr *c, uint32_t want)
{
	struct nvme_tcp_ctrlr *tc = tcp_ctrlr(c);
	struct epoll_event ev = { .events = EPOLLIN };
	uint32_t n = want < TCP_MAX_VECTORS ? want : TCP_MAX_VECTORS;

	tc->vecs = calloc(n, sizeof(*tc->vecs));
	if (!tc->vecs)
		return -ENOMEM;
	for (uint32_t v = 0; v < n; v++)
		tc->vecs[v].epfd = tc->vecs[v].kickfd = -1;
	tc->nvecs = n;
	for (uint32_t v = 0; v < n; v++) {
		struct tcp_vec *x = &tc->vecs[v];

		x->epfd = epoll_create1(EPOLL_CLOEXEC);
		x->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ev.data.fd = x->kickfd;
		if (x->epfd < 0 || x->kickfd < 0 ||
		    epoll_ctl(x->epfd, EPOLL_CTL_ADD, x->kickfd, &ev)) {
			int rc = -errno;

			log_err("%s: interrupt vector %u: %s (too many open files? raise ulimit -n, "
				"or open fewer queues with interrupts)",
				c->name, v, strerror(errno));
			tcp_intr_free(tc);
			return rc;
		}
	}
	/* The admin queue, connected already, is on vector 0 (the core gives it that). */
	tcp_qp(c->adminq)->qp.iv = 0;
	if (tcp_intr_watch(tcp_qp(c->adminq))) {
		tcp_intr_free(tc);
		return -EIO;
	}
	return (int)n;
}

int tcp_intr_fd(const struct updk_nvme_ctrlr *c, uint32_t vector)
{
	const struct nvme_tcp_ctrlr *tc = (const struct nvme_tcp_ctrlr *)c;

	return vector < tc->nvecs ? tc->vecs[vector].epfd : -EINVAL;
}

/* The wake-ups the core gave; the sockets need nothing: reading them is the poll's. */
int64_t tcp_intr_ack(struct updk_nvme_ctrlr *c, uint32_t vector)
{
	struct nvme_tcp_ctrlr *tc = tcp_ctrlr(c);
	uint64_t n;

	if (vector >= tc->nvecs)
		return -EINVAL;
	if (read(tc->vecs[vector].kickfd, &n, sizeof(n)) != sizeof(n))
		return errno == EAGAIN ? 0 : -errno;
	return n > INT64_MAX ? INT64_MAX : (int64_t)n;
}

void tcp_intr_kick(struct updk_nvme_ctrlr *c, uint32_t vector)
{
	struct nvme_tcp_ctrlr *tc = tcp_ctrlr(c);
	uint64_t one = 1;

	/* EAGAIN only when the count is near 2^64: readable then anyway. */
	if (vector < tc->nvecs && write(tc->vecs[vector].kickfd, &one, sizeof(one)) < 0)
		return;
}

/*
 * Before the owner sleeps (the core rang already): work it must not sleep on. PDUs the
 * receiver has in its stage and did not take apart (a poll that stopped at its @max) make no
 * socket readable: poll again. A send queue waiting for room in a full socket is woken by
 * EPOLLOUT, asked for only while it waits (a socket with room is always writable).
 */
bool tcp_intr_pending(struct updk_nvme_qpair *qp)
{
	struct nvme_tcp_qpair *tq = tcp_qp(qp);
	struct nvme_tcp_ctrlr *tc = tcp_ctrlr(qp->ctrlr);
	bool out = tq->txq.head != NULL;

	if (tq->fd < 0)
		return false;
	if (tq->rx_more)
		return true;
	if (out != tq->want_out && qp->iv >= 0 && (uint32_t)qp->iv < tc->nvecs) {
		struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
					  .data.fd = tq->fd };

		if (epoll_ctl(tc->vecs[qp->iv].epfd, EPOLL_CTL_MOD, tq->fd, &ev))
			return true; /* cannot wait for room: poll */
		tq->want_out = out;
	}
	return false;
}
