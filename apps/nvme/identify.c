// SPDX-License-Identifier: BSD-3-Clause
/* updk-nvme list, id-ctrl, id-ns: identify data in nvme-cli's shape and field names. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <updk/pci.h>

#include "apps/nvme/tool.h"

#define CHARS(o, key, field) out_chars(o, key, field, sizeof(field))

static uint32_t le24(const uint8_t b[3])
{
	return (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

/* Identify Controller fields (NVMe Base 2.0 Figure 275) under nvme-cli's keys. */
static void print_id_ctrl(struct out *o, const struct updk_nvme_id_ctrl *id)
{
	out_hex(o, "vid", id->vid);
	out_hex(o, "ssvid", id->ssvid);
	CHARS(o, "sn", id->sn);
	CHARS(o, "mn", id->mn);
	CHARS(o, "fr", id->fr);
	out_uint(o, "rab", id->rab);
	out_hex(o, "ieee", le24(id->ieee));
	out_hex(o, "cmic", id->cmic);
	out_uint(o, "mdts", id->mdts);
	out_hex(o, "cntlid", id->cntlid);
	out_hex(o, "ver", id->ver);
	out_hex(o, "rtd3r", id->rtd3r);
	out_hex(o, "rtd3e", id->rtd3e);
	out_hex(o, "oaes", id->oaes);
	out_hex(o, "ctratt", id->ctratt);
	out_hex(o, "rrls", id->rrls);
	out_hex(o, "cntrltype", id->cntrltype);
	out_hex(o, "crdt1", id->crdt1);
	out_hex(o, "crdt2", id->crdt2);
	out_hex(o, "crdt3", id->crdt3);
	out_hex(o, "nvmsr", id->nvmsr);
	out_hex(o, "vwci", id->vwci);
	out_hex(o, "mec", id->mec);
	out_hex(o, "oacs", id->oacs);
	out_uint(o, "acl", id->acl);
	out_uint(o, "aerl", id->aerl);
	out_hex(o, "frmw", id->frmw);
	out_hex(o, "lpa", id->lpa);
	out_uint(o, "elpe", id->elpe);
	out_uint(o, "npss", id->npss);
	out_hex(o, "avscc", id->avscc);
	out_hex(o, "apsta", id->apsta);
	out_uint(o, "wctemp", id->wctemp);
	out_uint(o, "cctemp", id->cctemp);
	out_uint(o, "mtfa", id->mtfa);
	out_uint(o, "hmpre", id->hmpre);
	out_uint(o, "hmmin", id->hmmin);
	out_u128(o, "tnvmcap", id->tnvmcap);
	out_u128(o, "unvmcap", id->unvmcap);
	out_uint(o, "rpmbs", id->rpmbs);
	out_uint(o, "edstt", id->edstt);
	out_uint(o, "dsto", id->dsto);
	out_uint(o, "fwug", id->fwug);
	out_uint(o, "kas", id->kas);
	out_uint(o, "hctma", id->hctma);
	out_uint(o, "mntmt", id->mntmt);
	out_uint(o, "mxtmt", id->mxtmt);
	out_hex(o, "sanicap", id->sanicap);
	out_uint(o, "hmminds", id->hmminds);
	out_uint(o, "hmmaxd", id->hmmaxd);
	out_uint(o, "nsetidmax", id->nsetidmax);
	out_uint(o, "endgidmax", id->endgidmax);
	out_uint(o, "anatt", id->anatt);
	out_uint(o, "anacap", id->anacap);
	out_uint(o, "anagrpmax", id->anagrpmax);
	out_uint(o, "nanagrpid", id->nanagrpid);
	out_uint(o, "pels", id->pels);
	out_uint(o, "domainid", id->domainid);
	out_hex(o, "sqes", id->sqes);
	out_hex(o, "cqes", id->cqes);
	out_uint(o, "maxcmd", id->maxcmd);
	out_uint(o, "nn", id->nn);
	out_hex(o, "oncs", id->oncs);
	out_hex(o, "fuses", id->fuses);
	out_hex(o, "fna", id->fna);
	out_hex(o, "vwc", id->vwc);
	out_uint(o, "awun", id->awun);
	out_uint(o, "awupf", id->awupf);
	out_hex(o, "icsvscc", id->icsvscc);
	out_hex(o, "nwpc", id->nwpc);
	out_uint(o, "acwu", id->acwu);
	out_hex(o, "ocfs", id->ocfs);
	out_hex(o, "sgls", id->sgls);
	out_uint(o, "mnan", id->mnan);
	CHARS(o, "subnqn", id->subnqn);
	out_uint(o, "ioccsz", id->ioccsz);
	out_uint(o, "iorcsz", id->iorcsz);
	out_uint(o, "icdoff", id->icdoff);
	out_hex(o, "fcatt", id->fcatt);
	out_uint(o, "msdbd", id->msdbd);
	out_hex(o, "ofcs", id->ofcs);
	/* Power states: NPSS is 0's based and device-written; the array holds 32 at most. */
	out_arr_begin(o, "psds");
	for (unsigned i = 0; i <= id->npss && i < 32; i++) {
		const struct updk_nvme_psd *p = &id->psd[i];
		char title[16];

		snprintf(title, sizeof(title), "ps %u", i);
		out_obj_begin(o, o->json ? NULL : title);
		out_uint(o, "max_power", p->mp);
		out_uint(o, "flags", p->flags);
		out_uint(o, "entry_lat", p->enlat);
		out_uint(o, "exit_lat", p->exlat);
		out_uint(o, "read_tput", p->rrt);
		out_uint(o, "read_lat", p->rrl);
		out_uint(o, "write_tput", p->rwt);
		out_uint(o, "write_lat", p->rwl);
		out_uint(o, "idle_power", p->idlp);
		out_uint(o, "active_power", p->actp);
		out_obj_end(o);
	}
	out_arr_end(o);
}

