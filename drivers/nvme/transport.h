/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The seam between the NVMe core (the files of drivers/nvme/) and its transports (pcie/,
 * one folder each). The core owns what NVMe is whatever carries it: slots and CIDs, MDTS
 * splitting, namespaces, the admin commands, asynchronous events, timeouts, aborts and resets,
 * the controller's bring-up through its registers. A transport owns how commands, completions
 * and register accesses travel: for PCIe, rings in host memory, phase tags, doorbells, PRP and
 * SGL data pointers, BAR0.
 *
 * A transport's controller and qpair structs embed the core's (struct updk_nvme_ctrlr, struct
 * updk_nvme_qpair) as their first member, allocated 64-byte aligned, and it fills one struct
 * nvme_transport_ops, listed in transport.c by the name its trtype is written with.
 */
#ifndef NVME_TRANSPORT_H
#define NVME_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "drivers/nvme/nvme_int.h"

/* A parsed address: "0000:01:00.0", "sim:nvme?…" or "trtype:PCIe traddr:0000:01:00.0". */
struct nvme_trid {
	char trtype[16]; /* as the transport table spells it ("PCIe") */
	char traddr[256];
	/* NVMe over Fabrics only (address family, service id, NQNs): empty for PCIe */
	char adrfam[16];
	char trsvcid[32];
	char subnqn[224];
	char hostnqn[224];
};

/*
 * Parse @addr: SPDK's transport ID form (space separated key:value or key=value, keys trtype,
 * traddr, adrfam, trsvcid, subnqn, hostnqn, trtype case-insensitive), or a bare address, which
 * is PCIe's (lib/pci: a PCI address or a sim: device). 0, or -EINVAL with the reason logged.
 */
int nvme_trid_parse(const char *addr, struct nvme_trid *trid);

/* The transport for @trid->trtype, or NULL (logged, naming it and the ones there are). */
const struct nvme_transport_ops *nvme_transport_find(const struct nvme_trid *trid);

/* Flags of a payload. */
#define NVME_PAYLOAD_COPY 0x1 /* caller memory of any kind: the transport copies it if it must */

/*
 * What one command transfers, as the caller gave it: the data (@len bytes of the I/O vector
 * from element @iov_idx, offset @iov_off on) and a separate metadata buffer. The transport
 * describes it its own way (PCIe: PRPs or an SGL over IOVAs, so the buffers must be DMA
 * memory; the copy flag lets it bounce what is not).
 */
struct nvme_payload {
	const struct iovec *iov;
	int iovcnt;
	int iov_idx;
	size_t iov_off;
	uint32_t len; /* 0: no data */
	uint32_t flags;
	/* separate metadata (the SQE's MPTR, NVMe Base 2.0 §4.2 Figure 88): @md_len bytes at @md,
	 * NULL for none */
	void *md;
	uint32_t md_len;
};

struct nvme_transport_ops {
	const char *name; /* the trtype, as written in an address ("PCIe") */

	/*
	 * Controller. ctrlr_open() allocates the transport's controller (the core's zeroed and
	 * embedded, 64-byte aligned), reaches the controller at @trid and names it in ->name; the
	 * core then creates the admin queue (qpair_create(), qid 0), reads CAP and VS through the
	 * registers and brings the controller up. ctrlr_close() undoes
	 * it and frees the struct (->closing says whether updk_nvme_ctrlr_close() called it, or a
	 * failed open). Both on the admin thread.
	 */
	int (*ctrlr_open)(const struct nvme_trid *trid, struct updk_nvme_ctrlr **ctrlrp);
	void (*ctrlr_close)(struct updk_nvme_ctrlr *ctrlr);
	/*
	 * Controller registers (NVMe Base 2.0 §3.1.3), 4 and 8 bytes at byte offset @off: PCIe
	 * reads BAR0; a fabrics transport sends Property Get / Property Set (NVMe Base 2.0 §6.5,
	 * §6.6). 0 or -errno.
	 */
	int (*reg_read4)(struct updk_nvme_ctrlr *ctrlr, uint32_t off, uint32_t *val);
	int (*reg_read8)(struct updk_nvme_ctrlr *ctrlr, uint32_t off, uint64_t *val);
	int (*reg_write4)(struct updk_nvme_ctrlr *ctrlr, uint32_t off, uint32_t val);
	int (*reg_write8)(struct updk_nvme_ctrlr *ctrlr, uint32_t off, uint64_t val);
	/*
	 * The admin queue's part of the bring-up, with the controller disabled, before CC.EN=1
	 * (§3.5.1 steps 3-4): PCIe writes AQA, ASQ and ACQ (and stops using shadow doorbells,
	 * which a disabled controller forgets). Its rings are empty (the core reset them).
	 */
	int (*admin_queue_attach)(struct updk_nvme_ctrlr *ctrlr);
	/*
	 * The transport's part of the bring-up once the controller is enabled, identified and
	 * its I/O queue count known, at open and after every reset: PCIe sets up shadow
	 * doorbells (Doorbell Buffer Config, §5.8). NULL when there is none.
	 */
	int (*ctrlr_setup)(struct updk_nvme_ctrlr *ctrlr);

