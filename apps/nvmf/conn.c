// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf: one NVMe/TCP connection, the receiving side. ICReq first (NVMe/TCP 1.0
 * §3.6.2.2), then Command Capsules (§3.6.2.6) with their in-capsule data, and H2CData
 * (§3.6.2.8) answering our R2Ts. Every malformed or out-of-place PDU ends the connection with
 * a C2HTermReq saying which field was wrong; a command that is well framed but wrong gets an
 * error status and the connection goes on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <updk/tsc.h>

#include "apps/nvmf/nvmf.h"

/* A connection that has not connected its queue after this long is dropped. */
#define CONNECT_DEADLINE_S 10

static const uint32_t H2C_TYPES = 1u << UPDK_NVME_TCP_H2C_TERM | 1u << UPDK_NVME_TCP_CAPSULE_CMD |
				  1u << UPDK_NVME_TCP_H2C_DATA;

static void addr_str(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
		snprintf(out, len, "%s:%u", host, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
		snprintf(out, len, "[%s]:%u", host, port);
	} else {
		snprintf(out, len, "?");
	}
}

struct nvmf_conn *nvmf_conn_new(int fd, struct nvmf_poller *p)
{
	struct nvmf_conn *c = calloc(1, sizeof(*c));
	struct sockaddr_storage peer;
	socklen_t sl = sizeof(peer);

	if (!c)
		return NULL;
	c->reqs = calloc(NVMF_MAX_QUEUE, sizeof(*c->reqs));
	c->free_idx = calloc(NVMF_MAX_QUEUE, sizeof(*c->free_idx));
	if (!c->reqs || !c->free_idx) {
		free(c->reqs);
		free(c->free_idx);
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->poller = p;
	c->state = CONN_WAIT_ICREQ;
	c->nreqs = NVMF_MAX_QUEUE;
	for (unsigned i = 0; i < c->nreqs; i++) {
		c->reqs[i].conn = c;
		c->reqs[i].idx = (uint16_t)i;
		c->reqs[i].tx_data.req = &c->reqs[i];
		c->reqs[i].tx_resp.req = &c->reqs[i];
		c->free_idx[c->nfree++] = (uint16_t)(c->nreqs - 1 - i);
	}
	c->sqsize = 0; /* one command (the Connect) until the queue is connected */
	if (getpeername(fd, (struct sockaddr *)&peer, &sl) == 0)
		addr_str(&peer, c->peer, sizeof(c->peer));
	else
		snprintf(c->peer, sizeof(c->peer), "fd %d", fd);
	sl = sizeof(c->local);
	getsockname(fd, (struct sockaddr *)&c->local, &sl);
	updk_nvme_tcp_rx_init(&c->rx, c->stage, sizeof(c->stage), 1u << UPDK_NVME_TCP_ICREQ);
	c->created = updk_tsc();
	return c;
}

struct nvmf_req *nvmf_req_get(struct nvmf_conn *c)
{
	struct nvmf_req *r;

