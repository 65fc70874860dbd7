// SPDX-License-Identifier: BSD-3-Clause
/* updk-nvme smart-log, error-log, get-feature, reset. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/nvme/tool.h"

#define NSID_ALL 0xffffffffu

static int simple_usage(int rc, const char *text)
{
	fputs(text, rc < 0 ? stdout : stderr);
	return rc < 0 ? 0 : rc;
}

int cmd_smart_log(int argc, char **argv)
{
	struct updk_nvme_smart_log log;
	struct tool_args a;
	struct tool_dev td;
	struct tool_wait w = { 0 };
	struct out o;
	char title[128];
	int rc = tool_parse_args("smart-log", "o:n:", false, argc, argv, &a);

	if (rc)
		return simple_usage(
			rc, "Usage: updk-nvme smart-log DEVICE [-n NSID] [-o normal|json]\n"
			    "SMART / Health Information log (controller-wide by default).\n");
	if (tool_open(&td, a.dev))
		return 1;
	rc = updk_nvme_ctrlr_get_log_page(td.ctrlr, UPDK_NVME_LOG_SMART, a.nsid ? a.nsid : NSID_ALL,
					  &log, sizeof(log), 0, tool_wait_cb, &w);
	if (tool_wait_admin(&td, &w, rc, "smart-log")) {
		tool_close(&td);
		return 1;
	}
	snprintf(title, sizeof(title), "Smart Log for NVME device:%s namespace-id:%x", a.dev,
		 a.nsid ? a.nsid : NSID_ALL);
	out_begin(&o, a.json, title);
	out_uint(&o, "critical_warning", log.critical_warning);
	out_uint(&o, "temperature", log.temperature);
	out_uint(&o, "avail_spare", log.avail_spare);
	out_uint(&o, "spare_thresh", log.spare_thresh);
	out_uint(&o, "percent_used", log.percent_used);
	out_uint(&o, "endurance_grp_critical_warning_summary", log.endu_grp_crit_warn);
	out_u128(&o, "data_units_read", log.data_units_read);
	out_u128(&o, "data_units_written", log.data_units_written);
	out_u128(&o, "host_read_commands", log.host_reads);
	out_u128(&o, "host_write_commands", log.host_writes);
	out_u128(&o, "controller_busy_time", log.ctrl_busy_time);
	out_u128(&o, "power_cycles", log.power_cycles);
	out_u128(&o, "power_on_hours", log.power_on_hours);
	out_u128(&o, "unsafe_shutdowns", log.unsafe_shutdowns);
	out_u128(&o, "media_errors", log.media_errors);
	out_u128(&o, "num_err_log_entries", log.num_err_log_entries);
	out_uint(&o, "warning_temp_time", log.warning_temp_time);
	out_uint(&o, "critical_comp_time", log.critical_comp_time);
	out_end(&o);
	tool_close(&td);
	return 0;
}

int cmd_error_log(int argc, char **argv)
{
	struct tool_args a;
	struct tool_dev td;
	struct tool_wait w = { 0 };
	struct updk_nvme_error_log *log;
	struct out o;
	int rc = tool_parse_args("error-log", "o:e:", false, argc, argv, &a);

	if (rc)
		return simple_usage(
			rc, "Usage: updk-nvme error-log DEVICE [-e ENTRIES] [-o normal|json]\n"
			    "Error Information log, ENTRIES entries (default 64).\n");
	if (tool_open(&td, a.dev))
		return 1;
	/* ELPE is 0's based: the controller keeps at most ELPE + 1 entries. */
	uint32_t max = updk_nvme_ctrlr_id(td.ctrlr)->elpe + 1u;

	if (!a.log_entries || a.log_entries > max) {
		fprintf(stderr, "updk-nvme: %s: --log-entries %u: the controller keeps 1..%u\n",
			a.dev, a.log_entries, max);
		a.log_entries = a.log_entries ? max : 1;
	}
	log = calloc(a.log_entries, sizeof(*log));
	if (!log) {
		tool_close(&td);
		return 1;
	}
	rc = updk_nvme_ctrlr_get_log_page(td.ctrlr, UPDK_NVME_LOG_ERROR, NSID_ALL, log,
					  a.log_entries * (uint32_t)sizeof(*log), 0, tool_wait_cb,
					  &w);
	if (tool_wait_admin(&td, &w, rc, "error-log")) {
		free(log);
		tool_close(&td);
		return 1;
	}
	out_begin(&o, a.json, "Error Log Entries for device:");
	out_arr_begin(&o, "errors");
	for (uint32_t i = 0; i < a.log_entries; i++) {
		const struct updk_nvme_error_log *e = &log[i];
		char title[32];

		snprintf(title, sizeof(title), " Entry[%2u]", i);
		out_obj_begin(&o, o.json ? NULL : title);
		out_uint(&o, "error_count", e->error_count);
		out_uint(&o, "sqid", e->sqid);
		out_uint(&o, "cmdid", e->cmdid);
		out_hex(&o, "status_field", e->status_field >> 1);
		out_hex(&o, "parm_error_location", e->param_error_location);
		out_uint(&o, "lba", e->lba);
		out_uint(&o, "nsid", e->nsid);
		out_uint(&o, "vs", e->vs);
		out_uint(&o, "trtype", e->trtype);
		out_uint(&o, "cs", e->cs);
		out_uint(&o, "trtype_spec_info", e->trtype_spec_info);
		out_obj_end(&o);
	}
	out_arr_end(&o);
	out_end(&o);
	free(log);
	tool_close(&td);
	return 0;
}

