// SPDX-License-Identifier: BSD-3-Clause
/* test/common/nvmf_host.h: a blocking NVMe/TCP host, and updk-nvmf as a child process. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "test/common/nvmf_host.h"

static const uint32_t C2H_TYPES = 1u << UPDK_NVME_TCP_ICRESP | 1u << UPDK_NVME_TCP_C2H_TERM |
				  1u << UPDK_NVME_TCP_CAPSULE_RESP | 1u << UPDK_NVME_TCP_C2H_DATA |
				  1u << UPDK_NVME_TCP_R2T;

int nvmf_host_send(struct nvmf_host *h, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(h->fd, p, len, MSG_NOSIGNAL);

		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int sendv(struct nvmf_host *h, struct iovec *v, int n)
{
	for (int i = 0; i < n; i++) {
		int rc = nvmf_host_send(h, v[i].iov_base, v[i].iov_len);

		if (rc)
			return rc;
	}
	return 0;
}

/* The next event from the receiver, reading the socket (blocking) as needed. */
static int next_event(struct nvmf_host *h)
{
	for (;;) {
		int ev = updk_nvme_tcp_rx_next(&h->rx);
		long n;

		if (ev != UPDK_NVME_TCP_RX_MORE)
			return ev;
		n = updk_nvme_tcp_rx_recv(&h->rx, h->fd);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return (int)n;
	}
}

int nvmf_host_open_raw(struct nvmf_host *h, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 20 };
	int one = 1;

	memset(h, 0, sizeof(*h));
	h->icd = true;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	h->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (h->fd < 0)
		return -errno;
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(h->fd, (struct sockaddr *)&a, sizeof(a)))
		return -errno;
	updk_nvme_tcp_rx_init(&h->rx, h->stage, sizeof(h->stage), C2H_TYPES);
	h->rx.max_data[UPDK_NVME_TCP_C2H_DATA] = 1 << 20;
	h->rx.max_data[UPDK_NVME_TCP_C2H_TERM] = UPDK_NVME_TCP_TERM_MAX_DATA;
	return 0;
}

int nvmf_host_open(struct nvmf_host *h, int port, bool hdgst, bool ddgst)
{
	struct updk_nvme_tcp_icreq q = { 0 };
	int ev, rc = nvmf_host_open_raw(h, port);

	if (rc)
		return rc;
	q.pfv = UPDK_NVME_TCP_PFV_1_0;
	q.dgst = (hdgst ? UPDK_NVME_TCP_DGST_HDR : 0) | (ddgst ? UPDK_NVME_TCP_DGST_DATA : 0);
	updk_nvme_tcp_pdu_finish(&q, UPDK_NVME_TCP_ICREQ, 0, 0, false, false, 0);
	if (nvmf_host_send(h, &q, sizeof(q)))
		return -errno;
	ev = next_event(h);
	if (ev != UPDK_NVME_TCP_RX_HDR || h->rx.hdr.ch.pdu_type != UPDK_NVME_TCP_ICRESP)
		return ev < 0 ? ev : -EPROTO;
	h->hdgst = h->rx.hdr.icresp.dgst & UPDK_NVME_TCP_DGST_HDR;
	h->ddgst = h->rx.hdr.icresp.dgst & UPDK_NVME_TCP_DGST_DATA;
	h->maxh2cdata = h->rx.hdr.icresp.maxh2cdata;
	h->cpda = h->rx.hdr.icresp.cpda;
	h->rx.hdgst = h->hdgst;
	h->rx.ddgst = h->ddgst;
	h->rx.accept = C2H_TYPES & ~(1u << UPDK_NVME_TCP_ICRESP);
	h->icd_max = UPDK_NVME_TCP_ADMIN_ICD;
	return 0;
}