	if (!c->nfree)
		return NULL;
	r = &c->reqs[c->free_idx[--c->nfree]];
	r->state = REQ_EXEC;
	r->h2c = r->failed = false;
	r->xfer_len = r->rcvd = 0;
	r->buf = NULL;
	r->ns = NULL;
	r->next = NULL;
	memset(&r->cpl, 0, sizeof(r->cpl));
	return r;
}

void nvmf_req_put(struct nvmf_req *r)
{
	struct nvmf_conn *c = r->conn;

	if (r->buf) {
		struct nvmf_poller *p = c->poller;

		updk_mempool_put(r->xfer_len <= NVMF_SMALL_BUF ? p->small : p->large, r->buf);
		r->buf = NULL;
	}
	r->state = REQ_FREE;
	c->free_idx[c->nfree++] = r->idx;
}

bool nvmf_req_buf(struct nvmf_req *r)
{
	struct nvmf_poller *p = r->conn->poller;

	if (!r->xfer_len || r->buf)
		return true;
	r->buf = updk_mempool_get(r->xfer_len <= NVMF_SMALL_BUF ? p->small : p->large);
	return r->buf != NULL;
}

/* Commands outstanding: the host may have at most its queue's entries (flow control). */
static unsigned outstanding(const struct nvmf_conn *c)
{
	return c->nreqs - c->nfree;
}

void nvmf_req_fail(struct nvmf_req *r, uint8_t sct, uint8_t sc, bool dnr)
{
	r->cpl.status = nvmf_status(sct, sc, dnr);
	nvmf_req_complete(r);
}

void nvmf_req_complete(struct nvmf_req *r)
{
	struct nvmf_conn *c = r->conn;

	if (c->state == CONN_ZOMBIE || c->no_more_tx) {
		nvmf_req_put(r);
		return;
	}
	r->cpl.cid = r->cmd.cid;
	r->cpl.sqid = c->qid;
	r->cpl.sqhd = c->sqflow_off ? 0xffff : c->sqhd;
	r->state = REQ_TX;
	if (!r->h2c && r->xfer_len && !updk_nvme_cpl_is_error(&r->cpl)) {
		nvmf_tx_c2h_data(r);
		if (c->sqflow_off)
			return; /* C2HData's SUCCESS flag stands for the response */
	}
	nvmf_tx_resp(r);
}

void nvmf_conn_fatal(struct nvmf_conn *c, uint16_t fes, uint32_t fei, const void *hdr, size_t hlen,
		     const char *why)
{
	struct updk_nvme_tcp_term_req *t = (void *)c->term;

	if (c->state >= CONN_DRAIN)
		return;
	nvmf_log(UPDK_LOG_WARN, "%s: %s: %s; ending the connection with a C2HTermReq", c->peer, why,
		 updk_nvme_tcp_fes_str(fes));
	if (hlen > UPDK_NVME_TCP_TERM_MAX_DATA)
		hlen = UPDK_NVME_TCP_TERM_MAX_DATA;
	memset(t, 0, sizeof(*t));
	t->fes = fes;
	t->fei = fei;
	memcpy(c->term + sizeof(*t), hdr, hlen);
	updk_nvme_tcp_pdu_finish(t, UPDK_NVME_TCP_C2H_TERM, 0, (uint32_t)hlen, false, false, 0);
	c->tx_term.iov[0] = (struct iovec){ c->term, sizeof(*t) + hlen };
	c->tx_term.t.niov = 1;
	nvmf_tx_queue(c, &c->tx_term);
	c->no_more_tx = true; /* nothing after the TermReq */
	c->state = CONN_DRAIN;
	c->drain_start = updk_tsc();
}

static int fatal_hdr(struct nvmf_conn *c, uint16_t fes, uint32_t fei, const char *why)
{
	nvmf_conn_fatal(c, fes, fei, c->rx.hdr.raw, c->rx.hdr.ch.hlen, why);
	return -EPROTO;
}

/* ICReq (NVMe/TCP 1.0 §3.6.2.2): digests and the host's alignment; answer with ICResp. */
static int on_icreq(struct nvmf_conn *c)
{
	const struct updk_nvme_tcp_icreq *q = &c->rx.hdr.icreq;
	struct updk_nvme_tcp_icresp *r = &c->icresp;

	if (q->pfv != UPDK_NVME_TCP_PFV_1_0)
		return fatal_hdr(c, UPDK_NVME_TCP_FES_UNSUPPORTED_PARAMETER, 8,
				 "ICReq asks for a PDU format version other than 1.0");
	if (q->hpda > 31)
		return fatal_hdr(c, UPDK_NVME_TCP_FES_UNSUPPORTED_PARAMETER, 10,
				 "ICReq's HPDA is beyond 31");
	c->hdgst = q->dgst & UPDK_NVME_TCP_DGST_HDR;
	c->ddgst = q->dgst & UPDK_NVME_TCP_DGST_DATA;
	c->hpda = q->hpda;
	memset(r, 0, sizeof(*r));
	r->pfv = UPDK_NVME_TCP_PFV_1_0;
	r->cpda = 0;
	r->dgst = q->dgst & (UPDK_NVME_TCP_DGST_HDR | UPDK_NVME_TCP_DGST_DATA);
	r->maxh2cdata = NVMF_MAXH2CDATA;
	updk_nvme_tcp_pdu_finish(r, UPDK_NVME_TCP_ICRESP, 0, 0, false, false, 0);
	c->tx_ctl.iov[0] = (struct iovec){ r, sizeof(*r) };
	c->tx_ctl.t.niov = 1;
	nvmf_tx_queue(c, &c->tx_ctl);
	c->rx.hdgst = c->hdgst;
	c->rx.ddgst = c->ddgst;
	c->rx.pda = 0;
	c->rx.accept = H2C_TYPES;
	c->rx.max_data[UPDK_NVME_TCP_CAPSULE_CMD] =
		NVMF_IO_ICD > UPDK_NVME_TCP_ADMIN_ICD ? NVMF_IO_ICD : UPDK_NVME_TCP_ADMIN_ICD;
	c->rx.max_data[UPDK_NVME_TCP_H2C_DATA] = NVMF_MAXH2CDATA;
	c->rx.max_data[UPDK_NVME_TCP_H2C_TERM] = UPDK_NVME_TCP_TERM_MAX_DATA;
	c->rx.small_data = NVMF_STAGE_DATA;
	c->state = CONN_WAIT_CONNECT;
	return 0;
}

/* Ask for the data of a write, or start it. */
static void start(struct nvmf_req *r)
{
	if (r->h2c) {
		r->state = REQ_R2T;
		nvmf_tx_r2t(r);
		return;
	}
	nvmf_exec(r);
}

/* The request's data buffer arrived: go on where it waited. */
void nvmf_req_buf_ready(struct nvmf_req *r)
{
	struct nvmf_conn *c = r->conn;

	if (c->blocked == r) {
		struct iovec v = { r->buf, r->xfer_len };

		c->blocked = NULL;
		c->cur = r;
		r->state = REQ_RECV_ICD;
		updk_nvme_tcp_rx_set_data(&c->rx, &v, 1);
		return;
	}
	start(r);
}

/*
 * The data direction of a command: bits 1:0 of the opcode, of FCTYPE for a Fabrics command
 * (NVMe Base 2.0 §6: 01b host to controller, 10b controller to host).
 */
static unsigned data_dir(const struct updk_nvme_cmd *cmd)
{
	if (cmd->opc == UPDK_NVMF_OPC_FABRICS)
		return ((const struct updk_nvmf_cmd *)cmd)->fctype & 3;
	return cmd->opc & 3;
}

/* Check the command's SGL against the capsule: 0, or the status to fail it with. */
static uint16_t check_sgl(struct nvmf_conn *c, struct nvmf_req *r, uint32_t icd)
{
	const struct updk_nvme_sgl *sgl = (const void *)r->cmd.dptr.sgl1;
	unsigned dir = data_dir(&r->cmd);

	if (!dir)
		return icd ? nvmf_status(0, UPDK_NVME_SC_INVALID_FIELD, true) : 0;
	if (dir == 3)
		return nvmf_status(0, UPDK_NVME_SC_INVALID_FIELD, true);
	if (!sgl->length && !icd)
		return 0; /* a command that may move data, moving none (Set Features) */
	r->h2c = dir == 1;
	r->xfer_len = sgl->length;
	if ((r->cmd.flags >> 6) != 1) /* PSDT: fabrics carry data by SGL only */
		return nvmf_status(0, UPDK_NVME_SC_INVALID_FIELD, true);
	if (sgl->type == UPDK_NVME_TCP_SGL_ICD) {
		if (!r->h2c)
			return nvmf_status(0, UPDK_NVME_SC_INVALID_FIELD, true);
		if (sgl->addr)
			return nvmf_status(0, UPDK_NVME_SC_INVALID_SGL_OFFSET, true);
		if (sgl->length != icd)
			return nvmf_status(0, UPDK_NVME_SC_DATA_SGL_LENGTH_INVALID, true);
	} else if (sgl->type == UPDK_NVME_TCP_SGL_TRANSPORT) {
		if (icd)
			return nvmf_status(0, UPDK_NVME_SC_INVALID_FIELD, true);
	} else {
		return nvmf_status(0, UPDK_NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID, true);
	}
	if (r->xfer_len > NVMF_MDTS_BYTES)
		return nvmf_status(0, UPDK_NVME_SC_INVALID_FIELD, true);
	return 0;
}

/* A Command Capsule (§3.6.2.6). */
static int on_capsule(struct nvmf_conn *c)
{
	uint32_t icd = updk_nvme_tcp_rx_data_len(&c->rx);
	struct nvmf_req *r;
	uint16_t status;

	if (outstanding(c) > c->sqsize)
		return fatal_hdr(c, UPDK_NVME_TCP_FES_PDU_SEQUENCE_ERROR, 0,
				 "the host sent more commands than its queue holds");
	r = nvmf_req_get(c);
	r->cmd = c->rx.hdr.cmd.ccsqe;
	c->sqhd = (uint16_t)((c->sqhd + 1) % (c->sqsize + 1u));
	c->cmds++;
	status = check_sgl(c, r, icd);
	if (status) {
		r->failed = true;
		r->cpl.status = status;
		r->h2c = false;
		r->xfer_len = 0;
		if (!icd) {
			nvmf_req_complete(r);
			return 0;
		}
		c->cur = r; /* drop its data, then answer */
		r->state = REQ_RECV_ICD;
		return updk_nvme_tcp_rx_set_data(&c->rx, NULL, 0);
	}
	if (!nvmf_req_buf(r)) {
		r->state = REQ_NEED_BUF;
		if (icd)
			c->blocked = r; /* its data is next on the wire: wait, reading nothing */
		else
			nvmf_poller_hold(c->poller, r);
		return 0;
	}
	if (icd) {
		struct iovec v = { r->buf, icd };

		c->cur = r;
		r->state = REQ_RECV_ICD;
		return updk_nvme_tcp_rx_set_data(&c->rx, &v, 1);
	}
	start(r);
	return 0;
}

/* H2CData (§3.6.2.8): the data one of our R2Ts asked for. */
static int on_h2c_data(struct nvmf_conn *c)
{
	const struct updk_nvme_tcp_data *d = &c->rx.hdr.data;
	struct nvmf_req *r;
	struct iovec v;

	if (d->ttag >= c->nreqs || c->reqs[d->ttag].state != REQ_R2T)
		return fatal_hdr(c, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD, 10,
				 "H2CData names a transfer tag no R2T gave");
	r = &c->reqs[d->ttag];
	if (d->cccid != r->cmd.cid)
		return fatal_hdr(c, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD, 8,
				 "H2CData's command ID is not its transfer tag's");
	if (d->datao != r->rcvd)
		return fatal_hdr(c, UPDK_NVME_TCP_FES_DATA_OUT_OF_RANGE, 12,
				 "H2CData's offset is not where the data stands");
	if (d->datal != updk_nvme_tcp_rx_data_len(&c->rx) ||
	    (uint64_t)d->datao + d->datal > r->xfer_len)
		return fatal_hdr(c, UPDK_NVME_TCP_FES_DATA_OUT_OF_RANGE, 16,
				 "H2CData's length goes past what the R2T asked for");
	c->cur = r;
	v = (struct iovec){ (uint8_t *)r->buf + d->datao, d->datal };
	return updk_nvme_tcp_rx_set_data(&c->rx, &v, 1);
}

static int on_header(struct nvmf_conn *c)
{
	switch (c->rx.hdr.ch.pdu_type) {
	case UPDK_NVME_TCP_ICREQ:
		return on_icreq(c);
	case UPDK_NVME_TCP_H2C_TERM:
		nvmf_log(UPDK_LOG_WARN, "%s: the host ended the connection: %s (FEI %u)", c->peer,
			 updk_nvme_tcp_fes_str(c->rx.hdr.term.fes), c->rx.hdr.term.fei);
		nvmf_conn_close(c, "H2CTermReq");
		return -EPIPE;
	case UPDK_NVME_TCP_CAPSULE_CMD:
		return on_capsule(c);
	default:
		return on_h2c_data(c);
	}
}

/* The current PDU's data is in. */
static void on_data(struct nvmf_conn *c)
{
	struct nvmf_req *r = c->cur;

	c->cur = NULL;
	if (c->rx.ddgst_error && !r->failed) {
		nvmf_log(UPDK_LOG_WARN, "%s: data digest error in command %u's data", c->peer,
			 r->cmd.cid);
		r->failed = true;
		r->cpl.status = nvmf_status(0, UPDK_NVME_SC_TRANSIENT_TRANSPORT_ERROR, false);
	}
	if (r->state == REQ_RECV_ICD) {
		r->rcvd = r->xfer_len;
	} else {
		r->rcvd += c->rx.hdr.data.datal;
		if (r->rcvd < r->xfer_len)
			return; /* more H2CData to come */
	}
	if (r->failed) {
		r->h2c = false;
		r->xfer_len = r->buf ? r->xfer_len : 0;
		nvmf_req_complete(r);
		return;
	}
	nvmf_exec(r);
}

/* Read and act on what the socket has, within a budget of PDUs. */
static void conn_rx(struct nvmf_conn *c)
{
	for (int budget = 64; budget > 0 && c->state < CONN_DRAIN && !c->blocked;) {
		int ev = updk_nvme_tcp_rx_next(&c->rx);

		if (ev == UPDK_NVME_TCP_RX_MORE) {
			long n;

			if (!c->readable)
				return;
			n = updk_nvme_tcp_rx_recv(&c->rx, c->fd);
			if (n == -EAGAIN) {
				c->readable = false;
				return;
			}
			if (n <= 0) {
				nvmf_conn_close(c, n ? strerror((int)-n) :
						       "the host closed the connection");
				return;
			}
			c->bytes_in += (uint64_t)n;
			c->poller->work++;
			if (c->rx.short_read)
				c->readable = false; /* drained: epoll says when there is more */
			continue;
		}
		budget--;
		if (ev < 0) {
			char why[96];

			snprintf(why, sizeof(why), "a malformed %s PDU (field at byte %u)",
				 updk_nvme_tcp_pdu_name(c->rx.hdr.ch.pdu_type), c->rx.fei);
			if (ev == -EPROTO)
				fatal_hdr(c, c->rx.fes, c->rx.fei, why);
			else
				nvmf_conn_close(c, "receiver out of step");
			return;
		}
		if (ev == UPDK_NVME_TCP_RX_HDR) {
			if (on_header(c))
				return;
		} else {
			on_data(c);
		}
	}
}

bool nvmf_conn_poll(struct nvmf_conn *c)
{
	struct nvmf_poller *p = c->poller;

	if (c->state == CONN_ZOMBIE)
		return !nvmf_conn_done(c);
	if (c->ctrlr && (atomic_load_explicit(&c->ctrlr->dead, memory_order_relaxed) ||
			 (c->qid && atomic_load_explicit(&c->ctrlr->io_gen, memory_order_relaxed) !=
					    c->io_gen)))
		nvmf_conn_drain(c); /* the association ended or was reset: finish, then close */
	if (c->state < CONN_LIVE &&
	    p->now > c->created + (uint64_t)CONNECT_DEADLINE_S * p->tsc_hz) {
		nvmf_conn_close(c, "no Connect within 10 s");
		return !nvmf_conn_done(c);
	}
	if (c->ctrlr && c->qid == 0 && c->ctrlr->ka_deadline && p->now > c->ctrlr->ka_deadline) {
		nvmf_ctrlr_kill(c->ctrlr, "no Keep Alive within the Keep Alive Timeout: the host "
					  "is gone");
		nvmf_conn_close(c, "keep-alive timeout");
		return !nvmf_conn_done(c);
	}
	if (c->blocked && nvmf_req_buf(c->blocked))
		nvmf_req_buf_ready(c->blocked);
	conn_rx(c);
	if (c->state == CONN_ZOMBIE)
		return !nvmf_conn_done(c);
	if (c->txq.head && nvmf_tx_flush(c) < 0) {
		nvmf_conn_close(c, "the socket failed while sending");
		return !nvmf_conn_done(c);
	}
	if (c->state == CONN_DRAIN && !c->txq.head &&
	    (c->no_more_tx || (!c->inflight && !c->nheld) ||
	     p->now > c->drain_start + 5 * p->tsc_hz))
		nvmf_conn_close(c, c->no_more_tx ? "after a fatal transport error" :
						   "the target is shutting down");
	return c->state != CONN_ZOMBIE || !nvmf_conn_done(c);
}

/* Start a graceful end: no more commands; what is in flight completes and is answered. */
void nvmf_conn_drain(struct nvmf_conn *c)
{
	if (c->state >= CONN_DRAIN)
		return;
	c->state = CONN_DRAIN;
	c->drain_start = updk_tsc();
}

bool nvmf_conn_done(const struct nvmf_conn *c)
{
	return c->state == CONN_ZOMBIE && !c->inflight;
}

void nvmf_conn_close(struct nvmf_conn *c, const char *why)
{
	struct nvmf_ctrlr *ctrlr = c->ctrlr;

	if (c->state == CONN_ZOMBIE)
		return;
	nvmf_log(UPDK_LOG_INFO, "%s: queue %u closed: %s", c->peer, c->qid, why);
	epoll_ctl(c->poller->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->state = CONN_ZOMBIE;
	c->txq.head = c->txq.tail = NULL;
	c->txq.off = 0;
	c->blocked = c->cur = NULL;
	for (unsigned i = 0; i < c->nreqs; i++) {
		struct nvmf_req *r = &c->reqs[i];

		if (r->state == REQ_FREE)
			continue;
		if (r->state == REQ_HELD || r->state == REQ_NEED_BUF)
			nvmf_poller_unhold(c->poller, r);
		if (r->state != REQ_EXEC)
			nvmf_req_put(r); /* what the device holds comes back to io_done() */
	}
	if (ctrlr) {
		if (c->qid == 0) {
			ctrlr->naer = 0;
			ctrlr->admin = NULL;
			nvmf_ctrlr_kill(ctrlr, "its admin queue's connection closed");
		} else {
			nvmf_ctrlr_release_qid(ctrlr, c->qid);
		}
		nvmf_ctrlr_put(ctrlr);
		c->ctrlr = NULL;
	}
}

void nvmf_conn_free(struct nvmf_conn *c)
{
	free(c->reqs);
	free(c->free_idx);
	free(c);
}
