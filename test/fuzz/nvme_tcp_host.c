// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target: the receive path of the NVMe/TCP initiator (drivers/nvme/tcp/tcp_io.c
 * tcp_poll(): PDU headers, types, lengths and digests through lib/nvme_tcp, then CapsuleResp,
 * C2HData and R2T against the commands outstanding, handed to the core's completion routine in
 * drivers/nvme/qpair.c) fed a byte stream from a controller that lies, over a real socket.
 *
 * Input: a byte of settings (bit 0 header digests, bit 1 data digests, bits 7:2 the queue
 * size), how many commands to have outstanding, the size of the pieces the stream is written
 * in, a byte per command (bit 0 write, bit 1 by copy, bit 2 two buffer elements, bits 5:3 its
 * length in 512-byte units less one), then the stream. Properties: no crash, overread or leak;
 * a callback runs only for a command that is outstanding, once, with its CID; a successful
 * read has had every byte of its data; a controller that closes the connection fails it;
 * what the initiator sends back (CapsuleCmd, H2CData for the R2Ts) is well-formed PDUs, within
 * MAXH2CDATA; after the host fails what is left, every command has completed once and no slot,
 * copy or queued PDU is held.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/nvme/qpair.c"
#include "drivers/nvme/tcp/tcp_io.c"
#include "drivers/nvme/tcp/tcp_qpair.c"
#include "lib/nvme_tcp/pdu.c"
#include "lib/nvme_tcp/rx.c"
#include "lib/nvme_tcp/tx.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "test/fuzz/crc32c_soft.h"
#include "test/fuzz/nvme_qpair_stubs.h"

#define MAX_CMDS 32

void updk_dma_free(void *buf)
{
	abort(); /* the admin queue's bounce buffers: this target has an I/O queue only */
}

const char *updk_nvme_status_str(uint8_t sct, uint8_t sc)
{
	return "status";
}

/* tcp_conn.c: this target's queue is connected already, over a socket pair; a failed
 * connection closes, as there (the reset that follows is the core's, not reached here). */
static int failed;

int tcp_conn_open(struct nvme_tcp_qpair *tq)
{
	abort();
}

int tcp_fabrics_connect(struct nvme_tcp_qpair *tq)
{
	abort();
}

void tcp_conn_close(struct nvme_tcp_qpair *tq)
{
	if (tq->fd >= 0)
		close(tq->fd);
	tq->fd = -1;
}

void tcp_conn_fail(struct nvme_tcp_qpair *tq, const char *why)
{
	if (tq->broken)
		return;
	tq->broken = true;
	failed++;
	tcp_conn_close(tq);
}

/* pcie_poll.c: qpair.c inlines the PCIe reaper, for qpairs with inline_pcie; a TCP one has not. */
void pcie_cpl_slow(struct nvme_pcie_qpair *pq, const struct updk_nvme_cpl *e, uint32_t next)
{
	abort();
}

void pcie_sq_head_check(struct nvme_pcie_qpair *pq)
{
	abort();
}

/* admin.c: Keep Alive goes on the admin queue only. */
int nvme_admin_submit(struct updk_nvme_ctrlr *ctrlr, const struct updk_nvme_cmd *cmd, void *buf,
		      uint32_t len, updk_nvme_cb cb, void *arg, uint8_t reqflags)
{
	abort();
}

struct cmd {
	uint8_t state; /* 0 none, 1 outstanding, 2 completed */
	bool write;
	uint32_t len;
	uint8_t *buf;
	struct iovec iov[2];
};

static struct cmd cmds[MAX_CMDS];
static struct nvme_tcp_qpair *tq_now;

static void cpl_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct cmd *k = arg;
	uint16_t cid = (uint16_t)(k - cmds);

	if (k->state != 1 || cpl->cid != cid)
		abort();
	k->state = 2;
	/* a read that succeeds has had all of its data (the copy was made before this call) */
	if (!updk_nvme_cpl_is_error(cpl) && !k->write && tq_now->slots[cid].c2h_rcvd != k->len)
		abort();
}

/* What the initiator sends: well-formed H2C PDUs, whatever it was sent. */
static struct updk_nvme_tcp_rx out_rx;
static uint8_t out_stage[4096];

static void check_sent(int fd)
{
	uint8_t buf[8192];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		size_t at = 0;

		while (at < (size_t)n) {
			int ev = updk_nvme_tcp_rx_next(&out_rx);

			if (ev < 0)
				abort(); /* the initiator sent a PDU its peer must refuse */
			if (ev == UPDK_NVME_TCP_RX_MORE)
				at += updk_nvme_tcp_rx_feed(&out_rx, buf + at, (size_t)n - at);
			else if (ev == UPDK_NVME_TCP_RX_HDR && updk_nvme_tcp_rx_data_len(&out_rx))
				updk_nvme_tcp_rx_set_data(&out_rx, NULL, 0);
		}
	}
	for (int ev; (ev = updk_nvme_tcp_rx_next(&out_rx)) != UPDK_NVME_TCP_RX_MORE;) {
		if (ev < 0)
			abort();
		if (ev == UPDK_NVME_TCP_RX_HDR && updk_nvme_tcp_rx_data_len(&out_rx))
			updk_nvme_tcp_rx_set_data(&out_rx, NULL, 0);
	}
}

