/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe over Fabrics as the specification lays it out: the Fabrics commands (Connect, Property
 * Get/Set, Authentication, Disconnect), the Connect data, the controller properties, and the
 * Discovery log page (NVMe Base 2.0 §3.3 and chapter 6, "Fabrics Command Set"; §5.16.1.23 for
 * the Discovery log). Transport independent: the TCP binding is in nvme_tcp.h.
 *
 * Multi-byte fields are little-endian on the wire; updk runs on little-endian hosts only, as
 * the rest of its NVMe structures assume.
 */
#ifndef UPDK_NVMF_SPEC_H
#define UPDK_NVMF_SPEC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The Discovery subsystem's well-known NQN (NVMe Base 2.0 §4.5). */
#define UPDK_NVMF_DISCOVERY_NQN "nqn.2014-08.org.nvmexpress.discovery"
/** An NQN is at most 223 bytes of UTF-8 (NVMe Base 2.0 §4.5); its fields are 256 bytes. */
#define UPDK_NVMF_NQN_MAX 223
#define UPDK_NVMF_NQN_FIELD 256

/** Opcode of every Fabrics command; its type is in FCTYPE (NVMe Base 2.0 §6, Figure 540). */
#define UPDK_NVMF_OPC_FABRICS 0x7f

/** Fabrics Command Types (NVMe Base 2.0 Figure 541). */
enum updk_nvmf_fctype {
	UPDK_NVMF_FCTYPE_PROPERTY_SET = 0x00,
	UPDK_NVMF_FCTYPE_CONNECT = 0x01,
	UPDK_NVMF_FCTYPE_PROPERTY_GET = 0x04,
	UPDK_NVMF_FCTYPE_AUTH_SEND = 0x05,
	UPDK_NVMF_FCTYPE_AUTH_RECV = 0x06,
	UPDK_NVMF_FCTYPE_DISCONNECT = 0x08,
};

/** The layout every Fabrics command shares (NVMe Base 2.0 Figure 540), 64 bytes. */
struct updk_nvmf_cmd {
	uint8_t opc; /**< 7Fh */
	uint8_t rsvd1;
	uint16_t cid;
	uint8_t fctype;
	uint8_t rsvd5[19];
	uint8_t sgl1[16]; /**< SGL Descriptor 1, bytes 39:24 */
	uint8_t fcs[24]; /**< Fabrics command specific, bytes 63:40 */
} __attribute__((packed));

/** Connect command (NVMe Base 2.0 §6.3, Figure 545). */
struct updk_nvmf_connect_cmd {
	uint8_t opc;
	uint8_t rsvd1;
	uint16_t cid;
	uint8_t fctype;
	uint8_t rsvd5[19];
	uint8_t sgl1[16]; /**< the 1024-byte Connect data */
	uint16_t recfmt; /**< record format, 0 */
	uint16_t qid; /**< 0: the admin queue */
	uint16_t sqsize; /**< 0's based */
	uint8_t cattr; /**< bit 2: disable SQ flow control */
	uint8_t rsvd47;
	uint32_t kato; /**< Keep Alive Timeout, ms (admin queue) */
	uint8_t rsvd52[12];
} __attribute__((packed));

/** Connect Attributes bit 2: the host disables SQ flow control (SQHD reserved). */
#define UPDK_NVMF_CATTR_DISABLE_SQ_FLOW (1u << 2)

/** Connect data (NVMe Base 2.0 Figure 546), 1024 bytes. */
struct updk_nvmf_connect_data {
	uint8_t hostid[16];
	uint16_t cntlid; /**< FFFFh on the admin queue: any (dynamic) controller */
	uint8_t rsvd18[238];
	char subnqn[UPDK_NVMF_NQN_FIELD];
	char hostnqn[UPDK_NVMF_NQN_FIELD];
	uint8_t rsvd768[256];
} __attribute__((packed));

/** The controller ID that asks for a new controller of the dynamic model. */
#define UPDK_NVMF_CNTLID_DYNAMIC 0xffff

/*
 * Connect response Dword 0 (NVMe Base 2.0 Figure 547): on success bits 15:0 the controller ID;
 * with Connect Invalid Parameters, bits 15:0 the byte offset of the bad field (IPO) and bit 16
 * (IATTR) set when that offset is into the Connect data, clear when into the command.
 */
#define UPDK_NVMF_CONNECT_IPO_DATA (1u << 16)
/* On success, bits 31:16 are AUTHREQ (NVMe Base 2.0 Figure 547): ATR, the controller requires
 * an authentication transaction (§8.13, DH-HMAC-CHAP) before the queue may be used; ASCR, a
 * secure channel concatenated to it. */
#define UPDK_NVMF_CONNECT_AUTHREQ_ATR (1u << 17)
#define UPDK_NVMF_CONNECT_AUTHREQ_ASCR (1u << 18)

/** Fabrics command specific status for Connect (NVMe Base 2.0 Figure 548), SCT 1h. */
enum updk_nvmf_connect_sc {
	UPDK_NVMF_SC_CONNECT_INCOMPATIBLE_FORMAT = 0x80,
	UPDK_NVMF_SC_CONNECT_CONTROLLER_BUSY = 0x81,
	UPDK_NVMF_SC_CONNECT_INVALID_PARAMETERS = 0x82,
	UPDK_NVMF_SC_CONNECT_RESTART_DISCOVERY = 0x83,
	UPDK_NVMF_SC_CONNECT_INVALID_HOST = 0x84,
};

