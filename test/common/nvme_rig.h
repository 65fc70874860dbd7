/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A rig that drives an NVMe controller by hand (sim:nvme in test/model/sim_nvme*.c, QEMU's in
 * test/vm/nvme_fmt.c): registers through updk_pci_reg_*(), an admin queue and I/O queues built
 * in DMA memory, commands encoded dword by dword from the NVMe Base 2.0 and NVM Command Set 1.0
 * layouts (independently of the model's own structures), doorbells written as a driver's data
 * path does. No NVMe driver involved.
 */
#ifndef TEST_COMMON_NVME_RIG_H
#define TEST_COMMON_NVME_RIG_H

#include <sched.h>
#include <sys/mman.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include <updk/mem.h>
#include <updk/mmio.h>
#include <updk/pci.h>

#include "lib/util/be.h"
#include "sim/nvme/sim_nvme.h"

/* Registers, NVMe Base 2.0 §3.1.3 */
#define CAP 0x00
#define VS 0x08
#define CC 0x14
#define CSTS 0x1c
#define AQA 0x24
#define ASQ 0x28
#define ACQ 0x30
#define CC_ENABLE (1u | 6u << 16 | 4u << 20) /* EN, IOSQES 64 B, IOCQES 16 B, MPS 4 KiB */

/* Status as (SCT << 8) | SC */
#define SC_INVALID_OPCODE 0x001
#define SC_INVALID_FIELD 0x002
#define SC_DATA_XFER 0x004
#define SC_ABORT_REQ 0x007
#define SC_INVALID_NS 0x00b
#define SC_CMD_SEQ 0x00c
#define SC_SGL_DATA_LEN 0x00f
#define SC_PRP_OFFSET 0x013
#define SC_LBA_RANGE 0x080
#define SC_CQ_INVALID 0x100
#define SC_QID_INVALID 0x101
#define SC_QUEUE_SIZE 0x102
#define SC_QUEUE_DELETION 0x10c
#define SC_COMPARE 0x285

/* Seconds any completion may take: generous, for valgrind on a loaded machine. */
#define WAIT 20

struct sqe {
	uint32_t dw[16];
};

struct cqe {
	uint32_t dw0, dw1, dw2, dw3;
};

struct tq {
	uint16_t qid;
	uint16_t sqsize;
	uint16_t cqsize;
	uint16_t tail;
	uint16_t head;
	uint8_t phase;
	struct sqe *sq;
	struct cqe *cq;
	uint64_t sq_iova;
	uint64_t cq_iova;
};

struct h {
	struct updk_pci_dev *dev;
	uint8_t *bar;
	struct tq aq;
	struct tq io;
	uint16_t cid;
	uint32_t *shadow; /* Doorbell Buffer Config, when used */
	uint32_t *eventidx;
	uint64_t sq_mmio_writes; /* SQ tail MMIO writes shadow_read() made, by the EventIdx rule */
	uint32_t nsid; /* the namespace io() and the zone helpers address; 0: 1 */
};

/* Also lets the model's thread run: under valgrind threads take turns. */
static inline double now(void)
{
	struct timespec ts;

	sched_yield();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void *dma(size_t len, uint64_t *iova)
{
	void *p = updk_dma_zalloc(len, 4096, UPDK_NUMA_ANY, iova);

	cr_assert(p, "DMA allocation of %zu bytes", len);
	return p;
}

static inline void tq_alloc(struct tq *q, uint16_t qid, uint16_t sqsize, uint16_t cqsize)
{
	memset(q, 0, sizeof(*q));
	q->qid = qid;
	q->sqsize = sqsize;
	q->cqsize = cqsize;
	q->phase = 1;
	q->sq = dma((size_t)sqsize * 64, &q->sq_iova);
	q->cq = dma((size_t)cqsize * 16, &q->cq_iova);
}

static inline void tq_free(struct tq *q)
{
	updk_dma_free(q->sq);
	updk_dma_free(q->cq);
}

static inline uint32_t csts(struct h *h)
{
	return updk_pci_reg_read32(h->dev, 0, CSTS);
}

static inline bool wait_csts(struct h *h, uint32_t mask, uint32_t val, double secs)
{
	double deadline = now() + secs;

	while ((csts(h) & mask) != val)
		if (now() > deadline)
			return false;
	return true;
}

/* Open, admin queue of @aqsize entries, enable, wait ready. */
static inline void h_open_noenable(struct h *h, const char *addr, uint16_t aqsize)
{
	memset(h, 0, sizeof(*h));
	cr_assert_eq(updk_pci_open(addr, &h->dev), 0, "open %s", addr);
	cr_assert_eq(updk_pci_enable(h->dev, true), 0);
	h->bar = updk_pci_bar(h->dev, 0, NULL);
	cr_assert(h->bar);
	tq_alloc(&h->aq, 0, aqsize, aqsize);
	updk_pci_reg_write32(h->dev, 0, AQA, (aqsize - 1u) << 16 | (aqsize - 1u));
	updk_pci_reg_write64(h->dev, 0, ASQ, h->aq.sq_iova);
	updk_pci_reg_write64(h->dev, 0, ACQ, h->aq.cq_iova);
}

static inline void h_open(struct h *h, const char *addr)
{
	h_open_noenable(h, addr, 32);
	updk_pci_reg_write32(h->dev, 0, CC, CC_ENABLE);
	cr_assert(wait_csts(h, 3, 1, WAIT), "CSTS.RDY within %d s, CSTS 0x%x", WAIT, csts(h));
}

static inline void h_close(struct h *h)
{
	updk_pci_close(h->dev);
	tq_free(&h->aq);
	if (h->io.sq)
		tq_free(&h->io);
	updk_dma_free(h->shadow);
	updk_dma_free(h->eventidx);
}

static inline volatile uint32_t *db(struct h *h, uint16_t qid, bool cq)
{
	return (volatile uint32_t *)(h->bar + 0x1000 + (2u * qid + cq) * 4u);
}

/* Put @c in the ring; the CID is assigned here. Doorbell not written. */
static inline uint16_t put(struct h *h, struct tq *q, struct sqe *c)
{
	uint16_t cid = ++h->cid;

	c->dw[0] = (c->dw[0] & 0xffff) | (uint32_t)cid << 16;
	q->sq[q->tail] = *c;
	q->tail = (q->tail + 1) % q->sqsize;
	return cid;
}

static inline void ring(struct h *h, struct tq *q)
{
	updk_wmb();
	updk_mmio_write32(db(h, q->qid, false), q->tail);
}

/* Put @c in the ring and write the SQ tail doorbell; returns the CID. */
static inline uint16_t submit(struct h *h, struct tq *q, struct sqe *c)
{
	uint16_t cid = put(h, q, c);

	ring(h, q);
	return cid;
}

/* Next completion of @q within @secs, or false. */
static inline bool reap(struct h *h, struct tq *q, struct cqe *out, double secs)
{
	volatile struct cqe *e = &q->cq[q->head];
	double deadline = now() + secs;

	while (((e->dw3 >> 16) & 1) != q->phase)
		if (now() > deadline)
			return false;
	updk_rmb();
	*out = *(struct cqe *)e;
	if (++q->head == q->cqsize) {
		q->head = 0;
		q->phase ^= 1;
	}
	updk_mmio_write32(db(h, q->qid, true), q->head);
	return true;
}

static inline uint16_t status(const struct cqe *e)
{
	return (e->dw3 >> 17) & 0x7ff;
}

/* Submit one command, wait for it; returns the status, DW0 in *@dw0. */
static inline uint16_t cmd(struct h *h, struct tq *q, struct sqe c, uint32_t *dw0)
{
	struct cqe e;
	uint16_t cid = submit(h, q, &c);

	cr_assert(reap(h, q, &e, WAIT), "completion of CID %u on queue %u", cid, q->qid);
	cr_assert_eq(e.dw3 & 0xffff, cid, "CQE CID");
	cr_assert_eq(e.dw2 >> 16, q->qid, "CQE SQ id");
	cr_assert_eq(e.dw2 & 0xffff, q->tail, "CQE SQ head");
	if (dw0)
		*dw0 = e.dw0;
	return status(&e);
}

static inline struct sqe mk(uint8_t opc, uint32_t nsid, uint64_t prp1, uint64_t prp2)
{
	struct sqe c = { { 0 } };

	c.dw[0] = opc;
	c.dw[1] = nsid;
	c.dw[6] = (uint32_t)prp1;
	c.dw[7] = (uint32_t)(prp1 >> 32);
	c.dw[8] = (uint32_t)prp2;
	c.dw[9] = (uint32_t)(prp2 >> 32);
	return c;
}

static inline uint16_t identify(struct h *h, uint8_t cns, uint32_t nsid, void *buf4k)
{
	struct sqe c = mk(0x06, nsid, updk_iova(buf4k), 0);

	c.dw[10] = cns;
	return cmd(h, &h->aq, c, NULL);
}

static inline uint16_t create_cq(struct h *h, uint16_t qid, uint16_t size, uint64_t iova, bool pc)
{
	struct sqe c = mk(0x05, 0, iova, 0);

	c.dw[10] = (uint32_t)(size - 1) << 16 | qid;
	c.dw[11] = pc;
	return cmd(h, &h->aq, c, NULL);
}

static inline uint16_t create_sq(struct h *h, uint16_t qid, uint16_t size, uint64_t iova,
				 uint16_t cqid)
{
	struct sqe c = mk(0x01, 0, iova, 0);

	c.dw[10] = (uint32_t)(size - 1) << 16 | qid;
	c.dw[11] = (uint32_t)cqid << 16 | 1;
	return cmd(h, &h->aq, c, NULL);
}

static inline void io_queue(struct h *h, uint16_t size)
{
	tq_alloc(&h->io, 1, size, size);
	cr_assert_eq(create_cq(h, 1, size, h->io.cq_iova, true), 0);
	cr_assert_eq(create_sq(h, 1, size, h->io.sq_iova, 1), 0);
}

/* h_open(), then I/O queue pair 1 of @size entries. */
static inline void h_open_io(struct h *h, const char *addr, uint16_t size)
{
	h_open(h, addr);
	io_queue(h, size);
}

/* Read/Write/Compare of @nlb blocks at @slba with PRP1/PRP2 as given. */
static inline struct sqe rw(uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb, uint64_t prp1,
			    uint64_t prp2)
{
	struct sqe c = mk(opc, nsid, prp1, prp2);

	c.dw[10] = (uint32_t)slba;
	c.dw[11] = (uint32_t)(slba >> 32);
	c.dw[12] = nlb - 1;
	return c;
}

/* PRPs for a buffer in DMA memory at @buf of @len bytes (4 KiB pages); list in @list. */
static inline void prps(void *buf, size_t len, uint64_t *list, uint64_t *prp1, uint64_t *prp2)
{
	uintptr_t a = (uintptr_t)buf, first_end = (a | 4095) + 1;
	size_t n = 0;

	*prp1 = updk_iova(buf);
	*prp2 = 0;
	if (a + len <= first_end)
		return;
	if (a + len <= first_end + 4096) {
		*prp2 = updk_iova((void *)first_end);
		return;
	}
	for (uintptr_t p = first_end; p < a + len; p += 4096)
		list[n++] = updk_iova((void *)p);
	*prp2 = updk_iova(list);
}

static inline uint16_t io(struct h *h, uint8_t opc, uint64_t slba, uint32_t nlb, void *buf,
			  size_t len)
{
	uint64_t p1, p2, li;
	uint64_t *list = dma(4096, &li);
	uint16_t st;

	cr_assert_leq(len, 511 * 4096ul);
	prps(buf, len, list, &p1, &p2);
	st = cmd(h, &h->io, rw(opc, h->nsid ? h->nsid : 1, slba, nlb, p1, p2), NULL);
	updk_dma_free(list);
	return st;
}

static inline void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13 + seed + (i >> 9));
}

