/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NVMe/TCP transport: a queue's connection. The socket, the ICReq/ICResp exchange
 * (NVMe/TCP 1.0 §3.6.2.2, §3.6.2.3: digests, PDU data alignment, MAXH2CDATA), the Fabrics
 * Connect (NVMe Base 2.0 §6.3) that makes the queue, and what happens when a connection fails:
 * the controller is reset, which connects every queue again.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <updk/tsc.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/tcp/tcp.h"

static const uint32_t C2H_TYPES = 1u << UPDK_NVME_TCP_C2H_TERM | 1u << UPDK_NVME_TCP_CAPSULE_RESP |
				  1u << UPDK_NVME_TCP_C2H_DATA | 1u << UPDK_NVME_TCP_R2T;

void tcp_conn_close(struct nvme_tcp_qpair *tq)
{
	if (tq->fd >= 0)
		close(tq->fd);
	tq->fd = -1;
}

/* Wait up to @ms for @fd to be ready for @events: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

static int send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = wait_fd(fd, POLLOUT, TCP_CONNECT_TIMEOUT_MS);

			if (rc)
				return rc;
			continue;
		}
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ICResp (§3.6.2.3), checked against what the ICReq asked for. */
static int take_icresp(struct nvme_tcp_qpair *tq, bool hdgst, bool ddgst)
{
	const char *name = tq->qp.ctrlr->name;
	const struct updk_nvme_tcp_icresp *r = &tq->rx.hdr.icresp;

	if (r->ch.pdu_type == UPDK_NVME_TCP_C2H_TERM) {
		log_err("%s: queue %u: the controller refused our ICReq: %s", name, tq->qp.qid,
			updk_nvme_tcp_fes_str(tq->rx.hdr.term.fes));
		return -ECONNREFUSED;
	}
	if (r->pfv != UPDK_NVME_TCP_PFV_1_0 || r->cpda > 31 ||
	    r->maxh2cdata < UPDK_NVME_TCP_MIN_MAXH2CDATA || r->maxh2cdata % 4) {
		log_err("%s: queue %u: ICResp with PFV %u, CPDA %u, MAXH2CDATA %u: not NVMe/TCP 1.0 "
			"as this host speaks it",
			name, tq->qp.qid, r->pfv, r->cpda, r->maxh2cdata);
		return -EPROTO;
	}
	if (!!(r->dgst & UPDK_NVME_TCP_DGST_HDR) != hdgst ||
	    !!(r->dgst & UPDK_NVME_TCP_DGST_DATA) != ddgst) {
		log_err("%s: queue %u: the controller answers header digests %s, data digests %s; "
			"asked for %s and %s",
			name, tq->qp.qid, r->dgst & UPDK_NVME_TCP_DGST_HDR ? "on" : "off",
			r->dgst & UPDK_NVME_TCP_DGST_DATA ? "on" : "off", hdgst ? "on" : "off",
			ddgst ? "on" : "off");
		return -EPROTO;
	}
	tq->hdgst = hdgst;
	tq->ddgst = ddgst;
	tq->cpda = r->cpda;
	tq->maxh2cdata = r->maxh2cdata;
	return 0;
}