static const struct nvme_transport_ops fuzz_tcp = {
	.name = "TCP",
	.qpair_release = tcp_qpair_release,
	.qpair_free = tcp_qpair_free,
	.qpair_abort_queued = tcp_qpair_abort_queued,
	.submit = tcp_submit,
	.ring = tcp_ring,
	.poll = tcp_poll,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nvme_tcp_ctrlr tc;
	struct updk_nvme_ctrlr *c = &tc.c;
	struct updk_nvme_qpair *qp;
	struct nvme_tcp_qpair *tq;
	uint32_t qsize, n_out, chunk;
	bool hdgst, ddgst;
	int sv[2], big = 1 << 20;

	if (size < 3)
		return 0;
	hdgst = data[0] & 1;
	ddgst = data[0] & 2;
	qsize = 2 + (data[0] >> 2) % MAX_CMDS;
	chunk = 1 + data[2];
	memset(&tc, 0, sizeof(tc));
	strcpy(c->name, "fuzz");
	c->ops = &fuzz_tcp;
	c->max_xfer = 65536;
	c->id.ioccsz = 4 + 1024 / 16; /* 1 KiB of in-capsule data on an I/O queue */
	if (tcp_qpair_create(c, 1, qsize, &qp))
		return 0;
	tq = tcp_qp(qp);
	tq_now = tq;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		abort();
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	/* as tcp_conn_open() leaves a queue after ICResp */
	tq->fd = sv[0];
	tq->hdgst = hdgst;
	tq->ddgst = ddgst;
	tq->cpda = 0;
	tq->maxh2cdata = 1024;
	tq->icd_max = c->id.ioccsz * 16u - 64;
	updk_nvme_tcp_rx_init(&tq->rx, tq->stage, sizeof(tq->stage),
			      1u << UPDK_NVME_TCP_C2H_TERM | 1u << UPDK_NVME_TCP_CAPSULE_RESP |
				      1u << UPDK_NVME_TCP_C2H_DATA | 1u << UPDK_NVME_TCP_R2T);
	tq->rx.hdgst = hdgst;
	tq->rx.ddgst = ddgst;
	tq->rx.max_data[UPDK_NVME_TCP_C2H_DATA] = c->max_xfer;
	tq->rx.max_data[UPDK_NVME_TCP_C2H_TERM] = UPDK_NVME_TCP_TERM_MAX_DATA;
	updk_nvme_tcp_rx_init(&out_rx, out_stage, sizeof(out_stage),
			      1u << UPDK_NVME_TCP_CAPSULE_CMD | 1u << UPDK_NVME_TCP_H2C_DATA);
	out_rx.hdgst = hdgst;
	out_rx.ddgst = ddgst;
	out_rx.max_data[UPDK_NVME_TCP_CAPSULE_CMD] = tq->icd_max;
	out_rx.max_data[UPDK_NVME_TCP_H2C_DATA] = tq->maxh2cdata;
	failed = 0;

	n_out = data[1] % (qp->depth + 1u);
	data += 3;
	size -= 3;
	memset(cmds, 0, sizeof(cmds));
	for (uint32_t i = 0; i < n_out && size; i++) {
		struct nvme_req *req = nvme_slot_get(qp);
		uint8_t k = *data++;
		struct updk_nvme_cmd cmd = { .opc = k & 1 ? UPDK_NVME_OPC_WRITE :
							    UPDK_NVME_OPC_READ,
					     .nsid = 1 };
		struct nvme_payload pl = { 0 };
		struct cmd *m;

		size--;
		if (!req)
			abort();
		m = &cmds[req->cid];
		m->write = k & 1;
		m->len = 512u * (1 + ((k >> 3) & 7));
		m->buf = malloc(m->len);
		if (!m->buf)
			abort();
		memset(m->buf, 0xa5, m->len);
		m->iov[0] = (struct iovec){ m->buf, k & 4 ? 100 : m->len };
		m->iov[1] = (struct iovec){ m->buf + 100, m->len - 100 };
		pl.iov = m->iov;
		pl.iovcnt = k & 4 ? 2 : 1;
		pl.len = m->len;
		pl.flags = k & 2 ? NVME_PAYLOAD_COPY : 0;
		if (tcp_submit(qp, req, &cmd, &pl)) {
			/* refused (a copy into two elements): nothing queued */
			nvme_slot_put(qp, req);
			free(m->buf);
			m->buf = NULL;
			continue;
		}
		m->state = 1;
		nvme_req_start(qp, req, cpl_cb, m, cmd.opc);
	}
	tcp_ring(qp);
	check_sent(sv[1]);
	while (size && tq->fd >= 0) {
		size_t n = size < chunk ? size : chunk;
		ssize_t w = send(sv[1], data, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w <= 0)
			break; /* the initiator stopped reading: it failed the connection */
		data += w;
		size -= (size_t)w;
		(void)tcp_poll(qp, UINT32_MAX);
		check_sent(sv[1]);
		if (nvme_qp_outstanding(qp) > qp->depth)
			abort();
	}
	if (tq->fd >= 0) {
		/* the controller closes the connection: read to the end, as a host does */
		close(sv[1]);
		sv[1] = -1;
		while (tq->fd >= 0)
			(void)tcp_poll(qp, UINT32_MAX);
		if (!failed)
			abort(); /* a peer that closed is a failed connection */
	}
	nvme_qpair_fail_all(qp, UPDK_NVME_SCT_GENERIC, 0x07);
	for (uint32_t i = 0; i < MAX_CMDS; i++) {
		if (cmds[i].state == 1)
			abort();
		free(cmds[i].buf);
	}
	if (nvme_qp_outstanding(qp) != 0)
		abort();
	for (uint32_t i = 0; i < qp->depth; i++)
		if (tq->slots[i].copy || tq->slots[i].tx_queued)
			abort();
	nvme_qpair_destroy(qp);
	if (sv[1] >= 0)
		close(sv[1]);
	return 0;
}
