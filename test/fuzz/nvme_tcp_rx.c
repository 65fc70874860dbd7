// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target: the NVMe/TCP receiver (lib/nvme_tcp/rx.c) over any byte stream from the
 * wire, as either end of a connection sees it.
 *
 * Input: a byte of settings (bit 0 header digests, bit 1 data digests, bit 2 the host's end
 * (C2H PDUs) rather than the controller's, bits 7:3 the PDA), a byte giving the size of the
 * pieces the stream arrives in, a byte choosing how each PDU's data is split over iovecs, then
 * the stream. Properties: no crash, overread or leak; every header handed up has the type's
 * HLEN, a type this end accepts and no more data than its limit; the data fills exactly the
 * buffer given (ASan watches its edges); a fatal error carries a known FES and stays fatal;
 * and the same stream cut into single bytes gives the same events, headers and data.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/nvme_tcp/pdu.c"
#include "lib/nvme_tcp/rx.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "test/fuzz/crc32c_soft.h"

#define MAX_EVENTS 256

struct trace {
	int n;
	int ev[MAX_EVENTS];
	uint8_t hdr[MAX_EVENTS][32];
	uint32_t data_crc[MAX_EVENTS];
	uint16_t fes;
	uint32_t fei;
};

static void check_handed_up(const struct updk_nvme_tcp_rx *rx)
{
	uint8_t t = rx->hdr.ch.pdu_type;

	if (t >= 32 || !(rx->accept & (1u << t)) || rx->hdr.ch.hlen != updk_nvme_tcp_hlen(t))
		abort();
	if (updk_nvme_tcp_rx_data_len(rx) > rx->max_data[t])
		abort();
}

static void run(const uint8_t *cfg, const uint8_t *s, size_t len, size_t chunk, struct trace *tr)
{
	static uint8_t stage[2048];
	struct updk_nvme_tcp_rx rx;
	uint8_t *buf = NULL;
	size_t pos = 0;
	bool h2c = !(cfg[0] & 4);

	updk_nvme_tcp_rx_init(&rx, stage, sizeof(stage),
			      h2c ? (1u << UPDK_NVME_TCP_ICREQ | 1u << UPDK_NVME_TCP_H2C_TERM |
				     1u << UPDK_NVME_TCP_CAPSULE_CMD |
				     1u << UPDK_NVME_TCP_H2C_DATA) :
				    (1u << UPDK_NVME_TCP_ICRESP | 1u << UPDK_NVME_TCP_C2H_TERM |
				     1u << UPDK_NVME_TCP_CAPSULE_RESP |
				     1u << UPDK_NVME_TCP_C2H_DATA | 1u << UPDK_NVME_TCP_R2T));
	rx.hdgst = cfg[0] & 1;
	rx.ddgst = cfg[0] & 2;
	rx.pda = cfg[0] >> 3;
	rx.max_data[UPDK_NVME_TCP_CAPSULE_CMD] = 8192;
	rx.max_data[UPDK_NVME_TCP_H2C_DATA] = 16384;
	rx.max_data[UPDK_NVME_TCP_C2H_DATA] = 65536;
	rx.max_data[UPDK_NVME_TCP_H2C_TERM] = UPDK_NVME_TCP_TERM_MAX_DATA;
	rx.max_data[UPDK_NVME_TCP_C2H_TERM] = UPDK_NVME_TCP_TERM_MAX_DATA;
	memset(tr, 0, sizeof(*tr));
	while (tr->n < MAX_EVENTS) {
		int ev = updk_nvme_tcp_rx_next(&rx);

		if (ev == UPDK_NVME_TCP_RX_MORE) {
			if (pos == len)
				break;
			size_t k = len - pos < chunk ? len - pos : chunk;

			k = updk_nvme_tcp_rx_feed(&rx, s + pos, k);
			if (!k)
				abort(); /* RX_MORE means the stage was emptied */
			pos += k;
			continue;
		}
		tr->ev[tr->n] = ev;
		if (ev < 0) {
			if (ev != -EPROTO || rx.fes < 1 || rx.fes > 6 ||
			    updk_nvme_tcp_rx_next(&rx) != -EPROTO)
				abort();
			tr->fes = rx.fes;
			tr->fei = rx.fei;
			tr->n++;
			break;
		}
		if (ev == UPDK_NVME_TCP_RX_HDR) {
			uint32_t dl = updk_nvme_tcp_rx_data_len(&rx);

			check_handed_up(&rx);
			memcpy(tr->hdr[tr->n], rx.hdr.raw, 32);
			if (dl) {
				/* 1..3 pieces, cut where cfg[2] says */
				struct iovec v[3];
				int n = 1 + cfg[2] % 3;
				uint32_t a = dl * (cfg[2] >> 4) / 16, b = a + (dl - a) / 2;

				buf = malloc(dl);
				if (!buf)
					abort();
				v[0] = (struct iovec){ buf, n == 1 ? dl : a };
				v[1] = (struct iovec){ buf + a, n == 2 ? dl - a : b - a };
				v[2] = (struct iovec){ buf + b, dl - b };
				if (updk_nvme_tcp_rx_set_data(&rx, v, n))
					abort();
			}
		} else {
			tr->data_crc[tr->n] = updk_crc32c(0, buf, updk_nvme_tcp_rx_data_len(&rx));
			free(buf);
			buf = NULL;
		}
		tr->n++;
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct trace a, b;

	if (size < 3)
		return 0;
	run(data, data + 3, size - 3, 1 + data[1], &a);
	if (size > 4096)
		return 0; /* keep the byte-at-a-time pass fast */
	run(data, data + 3, size - 3, 1, &b);
	if (a.n != b.n || memcmp(a.ev, b.ev, sizeof(a.ev)) || memcmp(a.hdr, b.hdr, sizeof(a.hdr)) ||
	    memcmp(a.data_crc, b.data_crc, sizeof(a.data_crc)) || a.fes != b.fes || a.fei != b.fei)
		abort();
	return 0;
}
