// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf: a poller thread. It owns its connections (non-blocking sockets in one epoll set),
 * their requests and buffers, and a qpair on every backing controller. Each turn of the loop:
 * which sockets are ready (epoll_wait, no wait while busy), the qpairs' completions, the held
 * requests, then every connection's input and output.
 *
 * With nothing to do for idle_us it sleeps in epoll_wait. In interrupt mode each qpair's
 * interrupt vector (an eventfd, <updk/nvme_intr.h>) is in the epoll set too, so the poller
 * sleeps even with commands in flight on the devices: it consumes what each vector counted,
 * arms every qpair (which looks at the completion queue once more: a completion posted before
 * the look is found, one after it makes the eventfd readable, so none is slept through), and
 * sleeps until a socket, the inbox or a vector wakes it. Without interrupts it sleeps only
 * with nothing in flight, until a socket or the inbox wakes it. A poller whose controller is
 * being reset wakes every millisecond (the reset needs the qpair polled, and the held requests
 * go again after it).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <updk/tsc.h>

#include "apps/nvmf/nvmf.h"

#define SMALL_BUFS 1024
#define LARGE_BUFS 128
#define MAX_EVENTS 64
/* The longest sleep of an armed poller: the keep-alive, connect and drain deadlines, held
 * requests' limit and the driver's command timeouts (aged on each arm) are checked this often. */
#define ARMED_SLEEP_MS 100

/* The epoll tag of the qpairs' vectors (a connection's events carry it, the inbox's NULL). A
 * vector's count is left alone while the poller is busy: the next arm consumes it. */
static char nvme_vector;

struct nvmf_poller *nvmf_pollers;
unsigned nvmf_npollers;

void nvmf_poller_hold(struct nvmf_poller *p, struct nvmf_req *r)
{
	r->next = NULL;
	*p->held_tail = r;
	p->held_tail = &r->next;
	r->conn->nheld++;
}

void nvmf_poller_unhold(struct nvmf_poller *p, struct nvmf_req *r)
{
	for (struct nvmf_req **pp = &p->held; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			if (p->held_tail == &r->next)
				p->held_tail = pp;
			r->conn->nheld--;
			return;
		}
}

/* Requests waiting for a buffer or for their qpair: try each once, in order. */
static void retry_held(struct nvmf_poller *p)
{
	struct nvmf_req *list = p->held;

	p->held = NULL;
	p->held_tail = &p->held;
	while (list) {
		struct nvmf_req *r = list;

		list = r->next;
		r->conn->nheld--;
		if (r->state == REQ_NEED_BUF) {
			if (nvmf_req_buf(r))
				nvmf_req_buf_ready(r);
			else
				nvmf_poller_hold(p, r);
		} else {
			nvmf_io_resubmit(r);
		}
	}
}

/* New connections from the main thread; true if there were any. */
static bool take_inbox(struct nvmf_poller *p)
{
	struct nvmf_conn *list;

	if (!atomic_load_explicit(&p->has_inbox, memory_order_acquire))
		return false;
	pthread_mutex_lock(&p->inbox_lock);
	list = p->inbox;
	p->inbox = NULL;
	atomic_store(&p->has_inbox, false);
	pthread_mutex_unlock(&p->inbox_lock);
	while (list) {
		struct nvmf_conn *c = list;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

		list = c->next;
		c->next = p->conns;
		p->conns = c;
		p->nconns++;
		c->readable = true;
		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, c->fd, &ev))
			nvmf_conn_close(c, "epoll_ctl failed");
	}
	return true;
}

void nvmf_poller_give(struct nvmf_poller *p, int fd)
{
	struct nvmf_conn *c = nvmf_conn_new(fd, p);
	uint64_t one = 1;

	if (!c) {
		nvmf_log(UPDK_LOG_ERROR, "out of memory for a new connection: refused");
		close(fd);
		return;
	}
	pthread_mutex_lock(&p->inbox_lock);
	c->next = p->inbox;
	p->inbox = c;
	atomic_store_explicit(&p->has_inbox, true, memory_order_release);
	pthread_mutex_unlock(&p->inbox_lock);
	if (write(p->evfd, &one, sizeof(one)) < 0)
		nvmf_log(UPDK_LOG_DEBUG, "poller %u: wake-up write: %s", p->id, strerror(errno));
}