void nvmf_host_close(struct nvmf_host *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

/* H2CData PDUs for an R2T, at most MAXH2CDATA each. */
static int send_h2c(struct nvmf_host *h, const uint8_t *out, uint16_t cid)
{
	const struct updk_nvme_tcp_r2t *r = &h->rx.hdr.r2t;
	uint32_t off = r->r2to, end = r->r2to + r->r2tl;
	uint16_t ttag = r->ttag;

	while (off < end) {
		uint8_t hdr[24 + 4 + 128];
		struct updk_nvme_tcp_data *d = (void *)hdr;
		uint32_t n = end - off < h->maxh2cdata ? end - off : h->maxh2cdata, crc;
		struct iovec v[3];
		size_t hl;

		memset(hdr, 0, sizeof(hdr));
		d->cccid = cid;
		d->ttag = ttag;
		d->datao = off;
		d->datal = n;
		hl = updk_nvme_tcp_pdu_finish(d, UPDK_NVME_TCP_H2C_DATA,
					      off + n == end ? UPDK_NVME_TCP_F_LAST_PDU : 0, n,
					      h->hdgst, h->ddgst, h->cpda);
		v[0] = (struct iovec){ hdr, hl };
		v[1] = (struct iovec){ (void *)(out + off), n };
		crc = updk_nvme_tcp_digest(&v[1], 1);
		v[2] = (struct iovec){ &crc, 4 };
		if (sendv(h, v, h->ddgst ? 3 : 2))
			return -errno;
		off += n;
	}
	return 0;
}

int nvmf_host_cmd(struct nvmf_host *h, struct updk_nvme_cmd *cmd, const void *out, uint32_t out_len,
		  void *in, uint32_t in_len, struct updk_nvme_cpl *cpl)
{
	uint8_t hdr[72 + 4 + 128];
	struct updk_nvme_tcp_cmd *c = (void *)hdr;
	struct updk_nvme_sgl *sgl = (void *)cmd->dptr.sgl1;
	bool icd = out_len && h->icd && out_len <= h->icd_max;
	struct iovec v[3];
	uint32_t crc;
	size_t hl;
	int ev;

	h->ddgst_error = false;
	cmd->cid = ++h->cid;
	cmd->flags = (uint8_t)((cmd->flags & 0x3f) | 0x40); /* PSDT 01b: SGL */
	memset(sgl, 0, sizeof(*sgl));
	sgl->type = icd ? UPDK_NVME_TCP_SGL_ICD : UPDK_NVME_TCP_SGL_TRANSPORT;
	sgl->length = out_len ? out_len : in_len;
	memset(hdr, 0, sizeof(hdr));
	c->ccsqe = *cmd;
	hl = updk_nvme_tcp_pdu_finish(c, UPDK_NVME_TCP_CAPSULE_CMD, 0, icd ? out_len : 0, h->hdgst,
				      h->ddgst, h->cpda);
	v[0] = (struct iovec){ hdr, hl };
	v[1] = (struct iovec){ (void *)out, out_len };
	crc = icd ? updk_nvme_tcp_digest(&v[1], 1) : 0;
	v[2] = (struct iovec){ &crc, 4 };
	if (sendv(h, v, !icd ? 1 : h->ddgst ? 3 : 2))
		return -errno;
	for (;;) {
		ev = next_event(h);
		if (ev < 0) {
			if (ev == -EPROTO)
				fprintf(stderr,
					"nvmf_host: bad PDU from the target: FES %u FEI %u\n",
					h->rx.fes, h->rx.fei);
			return ev;
		}
		if (ev == UPDK_NVME_TCP_RX_DATA) {
			h->ddgst_error |= h->rx.ddgst_error;
			if (h->rx.hdr.ch.pdu_type == UPDK_NVME_TCP_C2H_DATA &&
			    (h->rx.hdr.ch.flags & UPDK_NVME_TCP_F_SUCCESS)) {
				memset(cpl, 0, sizeof(*cpl));
				cpl->cid = cmd->cid;
				return 0;
			}
			if (h->rx.hdr.ch.pdu_type == UPDK_NVME_TCP_C2H_TERM)
				return -EPROTO;
			continue;
		}
		switch (h->rx.hdr.ch.pdu_type) {
		case UPDK_NVME_TCP_C2H_TERM: {
			static uint8_t drop[UPDK_NVME_TCP_TERM_MAX_DATA];
			struct iovec d = { drop, updk_nvme_tcp_rx_data_len(&h->rx) };

			h->term_fes = h->rx.hdr.term.fes;
			h->term_fei = h->rx.hdr.term.fei;
			if (!d.iov_len)
				return -EPROTO;
			updk_nvme_tcp_rx_set_data(&h->rx, &d, 1);
			continue;
		}
		case UPDK_NVME_TCP_CAPSULE_RESP:
			*cpl = h->rx.hdr.rsp.rccqe;
			if (cpl->cid != cmd->cid)
				return -EBADMSG;
			return 0;
		case UPDK_NVME_TCP_R2T:
			if (h->rx.hdr.r2t.cccid != cmd->cid ||
			    h->rx.hdr.r2t.r2to + h->rx.hdr.r2t.r2tl > out_len)
				return -EBADMSG;
			if (send_h2c(h, out, cmd->cid))
				return -errno;
			continue;
		case UPDK_NVME_TCP_C2H_DATA: {
			const struct updk_nvme_tcp_data *d = &h->rx.hdr.data;
			struct iovec dv = { (uint8_t *)in + d->datao, d->datal };

			if (d->cccid != cmd->cid || (uint64_t)d->datao + d->datal > in_len)
				return -EBADMSG;
			updk_nvme_tcp_rx_set_data(&h->rx, &dv, 1);
			continue;
		}
		default:
			return -EBADMSG;
		}
	}
}

int nvmf_host_fconnect(struct nvmf_host *h, const char *subnqn, const char *hostnqn, uint16_t qid,
		       uint16_t sqsize, uint16_t cntlid, uint32_t kato_ms,
		       struct updk_nvme_cpl *cpl)
{
	struct updk_nvme_cmd cmd = { 0 };
	struct updk_nvmf_connect_cmd *cc = (void *)&cmd;
	struct updk_nvmf_connect_data d = { 0 };

	cc->opc = UPDK_NVMF_OPC_FABRICS;
	cc->fctype = UPDK_NVMF_FCTYPE_CONNECT;
	cc->qid = qid;
	cc->sqsize = sqsize;
	cc->kato = kato_ms;
	d.hostid[0] = 0x42;
	d.cntlid = cntlid;
	snprintf(d.subnqn, sizeof(d.subnqn), "%s", subnqn);
	snprintf(d.hostnqn, sizeof(d.hostnqn), "%s", hostnqn);
	return nvmf_host_cmd(h, &cmd, &d, sizeof(d), NULL, 0, cpl);
}

static int prop(struct nvmf_host *h, bool set, uint32_t ofst, uint64_t value, bool wide,
		uint64_t *out)
{
	struct updk_nvme_cmd cmd = { 0 };
	struct updk_nvmf_property_cmd *p = (void *)&cmd;
	struct updk_nvme_cpl cpl;
	int rc;

	p->opc = UPDK_NVMF_OPC_FABRICS;
	p->fctype = set ? UPDK_NVMF_FCTYPE_PROPERTY_SET : UPDK_NVMF_FCTYPE_PROPERTY_GET;
	p->attrib = wide ? UPDK_NVMF_PROP_SIZE_8 : 0;
	p->ofst = ofst;
	p->value = value;
	rc = nvmf_host_cmd(h, &cmd, NULL, 0, NULL, 0, &cpl);
	if (rc)
		return rc;
	if (out)
		*out = cpl.cdw0 | (uint64_t)cpl.cdw1 << 32;
	return updk_nvme_cpl_is_error(&cpl) ? cpl.status : 0;
}

int nvmf_host_admin(struct nvmf_host *h, int port, const char *subnqn, const char *hostnqn)
{
	struct updk_nvme_cpl cpl;
	uint64_t csts = 0;
	int rc = nvmf_host_open(h, port, false, false);

	if (rc)
		return rc;
	rc = nvmf_host_fconnect(h, subnqn, hostnqn, 0, 31, UPDK_NVMF_CNTLID_DYNAMIC, 30000, &cpl);
	if (rc)
		return rc;
	if (updk_nvme_cpl_is_error(&cpl))
		return cpl.status;
	h->cntlid = (uint16_t)cpl.cdw0;
	rc = prop(h, true, UPDK_NVMF_PROP_CC, 1 | 6u << 16 | 4u << 20, false, NULL);
	if (rc)
		return rc;
	for (int i = 0; i < 100 && !(csts & 1); i++) {
		rc = prop(h, false, UPDK_NVMF_PROP_CSTS, 0, false, &csts);
		if (rc)
			return rc;
	}
	return csts & 1 ? 0 : -ETIMEDOUT;
}

int nvmf_host_io(struct nvmf_host *h, int port, const char *subnqn, const char *hostnqn,
		 uint16_t cntlid, uint16_t qid)
{
	struct updk_nvme_cpl cpl;
	int rc = nvmf_host_open(h, port, false, false);

	if (rc)
		return rc;
	h->icd_max = 8192;
	rc = nvmf_host_fconnect(h, subnqn, hostnqn, qid, 127, cntlid, 0, &cpl);
	if (rc)
		return rc;
	return updk_nvme_cpl_is_error(&cpl) ? cpl.status : 0;
}

int nvmf_host_rw(struct nvmf_host *h, bool write, uint32_t nsid, uint64_t slba, uint32_t nlb,
		 void *buf, uint32_t len, struct updk_nvme_cpl *cpl)
{
	struct updk_nvme_cmd cmd = { 0 };
	int rc;

	cmd.opc = write ? UPDK_NVME_OPC_WRITE : UPDK_NVME_OPC_READ;
	cmd.nsid = nsid;
	cmd.cdw10 = (uint32_t)slba;
	cmd.cdw11 = (uint32_t)(slba >> 32);
	cmd.cdw12 = nlb - 1;
	rc = nvmf_host_cmd(h, &cmd, write ? buf : NULL, write ? len : 0, write ? NULL : buf,
			   write ? 0 : len, cpl);
	if (rc)
		return rc;
	return updk_nvme_cpl_is_error(cpl) ? cpl->status : 0;
}

int nvmf_host_round_trips(int port, const char *subnqn, uint16_t cntlid, uint16_t qid,
			  uint32_t nsid, int rounds, struct updk_nvme_cpl *last)
{
	struct nvmf_host h;
	static _Thread_local uint8_t out[4096], in[4096];
	struct updk_nvme_cpl cpl;
	int bad = 0;

	if (nvmf_host_io(&h, port, subnqn, TEST_HOSTNQN, cntlid, qid))
		return -1;
	for (int i = 0; i < rounds; i++) {
		uint64_t lba = (uint64_t)qid * 4096 + (uint64_t)(i % 32) * 8;

		for (size_t k = 0; k < sizeof(out); k++)
			out[k] = (uint8_t)(k + (size_t)i * 7 + qid * 13u);
		memset(&cpl, 0, sizeof(cpl));
		if (nvmf_host_rw(&h, true, nsid, lba, 8, out, sizeof(out), &cpl) ||
		    nvmf_host_rw(&h, false, nsid, lba, 8, in, sizeof(in), &cpl) ||
		    memcmp(in, out, sizeof(in))) {
			bad++;
			*last = cpl;
		}
	}
	nvmf_host_close(&h);
	return bad;
}

int nvmf_host_expect_term(struct nvmf_host *h, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	int ev;

	setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		ev = next_event(h);
		if (ev == -EAGAIN)
			return -ETIMEDOUT;
		if (ev < 0)
			return 0;
		if (ev == UPDK_NVME_TCP_RX_HDR && h->rx.hdr.ch.pdu_type == UPDK_NVME_TCP_C2H_TERM) {
			h->term_fes = h->rx.hdr.term.fes;
			h->term_fei = h->rx.hdr.term.fei;
			return 1;
		}
		if (ev == UPDK_NVME_TCP_RX_HDR && updk_nvme_tcp_rx_data_len(&h->rx))
			updk_nvme_tcp_rx_set_data(&h->rx, NULL, 0);
	}
}