static const char *feature_name(uint32_t fid)
{
	switch (fid) {
	case UPDK_NVME_FEAT_ARBITRATION:
		return "Arbitration";
	case UPDK_NVME_FEAT_POWER_MANAGEMENT:
		return "Power Management";
	case UPDK_NVME_FEAT_TEMPERATURE_THRESHOLD:
		return "Temperature Threshold";
	case UPDK_NVME_FEAT_ERROR_RECOVERY:
		return "Error Recovery";
	case UPDK_NVME_FEAT_VOLATILE_WRITE_CACHE:
		return "Volatile Write Cache";
	case UPDK_NVME_FEAT_NUMBER_OF_QUEUES:
		return "Number of Queues";
	case UPDK_NVME_FEAT_INTERRUPT_COALESCING:
		return "Interrupt Coalescing";
	case UPDK_NVME_FEAT_WRITE_ATOMICITY:
		return "Write Atomicity Normal";
	case UPDK_NVME_FEAT_ASYNC_EVENT_CONFIG:
		return "Async Event Configuration";
	default:
		return "Unknown";
	}
}

int cmd_get_feature(int argc, char **argv)
{
	struct tool_args a;
	struct tool_dev td;
	struct tool_wait w = { 0 };
	int rc = tool_parse_args("get-feature", "o:n:f:s:", false, argc, argv, &a);

	if (rc)
		return simple_usage(
			rc,
			"Usage: updk-nvme get-feature DEVICE -f FID [-s SEL] [--cdw11 V] [-o normal|json]\n"
			"Get Features FID: its current (SEL 0), default (1) or saved (2) value.\n");
	if (!a.fid_given || !a.fid || a.fid > 0xff) {
		fprintf(stderr,
			"updk-nvme get-feature: give -f/--feature-id 1..255 (7: Number of Queues)\n");
		return EXIT_USAGE;
	}
	if (a.sel > 3) {
		fprintf(stderr,
			"updk-nvme get-feature: --sel is 0 current, 1 default, 2 saved, 3 capabilities\n");
		return EXIT_USAGE;
	}
	if (tool_open(&td, a.dev))
		return 1;
	/* SEL lives in CDW10 bits 10:8 (NVMe Base 2.0 §5.15, Figure 189); the driver's call takes
	 * the FID alone, so build the command for a non-zero SEL. */
	if (a.sel) {
		struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_GET_FEATURES,
					     .nsid = a.nsid,
					     .cdw10 = a.fid | a.sel << 8,
					     .cdw11 = a.cdw11 };

		rc = updk_nvme_admin_raw(td.ctrlr, &cmd, NULL, 0, tool_wait_cb, &w);
	} else {
		rc = updk_nvme_ctrlr_get_feature(td.ctrlr, (uint8_t)a.fid, a.cdw11, NULL, 0,
						 tool_wait_cb, &w);
	}
	if (tool_wait_admin(&td, &w, rc, "get-feature")) {
		tool_close(&td);
		return 1;
	}
	if (a.json) {
		struct out o;

		out_begin(&o, true, NULL);
		out_uint(&o, "feature_id", a.fid);
		out_str(&o, "name", feature_name(a.fid));
		out_uint(&o, "value", w.cpl.cdw0);
		out_end(&o);
	} else {
		printf("get-feature:%#04x (%s), %s value:%#010x\n", a.fid, feature_name(a.fid),
		       a.sel == 1 ? "Default" :
		       a.sel == 2 ? "Saved" :
				    "Current",
		       w.cpl.cdw0);
	}
	tool_close(&td);
	return 0;
}

int cmd_reset(int argc, char **argv)
{
	struct tool_args a;
	struct tool_dev td;
	int rc = tool_parse_args("reset", "", false, argc, argv, &a);

	if (rc)
		return simple_usage(rc, "Usage: updk-nvme reset DEVICE\n"
					"Reset the controller (CC.EN 0 then bring-up again).\n");
	if (tool_open(&td, a.dev))
		return 1;
	rc = updk_nvme_ctrlr_reset(td.ctrlr);
	if (rc)
		fprintf(stderr, "updk-nvme: %s: reset failed: %s\n", a.dev, strerror(-rc));
	tool_close(&td);
	return rc ? 1 : 0;
}
