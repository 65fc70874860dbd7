// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-perf --net's report: per task and in total, the packets, the rates over the timed
 * interval and the sequence checks, each port's device counters and the pollers' TSC cycles
 * per packet; as text, or as one JSON object with --json.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "apps/perf/json.h"
#include "apps/perf/net_run.h"

static void fmt_mac(const uint8_t m[6], char *buf)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static const char *role_name(enum net_role r)
{
	return r == ROLE_GEN ? "txonly" : r == ROLE_CHK ? "rxonly" : "fwd";
}

static double per_s(uint64_t n, double s)
{
	return s > 0 ? (double)n / s : 0.0;
}

void net_totals(const struct net_run *run, struct net_totals *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < run->ntasks; i++) {
		const struct net_task *t = &run->tasks[i];

		s->n[t->role] += t->packets;
		s->m_n[t->role] += t->m_packets;
		s->m_bytes[t->role] += t->m_bytes;
		s->primed += t->primed;
		s->queue_full += t->queue_full;
		s->dropped += t->dropped;
		s->lost += t->lost;
		s->late += t->late;
		s->malformed += t->malformed;
		s->foreign += t->foreign;
		s->gaps += t->gaps;
		s->m_packets += t->m_packets;
	}
	for (unsigned i = 0; i < run->nworkers; i++) {
		double sec = (double)run->workers[i].cycles / (double)run->tsc_hz;

		s->cycles += run->workers[i].cycles;
		s->busy_cycles += run->workers[i].busy_cycles;
		if (sec > s->seconds)
			s->seconds = sec;
	}
}

static double task_seconds(const struct net_run *run, const struct net_task *t)
{
	return (double)t->w->cycles / (double)run->tsc_hz;
}

void net_report_text(FILE *out, const struct net_run *run, bool interrupted)
{
	const struct net_args *a = run->args;
	struct net_totals s;
	char mac[24];

	net_totals(run, &s);
	fprintf(out, "updk-perf --net %s: %u-byte frames, burst %u, %u poller%s%s\n",
		perf_net_mode_name(a->mode), a->frame_size, a->burst, run->nworkers,
		run->nworkers > 1 ? "s" : "", interrupted ? ", interrupted" : "");
	for (unsigned i = 0; i < run->nports; i++) {
		const struct net_port *p = &run->ports[i];

		fmt_mac(p->mac, mac);
		fprintf(out, "Port %u: %s (%s, %s, link %s %u Mb/s)\n", i, p->addr,
			updk_net_driver_name(p->dev), mac, p->link.up ? "up" : "down",
			p->link.speed_mbps);
	}
	fprintf(out, "\n%-36s %14s %10s %10s\n", "Task", "Packets", "Mpps", "Gbit/s");
	for (unsigned i = 0; i < run->ntasks; i++) {
		const struct net_task *t = &run->tasks[i];
		char name[64];
		double sec = task_seconds(run, t);

		if (t->role == ROLE_FWD)
			snprintf(name, sizeof(name), "fwd port %u to port %u, core %u",
				 (unsigned)(t->rx - run->ports), (unsigned)(t->tx - run->ports),
				 t->w->poller.core);
		else
			snprintf(name, sizeof(name), "%s port %u, core %u", role_name(t->role),
				 (unsigned)((t->rx ? t->rx : t->tx) - run->ports),
				 t->w->poller.core);
		fprintf(out, "%-36s %14" PRIu64 " %10.3f %10.3f\n", name, t->packets,
			per_s(t->m_packets, sec) / 1e6, per_s(t->m_bytes, sec) * 8 / 1e9);
	}
	for (int r = ROLE_GEN; r <= ROLE_FWD; r++)
		if (s.n[r])
			fprintf(out, "%-36s %14" PRIu64 " %10.3f %10.3f\n",
				r == ROLE_GEN ? "Total sent" :
				r == ROLE_CHK ? "Total received" :
						"Total forwarded",
				s.n[r], per_s(s.m_n[r], s.seconds) / 1e6,
				per_s(s.m_bytes[r], s.seconds) * 8 / 1e9);
	if (s.n[ROLE_CHK])
		fprintf(out,
			"Sequence: %" PRIu64 " lost in %" PRIu64 " gaps, %" PRIu64
			" late (reordered or duplicated), %" PRIu64 " malformed, %" PRIu64
			" foreign frames\n",
			s.lost, s.gaps, s.late, s.malformed, s.foreign);
	if (s.queue_full)
		fprintf(out, "Transmit queue full: %" PRIu64 " bursts not taken whole (retried)\n",
			s.queue_full);
	if (s.dropped)
		fprintf(out, "Transmit queue full: %" PRIu64 " forwarded packets dropped\n",
			s.dropped);
	for (unsigned i = 0; i < run->nports; i++) {
		const struct updk_net_stats *st = &run->ports[i].st;

		fprintf(out,
			"Port %u counters: tx %" PRIu64 ", rx %" PRIu64 ", rx dropped %" PRIu64
			", rx errors %" PRIu64 ", tx errors %" PRIu64 "\n",
			i, st->tx_packets, st->rx_packets, st->rx_dropped, st->rx_errors,
			st->tx_errors);
	}
	fprintf(out, "Pollers together: %.1f TSC cycles per packet (%.1f busy)\n",
		s.m_packets ? (double)s.cycles / (double)s.m_packets : 0.0,
		s.m_packets ? (double)s.busy_cycles / (double)s.m_packets : 0.0);
	for (unsigned i = 0; i < run->nworkers; i++) {
		const struct net_worker *w = &run->workers[i];
		double sec = (double)w->cycles / (double)run->tsc_hz;
		uint64_t pk = 0;

		for (unsigned k = 0; k < w->ntasks; k++)
			pk += w->tasks[k]->m_packets;
		fprintf(out,
			"Poller core %u: CPU %.3f s in %.3f s (%.1f%% of a core), %.2f us per packet",
			w->poller.core, (double)w->cpu_ns * 1e-9, sec,
			sec > 0 ? (double)w->cpu_ns * 1e-7 / sec : 0.0,
			pk ? (double)w->cpu_ns * 1e-3 / (double)pk : 0.0);
		if (a->interrupt_mode)
			fprintf(out, "; %" PRIu64 " sleeps, %" PRIu64 " woken by an interrupt",
				w->sleeps, w->wakeups);
		fputc('\n', out);
	}
	if (run->drain_timeout)
		fprintf(out, "Note: traffic was still arriving %u ms after the end\n",
			NET_DRAIN_MS);
}