static inline struct sim_nvme_stats *stats(struct h *h)
{
	static struct sim_nvme_stats st;

	cr_assert_eq(sim_nvme_stats(h->dev, &st), 0);
	return &st;
}

/* Memory that was mapped for DMA once and is not any more: its IOVA faults. */
static inline uint8_t *unmapped(size_t len, uint64_t *iova)
{
	uint8_t *u = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(u, MAP_FAILED);
	cr_assert_eq(updk_mem_register(u, len), 0);
	*iova = updk_iova(u);
	cr_assert_eq(updk_mem_unregister(u, len), 0);
	return u;
}

/* An SGL descriptor (NVMe Base 2.0 §4.1.2.1) of @type at @d. */
static inline void sgl_desc(uint32_t *d, uint64_t addr, uint32_t len, uint8_t type)
{
	d[0] = (uint32_t)addr;
	d[1] = (uint32_t)(addr >> 32);
	d[2] = len;
	d[3] = (uint32_t)type << 28;
}

/* ---- metadata, protection information, zones ---- */

/* Statuses as (SCT << 8) | SC: NVM Command Set 1.0 and ZNS 1.1 */
#define SC_INVALID_PI 0x181
#define SC_ZONE_BOUNDARY 0x1b8
#define SC_ZONE_FULL 0x1b9
#define SC_ZONE_OFFLINE 0x1bb
#define SC_ZONE_INVALID_WRITE 0x1bc
#define SC_TOO_MANY_ACTIVE 0x1bd
#define SC_TOO_MANY_OPEN 0x1be
#define SC_ZONE_TRANSITION 0x1bf
#define SC_GUARD 0x282
#define SC_APPTAG 0x283
#define SC_REFTAG 0x284

