// SPDX-License-Identifier: BSD-3-Clause
/*
 * The NVMe/TCP receiver: a byte stream in, checked PDU headers and their data out.
 *
 * Headers come through the stage buffer (one read often brings several). Data goes to the
 * owner's destination: from the stage when it is already there, otherwise straight from the
 * socket with readv(), the stage taking whatever follows it, so a large write's data is never
 * copied in user space. After a PDU with data the stage reads little (STAGE_AFTER_DATA): with
 * back-to-back in-capsule writes that bounds what is copied per PDU to a few hundred bytes,
 * while a stream of data-less capsules (reads) still arrives many to a read().
 *
 * An owner that sets rx->small_data trades that copy for system calls: data of at most that
 * many bytes comes through the stage with its header and is copied out, so one read() brings
 * as many small PDUs as the stage holds (the kernel's host sends 4 KiB writes in the capsule,
 * one PDU each: one readv() per write otherwise). Larger data still goes straight to its
 * destination, and after it the stage reads little again.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>

#include <updk/crc.h>
#include <updk/nvme_tcp.h>

enum rx_state {
	ST_HDR,
	ST_WAIT_DEST, /* RX_HDR returned for a PDU with data, no destination given yet */
	ST_PAD,
	ST_DATA,
	ST_DDGST,
	ST_FATAL,
};

#define STAGE_AFTER_DATA 256

/* PDU types that carry data after PDO (TermReq's data follows its header directly). */
static bool has_pdo_data(uint8_t type)
{
	return type == UPDK_NVME_TCP_CAPSULE_CMD || type == UPDK_NVME_TCP_H2C_DATA ||
	       type == UPDK_NVME_TCP_C2H_DATA;
}

static bool is_term(uint8_t type)
{
	return type == UPDK_NVME_TCP_H2C_TERM || type == UPDK_NVME_TCP_C2H_TERM;
}

/* ICReq, ICResp and the TermReqs never carry digests (NVMe/TCP 1.0, Digests). */
static bool takes_digests(uint8_t type)
{
	return type >= UPDK_NVME_TCP_CAPSULE_CMD;
}

void updk_nvme_tcp_rx_init(struct updk_nvme_tcp_rx *rx, void *stage, size_t stage_size,
			   uint32_t accept)
{
	memset(rx, 0, sizeof(*rx));
	rx->stage = stage;
	rx->stage_size = stage_size;
	rx->accept = accept;
	rx->state = ST_HDR;
}

uint32_t updk_nvme_tcp_rx_data_len(const struct updk_nvme_tcp_rx *rx)
{
	return rx->data_len;
}

static int fatal(struct updk_nvme_tcp_rx *rx, uint16_t fes, uint32_t fei)
{
	rx->fes = fes;
	rx->fei = fei;
	rx->state = ST_FATAL;
	return -EPROTO;
}

static uint32_t le32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Header digest present in this PDU (the flag must agree with the negotiation). */
static unsigned hd_len(const struct updk_nvme_tcp_rx *rx, uint8_t type)
{
	return rx->hdgst && takes_digests(type) ? UPDK_NVME_TCP_DIGEST_LEN : 0;
}

/*
 * The first 8 bytes are in: the type, HLEN, the digest flags and PLEN's lower bound. FEI is the
 * byte offset of the field at fault (§3.6.2.4): 0 type, 1 flags, 2 HLEN, 3 PDO, 4 PLEN.
 */
static int check_ch(struct updk_nvme_tcp_rx *rx)
{
	const struct updk_nvme_tcp_ch *ch = &rx->hdr.ch;
	uint8_t hlen = updk_nvme_tcp_hlen(ch->pdu_type);
	unsigned hd = hd_len(rx, ch->pdu_type);

	if (!hlen || ch->pdu_type >= 32 || !(rx->accept & (1u << ch->pdu_type)))
		return fatal(rx, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD, 0);
	if (ch->hlen != hlen)
		return fatal(rx, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD, 2);
	if (takes_digests(ch->pdu_type) && !!(ch->flags & UPDK_NVME_TCP_F_HDGSTF) != !!hd)
		return fatal(rx, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD, 1);
	if (ch->plen < hlen + hd)
		return fatal(rx, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD, 4);
	if (is_term(ch->pdu_type) && ch->plen > hlen + (unsigned)UPDK_NVME_TCP_TERM_MAX_DATA)
		return fatal(rx, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD, 4);
	if (!is_term(ch->pdu_type) && !has_pdo_data(ch->pdu_type) && ch->plen != hlen + hd)
		return fatal(rx, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD, 4);
	return 0;
}

