// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-perf --net's set-up and tear-down. The run is a list of tasks, each owning one side of a
 * port's queue 0: a generator (txonly) the transmit side, a checker (rxonly) the receive side,
 * a forwarder (fwd) the receive side of one port and the transmit side of its pair. Tasks go
 * round-robin to the poller threads, one per core of -c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <updk/mem.h>
#include <updk/tsc.h>

#include "apps/perf/net_run.h"

static struct net_task *add_task(struct net_run *run, enum net_role role, struct net_port *rx,
				 struct net_port *tx)
{
	struct net_task *t = &run->tasks[run->ntasks];

	memset(t, 0, sizeof(*t));
	t->role = role;
	t->index = run->ntasks++;
	t->rx = rx;
	t->tx = tx;
	return t;
}

/* Which tasks the mode makes of the ports. */
static void plan_tasks(struct net_run *run)
{
	const struct net_args *a = run->args;
	struct net_port *p = run->ports;

	if (a->sim_pair && a->mode != NET_FWD) {
		/* One run shows both ends: port 0 sends, port 1 receives and checks. */
		add_task(run, ROLE_GEN, NULL, &p[0]);
		add_task(run, ROLE_CHK, &p[1], NULL);
		return;
	}
	for (unsigned i = 0; i < run->nports; i++) {
		unsigned pair = (i ^ 1u) < run->nports ? i ^ 1u : i;

		if (a->mode == NET_TXONLY)
			add_task(run, ROLE_GEN, NULL, &p[i]);
		else if (a->mode == NET_RXONLY)
			add_task(run, ROLE_CHK, &p[i], NULL);
		else
			add_task(run, ROLE_FWD, &p[i], &p[pair]);
	}
}