/* Identify Namespace fields (NVM Command Set 1.0 Figure 97) under nvme-cli's keys. */
static void print_id_ns(struct out *o, const struct updk_nvme_id_ns *ns)
{
	unsigned nlbaf = ns->nlbaf + 1u; /* 0's based, device-written: at most 64 formats */

	if (nlbaf > 64)
		nlbaf = 64;
	out_uint(o, "nsze", ns->nsze);
	out_uint(o, "ncap", ns->ncap);
	out_uint(o, "nuse", ns->nuse);
	out_hex(o, "nsfeat", ns->nsfeat);
	out_uint(o, "nlbaf", ns->nlbaf);
	out_hex(o, "flbas", ns->flbas);
	out_hex(o, "mc", ns->mc);
	out_hex(o, "dpc", ns->dpc);
	out_hex(o, "dps", ns->dps);
	out_hex(o, "nmic", ns->nmic);
	out_hex(o, "rescap", ns->rescap);
	out_hex(o, "fpi", ns->fpi);
	out_hex(o, "dlfeat", ns->dlfeat);
	out_uint(o, "nawun", ns->nawun);
	out_uint(o, "nawupf", ns->nawupf);
	out_uint(o, "nacwu", ns->nacwu);
	out_uint(o, "nabsn", ns->nabsn);
	out_uint(o, "nabo", ns->nabo);
	out_uint(o, "nabspf", ns->nabspf);
	out_uint(o, "noiob", ns->noiob);
	out_u128(o, "nvmcap", ns->nvmcap);
	out_uint(o, "mssrl", ns->mssrl);
	out_uint(o, "mcl", ns->mcl);
	out_uint(o, "msrc", ns->msrc);
	out_uint(o, "nulbaf", ns->nulbaf);
	out_uint(o, "anagrpid", ns->anagrpid);
	out_hex(o, "nsattr", ns->nsattr);
	out_uint(o, "nvmsetid", ns->nvmsetid);
	out_uint(o, "endgid", ns->endgid);
	char hex[40];
	for (int i = 0; i < 16; i++)
		sprintf(hex + 2 * i, "%02x", ns->nguid[i]);
	out_str(o, "nguid", hex);
	for (int i = 0; i < 8; i++)
		sprintf(hex + 2 * i, "%02x", ns->eui64[i]);
	out_str(o, "eui64", hex);
	out_arr_begin(o, "lbafs");
	for (unsigned i = 0; i < nlbaf; i++) {
		char title[16];

		snprintf(title, sizeof(title), "lbaf %2u", i);
		out_obj_begin(o, o->json ? NULL : title);
		out_uint(o, "ms", ns->lbaf[i].ms);
		out_uint(o, "ds", ns->lbaf[i].lbads);
		out_uint(o, "rp", ns->lbaf[i].rp & 3);
		out_obj_end(o);
	}
	out_arr_end(o);
}

static int usage_id(const char *cmd, int rc)
{
	if (!strcmp(cmd, "id-ns"))
		fprintf(rc ? stderr : stdout,
			"Usage: updk-nvme id-ns DEVICE [-n NSID] [-o normal|json]\n"
			"Identify Namespace NSID (default 1) of the controller at DEVICE.\n");
	else
		fprintf(rc ? stderr : stdout, "Usage: updk-nvme id-ctrl DEVICE [-o normal|json]\n"
					      "Identify Controller of the controller at DEVICE.\n");
	return rc;
}

int cmd_id_ctrl(int argc, char **argv)
{
	struct tool_args a;
	struct tool_dev td;
	struct out o;
	int rc = tool_parse_args("id-ctrl", "o:", false, argc, argv, &a);

	if (rc)
		return usage_id("id-ctrl", rc < 0 ? 0 : rc);
	if (tool_open(&td, a.dev))
		return 1;
	out_begin(&o, a.json, "NVME Identify Controller:");
	print_id_ctrl(&o, updk_nvme_ctrlr_id(td.ctrlr));
	out_end(&o);
	tool_close(&td);
	return 0;
}

