// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target: one connection of updk-nvmf (apps/nvmf: conn.c, tx.c, fabrics.c,
 * admin.c, identify.c, io.c, ctrlr.c, poller.c, subsys.c) taking whatever a host sends, PDUs from the
 * wire, through a real socket pair. Behind it a fake backing namespace of 2048 blocks of 512
 * bytes completes I/O from a queue the target polls; a controller (CNTLID 1, enabled, four
 * I/O queues granted) exists already, so the stream may connect an admin or an I/O queue.
 *
 * Input: a byte of settings (bits 1:0 how often the fake device refuses with -EAGAIN, bit 2
 * whether its completions report a reset's abort once, bits 7:3 the size of the pieces the
 * stream is written in), then the stream. Properties: no crash, overread, leak or
 * use-after-free, whatever comes; every PDU the target sends parses cleanly with the host's
 * side of lib/nvme_tcp (digests as its ICResp said); after the host goes away every request,
 * buffer and controller reference is given back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apps/nvmf/admin.c"
#include "apps/nvmf/conn.c"
#include "apps/nvmf/ctrlr.c"
#include "apps/nvmf/fabrics.c"
#include "apps/nvmf/identify.c"
#include "apps/nvmf/io.c"
#include "apps/nvmf/poller.c"
#include "apps/nvmf/subsys.c"
#include "apps/nvmf/tx.c"
#include "lib/nvme_tcp/pdu.c"
#include "lib/nvme_tcp/rx.c"
#include "lib/nvme_tcp/tx.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---------------------------------------------------------------------------------------------
 * What the target takes from lib/crc, lib/util, lib/mem and drivers/nvme, made small.
 */

#include "test/fuzz/crc32c_soft.h"

uint64_t updk_tsc_hz(void)
{
	return 1000000000ull;
}

void updk_mem_thread_offline(void)
{
}

void updk_mem_thread_online(void)
{
}

/* poller.c's thread start and stop: never reached here. */
struct updk_mempool *updk_mempool_create(const char *name, unsigned count, size_t elt_size,
					 unsigned cache_size, int numa_node)
{
	abort();
}

void updk_mempool_free(struct updk_mempool *mp)
{
	abort();
}

int updk_nvme_qpair_alloc(struct updk_nvme_ctrlr *ctrlr, const struct updk_nvme_qpair_opts *opts,
			  struct updk_nvme_qpair **qp)
{
	abort();
}

void updk_nvme_qpair_free(struct updk_nvme_qpair *qp)
{
	abort();
}

/* poller.c's sleep in interrupt mode: never reached here either. */
int updk_nvme_qpair_intr_fd(const struct updk_nvme_qpair *qp)
{
	abort();
}

int updk_nvme_qpair_intr_ack(struct updk_nvme_qpair *qp)
{
	abort();
}

int updk_nvme_qpair_intr_arm(struct updk_nvme_qpair *qp)
{
	abort();
}

bool updk_nvme_ctrlr_is_failed(const struct updk_nvme_ctrlr *ctrlr)
{
	abort();
}

/* A pool is a count of malloc'd buffers: running out exercises the waits for a buffer. */
struct updk_mempool {
	size_t elt;
	unsigned left;
};

static struct updk_mempool small_pool = { NVMF_SMALL_BUF, 4 }, large_pool = { NVMF_MDTS_BYTES, 2 };

void *updk_mempool_get(struct updk_mempool *mp)
{
	if (!mp->left)
		return NULL;
	mp->left--;
	return malloc(mp->elt);
}

void updk_mempool_put(struct updk_mempool *mp, void *obj)
{
	mp->left++;
	free(obj);
}

/* The backing namespace and its "device": commands queue up and complete when polled. */
#define NS_BLOCKS 2048
static uint8_t media[NS_BLOCKS * 512];
static uint8_t eagain_mask, abort_once;
static unsigned calls;

struct fake_cmd {
	updk_nvme_cb cb;
	void *arg;
	int op;
	void *buf;
	uint64_t lba;
	uint32_t nlb;
};
static struct fake_cmd queue[512];
static unsigned nqueue;

struct updk_nvme_ns {
	int unused;
};
struct updk_nvme_qpair {
	int unused;
};
static struct updk_nvme_ns fake_ns;
static struct updk_nvme_qpair fake_qp;

static int enqueue(int op, void *buf, uint64_t lba, uint32_t nlb, updk_nvme_cb cb, void *arg)
{
	if ((++calls & 3) < eagain_mask || nqueue == sizeof(queue) / sizeof(queue[0]))
		return -EAGAIN;
	if (lba + nlb > NS_BLOCKS)
		abort(); /* the target checks the range before it submits */
	queue[nqueue++] = (struct fake_cmd){ cb, arg, op, buf, lba, nlb };
	return 0;
}