/** Property Set (NVMe Base 2.0 §6.6, Figure 553) and Get (§6.5, Figure 550). */
struct updk_nvmf_property_cmd {
	uint8_t opc;
	uint8_t rsvd1;
	uint16_t cid;
	uint8_t fctype;
	uint8_t rsvd5[35];
	uint8_t attrib; /**< bits 2:0 size: 0 four bytes, 1 eight bytes */
	uint8_t rsvd41[3];
	uint32_t ofst; /**< the property's offset */
	uint64_t value; /**< Property Set only */
	uint8_t rsvd56[8];
} __attribute__((packed));

#define UPDK_NVMF_PROP_SIZE_8 1

/** Properties: the PCIe controller registers of the same name (NVMe Base 2.0 §3.1.3). */
enum updk_nvmf_property {
	UPDK_NVMF_PROP_CAP = 0x00,
	UPDK_NVMF_PROP_VS = 0x08,
	UPDK_NVMF_PROP_CC = 0x14,
	UPDK_NVMF_PROP_CSTS = 0x1c,
	UPDK_NVMF_PROP_NSSR = 0x20,
};

/** Controller types in Identify Controller CNTRLTYPE (NVMe Base 2.0 Figure 275, byte 111). */
enum updk_nvme_cntrltype {
	UPDK_NVME_CNTRLTYPE_IO = 1,
	UPDK_NVME_CNTRLTYPE_DISCOVERY = 2,
	UPDK_NVME_CNTRLTYPE_ADMIN = 3,
};

/* ---------------------------------------------------------------------------------------------
 * Discovery log page, LID 70h (NVMe Base 2.0 §5.16.1.23, Figures 258 and 259).
 */

#define UPDK_NVMF_LOG_DISCOVERY 0x70

/** Transport types (TRTYPE). */
enum updk_nvmf_trtype {
	UPDK_NVMF_TRTYPE_RDMA = 1,
	UPDK_NVMF_TRTYPE_FC = 2,
	UPDK_NVMF_TRTYPE_TCP = 3,
	UPDK_NVMF_TRTYPE_LOOP = 254,
};

/** Address families (ADRFAM). */
enum updk_nvmf_adrfam {
	UPDK_NVMF_ADRFAM_IPV4 = 1,
	UPDK_NVMF_ADRFAM_IPV6 = 2,
	UPDK_NVMF_ADRFAM_IB = 3,
	UPDK_NVMF_ADRFAM_FC = 4,
	UPDK_NVMF_ADRFAM_LOOP = 254,
};

/** Subsystem types (SUBTYPE). */
enum updk_nvmf_subtype {
	UPDK_NVMF_SUBTYPE_DISCOVERY_REFERRAL = 1,
	UPDK_NVMF_SUBTYPE_NVME = 2,
	UPDK_NVMF_SUBTYPE_DISCOVERY_CURRENT = 3,
};

/** Transport requirements (TREQ): bits 1:0 secure channel, bit 2 SQ flow control disable. */
enum updk_nvmf_treq {
	UPDK_NVMF_TREQ_SECURE_NOT_SPECIFIED = 0,
	UPDK_NVMF_TREQ_SECURE_REQUIRED = 1,
	UPDK_NVMF_TREQ_SECURE_NOT_REQUIRED = 2,
	UPDK_NVMF_TREQ_DISABLE_SQFLOW = 1 << 2,
};

/** One Discovery Log Page Entry, 1024 bytes. */
struct updk_nvmf_disc_entry {
	uint8_t trtype;
	uint8_t adrfam;
	uint8_t subtype;
	uint8_t treq;
	uint16_t portid;
	uint16_t cntlid; /**< FFFFh: dynamic controller model */
	uint16_t asqsz; /**< largest admin SQ the subsystem takes */
	uint16_t eflags;
	uint8_t rsvd12[20];
	char trsvcid[32]; /**< service: the TCP port, ASCII, space padded */
	uint8_t rsvd64[192];
	char subnqn[UPDK_NVMF_NQN_FIELD];
	char traddr[256]; /**< address, ASCII, space padded */
	uint8_t tsas[256]; /**< TCP: byte 0 SECTYPE (0 none, 1 TLS 1.2, 2 TLS 1.3) */
} __attribute__((packed));

/** Discovery Log Page header; the entries follow at byte 1024. */
struct updk_nvmf_disc_log {
	uint64_t genctr; /**< generation counter: changes whenever the entries do */
	uint64_t numrec;
	uint16_t recfmt; /**< 0 */
	uint8_t rsvd18[1006];
} __attribute__((packed));

_Static_assert(sizeof(struct updk_nvmf_cmd) == 64, "Fabrics command is 64 bytes");
_Static_assert(sizeof(struct updk_nvmf_connect_cmd) == 64, "Connect is 64 bytes");
_Static_assert(sizeof(struct updk_nvmf_property_cmd) == 64, "Property Get/Set is 64 bytes");
_Static_assert(sizeof(struct updk_nvmf_connect_data) == 1024, "Connect data is 1024 bytes");
_Static_assert(__builtin_offsetof(struct updk_nvmf_connect_data, subnqn) == 256, "SUBNQN at 256");
_Static_assert(__builtin_offsetof(struct updk_nvmf_connect_data, hostnqn) == 512, "HOSTNQN at 512");
_Static_assert(sizeof(struct updk_nvmf_disc_entry) == 1024, "Discovery entry is 1024 bytes");
_Static_assert(__builtin_offsetof(struct updk_nvmf_disc_entry, trsvcid) == 32, "TRSVCID at 32");
_Static_assert(__builtin_offsetof(struct updk_nvmf_disc_entry, subnqn) == 256, "SUBNQN at 256");
_Static_assert(__builtin_offsetof(struct updk_nvmf_disc_entry, traddr) == 512, "TRADDR at 512");
_Static_assert(sizeof(struct updk_nvmf_disc_log) == 1024, "Discovery log header is 1024 bytes");

#ifdef __cplusplus
}
#endif

#endif
