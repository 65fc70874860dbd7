/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk-nvmf internals: an NVMe/TCP target serving namespaces of local controllers.
 *
 * Threads: the main thread listens, accepts, and owns every backing controller's admin queue
 * (updk_nvme_admin_process_completions(), resets). Each poller thread owns the connections it
 * was handed, their requests and buffers, and one updk qpair per backing controller: a host's
 * I/O queue on that poller submits to those qpairs, with no lock on the way. A fabric
 * controller (one host's association) spans connections on several pollers: what they share
 * in it is set once at Connect or read through atomics.
 */
#ifndef UPDK_APPS_NVMF_H
#define UPDK_APPS_NVMF_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <updk/log.h>
#include <updk/mem.h>

#include <updk/nvme.h>
#include <updk/nvme_tcp.h>
#include <updk/nvmf_spec.h>

#define NVMF_MAX_SUBSYS 32
#define NVMF_MAX_HOSTS 64 /* allowed hosts per subsystem */
#define NVMF_MAX_NS 256 /* namespaces per subsystem */
#define NVMF_MAX_DEVS 64 /* backing controllers */
#define NVMF_MAX_LISTEN 8
#define NVMF_MAX_POLLERS 64
#define NVMF_ADDR_MAX 256

/* What a fabric controller offers (Identify Controller, CAP). */
#define NVMF_MDTS_BYTES (128u * 1024) /* MDTS 5: 2^5 pages of CAP.MPSMIN (4 KiB) */
#define NVMF_MDTS 5
#define NVMF_IO_ICD 8192 /* in-capsule data on I/O queues: IOCCSZ = (64 + 8192) / 16 */
#define NVMF_MAX_QUEUE 128 /* entries of an I/O queue: CAP.MQES + 1, MAXCMD */
#define NVMF_ADMIN_QUEUE 32 /* entries of an admin queue: the discovery log's ASQSZ */
#define NVMF_MAX_IO_QUEUES 64 /* granted by Set Features Number of Queues */
#define NVMF_AERL 3 /* Asynchronous Event Requests held: AERL + 1 */
#define NVMF_KAS 10 /* Keep Alive granularity, 100 ms units */
#define NVMF_MAXH2CDATA NVMF_MDTS_BYTES
/* A connection's receive stage: capsules with in-capsule data up to NVMF_STAGE_DATA bytes are
 * read into it, many to a readv(), and their data copied out (lib/nvme_tcp/rx.c small_data). */
#define NVMF_STAGE (64u * 1024)
#define NVMF_STAGE_DATA 8192

/* ---------------------------------------------------------------------------------------------
 * Configuration (args.c)
 */

struct nvmf_subsys_args {
	char nqn[UPDK_NVMF_NQN_MAX + 1];
	unsigned nhosts;
	const char *hosts[NVMF_MAX_HOSTS];
	unsigned ndevs;
	const char *devs[NVMF_MAX_DEVS];
};

struct nvmf_args {
	unsigned nlisten;
	char listen_host[NVMF_MAX_LISTEN][NVMF_ADDR_MAX];
	char listen_port[NVMF_MAX_LISTEN][8];
	unsigned nsubsys;
	struct nvmf_subsys_args subsys[NVMF_MAX_SUBSYS];
	unsigned npollers;
	int cores[NVMF_MAX_POLLERS]; /* -1: not pinned */
	uint32_t idle_us; /* sleep in epoll after this long without work; NVMF_NEVER_IDLE */
	bool intr_mode; /* the qpairs interrupt: pollers sleep with commands in flight */
	uint32_t io_timeout_ms; /* the backing controllers' I/O timeout; 0: the driver's */
	bool help;
};

#define NVMF_ERR_MAX 512
#define NVMF_NEVER_IDLE UINT32_MAX

/**
 * Parse the command line into @a. Returns 0, 1 for --help, or -EINVAL with @err saying what
 * is wrong and how to fix it.
 */
int nvmf_args_parse(int argc, char **argv, struct nvmf_args *a, char *err);
void nvmf_usage(FILE *f);

/* ---------------------------------------------------------------------------------------------
 * Subsystems, namespaces, backing controllers (setup.c, subsys.c)
 */

enum nvmf_dev_state {
	NVMF_DEV_OK,
	NVMF_DEV_RESETTING, /* I/O refused with -ENXIO for now: held and retried */
	NVMF_DEV_FAILED, /* failed for good: I/O completes with an error */
};

/** A local controller whose namespaces are served. */
struct nvmf_dev {
	char addr[NVMF_ADDR_MAX];
	unsigned index; /* into each poller's qpair table */
	struct updk_nvme_ctrlr *ctrlr;
	_Atomic int state; /* enum nvmf_dev_state, published by the main thread */
	uint32_t qpair_depth;
	bool intr; /* opened with interrupts, a vector for each poller's qpair */
};

/** A namespace as a subsystem serves it. */
struct nvmf_ns {
	uint32_t nsid; /* in the subsystem: 1.. */
	struct nvmf_dev *dev;
	struct updk_nvme_ns *ns;
	uint32_t sector_size;
	uint64_t nsze;
	uint8_t nguid[16];
	struct updk_nvme_id_ns id; /* as served: one LBA format, no metadata */
};

struct nvmf_subsys {
	char nqn[UPDK_NVMF_NQN_MAX + 1];
	bool discovery;
	unsigned nhosts; /* 0: any host */
	char hosts[NVMF_MAX_HOSTS][UPDK_NVMF_NQN_MAX + 1];
	unsigned nns;
	struct nvmf_ns ns[NVMF_MAX_NS];
	char sn[21]; /* 20 ASCII characters */
	uint16_t oncs; /* what every backing controller has */
	bool vwc;
};

/** One listening address, as the discovery log shows it. */
struct nvmf_listener {
	int fd;
	int adrfam; /* UPDK_NVMF_ADRFAM_IPV4/6 */
	char traddr[NVMF_ADDR_MAX]; /* as given; a wildcard is replaced per connection */
	char trsvcid[8];
	uint16_t portid;
};

struct nvmf_target {
	unsigned ndevs;
	struct nvmf_dev devs[NVMF_MAX_DEVS];
	unsigned nsubsys; /* [0] is the discovery subsystem */
	struct nvmf_subsys subsys[NVMF_MAX_SUBSYS + 1];
	unsigned nlisten;
	struct nvmf_listener listen[NVMF_MAX_LISTEN];
	uint64_t genctr; /* discovery log generation */
};

extern struct nvmf_target nvmf_tgt;

/** Open the backing controllers and set up the subsystems; 0 or -errno (logged). */
int nvmf_subsys_setup(const struct nvmf_args *a);
void nvmf_subsys_teardown(void);
struct nvmf_subsys *nvmf_subsys_find(const char *nqn);
bool nvmf_subsys_host_allowed(const struct nvmf_subsys *s, const char *hostnqn);

/* ---------------------------------------------------------------------------------------------
 * Fabric controllers (ctrlr.c)
 */

struct nvmf_conn;
struct nvmf_req;

/** One host's association with a subsystem: its admin queue and I/O queues. */
struct nvmf_ctrlr {
	uint16_t cntlid;
	struct nvmf_subsys *subsys;
	char hostnqn[UPDK_NVMF_NQN_MAX + 1];
	uint8_t hostid[16];
	_Atomic int refs; /* the queues connected, plus the registry's */
	_Atomic bool dead; /* the association ended: every queue disconnects */
	_Atomic bool ready; /* CSTS.RDY */
	_Atomic uint32_t io_gen; /* bumped by a reset (CC.EN 1 to 0): older I/O queues end */
	_Atomic uint32_t nr_io_queues; /* granted; 0 until Set Features Number of Queues */
	_Atomic uint64_t qid_map[(NVMF_MAX_IO_QUEUES + 64) / 64]; /* I/O queues connected */
	/* Only the admin queue's poller touches these. */
	uint32_t cc, csts;
	uint32_t kato_ms;
	uint64_t ka_deadline; /* TSC; 0: keep-alive off */
	uint32_t aec; /* Asynchronous Event Configuration */
	unsigned naer;
	struct nvmf_req *aer[NVMF_AERL + 1];
	struct nvmf_conn *admin;
};

/**
 * A new controller for @hostnqn in @s (Connect on an admin queue); NULL when the cntlid space
 * is used up. The caller holds the reference returned.
 */
struct nvmf_ctrlr *nvmf_ctrlr_create(struct nvmf_subsys *s, const char *hostnqn,
				     const uint8_t hostid[16], uint32_t kato_ms);
/** The live controller @cntlid of @s for @hostnqn, with a reference taken; NULL if none. */
struct nvmf_ctrlr *nvmf_ctrlr_get(struct nvmf_subsys *s, uint16_t cntlid, const char *hostnqn,
				  const uint8_t hostid[16]);
void nvmf_ctrlr_put(struct nvmf_ctrlr *c);
/** End the association: every queue of it disconnects at its poller's next loop. */
void nvmf_ctrlr_kill(struct nvmf_ctrlr *c, const char *why);
/** Claim I/O queue @qid; false if taken. */
bool nvmf_ctrlr_claim_qid(struct nvmf_ctrlr *c, uint16_t qid);
void nvmf_ctrlr_release_qid(struct nvmf_ctrlr *c, uint16_t qid);
struct nvmf_poller;
/** Restart the Keep Alive timer (a Keep Alive, or any admin command, came). */
void nvmf_ctrlr_keep_alive(struct nvmf_ctrlr *c, const struct nvmf_poller *p);
/** Controllers alive (for the discovery genctr and tests). */
unsigned nvmf_ctrlr_count(void);
void nvmf_ctrlr_kill_all(void);
/** Free the registry itself, once every poller has stopped. */
void nvmf_ctrlr_registry_free(void);

/* ---------------------------------------------------------------------------------------------
 * Requests and connections (conn.c, tx.c)
 */

enum nvmf_req_state {
	REQ_FREE,
	REQ_NEED_BUF, /* waiting for a data buffer */
	REQ_RECV_ICD, /* its in-capsule data is being read */
	REQ_R2T, /* R2T sent; H2CData expected */
	REQ_EXEC, /* with the backing controller (or held to retry) */
	REQ_HELD, /* on the poller's retry list */
	REQ_TX, /* response queued for sending */
	REQ_ASYNC, /* an AER held by the controller */
};

/** One PDU of the send queue (lib/nvme_tcp's): up to 3 iovecs (header, data, data digest). */
struct nvmf_tx {
	struct updk_nvme_tcp_tx t; /* t.iov is iov */
	struct nvmf_req *req; /* NULL for the connection's own PDUs */
	struct iovec iov[3];
	bool last; /* the request's last PDU: release it once sent */
};

_Static_assert(offsetof(struct nvmf_tx, t) == 0, "the send queue's record comes first");

struct nvmf_req {
	struct nvmf_conn *conn;
	uint16_t idx; /* index in conn->reqs: the R2T transfer tag */
	uint8_t state;
	bool h2c; /* data from the host */
	bool failed; /* its data arrives but it completes with cpl's error */
	struct updk_nvme_cmd cmd;
	struct updk_nvme_cpl cpl;
	uint32_t xfer_len;
	uint32_t rcvd; /* data received from the host so far */
	void *buf;
	struct nvmf_ns *ns;
	uint64_t held_since; /* TSC when it first could not be submitted */
	struct nvmf_req *next; /* on the poller's held list */
	struct nvmf_tx tx_data, tx_resp;
	uint32_t ddgst;
	union {
		struct updk_nvme_tcp_rsp rsp;
		struct updk_nvme_tcp_data data;
		struct updk_nvme_tcp_r2t r2t;
		uint8_t raw[24 + 4 + 128];
	} hdr_data, hdr_resp;
};

enum nvmf_conn_state {
	CONN_WAIT_ICREQ,
	CONN_WAIT_CONNECT,
	CONN_LIVE,
	CONN_DRAIN, /* stop taking commands; send what is queued, then close */
	CONN_ZOMBIE, /* socket closed; waiting for the backing controller's last completions */
};

struct nvmf_poller;

struct nvmf_conn {
	int fd;
	struct nvmf_poller *poller;
	uint8_t state;
	bool readable, want_out;
	uint16_t qid;
	uint32_t io_gen; /* the controller's io_gen when this queue connected */
	uint16_t sqsize; /* entries - 1 */
	uint16_t sqhd;
	bool sqflow_off;
	bool hdgst, ddgst;
	uint8_t hpda; /* the host's alignment for data we send */
	char peer[64]; /* "addr:port" for messages */
	struct sockaddr_storage local;
	struct nvmf_ctrlr *ctrlr;
	unsigned nreqs;
	struct nvmf_req *reqs;
	uint16_t *free_idx;
	unsigned nfree;
	unsigned inflight; /* requests with the backing controller */
	struct nvmf_req *cur; /* the request whose data the receiver is reading */
	struct nvmf_req *blocked; /* in-capsule data waiting for a buffer: reading paused */
	struct updk_nvme_tcp_rx rx;
	uint8_t stage[NVMF_STAGE];
	struct updk_nvme_tcp_txq txq;
	struct nvmf_tx tx_ctl, tx_term; /* ICResp, C2HTermReq */
	struct updk_nvme_tcp_icresp icresp;
	uint8_t term[24 + UPDK_NVME_TCP_TERM_MAX_DATA];
	bool no_more_tx; /* a C2HTermReq is queued: nothing may follow it */
	unsigned nheld; /* requests on the poller's held list */
	uint64_t created; /* TSC: a connection that never connects is dropped */
	uint64_t drain_start;
	struct nvmf_conn *next; /* the poller's list */
	uint64_t cmds, bytes_in; /* bytes out: txq.bytes */
};

/** A new connection on @fd (non-blocking already), for poller @p. NULL on no memory. */
struct nvmf_conn *nvmf_conn_new(int fd, struct nvmf_poller *p);
/** Take in what the socket has and act on it; false once the connection is gone for good. */
bool nvmf_conn_poll(struct nvmf_conn *c);
/** Close at once: the socket now, the memory once nothing is left with the backing device. */
void nvmf_conn_close(struct nvmf_conn *c, const char *why);
/** Fail the connection with a C2HTermReq (NVMe/TCP 1.0 §3.6.2.5), then close it. */
void nvmf_conn_fatal(struct nvmf_conn *c, uint16_t fes, uint32_t fei, const void *hdr, size_t hlen,
		     const char *why);
/** Stop taking commands: answer what is in flight, then close (the target stops). */
void nvmf_conn_drain(struct nvmf_conn *c);
/** True when the connection's memory may be freed (closed, nothing in flight). */
bool nvmf_conn_done(const struct nvmf_conn *c);
void nvmf_conn_free(struct nvmf_conn *c);

struct nvmf_req *nvmf_req_get(struct nvmf_conn *c);
void nvmf_req_put(struct nvmf_req *r);
/** Queue the request's response (and its read data first, if any). */
void nvmf_req_complete(struct nvmf_req *r);
/** Complete with status @sct/@sc (DNR set when @dnr). */
void nvmf_req_fail(struct nvmf_req *r, uint8_t sct, uint8_t sc, bool dnr);
/** Take a data buffer of xfer_len bytes; false when the poller has none free now. */
bool nvmf_req_buf(struct nvmf_req *r);
/** A request that waited for its buffer has it: read its data, ask for it, or run it. */
void nvmf_req_buf_ready(struct nvmf_req *r);

/* Send queue (tx.c) */
void nvmf_tx_queue(struct nvmf_conn *c, struct nvmf_tx *t);
void nvmf_tx_resp(struct nvmf_req *r);
void nvmf_tx_c2h_data(struct nvmf_req *r);
void nvmf_tx_r2t(struct nvmf_req *r);
/** Send what the socket takes; <0 on a dead socket. */
int nvmf_tx_flush(struct nvmf_conn *c);

/* ---------------------------------------------------------------------------------------------
 * Commands (fabrics.c, admin.c, identify.c, discovery.c, io.c)
 */

/** Run a request whose data (if any) is in: Fabrics, admin or I/O by its queue. */
void nvmf_exec(struct nvmf_req *r);
void nvmf_fabrics_exec(struct nvmf_req *r);
void nvmf_admin_exec(struct nvmf_req *r);
void nvmf_io_exec(struct nvmf_req *r);
/** Submit to the backing controller again (a request held after -EAGAIN or a reset). */
void nvmf_io_resubmit(struct nvmf_req *r);

void nvmf_identify_ctrlr(const struct nvmf_ctrlr *c, struct updk_nvme_id_ctrl *id);
/** Build the discovery log for @hostnqn on @conn into @buf, @len bytes from @offset. */
void nvmf_discovery_log(const char *hostnqn, const struct nvmf_conn *conn, void *buf, uint32_t len,
			uint64_t offset);

/* Status helpers */
static inline uint16_t nvmf_status(uint8_t sct, uint8_t sc, bool dnr)
{
	return (uint16_t)((dnr ? 1u << 15 : 0) | (unsigned)sct << 9 | (unsigned)sc << 1);
}

/* ---------------------------------------------------------------------------------------------
 * Pollers (poller.c)
 */

/* What a poller did, for the report at exit (nvmf_poller_join()). */
struct nvmf_poller_stats {
	uint64_t turns; /* passes of the loop */
	uint64_t sleeps; /* epoll_wait with a timeout */
	uint64_t sleeps_inflight; /* ... with commands in flight on a backing controller */
	uint64_t wake_nvme, wake_sock, wake_inbox, wake_timer; /* what ended the sleeps */
	uint64_t arm_found; /* arms that found a completion waiting: no sleep */
	uint64_t late; /* completions found after a sleep the timer ended: wake-ups lost */
	uint64_t ios; /* I/O commands the backing controllers completed */
	uint64_t io_tsc; /* their TSC ticks from the turn that submitted to the one that reaped */
};

struct nvmf_poller {
	unsigned id;
	int core;
	pthread_t thread;
	int epfd, evfd;
	struct updk_nvme_qpair *qp[NVMF_MAX_DEVS];
	struct updk_mempool *small, *large;
	struct nvmf_conn *conns;
	unsigned nconns;
	struct nvmf_req *held, **held_tail;
	pthread_mutex_t inbox_lock;
	struct nvmf_conn *inbox;
	_Atomic bool has_inbox;
	_Atomic bool stop;
	_Atomic bool exited;
	bool started;
	uint32_t idle_us; /* NVMF_NEVER_IDLE: busy polling only */
	bool intr; /* every qpair has a vector in the epoll set: sleep with commands in flight */
	bool vector_seen; /* epoll saw a vector readable since their counts were last read */
	struct nvmf_poller_stats st;
	uint64_t tsc_hz;
	uint64_t now; /* TSC at the top of the loop */
	unsigned work; /* things done this loop: 0 for long enough and the poller sleeps */
};

extern struct nvmf_poller *nvmf_pollers;
extern unsigned nvmf_npollers;

/** Small buffers up to this size; larger ones (to MDTS) from the large pool. */
#define NVMF_SMALL_BUF 8192

/** Set up what nvmf_poller_join() may undo; before nvmf_poller_start(). */
void nvmf_poller_init(struct nvmf_poller *p, unsigned id);
int nvmf_poller_start(struct nvmf_poller *p, int core, uint32_t idle_us);
/** Ask the poller to finish: its connections drain and close, then the thread ends. */
void nvmf_poller_stop(struct nvmf_poller *p);
/** Wait for the thread, print its report (stdout), then free its qpairs, buffers and file
 * descriptors. */
void nvmf_poller_join(struct nvmf_poller *p);
/** Hand a freshly accepted socket to @p. */
void nvmf_poller_give(struct nvmf_poller *p, int fd);
/** Hold @r to submit it again later (the qpair was full or the device is resetting). */
void nvmf_poller_hold(struct nvmf_poller *p, struct nvmf_req *r);
void nvmf_poller_unhold(struct nvmf_poller *p, struct nvmf_req *r);

/** Log with the "nvmf" component. */
#define nvmf_log(level, ...) updk_log(level, "nvmf", __VA_ARGS__)

#endif
