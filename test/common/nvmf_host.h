// SPDX-License-Identifier: BSD-3-Clause
/*
 * A small blocking NVMe/TCP host for tests of updk-nvmf: one command at a time, built on
 * lib/nvme_tcp, with a way to send any bytes at all (for malformed PDUs). And running
 * updk-nvmf itself from a test: start it on a free port, stop it with a signal, read its log.
 */
#ifndef UPDK_TEST_NVMF_HOST_H
#define UPDK_TEST_NVMF_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <updk/nvme_tcp.h>
#include <updk/nvmf_spec.h>

#define TEST_HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001"
#define TEST_HOSTNQN2 "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000002"

struct nvmf_host {
	int fd;
	bool hdgst, ddgst;
	bool icd; /* send write data in the capsule when it fits */
	uint32_t icd_max;
	uint32_t maxh2cdata;
	uint8_t cpda;
	uint16_t cid;
	uint16_t cntlid;
	uint16_t term_fes; /* the last C2HTermReq's FES */
	uint32_t term_fei;
	bool ddgst_error; /* a C2HData of the last command failed its digest */
	struct updk_nvme_tcp_rx rx;
	uint8_t stage[16384];
};

/** Connect to 127.0.0.1:@port, nothing sent yet; 0 or -errno. */
int nvmf_host_open_raw(struct nvmf_host *h, int port);
/** Connect to 127.0.0.1:@port and exchange ICReq/ICResp; 0 or -errno. */
int nvmf_host_open(struct nvmf_host *h, int port, bool hdgst, bool ddgst);
void nvmf_host_close(struct nvmf_host *h);

/**
 * Run @cmd: @out_len bytes to the controller (in the capsule when h->icd and it fits, else
 * on R2T), or @in_len bytes from it. The CID and SGL are set here. Returns 0 with the
 * completion in *@cpl, -EPROTO after a C2HTermReq (h->term_fes), -ECONNRESET when the target
 * closed the connection, or another -errno.
 */
int nvmf_host_cmd(struct nvmf_host *h, struct updk_nvme_cmd *cmd, const void *out, uint32_t out_len,
		  void *in, uint32_t in_len, struct updk_nvme_cpl *cpl);

/** Fabrics Connect of queue @qid; the completion in *@cpl. */
int nvmf_host_fconnect(struct nvmf_host *h, const char *subnqn, const char *hostnqn, uint16_t qid,
		       uint16_t sqsize, uint16_t cntlid, uint32_t kato_ms,
		       struct updk_nvme_cpl *cpl);

/** Open, Connect the admin queue, set CC.EN and wait for CSTS.RDY: 0 or what failed. */
int nvmf_host_admin(struct nvmf_host *h, int port, const char *subnqn, const char *hostnqn);

/** Open and Connect I/O queue @qid of h_admin's controller (after Set Features queues). */
int nvmf_host_io(struct nvmf_host *h, int port, const char *subnqn, const char *hostnqn,
		 uint16_t cntlid, uint16_t qid);

/** Read or write @nlb blocks at @slba of @nsid: 0, or the completion's status. */
int nvmf_host_rw(struct nvmf_host *h, bool write, uint32_t nsid, uint64_t slba, uint32_t nlb,
		 void *buf, uint32_t len, struct updk_nvme_cpl *cpl);

/**
 * Connect I/O queue @qid of controller @cntlid of @subnqn at 127.0.0.1:@port, then @rounds times
 * write 4 KiB of a pattern to 8 blocks of 512 bytes of @nsid (at qid x 4096 + (i % 32) x 8) and
 * read them back. Returns how many round trips failed (an error, a status, data not as
 * written; *@last the last failure's completion), or -1 when the queue did not connect.
 */
int nvmf_host_round_trips(int port, const char *subnqn, uint16_t cntlid, uint16_t qid,
			  uint32_t nsid, int rounds, struct updk_nvme_cpl *last);

/** Send raw bytes; 0 or -errno. */
int nvmf_host_send(struct nvmf_host *h, const void *buf, size_t len);

/**
 * Wait (up to @ms) for the target's reaction to something raw: 1 if a C2HTermReq came
 * (h->term_fes/fei set), 0 if the connection closed without one, -ETIMEDOUT if neither.
 */
int nvmf_host_expect_term(struct nvmf_host *h, int ms);

/* updk-nvmf as a child process. */
struct nvmf_target_proc {
	pid_t pid;
	int port;
	char out_path[64], err_path[64];
	char *log; /* its stderr, kept when it stopped */
};

/** Start build/bin/updk-nvmf with @args (NULL-terminated, --listen 127.0.0.1:0 added). */
void nvmf_target_start(struct nvmf_target_proc *t, const char *const *args);
/** Send @sig and wait (at most 30 s): the exit status, or 128 + the signal. Keeps its log. */
int nvmf_target_stop(struct nvmf_target_proc *t, int sig);
/** Its stderr so far (free() it); t->log is freed by the caller after the last use. */
char *nvmf_target_log(const struct nvmf_target_proc *t);

#endif
