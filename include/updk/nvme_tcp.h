/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe/TCP: the PDUs of the NVMe/TCP Transport Specification 1.0 (§3.6), and the framing both
 * ends of a connection share: a receiver that takes a byte stream apart into validated PDU
 * headers and their data, and the helpers that finish a header (lengths, padding, digests)
 * before it is sent. updk-nvmf (the target) and the TCP transport of updk_nvme_* (the
 * initiator) are built on it; it knows nothing of commands, queues or controllers.
 *
 * Threading: a receiver belongs to one connection and one thread; nothing here locks.
 */
#ifndef UPDK_NVME_TCP_H
#define UPDK_NVME_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <updk/nvme_spec.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The IANA ports: NVMe/TCP I/O controllers and the Discovery controller. */
#define UPDK_NVME_TCP_PORT 4420
#define UPDK_NVME_TCP_DISCOVERY_PORT 8009

/** PDU types (NVMe/TCP 1.0 §3.6.2.1, the common header's PDU-Type). */
enum updk_nvme_tcp_pdu_type {
	UPDK_NVME_TCP_ICREQ = 0x00,
	UPDK_NVME_TCP_ICRESP = 0x01,
	UPDK_NVME_TCP_H2C_TERM = 0x02,
	UPDK_NVME_TCP_C2H_TERM = 0x03,
	UPDK_NVME_TCP_CAPSULE_CMD = 0x04,
	UPDK_NVME_TCP_CAPSULE_RESP = 0x05,
	UPDK_NVME_TCP_H2C_DATA = 0x06,
	UPDK_NVME_TCP_C2H_DATA = 0x07,
	UPDK_NVME_TCP_R2T = 0x09,
};

/** Common header FLAGS (§3.6.2.1): digests present, and for data PDUs the last and success bits. */
enum updk_nvme_tcp_flags {
	UPDK_NVME_TCP_F_HDGSTF = 1 << 0,
	UPDK_NVME_TCP_F_DDGSTF = 1 << 1,
	UPDK_NVME_TCP_F_LAST_PDU = 1 << 2, /**< H2CData, C2HData: the command's last data PDU */
	UPDK_NVME_TCP_F_SUCCESS = 1 << 3, /**< C2HData: no CapsuleResp follows (SQ flow off) */
};

/** ICReq/ICResp DGST bits: header and data digests enabled (§3.6.2.2). */
enum updk_nvme_tcp_dgst {
	UPDK_NVME_TCP_DGST_HDR = 1 << 0,
	UPDK_NVME_TCP_DGST_DATA = 1 << 1,
};

/** Fatal Error Status of a TermReq (§3.6.2.4). */
enum updk_nvme_tcp_fes {
	UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD = 0x01,
	UPDK_NVME_TCP_FES_PDU_SEQUENCE_ERROR = 0x02,
	UPDK_NVME_TCP_FES_HEADER_DIGEST_ERROR = 0x03,
	UPDK_NVME_TCP_FES_DATA_OUT_OF_RANGE = 0x04,
	UPDK_NVME_TCP_FES_DATA_LIMIT_EXCEEDED = 0x05,
	UPDK_NVME_TCP_FES_UNSUPPORTED_PARAMETER = 0x06,
};

/** PDU Format Version 1.0 (ICReq/ICResp PFV). */
#define UPDK_NVME_TCP_PFV_1_0 0
/** Bytes of a header or data digest (CRC32C). */
#define UPDK_NVME_TCP_DIGEST_LEN 4
/** The smallest MAXH2CDATA a controller may offer (§3.6.2.3). */
#define UPDK_NVME_TCP_MIN_MAXH2CDATA 4096
/** In-capsule data the admin queue takes: 8 KiB (NVMe/TCP 1.0, Capsules). */
#define UPDK_NVME_TCP_ADMIN_ICD 8192
/** A TermReq carries at most this much of the PDU header that caused it (§3.6.2.4). */
#define UPDK_NVME_TCP_TERM_MAX_DATA 152

