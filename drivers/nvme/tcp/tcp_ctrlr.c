/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NVMe/TCP transport's controller: the address from the transport ID (traddr, trsvcid,
 * adrfam, subnqn, hostnqn), the host's identity, the registers as Fabrics properties (NVMe
 * Base 2.0 §6.5 Property Get, §6.6 Property Set) on the admin queue, and the transport's
 * operations table. A register access that finds the admin queue's connection gone connects
 * it again first: a new association (a controller reset does this), whose CC reads 0.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/tcp/tcp.h"

/* A line of a small file (/etc/nvme/hostnqn), without its newline; false if none. */
static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\r\n")] = 0;
	return ok && buf[0];
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into 16 bytes; false if it is not one. */
static bool parse_uuid(const char *s, uint8_t out[16])
{
	int n = 0;

	for (; *s && n < 32; s++) {
		int v;

		if (*s == '-')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			v = (*s | 0x20) - 'a' + 10;
		else
			return false;
		out[n / 2] = (uint8_t)(n % 2 ? out[n / 2] | v : v << 4);
		n++;
	}
	return n == 32 && !*s;
}

/*
 * The host's NQN and Host Identifier: the transport ID's hostnqn, else nvme-cli's
 * /etc/nvme/hostnqn and /etc/nvme/hostid (so updk and the kernel's host are the same host to a
 * target's allowed-host list), else a UUID-based NQN made from /etc/machine-id.
 */
static void host_identity(struct nvme_tcp_ctrlr *tc, const struct nvme_trid *trid)
{
	char line[256];
	const char *uuid;

	if (trid->hostnqn[0])
		snprintf(tc->hostnqn, sizeof(tc->hostnqn), "%s", trid->hostnqn);
	else if (!read_line("/etc/nvme/hostnqn", tc->hostnqn, sizeof(tc->hostnqn))) {
		uint8_t id[16] = { 0 };

		if (read_line("/etc/machine-id", line, sizeof(line)))
			for (size_t i = 0; line[i] && i < 32; i++)
				id[i / 2] =
					(uint8_t)(id[i / 2] << 4 |
						  (line[i] <= '9' ? line[i] - '0' :
								    (line[i] | 0x20) - 'a' + 10));
		snprintf(tc->hostnqn, sizeof(tc->hostnqn),
			 "nqn.2014-08.org.nvmexpress:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-"
			 "%02x%02x-%02x%02x%02x%02x%02x%02x",
			 id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7], id[8], id[9],
			 id[10], id[11], id[12], id[13], id[14], id[15]);
	}
	if (read_line("/etc/nvme/hostid", line, sizeof(line)) && parse_uuid(line, tc->hostid))
		return;
	uuid = strstr(tc->hostnqn, ":uuid:");
	if (!uuid || !parse_uuid(uuid + 6, tc->hostid)) {
		/* no UUID to use: a stable identifier from the NQN (FNV-1a, twice) */
		uint64_t h = 0xcbf29ce484222325ull, g;

		for (const char *p = tc->hostnqn; *p; p++)
			h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
		g = (h ^ 0x9e3779b97f4a7c15ull) * 0x100000001b3ull;
		memcpy(tc->hostid, &h, 8);
		memcpy(tc->hostid + 8, &g, 8);
	}
}

static int tcp_ctrlr_open(const struct nvme_trid *trid, struct updk_nvme_ctrlr **cp)
{
	struct nvme_tcp_ctrlr *tc = aligned_alloc(64, sizeof(*tc));
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	const char *port = trid->trsvcid[0] ? trid->trsvcid : "4420";
	int rc;

	if (!tc)
		return -ENOMEM;
	memset(tc, 0, sizeof(*tc));
	if (!trid->adrfam[0] || !strcasecmp(trid->adrfam, "IPv4")) {
		hints.ai_family =
			strchr(trid->traddr, ':') && !trid->adrfam[0] ? AF_INET6 : AF_INET;
	} else if (!strcasecmp(trid->adrfam, "IPv6")) {
		hints.ai_family = AF_INET6;
	} else {
		log_err("%s: adrfam '%s': NVMe/TCP here takes IPv4 or IPv6", trid->traddr,
			trid->adrfam);
		free(tc);
		return -EINVAL;
	}
	rc = getaddrinfo(trid->traddr, port, &hints, &ai);
	if (rc) {
		log_err("%s port %s: %s (traddr: an IPv4 or IPv6 address or a host name; trsvcid: "
			"the TCP port)",
			trid->traddr, port, gai_strerror(rc));
		free(tc);
		return -EINVAL;
	}
	memcpy(&tc->addr, ai->ai_addr, ai->ai_addrlen);
	tc->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	snprintf(tc->c.name, sizeof(tc->c.name),
		 hints.ai_family == AF_INET6 ? "tcp:[%s]:%s" : "tcp:%s:%s", trid->traddr, port);
	snprintf(tc->subnqn, sizeof(tc->subnqn), "%s",
		 trid->subnqn[0] ? trid->subnqn : UPDK_NVMF_DISCOVERY_NQN);
	tc->discovery = !strcmp(tc->subnqn, UPDK_NVMF_DISCOVERY_NQN);
	host_identity(tc, trid);
	tc->cntlid = UPDK_NVMF_CNTLID_DYNAMIC;
	*cp = &tc->c;
	return 0;
}