int cmd_id_ns(int argc, char **argv)
{
	struct tool_args a;
	struct tool_dev td;
	struct updk_nvme_ns *ns;
	struct out o;
	char title[64];
	int rc = tool_parse_args("id-ns", "o:n:", false, argc, argv, &a);

	if (rc)
		return usage_id("id-ns", rc < 0 ? 0 : rc);
	if (!a.nsid)
		a.nsid = 1;
	if (tool_open(&td, a.dev))
		return 1;
	ns = updk_nvme_ns_get(td.ctrlr, a.nsid);
	if (!ns) {
		fprintf(stderr, "updk-nvme: %s: namespace %u is not active (nn %u)\n", a.dev,
			a.nsid, updk_nvme_ctrlr_num_ns(td.ctrlr));
		tool_close(&td);
		return 1;
	}
	snprintf(title, sizeof(title), "NVME Identify Namespace %u:", a.nsid);
	out_begin(&o, a.json, title);
	print_id_ns(&o, updk_nvme_ns_data(ns));
	out_end(&o);
	tool_close(&td);
	return 0;
}

/* One controller's rows: a line per active namespace, as `nvme list` prints. */
static void list_one(struct out *o, const char *addr)
{
	struct tool_dev td;

	if (tool_open(&td, addr))
		return;
	const struct updk_nvme_id_ctrl *id = updk_nvme_ctrlr_id(td.ctrlr);

	for (uint32_t nsid = updk_nvme_ctrlr_first_active_ns(td.ctrlr); nsid;
	     nsid = updk_nvme_ctrlr_next_active_ns(td.ctrlr, nsid)) {
		struct updk_nvme_ns *ns = updk_nvme_ns_get(td.ctrlr, nsid);

		if (!ns)
			continue;
		const struct updk_nvme_id_ns *d = updk_nvme_ns_data(ns);
		uint32_t lbs = updk_nvme_ns_sector_size(ns);

		if (o->json) {
			out_obj_begin(o, NULL);
			out_str(o, "DevicePath", addr);
			out_uint(o, "NameSpace", nsid);
			CHARS(o, "ModelNumber", id->mn);
			CHARS(o, "SerialNumber", id->sn);
			CHARS(o, "Firmware", id->fr);
			out_uint(o, "UsedBytes", d->nuse * lbs);
			out_uint(o, "MaximumLBA", d->nsze);
			out_uint(o, "PhysicalSize", d->nsze * lbs);
			out_uint(o, "SectorSize", lbs);
			out_obj_end(o);
		} else {
			printf("%-16s %-20.20s %-40.40s %-9u %10.2f GB %6u B %-8.8s\n", addr,
			       id->sn, id->mn, nsid, (double)d->nsze * lbs / 1e9, lbs, id->fr);
		}
	}
	tool_close(&td);
}

static int scan_vfio_nvme(const struct updk_pci_info *info, void *arg)
{
	struct out *o = arg;
	char addr[UPDK_PCI_ADDR_STRLEN];

	/* Class 01h/08h/02h: NVM Express (PCI Code and ID Assignment §1.2). */
	if (info->class_code != 0x010802)
		return 0;
	updk_pci_addr_fmt(&info->addr, addr);
	if (strcmp(info->driver, "vfio-pci")) {
		if (!o->json)
			fprintf(stderr,
				"updk-nvme list: %s is bound to %s, not vfio-pci (scripts/setup.sh bind %s)\n",
				addr, info->driver[0] ? info->driver : "no driver", addr);
		return 0;
	}
	list_one(o, addr);
	return 0;
}

int cmd_list(int argc, char **argv)
{
	struct tool_args a;
	struct out o;
	int rc = tool_parse_args("list", "o:", true, argc, argv, &a);

	if (rc) {
		fprintf(rc < 0 ? stdout : stderr,
			"Usage: updk-nvme list [DEVICE] [-o normal|json]\n"
			"Every NVMe controller bound to vfio-pci (or DEVICE alone) and its namespaces.\n");
		return rc < 0 ? 0 : rc;
	}
	out_begin(&o, a.json, NULL);
	if (!a.json) {
		printf("%-16s %-20s %-40s %-9s %13s %8s %-8s\n", "Device", "SN", "Model",
		       "Namespace", "Size", "Format", "FW Rev");
		printf("%-16s %-20s %-40s %-9s %13s %8s %-8s\n", "----------------",
		       "--------------------", "----------------------------------------",
		       "---------", "-------------", "--------", "--------");
	}
	out_arr_begin(&o, "Devices");
	if (a.dev)
		list_one(&o, a.dev);
	else if ((rc = updk_pci_scan(scan_vfio_nvme, &o)) < 0)
		fprintf(stderr, "updk-nvme list: cannot read /sys/bus/pci/devices: %s\n",
			strerror(-rc));
	out_arr_end(&o);
	out_end(&o);
	return rc < 0 ? 1 : 0;
}