/* PRINFO, CDW12 29:26 */
#define PRACT (8u << 26)
#define PRCHK_ALL (7u << 26)
#define PRCHK_GUARD (4u << 26)

/* Read or Write of @nlb blocks at @slba: data by PRPs at @buf (@len bytes), metadata at @md. */
static inline struct sqe rwm(uint8_t opc, uint64_t slba, uint32_t nlb, void *buf, size_t len,
			     void *md, uint64_t *list)
{
	uint64_t p1, p2;
	struct sqe c;

	prps(buf, len, list, &p1, &p2);
	c = rw(opc, 1, slba, nlb, p1, p2);
	if (md) {
		c.dw[4] = (uint32_t)updk_iova(md);
		c.dw[5] = (uint32_t)(updk_iova(md) >> 32);
	}
	return c;
}

static inline uint16_t io_md(struct h *h, struct sqe c)
{
	return cmd(h, &h->io, c, NULL);
}

#define CC_CSS_ALL (6u << 4)

/* Enabled with CC.CSS = 110b (every I/O Command Set) and an I/O queue pair. */
static inline void z_open(struct h *h, const char *addr)
{
	h_open_noenable(h, addr, 32);
	updk_pci_reg_write32(h->dev, 0, CC, CC_ENABLE | CC_CSS_ALL);
	cr_assert(wait_csts(h, 3, 1, WAIT), "CSTS.RDY with CC.CSS 110b");
	io_queue(h, 16);
}