/* The whole header and its digest are in: the digest, then where the data lies. */
static int check_hdr(struct updk_nvme_tcp_rx *rx)
{
	const struct updk_nvme_tcp_ch *ch = &rx->hdr.ch;
	uint8_t type = ch->pdu_type;
	unsigned hd = hd_len(rx, type);
	unsigned dd = rx->ddgst ? UPDK_NVME_TCP_DIGEST_LEN : 0;
	unsigned align = (rx->pda + 1u) * 4;

	if (hd && updk_crc32c(0, rx->hdr.raw, ch->hlen) != le32_at(rx->hdr.raw + ch->hlen))
		return fatal(rx, UPDK_NVME_TCP_FES_HEADER_DIGEST_ERROR, 0);
	rx->pad = 0;
	rx->data_len = 0;
	if (is_term(type)) {
		rx->data_len = ch->plen - ch->hlen;
	} else if (has_pdo_data(type) && ch->plen > ch->hlen + hd) {
		if (!!(ch->flags & UPDK_NVME_TCP_F_DDGSTF) != !!dd)
			return fatal(rx, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD, 1);
		if (ch->pdo < ch->hlen + hd || ch->pdo % align)
			return fatal(rx, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD, 3);
		if (ch->plen <= (uint32_t)ch->pdo + dd)
			return fatal(rx, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD, 4);
		rx->pad = ch->pdo - ch->hlen - hd;
		rx->data_len = ch->plen - ch->pdo - dd;
	} else if (type == UPDK_NVME_TCP_H2C_DATA || type == UPDK_NVME_TCP_C2H_DATA) {
		return fatal(rx, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD,
			     4); /* a data PDU, no data */
	}
	if (rx->data_len > rx->max_data[type])
		return fatal(rx, UPDK_NVME_TCP_FES_DATA_LIMIT_EXCEEDED, 4);
	rx->data_done = 0;
	rx->crc = 0;
	rx->ddgst_error = false;
	rx->last_had_data = rx->data_len > rx->small_data;
	return 0;
}

int updk_nvme_tcp_rx_set_data(struct updk_nvme_tcp_rx *rx, const struct iovec *iov, int iovcnt)
{
	size_t sum = 0;

	if (rx->state != ST_WAIT_DEST)
		return -EINVAL;
	if (iov) {
		if (iovcnt < 1 || iovcnt > UPDK_NVME_TCP_RX_IOV_MAX)
			return -EINVAL;
		for (int i = 0; i < iovcnt; i++)
			sum += iov[i].iov_len;
		if (sum != rx->data_len)
			return -EINVAL;
		memcpy(rx->iov, iov, iovcnt * sizeof(*iov));
	}
	rx->iovcnt = iov ? iovcnt : 0;
	rx->iov_idx = 0;
	rx->iov_off = 0;
	rx->have = 0;
	rx->state = rx->pad ? ST_PAD : ST_DATA;
	return 0;
}

void updk_nvme_tcp_rx_discard(struct updk_nvme_tcp_rx *rx)
{
	if (rx->state == ST_PAD || rx->state == ST_DATA || rx->state == ST_DDGST)
		rx->iovcnt = 0;
}

/* @n bytes of data arrived at the current destination position (already there or @src). */
static void data_advance(struct updk_nvme_tcp_rx *rx, const uint8_t *src, size_t n)
{
	while (n) {
		if (!rx->iovcnt) { /* dropped */
			rx->data_done += n;
			return;
		}
		struct iovec *v = &rx->iov[rx->iov_idx];
		size_t k = v->iov_len - rx->iov_off;
		uint8_t *dst = (uint8_t *)v->iov_base + rx->iov_off;

		if (k > n)
			k = n;
		if (src) {
			memcpy(dst, src, k);
			src += k;
		}
		if (rx->ddgst && !is_term(rx->hdr.ch.pdu_type))
			rx->crc = updk_crc32c(rx->crc, dst, k);
		rx->iov_off += k;
		rx->data_done += k;
		n -= k;
		if (rx->iov_off == v->iov_len) {
			rx->iov_idx++;
			rx->iov_off = 0;
		}
	}
}

static int pdu_done(struct updk_nvme_tcp_rx *rx)
{
	rx->state = ST_HDR;
	rx->have = 0;
	return UPDK_NVME_TCP_RX_DATA;
}