int updk_nvme_ns_read(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, void *buf, uint64_t lba,
		      uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags)
{
	return enqueue(UPDK_NVME_OPC_READ, buf, lba, nlb, cb, arg);
}

int updk_nvme_ns_write(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const void *buf,
		       uint64_t lba, uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags)
{
	return enqueue(UPDK_NVME_OPC_WRITE, (void *)buf, lba, nlb, cb, arg);
}

int updk_nvme_ns_compare(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const void *buf,
			 uint64_t lba, uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags)
{
	return enqueue(UPDK_NVME_OPC_COMPARE, (void *)buf, lba, nlb, cb, arg);
}

int updk_nvme_ns_flush(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, updk_nvme_cb cb,
		       void *arg)
{
	return enqueue(UPDK_NVME_OPC_FLUSH, NULL, 0, 0, cb, arg);
}

int updk_nvme_ns_write_zeroes(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint64_t lba,
			      uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags)
{
	return enqueue(UPDK_NVME_OPC_WRITE_ZEROES, NULL, lba, nlb, cb, arg);
}

int updk_nvme_ns_deallocate(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
			    const struct updk_nvme_dsm_range *ranges, uint16_t n, updk_nvme_cb cb,
			    void *arg)
{
	uint64_t sum = 0;

	for (uint16_t i = 0; i < n; i++) /* the ranges must all be readable (ASan) */
		sum += ranges[i].slba + ranges[i].nlb;
	return enqueue(UPDK_NVME_OPC_DATASET_MANAGEMENT, NULL, 0, sum & 0, cb, arg);
}

int updk_nvme_qpair_process_completions(struct updk_nvme_qpair *qp, uint32_t max)
{
	unsigned n = nqueue;
	struct fake_cmd done[sizeof(queue) / sizeof(queue[0])];

	memcpy(done, queue, n * sizeof(done[0]));
	nqueue = 0;
	for (unsigned i = 0; i < n; i++) {
		struct fake_cmd *f = &done[i];
		struct updk_nvme_cpl cpl = { 0 };

		if (f->op == UPDK_NVME_OPC_READ)
			memcpy(f->buf, media + f->lba * 512, f->nlb * 512);
		else if (f->op == UPDK_NVME_OPC_WRITE)
			memcpy(media + f->lba * 512, f->buf, f->nlb * 512);
		else if (f->op == UPDK_NVME_OPC_COMPARE &&
			 memcmp(media + f->lba * 512, f->buf, f->nlb * 512))
			cpl.status = (uint16_t)(UPDK_NVME_SCT_MEDIA << 9 | 0x85 << 1);
		if (abort_once) { /* a reset's abort: the target submits it again */
			abort_once = 0;
			cpl.status = (uint16_t)(UPDK_NVME_SCT_PATH << 9 |
						UPDK_NVME_SC_ABORTED_BY_HOST << 1);
		}
		f->cb(f->arg, &cpl);
	}
	return (int)n;
}

/* ---------------------------------------------------------------------------------------------
 * The harness.
 */

static struct nvmf_poller poller;
static uint8_t host_stage[8192];

/* Parse what the target sent with the host's side of the framing: it must all be well formed. */
static void check_output(int fd, struct updk_nvme_tcp_rx *h)
{
	static uint8_t sink[NVMF_MDTS_BYTES];

	for (;;) {
		int ev = updk_nvme_tcp_rx_next(h);

		if (ev == UPDK_NVME_TCP_RX_MORE) {
			if (updk_nvme_tcp_rx_recv(h, fd) <= 0)
				return;
			continue;
		}
		if (ev < 0)
			abort(); /* the target sent a malformed PDU */
		if (ev != UPDK_NVME_TCP_RX_HDR)
			continue;
		if (h->hdr.ch.pdu_type == UPDK_NVME_TCP_ICRESP) {
			h->hdgst = h->hdr.icresp.dgst & UPDK_NVME_TCP_DGST_HDR;
			h->ddgst = h->hdr.icresp.dgst & UPDK_NVME_TCP_DGST_DATA;
			h->accept &= ~(1u << UPDK_NVME_TCP_ICRESP);
		}
		if (updk_nvme_tcp_rx_data_len(h)) {
			struct iovec v = { sink, updk_nvme_tcp_rx_data_len(h) };

			updk_nvme_tcp_rx_set_data(h, &v, 1);
		}
	}
}