int tcp_conn_open(struct nvme_tcp_qpair *tq)
{
	struct updk_nvme_ctrlr *c = tq->qp.ctrlr;
	struct nvme_tcp_ctrlr *tc = tcp_ctrlr(c);
	struct updk_nvme_tcp_icreq q = { 0 };
	bool hdgst = c->opts.header_digest, ddgst = c->opts.data_digest;
	int one = 1, err = 0, rc, fd;
	socklen_t el = sizeof(err);

	fd = socket(tc->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("%s: socket: %s", c->name, strerror(errno));
		return -errno;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&tc->addr, tc->addrlen) && errno != EINPROGRESS) {
		rc = -errno;
		goto fail;
	}
	rc = wait_fd(fd, POLLOUT, TCP_CONNECT_TIMEOUT_MS);
	if (!rc && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err)
		rc = -err;
	if (rc)
		goto fail;
	tq->fd = fd;
	q.pfv = UPDK_NVME_TCP_PFV_1_0;
	q.hpda = 0; /* data may start anywhere */
	q.dgst = (hdgst ? UPDK_NVME_TCP_DGST_HDR : 0) | (ddgst ? UPDK_NVME_TCP_DGST_DATA : 0);
	q.maxr2t = 0; /* one R2T outstanding per command */
	updk_nvme_tcp_pdu_finish(&q, UPDK_NVME_TCP_ICREQ, 0, 0, false, false, 0);
	updk_nvme_tcp_rx_init(&tq->rx, tq->stage, sizeof(tq->stage),
			      1u << UPDK_NVME_TCP_ICRESP | 1u << UPDK_NVME_TCP_C2H_TERM);
	tq->rx.max_data[UPDK_NVME_TCP_C2H_TERM] = UPDK_NVME_TCP_TERM_MAX_DATA;
	rc = send_all(fd, &q, sizeof(q));
	while (!rc) {
		int ev = updk_nvme_tcp_rx_next(&tq->rx);
		long n;

		if (ev == UPDK_NVME_TCP_RX_HDR) {
			rc = take_icresp(tq, hdgst, ddgst);
			break;
		}
		if (ev < 0) {
			log_err("%s: queue %u: a malformed PDU for ICResp: %s", c->name, tq->qp.qid,
				updk_nvme_tcp_fes_str(tq->rx.fes));
			rc = -EPROTO;
			break;
		}
		rc = wait_fd(fd, POLLIN, TCP_CONNECT_TIMEOUT_MS);
		if (rc)
			break;
		n = updk_nvme_tcp_rx_recv(&tq->rx, fd);
		if (n == 0)
			rc = -ECONNRESET;
		else if (n < 0 && n != -EAGAIN)
			rc = (int)n;
	}
	if (rc)
		goto fail;
	tq->rx.hdgst = tq->hdgst;
	tq->rx.ddgst = tq->ddgst;
	tq->rx.accept = C2H_TYPES;
	tq->rx.max_data[UPDK_NVME_TCP_C2H_DATA] = c->max_xfer;
	tq->broken = false;
	tq->want_out = false;
	return tcp_intr_watch(tq);
fail:
	log_err("%s: queue %u: %s", c->name, tq->qp.qid,
		rc == -ETIMEDOUT    ? "no answer within 10 s (is a target listening there?)" :
		rc == -ECONNREFUSED ? "connection refused (no NVMe/TCP target on that port?)" :
				      strerror(-rc));
	close(fd);
	tq->fd = -1;
	return rc;
}

struct sync_ctx {
	bool done;
	struct updk_nvme_cpl cpl;
};

static void sync_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct sync_ctx *s = arg;

	s->cpl = *cpl;
	s->done = true;
}

int tcp_sync_cmd(struct nvme_tcp_qpair *tq, const struct updk_nvme_cmd *cmd, void *buf,
		 uint32_t len, struct updk_nvme_cpl *cpl)
{
	struct updk_nvme_qpair *qp = &tq->qp;
	struct iovec iov = { buf, len };
	struct nvme_payload pl = {
		.iov = &iov, .iovcnt = 1, .len = len, .flags = NVME_PAYLOAD_COPY
	};
	struct sync_ctx s = { 0 };
	uint64_t start = updk_tsc();
	struct nvme_req *req;
	int rc;

	if (tq->fd < 0)
		return -ENOTCONN;
	req = nvme_slot_get(qp);
	if (!req)
		return -EAGAIN;
	if (qp->qid == 0) {
		req->bounce = NULL;
		req->user_buf = NULL;
	}
	rc = tcp_submit(qp, req, cmd, &pl);
	if (rc) {
		nvme_slot_put(qp, req);
		return rc;
	}
	nvme_req_start(qp, req, sync_cb, &s, cmd->opc);
	tcp_ring(qp);
	while (!s.done && tq->fd >= 0) {
		if (tcp_poll(qp, UINT32_MAX) || s.done || tq->fd < 0)
			continue;
		if (updk_tsc() - start > qp->ctrlr->admin_timeout_tsc)
			break;
		/* nothing yet: sleep until the socket has something (or can take our PDUs) */
		wait_fd(tq->fd, (short)(POLLIN | (tq->txq.head ? POLLOUT : 0)), 1);
	}
	if (!s.done) {
		/* the slot stays outstanding until the queue's commands are failed: forget us */
		req->cb = NULL;
		req->arg = NULL;
		tq->slots[req->cid].user_buf = NULL;
		if (tq->fd >= 0)
			tcp_conn_fail(tq, "a command of the transport's own had no answer in time");
		return -ETIMEDOUT;
	}
	*cpl = s.cpl;
	return 0;
}

