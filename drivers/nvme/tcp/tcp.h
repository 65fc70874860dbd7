/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NVMe/TCP transport of the NVMe driver (NVMe/TCP Transport Specification 1.0, NVMe Base
 * 2.0 chapter 6 for the Fabrics commands): one TCP connection per queue, commands and their
 * data in PDUs (lib/nvme_tcp), the controller's registers read and written with Property Get
 * and Property Set on the admin queue. Its controller and qpair embed the core's.
 *
 * Data moves between the caller's buffers and the socket without a copy in user space: a
 * write's data is sent by sendmsg() from the caller's buffer (in the capsule, or in H2CData
 * PDUs when the controller sends R2T), a read's C2HData is read by readv() straight into it.
 * Any memory will do: nothing here needs DMA memory.
 */
#ifndef NVME_TCP_TRANSPORT_H
#define NVME_TCP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <updk/nvme_tcp.h>
#include <updk/nvmf_spec.h>

#include "drivers/nvme/nvme_int.h"
#include "drivers/nvme/transport.h"

/* Most iovec elements of one command's data (a split I/O's child counts its own). */
#define TCP_CMD_IOV_MAX 16
/* Bytes of caller memory an I/O command may carry by copy (Dataset Management's ranges). */
#define TCP_COPY_MAX 4096
/* Keep Alive Timeout asked for when the options do not say (NVMe Base 2.0 §3.9). */
#define TCP_DEFAULT_KATO_MS 10000
/* How long connecting a socket and the ICReq/ICResp exchange may take. */
#define TCP_CONNECT_TIMEOUT_MS 10000

/* An interrupt vector (tcp_intr.c): an epoll fd over its queues' sockets and a wake-up. */
struct tcp_vec {
	int epfd, kickfd;
};

struct nvme_tcp_ctrlr {
	struct updk_nvme_ctrlr c;
	struct tcp_vec *vecs; /* opts.interrupts: nvecs of them */
	uint32_t nvecs;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char subnqn[UPDK_NVMF_NQN_MAX + 1];
	char hostnqn[UPDK_NVMF_NQN_MAX + 1];
	uint8_t hostid[16];
	uint16_t cntlid; /* the admin queue's Connect gave it; I/O queues join it */
	bool discovery; /* the Discovery controller: no I/O queues */
	uint32_t kato_ms; /* 0: no Keep Alive */
};

/* One PDU of a queue's send queue, over the caller's memory (lib/nvme_tcp's send queue). */
struct tcp_tx {
	struct updk_nvme_tcp_tx t; /* t.iov is iov */
	struct iovec iov[TCP_CMD_IOV_MAX + 2]; /* header, data, data digest */
	uint16_t cid; /* its command's slot */
	bool h2c; /* an H2CData PDU: when sent, the next one of its R2T is due */
};

_Static_assert(TCP_CMD_IOV_MAX + 2 <= UPDK_NVME_TCP_TX_IOV_MAX, "a PDU fits the send queue");
_Static_assert(offsetof(struct tcp_tx, t) == 0, "the send queue's record comes first");

/* What the transport keeps per command slot, by CID. */
struct tcp_slot {
	struct iovec iov[TCP_CMD_IOV_MAX]; /* the command's data, as the caller's memory */
	int iovcnt;
	uint32_t len;
	bool h2c; /* data from the host */
	bool tx_queued; /* its capsule or an H2CData PDU is on the send queue */
	void *copy; /* the payload asked for a copy: our buffer (malloc) */
	void *user_buf; /* ...and, for data from the controller, where it goes at completion */
	uint32_t c2h_rcvd; /* bytes of C2HData so far */
	uint32_t r2t_off, r2t_end; /* H2CData still owed for the current R2T: [off, end) */
	uint16_t ttag;
	uint32_t ddgst;
	bool ddgst_error;
	struct tcp_tx tx;
	union {
		struct updk_nvme_tcp_cmd cmd;
		struct updk_nvme_tcp_data data;
		uint8_t raw[72 + 4 + 128];
	} hdr;
};

