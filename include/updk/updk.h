/* SPDX-License-Identifier: BSD-3-Clause */
/* Everything public in one include. */
#ifndef UPDK_UPDK_H
#define UPDK_UPDK_H

#include <updk/crc.h>
#include <updk/log.h>
#include <updk/loop.h>
#include <updk/mem.h>
#include <updk/mmio.h>
#include <updk/net.h>
#include <updk/nvme.h>
#include <updk/pci.h>
#include <updk/pi.h>
#include <updk/tsc.h>

#endif