static int make_pools(struct net_run *run)
{
	const struct net_args *a = run->args;
	unsigned ring = a->ring_size ? a->ring_size : 512;
	unsigned room = (a->frame_size + 63) & ~63u;

	for (unsigned i = 0; i < run->ntasks; i++) {
		struct net_task *t = &run->tasks[i];
		unsigned count;
		char name[32];

		if (t->role == ROLE_CHK || (t->role == ROLE_FWD && !a->prime))
			continue;
		/* A generator's ring, its pending burst and a per-thread cache, twice over. */
		count = t->role == ROLE_GEN ? 2 * (ring + a->burst + 256) : a->prime + 256;
		snprintf(name, sizeof(name), "%s%u", t->role == ROLE_GEN ? "gen" : "prime", i);
		t->pool = updk_pktpool_create(name, count, room, 0, 256, UPDK_NUMA_ANY);
		if (!t->pool) {
			fprintf(stderr, "updk-perf: no DMA memory for %u packet buffers: %s\n",
				count, strerror(errno));
			return -ENOMEM;
		}
	}
	return 0;
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void set_headers(struct net_run *run)
{
	const struct net_args *a = run->args;

	for (unsigned i = 0; i < run->ntasks; i++) {
		struct net_task *t = &run->tasks[i];
		struct net_port *dst;
		unsigned pi;

		if (!t->pool)
			continue;
		pi = (unsigned)(t->tx - run->ports);
		/* The frame goes to the port that receives what tx sends: its pair. */
		dst = (pi ^ 1u) < run->nports ? &run->ports[pi ^ 1u] : NULL;
		if (a->dst_mac_given)
			memcpy(t->hdr, a->dst_mac, 6);
		else if (dst && dst != t->tx)
			memcpy(t->hdr, dst->mac, 6);
		else
			memset(t->hdr, 0xff, 6);
		memcpy(t->hdr + 6, t->tx->mac, 6);
		put_be16(t->hdr + 12, NET_ETHERTYPE);
	}
}

static int open_ports(struct net_run *run)
{
	const struct net_args *a = run->args;

	for (unsigned i = 0; i < a->nports; i++) {
		struct net_port *p = &run->ports[i];
		struct updk_net_opts o;
		int rc;

		snprintf(p->addr, sizeof(p->addr), "%s", a->ports[i]);
		memset(&o, 0, sizeof(o));
		o.opts_size = sizeof(o);
		o.promiscuous = true;
		o.rx_ring_size = (uint16_t)a->ring_size;
		o.tx_ring_size = (uint16_t)a->ring_size;
		/* Receive interrupts on the ports that receive (plan_tasks()). */
		o.rx_interrupts = a->interrupt_mode && a->mode != NET_TXONLY &&
				  !(a->sim_pair && a->mode != NET_FWD && i == 0);
		rc = updk_net_open(p->addr, &o, &p->dev);
		if (rc) {
			fprintf(stderr, "updk-perf: cannot open port %s: %s%s\n", p->addr,
				strerror(-rc),
				o.rx_interrupts ? " (see the message above; without "
						  "--interrupt-mode it polls)" :
						  "");
			return rc;
		}
		run->nports++;
		updk_net_mac(p->dev, p->mac);
		if (updk_net_link(p->dev, &p->link) == 0 && !p->link.up)
			fprintf(stderr, "updk-perf: warning: port %s has no link\n", p->addr);
		updk_net_stats_reset(p->dev);
	}
	return 0;
}

/* --rate over the generators evenly: the TSC ticks between two frames of each. */
static void set_pace(struct net_run *run)
{
	unsigned gens = 0;

	for (unsigned i = 0; i < run->ntasks; i++)
		gens += run->tasks[i].role == ROLE_GEN;
	for (unsigned i = 0; i < run->ntasks; i++)
		if (run->tasks[i].role == ROLE_GEN && run->args->rate)
			run->tasks[i].period = run->tsc_hz * gens / run->args->rate;
}

int net_setup(struct net_run *run)
{
	int rc = open_ports(run);

	if (!rc) {
		plan_tasks(run);
		set_pace(run);
		rc = make_pools(run);
	}
	if (!rc)
		set_headers(run);
	return rc;
}

void net_teardown(struct net_run *run)
{
	for (unsigned i = 0; i < run->nworkers; i++) {
		updk_loop_destroy(run->workers[i].loop);
		run->workers[i].loop = NULL;
	}
	/* Ports first: generator buffers may still sit in their transmit rings. */
	for (unsigned i = 0; i < run->nports; i++)
		updk_net_close(run->ports[i].dev);
	run->nports = 0;
	for (unsigned i = 0; i < run->ntasks; i++) {
		updk_pktpool_free(run->tasks[i].pool);
		run->tasks[i].pool = NULL;
	}
}

int net_start_workers(struct net_run *run)
{
	const struct net_args *a = run->args;
	unsigned n = a->ncores < run->ntasks ? a->ncores : run->ntasks;
	int rc;

	run->nworkers = n;
	for (unsigned i = 0; i < n; i++) {
		run->workers[i].run = run;
		run->workers[i].poller.core = a->cores[i];
	}
	for (unsigned i = 0; i < run->ntasks; i++) {
		struct net_worker *w = &run->workers[i % n];

		run->tasks[i].w = w;
		w->tasks[w->ntasks++] = &run->tasks[i];
	}
	if (a->interrupt_mode)
		for (unsigned i = 0; i < n; i++) {
			rc = net_worker_loop_setup(&run->workers[i]);
			if (rc) {
				run->stop = 1; /* no poller started: the report says nothing ran */
				return rc;
			}
		}
	rc = perf_pollers_start(run->workers, sizeof(run->workers[0]), n, net_worker_main,
				&run->stop);
	run->start_tsc = updk_tsc();
	run->end_tsc = run->start_tsc + (uint64_t)a->time_s * run->tsc_hz;
	__atomic_store_n(&run->go, 1, __ATOMIC_RELEASE);
	return rc;
}