/*
 * SGL descriptor types, byte 15 of an SGL descriptor (NVMe Base 2.0 §4.1.2), as the TCP
 * binding uses them (NVMe/TCP 1.0, SGL usage): data in the capsule (Data Block, Offset) or moved by
 * R2T/H2CData and C2HData (Transport SGL Data Block, transport specific subtype Ah).
 */
#define UPDK_NVME_TCP_SGL_ICD 0x01
#define UPDK_NVME_TCP_SGL_TRANSPORT 0x5a

/** A 16-byte SGL descriptor (NVMe Base 2.0 Figure 113). */
struct updk_nvme_sgl {
	uint64_t addr; /**< ICD: the offset into the capsule's data (ICDOFF); else 0 */
	uint32_t length;
	uint8_t rsvd[3];
	uint8_t type;
} __attribute__((packed));

/** PDU common header (§3.6.2.1), 8 bytes. */
struct updk_nvme_tcp_ch {
	uint8_t pdu_type;
	uint8_t flags;
	uint8_t hlen; /**< header length, digest not included */
	uint8_t pdo; /**< where the data starts, from the PDU's first byte (0: no data) */
	uint32_t plen; /**< the whole PDU: header, digests, padding, data */
} __attribute__((packed));

/** Initialize Connection Request (§3.6.2.2), 128 bytes. */
struct updk_nvme_tcp_icreq {
	struct updk_nvme_tcp_ch ch;
	uint16_t pfv;
	uint8_t hpda; /**< the host's PDU data alignment, 0's based dwords */
	uint8_t dgst;
	uint32_t maxr2t; /**< R2Ts outstanding per command, 0's based */
	uint8_t rsvd16[112];
} __attribute__((packed));

/** Initialize Connection Response (§3.6.2.3), 128 bytes. */
struct updk_nvme_tcp_icresp {
	struct updk_nvme_tcp_ch ch;
	uint16_t pfv;
	uint8_t cpda; /**< the controller's PDU data alignment, 0's based dwords */
	uint8_t dgst;
	uint32_t maxh2cdata; /**< most data in one H2CData PDU */
	uint8_t rsvd16[112];
} __attribute__((packed));

/** H2CTermReq and C2HTermReq (§3.6.2.4, §3.6.2.5), 24 bytes; the bad header follows. */
struct updk_nvme_tcp_term_req {
	struct updk_nvme_tcp_ch ch;
	uint16_t fes;
	uint32_t fei; /**< Fatal Error Information: e.g. the offset of the bad header field */
	uint8_t rsvd14[10];
} __attribute__((packed));

/** Command Capsule (§3.6.2.6): the SQE, then in-capsule data if any. */
struct updk_nvme_tcp_cmd {
	struct updk_nvme_tcp_ch ch;
	struct updk_nvme_cmd ccsqe;
} __attribute__((packed));

/** Response Capsule (§3.6.2.7): the CQE. */
struct updk_nvme_tcp_rsp {
	struct updk_nvme_tcp_ch ch;
	struct updk_nvme_cpl rccqe;
} __attribute__((packed));

/** H2CData (§3.6.2.8), C2HData (§3.6.2.9) and R2T (§3.6.2.10), 24 bytes each. */
struct updk_nvme_tcp_data {
	struct updk_nvme_tcp_ch ch;
	uint16_t cccid; /**< the command's CID */
	uint16_t ttag; /**< H2CData: the R2T's transfer tag; C2HData: reserved */
	uint32_t datao; /**< offset of this data from the command's first byte */
	uint32_t datal;
	uint8_t rsvd20[4];
} __attribute__((packed));

struct updk_nvme_tcp_r2t {
	struct updk_nvme_tcp_ch ch;
	uint16_t cccid;
	uint16_t ttag;
	uint32_t r2to; /**< offset of the data asked for */
	uint32_t r2tl; /**< and its length */
	uint8_t rsvd20[4];
} __attribute__((packed));