/* Why a Connect was refused, in words (NVMe Base 2.0 §6.3, Figures 547 and 548). */
static int connect_refused(struct nvme_tcp_qpair *tq, const struct updk_nvme_cpl *cpl)
{
	struct nvme_tcp_ctrlr *tc = tcp_ctrlr(tq->qp.ctrlr);
	uint8_t sct = updk_nvme_cpl_sct(cpl), sc = updk_nvme_cpl_sc(cpl);
	bool data = cpl->cdw0 & UPDK_NVMF_CONNECT_IPO_DATA;
	uint16_t ipo = (uint16_t)cpl->cdw0;

	if (sct == UPDK_NVME_SCT_CMD_SPECIFIC && sc == UPDK_NVMF_SC_CONNECT_INVALID_HOST) {
		log_err("%s: queue %u: the target does not allow host %s in %s (add it to the "
			"subsystem's allowed hosts, or give hostnqn: in the address)",
			tc->c.name, tq->qp.qid, tc->hostnqn, tc->subnqn);
		return -EACCES;
	}
	if (sct == UPDK_NVME_SCT_CMD_SPECIFIC && sc == UPDK_NVMF_SC_CONNECT_INVALID_PARAMETERS) {
		if (data && ipo == __builtin_offsetof(struct updk_nvmf_connect_data, subnqn)) {
			log_err("%s: the target has no subsystem %s (updk-nvme discover lists those "
				"it has)",
				tc->c.name, tc->subnqn);
			return -ENOENT;
		}
		log_err("%s: queue %u: Connect refused: invalid %s at byte %u", tc->c.name,
			tq->qp.qid, data ? "Connect data" : "command", ipo);
		return -EINVAL;
	}
	log_err("%s: queue %u: Connect to %s refused: %s", tc->c.name, tq->qp.qid, tc->subnqn,
		updk_nvme_status_str(sct, sc));
	return -EIO;
}

int tcp_fabrics_connect(struct nvme_tcp_qpair *tq)
{
	struct nvme_tcp_ctrlr *tc = tcp_ctrlr(tq->qp.ctrlr);
	struct updk_nvme_cmd cmd = { 0 };
	struct updk_nvmf_connect_cmd *cc = (void *)&cmd;
	struct updk_nvmf_connect_data *d = calloc(1, sizeof(*d));
	struct updk_nvme_cpl cpl;
	int rc;

	if (!d)
		return -ENOMEM;
	cc->opc = UPDK_NVMF_OPC_FABRICS;
	cc->fctype = UPDK_NVMF_FCTYPE_CONNECT;
	cc->qid = tq->qp.qid;
	cc->sqsize = (uint16_t)(tq->qsize - 1);
	cc->kato = tq->qp.qid ? 0 : tc->kato_ms;
	memcpy(d->hostid, tc->hostid, sizeof(d->hostid));
	d->cntlid = tq->qp.qid ? tc->cntlid : UPDK_NVMF_CNTLID_DYNAMIC;
	snprintf(d->subnqn, sizeof(d->subnqn), "%s", tc->subnqn);
	snprintf(d->hostnqn, sizeof(d->hostnqn), "%s", tc->hostnqn);
	rc = tcp_sync_cmd(tq, &cmd, d, sizeof(*d), &cpl);
	free(d);
	if (rc)
		return rc;
	if (updk_nvme_cpl_is_error(&cpl))
		return connect_refused(tq, &cpl);
	if (cpl.cdw0 & (UPDK_NVMF_CONNECT_AUTHREQ_ATR | UPDK_NVMF_CONNECT_AUTHREQ_ASCR)) {
		/* the queue stays unusable until authenticated: nothing to gain by going on */
		log_err("%s: queue %u: %s asks this host (%s) for in-band authentication "
			"(DH-HMAC-CHAP, NVMe Base 2.0 §8.13), which updk does not do: allow the "
			"host on the target without it",
			tc->c.name, tq->qp.qid, tc->subnqn, tc->hostnqn);
		return -EACCES;
	}
	if (tq->qp.qid == 0)
		tc->cntlid = (uint16_t)cpl.cdw0;
	return 0;
}

void tcp_conn_fail(struct nvme_tcp_qpair *tq, const char *why)
{
	struct updk_nvme_ctrlr *c = tq->qp.ctrlr;

	if (tq->broken)
		return;
	tq->broken = true;
	tcp_conn_close(tq);
	/* closing, being freed, or still being opened: the caller sees the error itself */
	if (c->closing || tq->qp.dead || !c->qid_used)
		return;
	if (__atomic_load_n(&c->failed, __ATOMIC_ACQUIRE))
		return; /* failed already: another queue's connection went first */
	if (nvme_reset_request(c)) {
		log_err("%s: queue %u: %s: connection closed; the controller will be reset",
			c->name, tq->qp.qid, why);
		return;
	}
	log_err("%s: queue %u: %s: connection closed; controller marked failed (no automatic "
		"reset): its commands fail with Host Pathing Error; updk_nvme_ctrlr_reset() "
		"connects again",
		c->name, tq->qp.qid, why);
	nvme_ctrlr_mark_failed(c);
}