/* Wait for the fds (@timeout_ms 0: only look); count what ended a sleep. The events seen. */
static int handle_events(struct nvmf_poller *p, int timeout_ms)
{
	struct epoll_event ev[MAX_EVENTS];
	bool nvme = false, sock = false, inbox = false;
	int n;

	if (timeout_ms)
		updk_mem_thread_offline();
	n = epoll_wait(p->epfd, ev, MAX_EVENTS, timeout_ms);
	if (timeout_ms)
		updk_mem_thread_online();
	for (int i = 0; i < n; i++) {
		struct nvmf_conn *c = ev[i].data.ptr;

		if (ev[i].data.ptr == &nvme_vector) {
			nvme = true;
			p->vector_seen = true;
			continue;
		}
		if (!c) { /* the inbox eventfd */
			uint64_t v;

			inbox = true;
			if (read(p->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				nvmf_log(UPDK_LOG_DEBUG, "poller %u: eventfd: %s", p->id,
					 strerror(errno));
			continue;
		}
		sock = true;
		if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			c->readable = true;
	}
	if (timeout_ms) {
		p->st.sleeps++;
		p->st.wake_nvme += nvme;
		p->st.wake_sock += sock;
		p->st.wake_inbox += inbox;
		p->st.wake_timer += n <= 0;
	}
	return n < 0 ? 0 : n;
}

/*
 * Work to do now: a connection with input, output the socket takes, or a held request
 * (interrupt mode: one held while its controller is being reset waits, *@resetting set).
 * Without interrupts a command in flight counts too: only polling finds its completion.
 * *@inflight: the commands in flight, when it returns false.
 */
static bool busy(const struct nvmf_poller *p, unsigned *inflight, bool *resetting)
{
	for (const struct nvmf_req *r = p->held; r; r = r->next) {
		if (!p->intr || r->state != REQ_HELD ||
		    atomic_load_explicit(&r->ns->dev->state, memory_order_relaxed) == NVMF_DEV_OK)
			return true;
		*resetting = true;
	}
	for (const struct nvmf_conn *c = p->conns; c; c = c->next) {
		if ((c->inflight && !p->intr) || (c->txq.head && !c->want_out) || c->readable ||
		    c->rx.head != c->rx.tail)
			return true;
		*inflight += c->inflight;
	}
	return false;
}

/*
 * A poller without interrupts and with nothing in flight: no completion can come, so it sleeps
 * until a socket or the inbox wakes it, or ARMED_SLEEP_MS for the deadlines. A controller being
 * reset needs every qpair's owner to poll (drivers/nvme/reset.c): then 1 ms.
 */
static int polled_sleep_ms(void)
{
	for (unsigned i = 0; i < nvmf_tgt.ndevs; i++)
		if (atomic_load_explicit(&nvmf_tgt.devs[i].state, memory_order_relaxed) !=
			    NVMF_DEV_OK ||
		    updk_nvme_ctrlr_is_failed(nvmf_tgt.devs[i].ctrlr))
			return 1;
	return ARMED_SLEEP_MS;
}

/*
 * How long to sleep, once idle_us has passed without work: 0 (busy, or an arm found a
 * completion), 1 ms (a controller being reset), else ARMED_SLEEP_MS with every qpair armed or,
 * without interrupts, nothing in flight. Consume each vector's count before any arm: an
 * interrupt after the consumption leaves its eventfd readable, and the arm's look finds what
 * came before. The counts are read only when epoll saw a vector readable since they were last
 * read: a count that came after that epoll_wait() ends the sleep at once, and is read before
 * the next one. In interrupt mode a turn that did work may be followed by a sleep at once
 * (--idle-us 0): what it left to do is in busy(), and what came meanwhile ends the sleep before
 * it starts, so the sleeping epoll_wait() stands for the look a busy turn would take with
 * another.
 */
static int sleep_ms(struct nvmf_poller *p, unsigned *inflight)
{
	bool resetting = false;

	if (busy(p, inflight, &resetting))
		return 0;
	if (!p->intr)
		return polled_sleep_ms();
	for (unsigned i = 0; p->vector_seen && i < nvmf_tgt.ndevs; i++)
		if (updk_nvme_qpair_intr_ack(p->qp[i]) < 0)
			resetting = true;
	p->vector_seen = false;
	for (unsigned i = 0; i < nvmf_tgt.ndevs; i++) {
		int rc = updk_nvme_qpair_intr_arm(p->qp[i]);

		if (rc > 0 && !updk_nvme_ctrlr_is_failed(nvmf_tgt.devs[i].ctrlr)) {
			p->st.arm_found++;
			return 0;
		}
		/* failed or being reset: arm says "poll"; the reset's steps need it every 1 ms */
		if (rc)
			resetting = true;
	}
	return resetting ? 1 : ARMED_SLEEP_MS;
}

static void *poller_main(void *arg)
{
	struct nvmf_poller *p = arg;
	uint64_t last_work = updk_tsc(), idle = (uint64_t)p->idle_us * p->tsc_hz / 1000000;
	bool stop_seen = false;

	if (p->core >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(p->core, &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
			nvmf_log(UPDK_LOG_WARN, "poller %u: cannot pin to core %d", p->id, p->core);
	}
	for (;;) {
		bool stopping = atomic_load_explicit(&p->stop, memory_order_relaxed);
		unsigned inflight = 0, done = 0;
		int slept = 0, events;

		p->now = updk_tsc();
		p->st.turns++;
		/* (not on the turn that sees the stop: its connections start draining first) */
		if (p->idle_us != NVMF_NEVER_IDLE && p->now - last_work >= idle &&
		    stopping == stop_seen)
			slept = sleep_ms(p, &inflight);
		stop_seen = stopping;
		p->st.sleeps_inflight += slept && inflight;
		events = handle_events(p, slept);
		/* again after a sleep, and after new connections: their creation time (the main
		 * thread's clock) must not be later than the poller's now */
		if (take_inbox(p) || slept)
			p->now = updk_tsc();
		p->work = 0;
		for (unsigned i = 0; i < nvmf_tgt.ndevs; i++) {
			int n = updk_nvme_qpair_process_completions(p->qp[i], 0);

			if (n > 0)
				done += (unsigned)n;
		}
		/* armed with commands in flight, the timer ended the sleep, and completions were
		 * there: their interrupts did not wake the poller */
		if (slept == ARMED_SLEEP_MS && !events && inflight)
			p->st.late += done;
		p->work += done;
		if (p->held)
			retry_held(p);
		for (struct nvmf_conn **pp = &p->conns; *pp;) {
			struct nvmf_conn *c = *pp;

			if (stopping)
				nvmf_conn_drain(c);
			if (nvmf_conn_poll(c)) {
				pp = &c->next;
				continue;
			}
			*pp = c->next;
			p->nconns--;
			nvmf_conn_free(c);
		}
		/* The SQ tail doorbell of what this turn submitted (NVMe Base 2.0 §3.3.1.1): now,
		 * not at the next turn's poll after its epoll_wait(), a system call later. */
		for (unsigned i = 0; i < nvmf_tgt.ndevs; i++)
			updk_nvme_qpair_flush(p->qp[i]);
		if (p->work)
			last_work = p->now;
		if (stopping && !p->conns && !p->has_inbox)
			break;
	}
	updk_mem_thread_offline();
	atomic_store(&p->exited, true);
	return NULL;
}

void nvmf_poller_init(struct nvmf_poller *p, unsigned id)
{
	p->id = id;
	p->epfd = p->evfd = -1;
	p->held_tail = &p->held;
	pthread_mutex_init(&p->inbox_lock, NULL);
}

int nvmf_poller_start(struct nvmf_poller *p, int core, uint32_t idle_us)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	unsigned id = p->id;
	char name[32];
	int rc;

	p->core = core;
	p->idle_us = idle_us;
	p->tsc_hz = updk_tsc_hz();
	snprintf(name, sizeof(name), "nvmf%u-small", id);
	p->small = updk_mempool_create(name, SMALL_BUFS, NVMF_SMALL_BUF, 0, UPDK_NUMA_ANY);
	snprintf(name, sizeof(name), "nvmf%u-large", id);
	p->large = updk_mempool_create(name, LARGE_BUFS, NVMF_MDTS_BYTES, 0, UPDK_NUMA_ANY);
	if (!p->small || !p->large) {
		fprintf(stderr,
			"updk-nvmf: no DMA memory for poller %u's buffers (%u MiB): "
			"scripts/setup.sh hugepages N\n",
			id, (SMALL_BUFS * NVMF_SMALL_BUF + LARGE_BUFS * NVMF_MDTS_BYTES) >> 20);
		return -ENOMEM;
	}
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->epfd < 0 || p->evfd < 0 || epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->evfd, &ev)) {
		fprintf(stderr, "updk-nvmf: poller %u: epoll/eventfd: %s\n", id, strerror(errno));
		return -errno;
	}
	p->intr = nvmf_tgt.ndevs > 0;
	for (unsigned i = 0; i < nvmf_tgt.ndevs; i++) {
		struct nvmf_dev *d = &nvmf_tgt.devs[i];
		struct updk_nvme_qpair_opts o = { .opts_size = sizeof(o),
						  .depth = d->qpair_depth,
						  .interrupts = d->intr };
		struct epoll_event vev = { .events = EPOLLIN, .data.ptr = &nvme_vector };

		rc = updk_nvme_qpair_alloc(d->ctrlr, &o, &p->qp[i]);
		if (rc) {
			fprintf(stderr, "updk-nvmf: %s: no I/O queue pair for poller %u: %s\n",
				d->addr, id, strerror(-rc));
			return rc;
		}
		p->intr &= d->intr;
		if (!d->intr)
			continue;
		rc = updk_nvme_qpair_intr_fd(p->qp[i]);
		if (rc < 0 || epoll_ctl(p->epfd, EPOLL_CTL_ADD, rc, &vev)) {
			rc = rc < 0 ? rc : -errno;
			fprintf(stderr,
				"updk-nvmf: %s: poller %u cannot wait for its interrupts: %s\n",
				d->addr, id, strerror(-rc));
			return rc;
		}
	}
	rc = pthread_create(&p->thread, NULL, poller_main, p);
	if (rc) {
		fprintf(stderr, "updk-nvmf: poller %u: pthread_create: %s\n", id, strerror(rc));
		return -rc;
	}
	snprintf(name, sizeof(name), "nvmf-poller%u", id); /* for top -H, perf and gdb */
	pthread_setname_np(p->thread, name);
	p->started = true;
	return 0;
}

