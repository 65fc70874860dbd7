// SPDX-License-Identifier: BSD-3-Clause
/*
 * NVMe/TCP PDUs on the sending side: finishing a header (lengths, PDO, padding, the header
 * digest), data digests, and the names of types and fatal errors for messages.
 */
#include <string.h>

#include <updk/crc.h>
#include <updk/nvme_tcp.h>

uint8_t updk_nvme_tcp_hlen(uint8_t pdu_type)
{
	switch (pdu_type) {
	case UPDK_NVME_TCP_ICREQ:
	case UPDK_NVME_TCP_ICRESP:
		return 128;
	case UPDK_NVME_TCP_CAPSULE_CMD:
		return sizeof(struct updk_nvme_tcp_cmd);
	case UPDK_NVME_TCP_H2C_TERM:
	case UPDK_NVME_TCP_C2H_TERM:
	case UPDK_NVME_TCP_CAPSULE_RESP:
	case UPDK_NVME_TCP_H2C_DATA:
	case UPDK_NVME_TCP_C2H_DATA:
	case UPDK_NVME_TCP_R2T:
		return 24;
	default:
		return 0;
	}
}

const char *updk_nvme_tcp_pdu_name(uint8_t pdu_type)
{
	static const char *const names[] = {
		[UPDK_NVME_TCP_ICREQ] = "ICReq",
		[UPDK_NVME_TCP_ICRESP] = "ICResp",
		[UPDK_NVME_TCP_H2C_TERM] = "H2CTermReq",
		[UPDK_NVME_TCP_C2H_TERM] = "C2HTermReq",
		[UPDK_NVME_TCP_CAPSULE_CMD] = "CapsuleCmd",
		[UPDK_NVME_TCP_CAPSULE_RESP] = "CapsuleResp",
		[UPDK_NVME_TCP_H2C_DATA] = "H2CData",
		[UPDK_NVME_TCP_C2H_DATA] = "C2HData",
		[UPDK_NVME_TCP_R2T] = "R2T",
	};

	if (pdu_type < sizeof(names) / sizeof(names[0]) && names[pdu_type])
		return names[pdu_type];
	return "unknown";
}

const char *updk_nvme_tcp_fes_str(uint16_t fes)
{
	switch (fes) {
	case UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD:
		return "Invalid PDU Header Field";
	case UPDK_NVME_TCP_FES_PDU_SEQUENCE_ERROR:
		return "PDU Sequence Error";
	case UPDK_NVME_TCP_FES_HEADER_DIGEST_ERROR:
		return "Header Digest Error";
	case UPDK_NVME_TCP_FES_DATA_OUT_OF_RANGE:
		return "Data Transfer Out of Range";
	case UPDK_NVME_TCP_FES_DATA_LIMIT_EXCEEDED:
		return "Data Transfer Limit Exceeded";
	case UPDK_NVME_TCP_FES_UNSUPPORTED_PARAMETER:
		return "Unsupported Parameter";
	default:
		return "unknown fatal error";
	}
}

size_t updk_nvme_tcp_pdu_finish(void *hdr, uint8_t pdu_type, uint8_t flags, uint32_t data_len,
				bool hdgst, bool ddgst, uint8_t peer_pda)
{
	struct updk_nvme_tcp_ch *ch = hdr;
	uint8_t hlen = updk_nvme_tcp_hlen(pdu_type);
	bool digests = pdu_type >= UPDK_NVME_TCP_CAPSULE_CMD; /* not IC*, not TermReq */
	unsigned hd = hdgst && digests ? UPDK_NVME_TCP_DIGEST_LEN : 0;
	unsigned dd = ddgst && digests && data_len ? UPDK_NVME_TCP_DIGEST_LEN : 0;
	unsigned align = (peer_pda + 1u) * 4;
	size_t off = hlen + hd;

	flags &= ~(UPDK_NVME_TCP_F_HDGSTF | UPDK_NVME_TCP_F_DDGSTF);
	ch->pdu_type = pdu_type;
	ch->hlen = hlen;
	ch->pdo = 0;
	ch->plen = hlen + hd;
	if (data_len && digests) {
		/* PDO: the data starts where the receiver asked, a multiple of its PDA. */
		size_t pdo = (off + align - 1) / align * align;

		memset((uint8_t *)hdr + off, 0, pdo - off);
		off = pdo;
		ch->pdo = pdo;
		ch->plen = pdo + data_len + dd;
	} else if (data_len) {
		ch->plen = hlen + data_len; /* a TermReq: the bad header right after its own */
	}
	ch->flags = flags | (hd ? UPDK_NVME_TCP_F_HDGSTF : 0) | (dd ? UPDK_NVME_TCP_F_DDGSTF : 0);
	if (hd) {
		uint32_t crc = updk_crc32c(0, hdr, hlen);

		memcpy((uint8_t *)hdr + hlen, &crc, sizeof(crc));
	}
	return off;
}

uint32_t updk_nvme_tcp_digest(const struct iovec *iov, int iovcnt)
{
	uint32_t crc = 0;

	for (int i = 0; i < iovcnt; i++)
		crc = updk_crc32c(crc, iov[i].iov_base, iov[i].iov_len);
	return crc;
}