_Static_assert(sizeof(struct updk_nvme_tcp_ch) == 8, "common header is 8 bytes");
_Static_assert(sizeof(struct updk_nvme_tcp_icreq) == 128, "ICReq is 128 bytes");
_Static_assert(sizeof(struct updk_nvme_tcp_icresp) == 128, "ICResp is 128 bytes");
_Static_assert(sizeof(struct updk_nvme_tcp_term_req) == 24, "TermReq is 24 bytes");
_Static_assert(__builtin_offsetof(struct updk_nvme_tcp_term_req, fei) == 10, "FEI at byte 10");
_Static_assert(sizeof(struct updk_nvme_tcp_cmd) == 72, "CapsuleCmd header is 72 bytes");
_Static_assert(sizeof(struct updk_nvme_tcp_rsp) == 24, "CapsuleResp is 24 bytes");
_Static_assert(sizeof(struct updk_nvme_tcp_data) == 24, "H2CData/C2HData are 24 bytes");
_Static_assert(sizeof(struct updk_nvme_tcp_r2t) == 24, "R2T is 24 bytes");
_Static_assert(sizeof(struct updk_nvme_sgl) == 16, "SGL descriptor is 16 bytes");

/** The header length each PDU type must have, 0 for a type that does not exist. */
uint8_t updk_nvme_tcp_hlen(uint8_t pdu_type);

/** The PDU type's name ("CapsuleCmd", "H2CData", ...), "unknown" for others. */
const char *updk_nvme_tcp_pdu_name(uint8_t pdu_type);

/** What a Fatal Error Status means ("Invalid PDU Header Field", ...). */
const char *updk_nvme_tcp_fes_str(uint16_t fes);

/* ---------------------------------------------------------------------------------------------
 * Receiving: a byte stream in, PDUs out.
 *
 *	struct updk_nvme_tcp_rx rx;
 *	updk_nvme_tcp_rx_init(&rx, stage, sizeof(stage), accepted_types);
 *	for (;;) {
 *		int ev = updk_nvme_tcp_rx_next(&rx);
 *		if (ev == UPDK_NVME_TCP_RX_MORE) { if (updk_nvme_tcp_rx_recv(&rx, fd) <= 0) ...; }
 *		else if (ev == UPDK_NVME_TCP_RX_HDR) { look at rx.hdr; for data, set its destination }
 *		else if (ev == UPDK_NVME_TCP_RX_DATA) { the data is in place, digest checked }
 *		else { fatal: rx.fes, rx.fei say what to put in the TermReq, then close }
 *	}
 *
 * What the receiver checks, for every PDU type: the type is one the owner accepts, HLEN is the
 * type's, the digest flags match what was negotiated, PLEN and PDO agree with each other, the
 * header digest, the data digest, and the data length against the owner's limit for the type.
 * What a PDU means (sequence, command IDs, transfer tags, offsets) is the owner's to check.
 */

/** Events from updk_nvme_tcp_rx_next(). Negative values are fatal errors (-EPROTO). */
enum updk_nvme_tcp_rx_event {
	/** Every staged byte is used: read more (updk_nvme_tcp_rx_recv()). */
	UPDK_NVME_TCP_RX_MORE = 0,
	/**
	 * A whole PDU header is in rx->hdr, checked. If updk_nvme_tcp_rx_data_len() is not 0,
	 * give its destination with updk_nvme_tcp_rx_set_data() (or discard it) before the next
	 * call; a PDU without data is done.
	 */
	UPDK_NVME_TCP_RX_HDR = 1,
	/** The current PDU's data is in its destination; rx->ddgst_error if its digest failed. */
	UPDK_NVME_TCP_RX_DATA = 2,
};

/** Largest header plus header digest: ICReq/ICResp, 128 bytes (they never carry digests). */
#define UPDK_NVME_TCP_HDR_MAX 128
/** Most iovec elements one PDU's data may be spread over. */
#define UPDK_NVME_TCP_RX_IOV_MAX 16

struct updk_nvme_tcp_rx {
	/* Set by the owner (after ICReq/ICResp for the digests and alignment). */
	bool hdgst; /**< header digests negotiated */
	bool ddgst; /**< data digests negotiated */
	uint8_t pda; /**< the PDU data alignment this end asked for, 0's based dwords */
	uint32_t accept; /**< bit per PDU type this end may receive */
	uint32_t max_data[10]; /**< per PDU type: the most data one PDU may carry */
	/**
	 * 0: a PDU's data is read straight into its destination wherever the kernel allows.
	 * N: data of at most N bytes is read into the stage with its header and copied from
	 * there, so that one read takes many small PDUs (fewer system calls, a copy in exchange).
	 */
	uint32_t small_data;