struct nvme_tcp_qpair {
	struct updk_nvme_qpair qp;
	int fd; /* -1: not connected */
	bool broken; /* the connection failed: the controller is being reset */
	bool hdgst, ddgst;
	uint8_t cpda; /* the controller's alignment for data we send, 0's based dwords */
	uint32_t maxh2cdata;
	uint32_t icd_max; /* in-capsule data the queue takes (IOCCSZ, 8 KiB on the admin queue) */
	uint32_t qsize;
	struct tcp_slot *slots;
	struct updk_nvme_tcp_txq txq;
	uint64_t ka_last; /* TSC of the last admin command sent (Keep Alive timing) */
	uint16_t rx_cid; /* the command whose C2HData the receiver is reading */
	bool rx_more; /* the last poll stopped at its max: PDUs may wait in the stage */
	bool want_out; /* its vector waits for room in the socket (EPOLLOUT) */
	uint64_t bytes_direct, bytes_copied;
	struct updk_nvme_tcp_rx rx;
	uint8_t stage[16384];
};

static inline struct nvme_tcp_ctrlr *tcp_ctrlr(struct updk_nvme_ctrlr *c)
{
	return (struct nvme_tcp_ctrlr *)c;
}

static inline struct nvme_tcp_qpair *tcp_qp(struct updk_nvme_qpair *qp)
{
	return (struct nvme_tcp_qpair *)qp;
}

_Static_assert(offsetof(struct nvme_tcp_ctrlr, c) == 0, "the core's controller comes first");
_Static_assert(offsetof(struct nvme_tcp_qpair, qp) == 0, "the core's qpair comes first");

/* tcp_conn.c: the connection of a queue */
/* Connect @tq's socket and exchange ICReq/ICResp; 0 or -errno (logged). */
int tcp_conn_open(struct nvme_tcp_qpair *tq);
void tcp_conn_close(struct nvme_tcp_qpair *tq);
/* Fabrics Connect of @tq (NVMe Base 2.0 §6.3): the admin queue makes a controller, an I/O
 * queue joins tcp_ctrlr->cntlid. 0, or -errno with the refusal logged. */
int tcp_fabrics_connect(struct nvme_tcp_qpair *tq);
/* Run one command of the transport's own (Connect, Property Get/Set) on @tq and wait for it,
 * up to the admin timeout: 0 with its completion in *@cpl, or -errno. */
int tcp_sync_cmd(struct nvme_tcp_qpair *tq, const struct updk_nvme_cmd *cmd, void *buf,
		 uint32_t len, struct updk_nvme_cpl *cpl);
/* The connection failed: log why, close it, and have the controller reset (which reconnects
 * every queue) once, or marked failed without automatic reset. */
void tcp_conn_fail(struct nvme_tcp_qpair *tq, const char *why);

/* tcp_qpair.c */
int tcp_qpair_create(struct updk_nvme_ctrlr *c, uint16_t qid, uint32_t qsize,
		     struct updk_nvme_qpair **qpp);
int tcp_qpair_connect(struct updk_nvme_qpair *qp);
int tcp_qpair_disconnect(struct updk_nvme_qpair *qp);
void tcp_qpair_reset_rings(struct updk_nvme_qpair *qp);
void tcp_qpair_release(struct updk_nvme_qpair *qp);
void tcp_qpair_free(struct updk_nvme_qpair *qp);
void tcp_qpair_abort_queued(struct updk_nvme_qpair *qp);

/* tcp_intr.c: the vectors' ops, and a queue's new socket put on its vector */
int tcp_intr_setup(struct updk_nvme_ctrlr *c, uint32_t want);
int tcp_intr_fd(const struct updk_nvme_ctrlr *c, uint32_t vector);
int64_t tcp_intr_ack(struct updk_nvme_ctrlr *c, uint32_t vector);
void tcp_intr_kick(struct updk_nvme_ctrlr *c, uint32_t vector);
bool tcp_intr_pending(struct updk_nvme_qpair *qp);
int tcp_intr_watch(struct nvme_tcp_qpair *tq);
void tcp_intr_free(struct nvme_tcp_ctrlr *tc);

/* tcp_io.c */
int tcp_check_payload(struct updk_nvme_qpair *qp, const struct iovec *iov, int iovcnt,
		      const char *what, uint32_t id);
int tcp_submit(struct updk_nvme_qpair *qp, struct nvme_req *req, const struct updk_nvme_cmd *cmd,
	       const struct nvme_payload *pl);
uint16_t tcp_cancel_last(struct updk_nvme_qpair *qp);
void tcp_ring(struct updk_nvme_qpair *qp);
int tcp_poll(struct updk_nvme_qpair *qp, uint32_t max);
/* Drop what the send queue holds and what the receiver was in the middle of. */
void tcp_io_drop(struct nvme_tcp_qpair *tq);

#endif