void net_report_json(FILE *out, const struct net_run *run, bool interrupted)
{
	const struct net_args *a = run->args;
	struct net_totals s;
	char mac[24];

	net_totals(run, &s);
	fprintf(out,
		"{\n  \"tool\": \"updk-perf\",\n  \"config\": {\"net\": \"%s\", \"frame_size\": %u, "
		"\"burst\": %u, \"time_s\": %u, \"ring_size\": %u, \"prime\": %u, \"cores\": [",
		perf_net_mode_name(a->mode), a->frame_size, a->burst, a->time_s, a->ring_size,
		a->mode == NET_FWD ? a->prime : 0);
	for (unsigned i = 0; i < run->nworkers; i++)
		fprintf(out, "%s%u", i ? ", " : "", run->workers[i].poller.core);
	fprintf(out,
		"]},\n  \"tsc_hz\": %" PRIu64
		",\n  \"interrupted\": %s,\n  \"drain_timeout\": %s,\n"
		"  \"ports\": [",
		run->tsc_hz, interrupted ? "true" : "false", run->drain_timeout ? "true" : "false");
	for (unsigned i = 0; i < run->nports; i++) {
		const struct net_port *p = &run->ports[i];
		const struct updk_net_stats *st = &p->st;

		fmt_mac(p->mac, mac);
		fprintf(out, "%s\n    {\"index\": %u, \"address\": ", i ? "," : "", i);
		perf_json_str(out, p->addr);
		fprintf(out,
			", \"driver\": \"%s\", \"mac\": \"%s\", \"link_up\": %s, \"speed_mbps\": %u, \"tx_packets\": %" PRIu64
			", \"tx_bytes\": %" PRIu64 ", \"tx_errors\": %" PRIu64
			", \"rx_packets\": %" PRIu64 ", \"rx_bytes\": %" PRIu64
			", \"rx_dropped\": %" PRIu64 ", \"rx_errors\": %" PRIu64
			", \"rx_nobuf\": %" PRIu64 "}",
			updk_net_driver_name(p->dev), mac, p->link.up ? "true" : "false",
			p->link.speed_mbps, st->tx_packets, st->tx_bytes, st->tx_errors,
			st->rx_packets, st->rx_bytes, st->rx_dropped, st->rx_errors, st->rx_nobuf);
	}
	fputs("\n  ],\n  \"tasks\": [", out);
	for (unsigned i = 0; i < run->ntasks; i++) {
		const struct net_task *t = &run->tasks[i];
		double sec = task_seconds(run, t);

		fprintf(out,
			"%s\n    {\"task\": %u, \"role\": \"%s\", \"rx_port\": %d, \"tx_port\": %d, "
			"\"core\": %u, \"packets\": %" PRIu64 ", \"timed_packets\": %" PRIu64
			", \"seconds\": %.6f, \"mpps\": %.6f, \"gbit_per_s\": %.6f, \"queue_full\": %" PRIu64
			", \"dropped\": %" PRIu64 ", \"primed\": %u, \"lost\": %" PRIu64
			", \"gaps\": %" PRIu64 ", \"late\": %" PRIu64 ", \"malformed\": %" PRIu64
			", \"foreign\": %" PRIu64 "}",
			i ? "," : "", i, role_name(t->role), t->rx ? (int)(t->rx - run->ports) : -1,
			t->tx ? (int)(t->tx - run->ports) : -1, t->w->poller.core, t->packets,
			t->m_packets, sec, per_s(t->m_packets, sec) / 1e6,
			per_s(t->m_bytes, sec) * 8 / 1e9, t->queue_full, t->dropped, t->primed,
			t->lost, t->gaps, t->late, t->malformed, t->foreign);
	}
	fputs("\n  ],\n  \"pollers\": [", out);
	for (unsigned i = 0; i < run->nworkers; i++) {
		const struct net_worker *w = &run->workers[i];
		uint64_t pk = 0;

		for (unsigned k = 0; k < w->ntasks; k++)
			pk += w->tasks[k]->m_packets;
		fprintf(out,
			"%s{\"core\": %u, \"cycles\": %" PRIu64 ", \"busy_cycles\": %" PRIu64
			", \"packets\": %" PRIu64
			", \"cycles_per_packet\": %.2f, \"busy_cycles_per_packet\": %.2f"
			", \"cpu_seconds\": %.6f, \"cpu_us_per_packet\": %.3f"
			", \"sleeps\": %" PRIu64 ", \"wakeups\": %" PRIu64 "}",
			i ? ", " : "", w->poller.core, w->cycles, w->busy_cycles, pk,
			pk ? (double)w->cycles / (double)pk : 0.0,
			pk ? (double)w->busy_cycles / (double)pk : 0.0, (double)w->cpu_ns * 1e-9,
			pk ? (double)w->cpu_ns * 1e-3 / (double)pk : 0.0, w->sleeps, w->wakeups);
	}
	fprintf(out,
		"],\n  \"total\": {\"seconds\": %.6f, \"tx_packets\": %" PRIu64
		", \"rx_packets\": %" PRIu64 ", \"fwd_packets\": %" PRIu64 ", \"primed\": %" PRIu64
		", \"queue_full\": %" PRIu64 ", \"dropped\": %" PRIu64 ", \"lost\": %" PRIu64
		", \"gaps\": %" PRIu64 ", \"late\": %" PRIu64 ", \"malformed\": %" PRIu64
		", \"foreign\": %" PRIu64 ", \"sequence_errors\": %" PRIu64
		", \"tx_mpps\": %.6f, \"rx_mpps\": %.6f"
		", \"fwd_mpps\": %.6f, \"tx_gbit_per_s\": %.6f, \"rx_gbit_per_s\": %.6f"
		", \"fwd_gbit_per_s\": %.6f, \"cycles_per_packet\": %.2f"
		", \"busy_cycles_per_packet\": %.2f}\n}\n",
		s.seconds, s.n[ROLE_GEN], s.n[ROLE_CHK], s.n[ROLE_FWD], s.primed, s.queue_full,
		s.dropped, s.lost, s.gaps, s.late, s.malformed, s.foreign, s.late + s.malformed,
		per_s(s.m_n[ROLE_GEN], s.seconds) / 1e6, per_s(s.m_n[ROLE_CHK], s.seconds) / 1e6,
		per_s(s.m_n[ROLE_FWD], s.seconds) / 1e6,
		per_s(s.m_bytes[ROLE_GEN], s.seconds) * 8 / 1e9,
		per_s(s.m_bytes[ROLE_CHK], s.seconds) * 8 / 1e9,
		per_s(s.m_bytes[ROLE_FWD], s.seconds) * 8 / 1e9,
		s.m_packets ? (double)s.cycles / (double)s.m_packets : 0.0,
		s.m_packets ? (double)s.busy_cycles / (double)s.m_packets : 0.0);
}
