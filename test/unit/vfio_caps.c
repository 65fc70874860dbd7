// SPDX-License-Identifier: BSD-3-Clause
/*
 * The VFIO capability-chain walker on hand-made info buffers: the chain the kernel builds, and
 * the malformed ones it must survive (offsets outside the buffer, into the fixed header,
 * misaligned, looping, a capability cut short).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "lib/vfio/uapi.h"

#include "lib/vfio/vfio_priv.h"

#define HDR 24 /* sizeof(struct vfio_iommu_type1_info) */

static _Alignas(8) unsigned char buf[256];

static void put_cap(uint32_t off, uint16_t id, uint32_t next)
{
	struct vfio_info_cap_header h = { .id = id, .version = 1, .next = next };

	memcpy(buf + off, &h, sizeof(h));
}

TestSuite(vfio_caps);

Test(vfio_caps, finds_each_capability_along_the_chain)
{
	memset(buf, 0, sizeof(buf));
	put_cap(24, 2, 48);
	put_cap(48, 1, 96);
	put_cap(96, 3, 0);
	cr_assert_eq(vfio_info_cap(buf, 128, HDR, 24, 2, 8), buf + 24);
	cr_assert_eq(vfio_info_cap(buf, 128, HDR, 24, 1, 8), buf + 48);
	cr_assert_eq(vfio_info_cap(buf, 128, HDR, 24, 3, 12), buf + 96);
	cr_assert_null(vfio_info_cap(buf, 128, HDR, 24, 7, 8), "absent id");
	cr_assert_null(vfio_info_cap(buf, 128, HDR, 0, 2, 8), "no chain at all");
}

Test(vfio_caps, capability_cut_short_by_the_buffer)
{
	memset(buf, 0, sizeof(buf));
	put_cap(24, 1, 0);
	/* The IOVA-range capability needs 16 bytes plus its ranges; only 12 are there. */
	cr_assert_null(vfio_info_cap(buf, 36, HDR, 24, 1, 16));
	cr_assert_eq(vfio_info_cap(buf, 40, HDR, 24, 1, 16), buf + 24);
	/* Not even a whole header. */
	cr_assert_null(vfio_info_cap(buf, 30, HDR, 24, 1, 8));
}

Test(vfio_caps, bad_offsets_end_the_walk)
{
	memset(buf, 0, sizeof(buf));
	put_cap(24, 2, 200); /* next past the end of a 128-byte buffer */
	cr_assert_null(vfio_info_cap(buf, 128, HDR, 24, 1, 8));
	put_cap(24, 2, 8); /* next inside the fixed header */
	cr_assert_null(vfio_info_cap(buf, 128, HDR, 24, 1, 8));
	put_cap(24, 2, 50); /* misaligned */
	put_cap(48, 1, 0);
	cr_assert_null(vfio_info_cap(buf, 128, HDR, 24, 1, 8));
	cr_assert_null(vfio_info_cap(buf, 128, HDR, 4, 1, 8), "first inside the header");
	cr_assert_null(vfio_info_cap(buf, 128, HDR, 0xfffffff0u, 1, 8), "first far out");
}

Test(vfio_caps, looping_chain_terminates)
{
	memset(buf, 0, sizeof(buf));
	put_cap(24, 2, 48);
	put_cap(48, 3, 24); /* back to the first */
	cr_assert_null(vfio_info_cap(buf, 128, HDR, 24, 1, 8));
	put_cap(64, 5, 64); /* points at itself */
	cr_assert_null(vfio_info_cap(buf, 128, HDR, 64, 1, 8));
	cr_assert_eq(vfio_info_cap(buf, 128, HDR, 64, 5, 8), buf + 64);
}