void nvmf_poller_stop(struct nvmf_poller *p)
{
	uint64_t one = 1;

	atomic_store(&p->stop, true);
	if (p->evfd >= 0 && write(p->evfd, &one, sizeof(one)) < 0)
		nvmf_log(UPDK_LOG_DEBUG, "poller %u: wake-up write: %s", p->id, strerror(errno));
}

/* What the poller did: how often it slept, and what woke it. */
static void report(const struct nvmf_poller *p)
{
	const struct nvmf_poller_stats *s = &p->st;
	const char *mode = p->intr ? "interrupts" : "polling";
	double dev_us = s->ios ? (double)s->io_tsc * 1e6 / (double)p->tsc_hz / (double)s->ios : 0;

	if (p->idle_us == NVMF_NEVER_IDLE)
		mode = "busy polling";
	printf("updk-nvmf: poller %u (%s): %llu turns, %llu sleeps (%llu with commands in flight); "
	       "woken by NVMe %llu, sockets %llu, inbox %llu, timer %llu; %llu arms found a "
	       "completion; %llu completions found late; %llu I/O commands, %.1f us on the "
	       "controller each\n",
	       p->id, mode, (unsigned long long)s->turns, (unsigned long long)s->sleeps,
	       (unsigned long long)s->sleeps_inflight, (unsigned long long)s->wake_nvme,
	       (unsigned long long)s->wake_sock, (unsigned long long)s->wake_inbox,
	       (unsigned long long)s->wake_timer, (unsigned long long)s->arm_found,
	       (unsigned long long)s->late, (unsigned long long)s->ios, dev_us);
	fflush(stdout);
}

void nvmf_poller_join(struct nvmf_poller *p)
{
	if (p->started) {
		pthread_join(p->thread, NULL);
		report(p);
	}
	p->started = false;
	for (unsigned i = 0; i < nvmf_tgt.ndevs; i++) {
		updk_nvme_qpair_free(p->qp[i]);
		p->qp[i] = NULL;
	}
	updk_mempool_free(p->small);
	updk_mempool_free(p->large);
	p->small = p->large = NULL;
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->evfd >= 0)
		close(p->evfd);
	p->epfd = p->evfd = -1;
	pthread_mutex_destroy(&p->inbox_lock);
}