static inline uint16_t zsend(struct h *h, uint64_t zslba, uint8_t zsa, bool all)
{
	struct sqe c = mk(0x79, h->nsid ? h->nsid : 1, 0, 0);

	c.dw[10] = (uint32_t)zslba;
	c.dw[11] = (uint32_t)(zslba >> 32);
	c.dw[13] = zsa | (all ? 1u << 8 : 0);
	return cmd(h, &h->io, c, NULL);
}

struct zdesc {
	uint8_t zt, zs;
	uint64_t zcap, zslba, wp;
};

/* Report Zones from @slba into @buf (4 KiB: 63 descriptors); returns the number of zones. */
static inline uint64_t zreport(struct h *h, uint64_t slba, uint8_t *buf, struct zdesc *z,
			       unsigned n)
{
	struct sqe c = mk(0x7a, h->nsid ? h->nsid : 1, updk_iova(buf), 0);
	uint64_t nz;

	c.dw[10] = (uint32_t)slba;
	c.dw[12] = 4096 / 4 - 1;
	cr_assert_eq(cmd(h, &h->io, c, NULL), 0);
	memcpy(&nz, buf, 8);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = buf + 64 + 64 * i;

		z[i].zt = e[0] & 0xf;
		z[i].zs = e[1] >> 4;
		memcpy(&z[i].zcap, e + 8, 8);
		memcpy(&z[i].zslba, e + 16, 8);
		memcpy(&z[i].wp, e + 24, 8);
	}
	return nz;
}

/* Zone Append of @nlb blocks (within one page at @buf) to @zslba; the LBA written from DW0-1. */
static inline uint16_t zappend(struct h *h, uint64_t zslba, uint32_t nlb, void *buf, uint64_t *lba)
{
	struct sqe c = rw(0x7d, h->nsid ? h->nsid : 1, zslba, nlb, updk_iova(buf), 0);
	struct cqe e;
	uint16_t cid = submit(h, &h->io, &c);

	cr_assert(reap(h, &h->io, &e, WAIT));
	cr_assert_eq(e.dw3 & 0xffff, cid);
	*lba = e.dw0 | (uint64_t)e.dw1 << 32;
	return status(&e);
}

#endif