	/*
	 * Queue pairs. qpair_create() allocates a qpair of @qsize - 1 slots and at least @qsize
	 * entries (PCIe gives an I/O queue a deeper ring), calls nvme_qpair_init() for its core
	 * (and sets its copy_max, and inline_pcie for PCIe's I/O queues), and leaves its rings
	 * empty. qid 0 is the admin queue, created right after
	 * ctrlr_open() and before the core reads a register: PCIe caps it at CAP.MQES + 1; a
	 * fabrics transport connects it here (Fabrics Connect), as its registers travel through
	 * it. For an I/O queue nothing is asked of the controller yet. qpair_connect() creates an I/O queue pair on the controller
	 * (PCIe: Create I/O CQ, then SQ), at allocation and again after a reset;
	 * qpair_disconnect() deletes it (Delete I/O SQ, then CQ), after which the controller
	 * completes nothing more of it. qpair_reset_rings() empties the rings (after a controller
	 * reset, and before the admin queue is attached; the core resets the slots).
	 * qpair_release() frees the rings and every buffer but keeps the struct (a freed handle
	 * is refused by the core from its fields): from then on ring() must write nothing.
	 * qpair_free() frees the struct, after qpair_release().
	 */
	int (*qpair_create)(struct updk_nvme_ctrlr *ctrlr, uint16_t qid, uint32_t qsize,
			    struct updk_nvme_qpair **qpp);
	int (*qpair_connect)(struct updk_nvme_qpair *qp);
	int (*qpair_disconnect)(struct updk_nvme_qpair *qp);
	void (*qpair_reset_rings)(struct updk_nvme_qpair *qp);
	void (*qpair_release)(struct updk_nvme_qpair *qp);
	void (*qpair_free)(struct updk_nvme_qpair *qp);
	/*
	 * Fail-all is the core's (nvme_qpair_fail_all()): it completes every outstanding slot
	 * from the host side, and runs only once the controller moves no more data for them
	 * (queue deleted, controller disabled). A transport that keeps per-command state of its
	 * own that must be dropped first (a fabrics transport's PDUs in flight) drops it in
	 * qpair_abort_queued(), which fail-all calls before completing anything; NULL for PCIe,
	 * whose commands hold nothing beyond their slot once the controller has stopped.
	 */
	void (*qpair_abort_queued)(struct updk_nvme_qpair *qp);