	/* The current header, with its digest. */
	union {
		struct updk_nvme_tcp_ch ch;
		struct updk_nvme_tcp_icreq icreq;
		struct updk_nvme_tcp_icresp icresp;
		struct updk_nvme_tcp_term_req term;
		struct updk_nvme_tcp_cmd cmd;
		struct updk_nvme_tcp_rsp rsp;
		struct updk_nvme_tcp_data data;
		struct updk_nvme_tcp_r2t r2t;
		uint8_t raw[UPDK_NVME_TCP_HDR_MAX + UPDK_NVME_TCP_DIGEST_LEN];
	} hdr;
	bool ddgst_error; /**< with RX_DATA: the data digest did not match */
	uint16_t fes; /**< after a fatal error: the TermReq's FES and FEI */
	uint32_t fei;

	/* Private. */
	uint8_t state;
	bool last_had_data;
	uint32_t have; /* bytes of the current part (header, pad, data, digest) so far */
	uint32_t pad, data_len, data_done;
	uint32_t crc;
	uint8_t ddgst_buf[UPDK_NVME_TCP_DIGEST_LEN];
	struct iovec iov[UPDK_NVME_TCP_RX_IOV_MAX];
	int iovcnt, iov_idx;
	size_t iov_off;
	uint8_t *stage;
	size_t stage_size, head, tail;
	uint64_t bytes_direct, bytes_copied; /**< data placed by readv, data copied from staging */
	/** The last updk_nvme_tcp_rx_recv() got less than it asked for: the socket is drained
	 * (until the next readiness event), no need to read again just to see EAGAIN. */
	bool short_read;
};

/**
 * Start a receiver on a stage buffer of @stage_size bytes (at least 1024: headers are read
 * through it, data goes straight to its destination where the kernel allows) that accepts
 * the PDU types in the @accept bit mask (1u << UPDK_NVME_TCP_...). Digests off, alignment 0,
 * every data limit 0 (no data accepted): set them in the struct.
 */
void updk_nvme_tcp_rx_init(struct updk_nvme_tcp_rx *rx, void *stage, size_t stage_size,
			   uint32_t accept);

/** The next event (see enum updk_nvme_tcp_rx_event), or -EPROTO with rx->fes/fei set. */
int updk_nvme_tcp_rx_next(struct updk_nvme_tcp_rx *rx);

/**
 * Read from the socket @fd once (non-blocking): straight into the current PDU's data
 * destination when its data is what comes next, and the rest into the stage buffer.
 * Returns the bytes read, 0 when the peer closed the connection, -EAGAIN when there was
 * nothing, or another -errno.
 */
long updk_nvme_tcp_rx_recv(struct updk_nvme_tcp_rx *rx, int fd);

/**
 * Hand bytes to the receiver instead of reading a socket: copies up to @len bytes from @buf
 * into its stage and returns how many it took (it takes none while its stage is full: call
 * updk_nvme_tcp_rx_next() until RX_MORE first).
 */
size_t updk_nvme_tcp_rx_feed(struct updk_nvme_tcp_rx *rx, const void *buf, size_t len);

/** Bytes of data the current PDU carries (after RX_HDR). */
uint32_t updk_nvme_tcp_rx_data_len(const struct updk_nvme_tcp_rx *rx);

/**
 * Where the current PDU's data goes: @iovcnt (1..UPDK_NVME_TCP_RX_IOV_MAX) elements whose
 * lengths add up to updk_nvme_tcp_rx_data_len(). @iov is copied. With @iov NULL the data is
 * read and dropped (a command refused before its data arrived). Returns 0 or -EINVAL.
 */
int updk_nvme_tcp_rx_set_data(struct updk_nvme_tcp_rx *rx, const struct iovec *iov, int iovcnt);

/**
 * Drop the rest of the current PDU's data instead of putting it where updk_nvme_tcp_rx_set_data()
 * said (its buffer is going away): it is still read from the stream, and nothing else changes.
 */