static void setup(void)
{
	struct nvmf_subsys *s = &nvmf_tgt.subsys[1];
	struct nvmf_dev *d = &nvmf_tgt.devs[0];

	memset(&nvmf_tgt, 0, sizeof(nvmf_tgt));
	snprintf(nvmf_tgt.subsys[0].nqn, sizeof(s->nqn), "%s", UPDK_NVMF_DISCOVERY_NQN);
	nvmf_tgt.subsys[0].discovery = true;
	snprintf(s->nqn, sizeof(s->nqn), "nqn.2026-12.io.updk:fuzz");
	snprintf(s->sn, sizeof(s->sn), "updkfuzz");
	s->oncs = 0xd;
	s->vwc = true;
	s->nns = 1;
	s->ns[0] = (struct nvmf_ns){
		.nsid = 1, .dev = d, .ns = &fake_ns, .sector_size = 512, .nsze = NS_BLOCKS
	};
	s->ns[0].id.nsze = NS_BLOCKS;
	nvmf_tgt.nsubsys = 2;
	nvmf_tgt.ndevs = 1;
	snprintf(d->addr, sizeof(d->addr), "fake");
	nvmf_tgt.nlisten = 1;
	nvmf_tgt.listen[0] = (struct nvmf_listener){
		.fd = -1, .adrfam = 1, .traddr = "127.0.0.1", .trsvcid = "4420", .portid = 1
	};
	memset(&poller, 0, sizeof(poller));
	nvmf_poller_init(&poller, 0);
	poller.tsc_hz = updk_tsc_hz();
	poller.qp[0] = &fake_qp;
	poller.small = &small_pool;
	poller.large = &large_pool;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t hostid[16] = { 0x42 };
	struct updk_nvme_tcp_rx host;
	struct nvmf_ctrlr *ctrlr;
	struct nvmf_conn *c;
	size_t pos = 1, chunk;
	int sv[2];

	if (size < 1)
		return 0;
	eagain_mask = data[0] & 3;
	abort_once = (data[0] >> 2) & 1;
	chunk = 1 + (size_t)(data[0] >> 3) * 64;
	setup();
	ctrlr = nvmf_ctrlr_create(
		&nvmf_tgt.subsys[1],
		"nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001", hostid, 0);
	if (!ctrlr)
		abort();
	atomic_store(&ctrlr->ready, true);
	atomic_store(&ctrlr->nr_io_queues, 4);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		return 0;
	updk_nvme_tcp_rx_init(&host, host_stage, sizeof(host_stage),
			      1u << UPDK_NVME_TCP_ICRESP | 1u << UPDK_NVME_TCP_C2H_TERM |
				      1u << UPDK_NVME_TCP_CAPSULE_RESP |
				      1u << UPDK_NVME_TCP_C2H_DATA | 1u << UPDK_NVME_TCP_R2T);
	host.max_data[UPDK_NVME_TCP_C2H_DATA] = NVMF_MDTS_BYTES;
	host.max_data[UPDK_NVME_TCP_C2H_TERM] = UPDK_NVME_TCP_TERM_MAX_DATA;
	c = nvmf_conn_new(sv[1], &poller);
	if (!c)
		abort();
	poller.conns = c;
	for (int idle = 0; idle < 4;) {
		ssize_t n = 0;

		if (pos < size) {
			n = write(sv[0], data + pos, size - pos < chunk ? size - pos : chunk);
			if (n > 0)
				pos += (size_t)n;
		}
		poller.now = updk_tsc();
		c->readable = true;
		updk_nvme_qpair_process_completions(&fake_qp, 0);
		if (poller.held)
			retry_held(&poller);
		if (!nvmf_conn_poll(c))
			break;
		check_output(sv[0], &host);
		if (n <= 0 && !nqueue && !poller.held)
			idle++;
		else
			idle = 0;
	}
	/* the host goes away: the connection closes, what the device holds comes back */
	close(sv[0]);
	nvmf_conn_close(c, "fuzz: end of input");
	while (!nvmf_conn_done(c))
		updk_nvme_qpair_process_completions(&fake_qp, 0);
	if (poller.held || c->nfree != c->nreqs || small_pool.left != 4 || large_pool.left != 2)
		abort(); /* something was not given back */
	nvmf_conn_free(c);
	nvmf_ctrlr_kill(ctrlr, "fuzz: done");
	nvmf_ctrlr_put(ctrlr);
	nvmf_ctrlr_kill_all();
	nvmf_ctrlr_registry_free();
	pthread_mutex_destroy(&poller.inbox_lock);
	return 0;
}