	/*
	 * Optional: refuse, before any slot is taken, the data layouts this transport can never
	 * describe (PCIe: buffers off a dword, PRP §4.1.1 / SGLS), logging why with @what and
	 * @id ("namespace", 1). NULL: every layout goes. 0 or -EINVAL.
	 */
	int (*check_payload)(struct updk_nvme_qpair *qp, const struct iovec *iov, int iovcnt,
			     const char *what, uint32_t id);
	/*
	 * Refuse, before any slot is taken, a separate metadata buffer (@len bytes at @md for
	 * namespace @nsid) this transport cannot point at, logging why (PCIe: MPTR wants one
	 * IOVA-contiguous, dword-aligned run of DMA memory). NULL: the transport carries no
	 * separate metadata (the core refuses it). 0, -EINVAL or -EFAULT.
	 */
	int (*check_md)(struct updk_nvme_qpair *qp, const void *md, uint32_t len, uint32_t nsid);
	/*
	 * Queue one command on slot @req (its CID): @cmd is the whole command but the CID and
	 * the data pointer, which the transport sets from @pl. Nothing reaches the controller
	 * before ring(). 0, or -EINVAL (a layout it cannot describe), -EFAULT (PCIe: not DMA
	 * memory), -ENOMEM, each logged through nvme_qp_log(); nothing queued then. The core has
	 * taken the slot and counts the command once this returns 0.
	 */
	int (*submit)(struct updk_nvme_qpair *qp, struct nvme_req *req,
		      const struct updk_nvme_cmd *cmd, const struct nvme_payload *pl);
	/* Take back the last command queued and not yet rung; returns its CID. The general path
	 * undoes a split I/O it could not queue whole with it. */
	uint16_t (*cancel_last)(struct updk_nvme_qpair *qp);
	/* Give the controller what was queued since the last ring (PCIe: the SQ tail doorbell,
	 * through the shadow doorbell where in use). Once per burst. */
	void (*ring)(struct updk_nvme_qpair *qp);
	/*
	 * Ring, then reap up to @max completions (UINT32_MAX: all there are): each checked as
	 * untrusted input and handed to the core's completion routine (nvme_complete(), its
	 * common case inlined as nvme_complete_io()). Returns the commands completed.
	 */
	int (*poll)(struct updk_nvme_qpair *qp, uint32_t max);

	/*
	 * Interrupts (intr.c has the core's part; NULL intr_setup: the transport has none).
	 * intr_setup() enables between 1 and @want vectors of the controller (PCIe: the
	 * function's MSI-X, else MSI, else INTx, each one of lib/pci's eventfds) and returns how
	 * many, or -errno (logged, naming the controller) with none enabled; they go with
	 * ctrlr_close(). intr_fd() is vector @vector's eventfd; intr_ack() consumes what it counted
	 * (PCIe: and unmasks INTx) and returns the count; intr_pending(), called before the
	 * owner sleeps, first gives the controller back every completion entry reaped (PCIe: a
	 * CQ head doorbell the reaper left pending), then says whether @qp has a completion
	 * waiting (PCIe: the phase tag at its CQ head). qpair_connect() creates a
	 * qpair whose iv is 0 or more with its interrupt on that vector (PCIe: Create I/O CQ with
	 * IEN and IV, §5.4).
	 */
	int (*intr_setup)(struct updk_nvme_ctrlr *ctrlr, uint32_t want);
	int (*intr_fd)(const struct updk_nvme_ctrlr *ctrlr, uint32_t vector);
	int64_t (*intr_ack)(struct updk_nvme_ctrlr *ctrlr, uint32_t vector);
	/* Optional: make vector @vector's fd readable without the device (nvme_intr_kick()),
	 * for a transport whose fd is not an eventfd to write to (TCP: an epoll set). */
	void (*intr_kick)(struct updk_nvme_ctrlr *ctrlr, uint32_t vector);
	bool (*intr_pending)(struct updk_nvme_qpair *qp);
};

extern const struct nvme_transport_ops nvme_pcie_ops;
extern const struct nvme_transport_ops nvme_tcp_ops;

/* io.c: queue @req's command with its transport (the slot goes back on failure); move a
 * payload's start @len bytes on in its I/O vector */
int nvme_io_submit(struct updk_nvme_qpair *qp, struct nvme_req *req,
		   const struct updk_nvme_cmd *cmd, const struct nvme_payload *pl, updk_nvme_cb cb,
		   void *arg);
void nvme_payload_advance(struct nvme_payload *pl, uint64_t len);
/* io.c: one command on one slot of @qp for @ns: @cmd (no CID, no data pointer) with @pl's
 * data, checked by the transport when it is caller memory (zns.c's commands go this way). */
int nvme_io_one(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
		const struct updk_nvme_cmd *cmd, const struct nvme_payload *pl, updk_nvme_cb cb,
		void *arg);

/* split.c: an I/O of more than one child (above the transfer limit): 0 once its children are
 * queued or waiting for slots, -EAGAIN when every split record of @qp is in use, or the
 * transport's error for its first children (nothing queued then). */
int nvme_split_submit(struct updk_nvme_qpair *qp, struct updk_nvme_ns *ns, uint8_t opc,
		      const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
		      updk_nvme_cb cb, void *arg, const struct nvme_io_md *x);

#endif