/* ---------------------------------------------------------------------------------------------
 * updk-nvmf as a child process
 */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = calloc(1, 1);
	size_t len = 0, n;
	char buf[4096];

	cr_assert(s);
	if (!f)
		return s;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		s = realloc(s, len + n + 1);
		cr_assert(s);
		memcpy(s + len, buf, n);
		len += n;
		s[len] = 0;
	}
	fclose(f);
	return s;
}

void nvmf_target_start(struct nvmf_target_proc *t, const char *const *args)
{
	char exe[PATH_MAX], path[PATH_MAX + 32];
	const char *argv[64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int argc = 0;
	uint64_t deadline = now_ms() + 60000;

	cr_assert_gt(n, 0);
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(path, sizeof(path), "%s/../bin/updk-nvmf", exe);
	cr_assert_eq(access(path, X_OK), 0, "%s is missing: make apps", path);
	snprintf(t->out_path, sizeof(t->out_path), "/tmp/updk-nvmf-%d-%d.out", getpid(), rand());
	snprintf(t->err_path, sizeof(t->err_path), "/tmp/updk-nvmf-%d-%d.err", getpid(), rand());
	argv[argc++] = path;
	argv[argc++] = "--listen";
	argv[argc++] = "127.0.0.1:0";
	for (; *args && argc < 62; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;
	t->pid = fork();
	cr_assert_geq(t->pid, 0);
	if (t->pid == 0) {
		if (!freopen(t->out_path, "w", stdout) || !freopen(t->err_path, "w", stderr))
			_exit(126);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	t->port = 0;
	t->log = NULL;
	while (!t->port) {
		char *out = slurp(t->out_path), *p = strstr(out, "listening on 127.0.0.1:");
		int st;

		if (p && strstr(out, "ready"))
			t->port = atoi(p + strlen("listening on 127.0.0.1:"));
		free(out);
		if (t->port)
			break;
		if (waitpid(t->pid, &st, WNOHANG) == t->pid) {
			char *err = slurp(t->err_path);

			cr_assert_fail("updk-nvmf exited (status %d) before it was ready:\n%s",
				       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), err);
		}
		cr_assert_lt(now_ms(), deadline, "updk-nvmf not ready in 60 s");
		usleep(20000);
	}
}

int nvmf_target_stop(struct nvmf_target_proc *t, int sig)
{
	uint64_t deadline = now_ms() + 30000;
	int st;

	kill(t->pid, sig);
	while (waitpid(t->pid, &st, WNOHANG) != t->pid) {
		if (now_ms() > deadline) {
			kill(t->pid, SIGKILL);
			waitpid(t->pid, &st, 0);
			cr_assert_fail("updk-nvmf did not stop in 30 s after signal %d", sig);
		}
		usleep(10000);
	}
	free(t->log);
	t->log = slurp(t->err_path);
	unlink(t->out_path);
	unlink(t->err_path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

char *nvmf_target_log(const struct nvmf_target_proc *t)
{
	return t->log ? strdup(t->log) : slurp(t->err_path);
}