void updk_nvme_tcp_rx_discard(struct updk_nvme_tcp_rx *rx);

/* ---------------------------------------------------------------------------------------------
 * Sending.
 */

/**
 * Finish the header of a PDU in @hdr (the type-specific fields already filled): set the common
 * header for @data_len bytes of data, the digest flags and PDO (data aligned for a peer that
 * asked for @peer_pda, 0's based dwords), zero the padding and write the header digest.
 * @hdr must have room for hlen + 4 + 128 bytes. Returns how many bytes of @hdr to send before
 * the data (header, digest, padding). The data digest, if on, is the caller's:
 * updk_nvme_tcp_digest() over the data, sent after it.
 */
size_t updk_nvme_tcp_pdu_finish(void *hdr, uint8_t pdu_type, uint8_t flags, uint32_t data_len,
				bool hdgst, bool ddgst, uint8_t peer_pda);

/** CRC32C over @iovcnt elements: an NVMe/TCP header or data digest (NVMe/TCP 1.0, Digests). */
uint32_t updk_nvme_tcp_digest(const struct iovec *iov, int iovcnt);

/*
 * The send queue: PDUs wait in order, each as a few iovecs (header, data where it lies, data
 * digest), and one sendmsg() takes as many as the socket does, so a PDU's data leaves from the
 * owner's buffer without a copy in user space. A partial send resumes where it stopped.
 *
 *	t->iov = my_iov; t->niov = n;		(the owner's array, alive until sent)
 *	updk_nvme_tcp_txq_append(&q, t);
 *	rc = updk_nvme_tcp_txq_flush(&q, fd, sent_cb, arg);  (1: wait for EPOLLOUT, < 0: failed)
 */

/** Most iovecs one PDU on a send queue may have. */
#define UPDK_NVME_TCP_TX_IOV_MAX 18

/** One PDU (or the part of one the owner queues as a unit) on a send queue. */
struct updk_nvme_tcp_tx {
	struct updk_nvme_tcp_tx *next, *prev; /**< the queue's; NULL while off it */
	struct iovec *iov; /**< the owner's, 1..UPDK_NVME_TCP_TX_IOV_MAX elements */
	int niov;
};

/** A connection's send queue. Zeroed is empty. */
struct updk_nvme_tcp_txq {
	struct updk_nvme_tcp_tx *head, *tail;
	size_t off; /**< bytes of head already in the socket */
	uint64_t bytes; /**< bytes sent in all */
};

/** Queue @t last (its iov and niov set). */
void updk_nvme_tcp_txq_append(struct updk_nvme_tcp_txq *q, struct updk_nvme_tcp_tx *t);

/**
 * Take @t off the queue, sent or not. Taking off the head once part of it was sent leaves the
 * byte stream cut inside a PDU: the connection cannot go on (updk_nvme_tcp_txq_started()).
 */
void updk_nvme_tcp_txq_unlink(struct updk_nvme_tcp_txq *q, struct updk_nvme_tcp_tx *t);

/** True when part of @t is in the socket already and the rest is not. */
static inline bool updk_nvme_tcp_txq_started(const struct updk_nvme_tcp_txq *q,
					     const struct updk_nvme_tcp_tx *t)
{
	return q->head == t && q->off;
}

/** Called by updk_nvme_tcp_txq_flush() for each PDU wholly in the socket, off the queue. It
 * may queue more (they are sent in the same call) and free @t. */
typedef void (*updk_nvme_tcp_tx_sent_fn)(void *arg, struct updk_nvme_tcp_tx *t);

/**
 * Send what the socket @fd takes (non-blocking, no SIGPIPE), calling @sent for each PDU that
 * went whole. Returns 0 when the queue is empty, 1 when the socket is full and PDUs wait (poll
 * for POLLOUT/EPOLLOUT), or a negative errno from sendmsg() (the connection is broken).
 */
int updk_nvme_tcp_txq_flush(struct updk_nvme_tcp_txq *q, int fd, updk_nvme_tcp_tx_sent_fn sent,
			    void *arg);

#ifdef __cplusplus
}
#endif

#endif