int updk_nvme_tcp_rx_next(struct updk_nvme_tcp_rx *rx)
{
	for (;;) {
		size_t avail = rx->tail - rx->head;
		const uint8_t *src = rx->stage + rx->head;
		size_t need, k;

		switch (rx->state) {
		case ST_HDR:
			need = rx->have < sizeof(struct updk_nvme_tcp_ch) ?
				       sizeof(struct updk_nvme_tcp_ch) :
				       rx->hdr.ch.hlen + hd_len(rx, rx->hdr.ch.pdu_type);
			k = need - rx->have < avail ? need - rx->have : avail;
			memcpy(rx->hdr.raw + rx->have, src, k);
			rx->head += k;
			rx->have += k;
			if (rx->have < need)
				return UPDK_NVME_TCP_RX_MORE;
			if (need == sizeof(struct updk_nvme_tcp_ch)) {
				if (check_ch(rx))
					return -EPROTO;
				continue;
			}
			if (check_hdr(rx))
				return -EPROTO;
			rx->have = 0;
			rx->state = rx->data_len ? ST_WAIT_DEST : ST_HDR;
			return UPDK_NVME_TCP_RX_HDR;
		case ST_WAIT_DEST:
			return -EINVAL; /* the owner must call updk_nvme_tcp_rx_set_data() */
		case ST_PAD:
			k = rx->pad - rx->have < avail ? rx->pad - rx->have : avail;
			rx->head += k;
			rx->have += k;
			if (rx->have < rx->pad)
				return UPDK_NVME_TCP_RX_MORE;
			rx->state = ST_DATA;
			continue;
		case ST_DATA:
			k = rx->data_len - rx->data_done;
			if (k > avail)
				k = avail;
			data_advance(rx, src, k);
			rx->head += k;
			rx->bytes_copied += rx->iovcnt ? k : 0;
			if (rx->data_done < rx->data_len)
				return UPDK_NVME_TCP_RX_MORE;
			if (!rx->ddgst || is_term(rx->hdr.ch.pdu_type))
				return pdu_done(rx);
			rx->state = ST_DDGST; /* the data is in: its digest next */
			rx->have = 0;
			continue;
		case ST_DDGST:
			k = UPDK_NVME_TCP_DIGEST_LEN - rx->have < avail ?
				    UPDK_NVME_TCP_DIGEST_LEN - rx->have :
				    avail;
			memcpy(rx->ddgst_buf + rx->have, src, k);
			rx->head += k;
			rx->have += k;
			if (rx->have < UPDK_NVME_TCP_DIGEST_LEN)
				return UPDK_NVME_TCP_RX_MORE;
			rx->ddgst_error = rx->iovcnt && le32_at(rx->ddgst_buf) != rx->crc;
			return pdu_done(rx);
		default:
			return -EPROTO;
		}
	}
}

/* Room at the stage's end: move what is left of it to the front first. */
static size_t stage_room(struct updk_nvme_tcp_rx *rx)
{
	if (rx->head == rx->tail) {
		rx->head = rx->tail = 0;
	} else if (rx->head && rx->stage_size - rx->tail < rx->stage_size / 2) {
		memmove(rx->stage, rx->stage + rx->head, rx->tail - rx->head);
		rx->tail -= rx->head;
		rx->head = 0;
	}
	return rx->stage_size - rx->tail;
}

size_t updk_nvme_tcp_rx_feed(struct updk_nvme_tcp_rx *rx, const void *buf, size_t len)
{
	size_t room = stage_room(rx);

	if (len > room)
		len = room;
	memcpy(rx->stage + rx->tail, buf, len);
	rx->tail += len;
	return len;
}

long updk_nvme_tcp_rx_recv(struct updk_nvme_tcp_rx *rx, int fd)
{
	struct iovec v[UPDK_NVME_TCP_RX_IOV_MAX + 1];
	size_t room = stage_room(rx), direct = 0;
	int n = 0;
	ssize_t got;

	/* The data comes next and none of it is staged: read it where it goes (small data: into
	 * the stage, with what follows it). */
	if (rx->state == ST_DATA && rx->head == rx->tail && rx->iovcnt &&
	    rx->data_len > rx->small_data) {
		size_t off = rx->iov_off;

		for (int i = rx->iov_idx; i < rx->iovcnt; i++, off = 0) {
			v[n].iov_base = (uint8_t *)rx->iov[i].iov_base + off;
			v[n].iov_len = rx->iov[i].iov_len - off;
			direct += v[n++].iov_len;
		}
	}
	if ((direct || rx->last_had_data) && room > STAGE_AFTER_DATA)
		room = STAGE_AFTER_DATA;
	if (!room && !n)
		return -ENOBUFS; /* the owner has not taken the staged PDUs */
	v[n].iov_base = rx->stage + rx->tail;
	v[n++].iov_len = room;
	got = readv(fd, v, n);
	if (got < 0)
		return -errno;
	rx->short_read = (size_t)got < direct + room;
	if ((size_t)got <= direct) {
		data_advance(rx, NULL, got);
		rx->bytes_direct += got;
	} else {
		data_advance(rx, NULL, direct);
		rx->bytes_direct += direct;
		rx->tail += got - direct;
	}
	return got;
}