static void tcp_ctrlr_close(struct updk_nvme_ctrlr *c)
{
	tcp_intr_free(tcp_ctrlr(c));
	free(tcp_ctrlr(c));
}

/* The admin queue's connection, connected again if it was lost (a new association). */
static int admin_ready(struct updk_nvme_ctrlr *c)
{
	struct nvme_tcp_qpair *aq = tcp_qp(c->adminq);
	int rc;

	if (aq->fd >= 0 && !aq->broken)
		return 0;
	if (c->closing)
		return -ENOTCONN; /* nothing left to shut down over a lost connection */
	tcp_io_drop(aq);
	tcp_conn_close(aq);
	aq->broken = false;
	rc = tcp_conn_open(aq);
	if (rc == 0)
		rc = tcp_fabrics_connect(aq);
	if (rc)
		tcp_conn_close(aq);
	else
		log_info("%s: admin queue connected again: controller %u", c->name,
			 tcp_ctrlr(c)->cntlid);
	return rc;
}

static int prop(struct updk_nvme_ctrlr *c, bool set, uint32_t off, bool wide, uint64_t in,
		uint64_t *out)
{
	struct updk_nvme_cmd cmd = { 0 };
	struct updk_nvmf_property_cmd *p = (void *)&cmd;
	struct updk_nvme_cpl cpl;
	int rc = admin_ready(c);

	if (rc)
		return rc;
	p->opc = UPDK_NVMF_OPC_FABRICS;
	p->fctype = set ? UPDK_NVMF_FCTYPE_PROPERTY_SET : UPDK_NVMF_FCTYPE_PROPERTY_GET;
	p->attrib = wide ? UPDK_NVMF_PROP_SIZE_8 : 0;
	p->ofst = off;
	p->value = in;
	rc = tcp_sync_cmd(tcp_qp(c->adminq), &cmd, NULL, 0, &cpl);
	if (rc)
		return rc;
	if (updk_nvme_cpl_is_error(&cpl)) {
		log_err("%s: Property %s of 0x%x: %s", c->name, set ? "Set" : "Get", off,
			updk_nvme_status_str(updk_nvme_cpl_sct(&cpl), updk_nvme_cpl_sc(&cpl)));
		return -EIO;
	}
	if (out)
		*out = cpl.cdw0 | (wide ? (uint64_t)cpl.cdw1 << 32 : 0);
	return 0;
}

static int tcp_reg_read4(struct updk_nvme_ctrlr *c, uint32_t off, uint32_t *val)
{
	uint64_t v;
	int rc = prop(c, false, off, false, 0, &v);

	*val = (uint32_t)v;
	return rc;
}

static int tcp_reg_read8(struct updk_nvme_ctrlr *c, uint32_t off, uint64_t *val)
{
	return prop(c, false, off, true, 0, val);
}

static int tcp_reg_write4(struct updk_nvme_ctrlr *c, uint32_t off, uint32_t val)
{
	return prop(c, true, off, false, val, NULL);
}

static int tcp_reg_write8(struct updk_nvme_ctrlr *c, uint32_t off, uint64_t val)
{
	return prop(c, true, off, true, val, NULL);
}

/* No admin queue registers on a fabric: the Connect made the queue; make sure it is there. */
static int tcp_admin_queue_attach(struct updk_nvme_ctrlr *c)
{
	return admin_ready(c);
}

const struct nvme_transport_ops nvme_tcp_ops = {
	.name = "TCP",
	.ctrlr_open = tcp_ctrlr_open,
	.ctrlr_close = tcp_ctrlr_close,
	.reg_read4 = tcp_reg_read4,
	.reg_read8 = tcp_reg_read8,
	.reg_write4 = tcp_reg_write4,
	.reg_write8 = tcp_reg_write8,
	.admin_queue_attach = tcp_admin_queue_attach,
	.ctrlr_setup = NULL,
	.qpair_create = tcp_qpair_create,
	.qpair_connect = tcp_qpair_connect,
	.qpair_disconnect = tcp_qpair_disconnect,
	.qpair_reset_rings = tcp_qpair_reset_rings,
	.qpair_release = tcp_qpair_release,
	.qpair_free = tcp_qpair_free,
	.qpair_abort_queued = tcp_qpair_abort_queued,
	.check_payload = tcp_check_payload,
	.submit = tcp_submit,
	.cancel_last = tcp_cancel_last,
	.ring = tcp_ring,
	.poll = tcp_poll,
	.intr_setup = tcp_intr_setup,
	.intr_fd = tcp_intr_fd,
	.intr_ack = tcp_intr_ack,
	.intr_kick = tcp_intr_kick,
	.intr_pending = tcp_intr_pending,
};
