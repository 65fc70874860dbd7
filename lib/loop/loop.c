// SPDX-License-Identifier: BSD-3-Clause
/*
 * The hybrid loop (include/updk/loop.h): poll while busy, arm and sleep in epoll when idle.
 *
 * Why nothing is slept through: before a sleep the loop consumes what every fd counted (once
 * per fd, so queues sharing a vector share one consumption), then each queue's arm enables
 * its interrupt and only then looks at the queue. An event before that look is found by it
 * (arm returns > 0 and the loop does not sleep); an event after the consumption raises the
 * interrupt, whose fd stays readable until the next consumption, so the epoll wait returns at
 * once. The fds are registered level-triggered for that reason. (Consumed per queue instead, a
 * second queue's consumption could swallow the interrupt of a first queue already looked at.)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <updk/loop.h>
#include <updk/mem.h>
#include <updk/tsc.h>

#define LOG_COMPONENT "loop"
#include "lib/util/log.h"

#define MAX_QUEUES 1024
#define DEFAULT_IDLE_US 50
#define DEFAULT_MAX_SLEEP_MS 1000
#define WAKE_TAG UINT64_MAX /* epoll data of the loop's own eventfd */

struct loop_queue {
	struct updk_loop_queue q;
	bool armed;
};

/* A distinct fd in the epoll set, shared by the queues of one vector. */
struct loop_fd {
	int fd;
	unsigned refs;
};

struct updk_loop {
	int epfd;
	int wakefd; /* updk_loop_stop() and updk_loop_wake() write it */
	uint64_t idle_ticks; /* idle spell before sleeping */
	uint32_t max_sleep_ms;
	struct loop_queue *qs;
	unsigned nq;
	struct loop_fd *fds;
	unsigned nfds;
	uint64_t idle_since; /* TSC of the last pass that found work, or of the last wake-up */
	uint64_t wake_at; /* TSC by which the next sleep ends; 0: none */
	bool after_wake; /* the next pass is the first after a sleep */
	bool stop;
	struct updk_loop_stats st;
};

int updk_loop_create(const struct updk_loop_opts *opts, struct updk_loop **out)
{
	struct updk_loop_opts o = { 0 };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_TAG };
	struct updk_loop *l;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (opts) {
		if (opts->opts_size < offsetof(struct updk_loop_opts, idle_us)) {
			log_err("updk_loop_create: opts_size %zu is too small: set it to "
				"sizeof(struct updk_loop_opts)",
				opts->opts_size);
			return -EINVAL;
		}
		memcpy(&o, opts, opts->opts_size < sizeof(o) ? opts->opts_size : sizeof(o));
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->qs = calloc(MAX_QUEUES, sizeof(*l->qs));
	l->fds = calloc(MAX_QUEUES, sizeof(*l->fds));
	if (!l->qs || !l->fds) {
		err = -ENOMEM;
		goto err_free;
	}
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		err = -errno;
		log_err("updk_loop_create: epoll_create1: %s", strerror(errno));
		goto err_free;
	}
	l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->wakefd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev)) {
		err = -errno;
		log_err("updk_loop_create: its wake-up eventfd: %s (ulimit -n?)", strerror(errno));
		goto err_close;
	}
	updk_tsc_hz(); /* measured once, here rather than in the first sleep */
	if (o.idle_us == UPDK_LOOP_IDLE_NONE)
		l->idle_ticks = 0;
	else
		l->idle_ticks = (uint64_t)(o.idle_us ? o.idle_us : DEFAULT_IDLE_US) *
				updk_tsc_hz() / 1000000;
	l->max_sleep_ms = o.max_sleep_ms ? o.max_sleep_ms : DEFAULT_MAX_SLEEP_MS;
	l->idle_since = updk_tsc();
	*out = l;
	return 0;

err_close:
	if (l->wakefd >= 0)
		close(l->wakefd);
	close(l->epfd);
err_free:
	free(l->qs);
	free(l->fds);
	free(l);
	return err;
}

void updk_loop_destroy(struct updk_loop *l)
{
	if (!l)
		return;
	close(l->wakefd);
	close(l->epfd);
	free(l->qs);
	free(l->fds);
	free(l);
}

static struct loop_fd *find_fd(struct updk_loop *l, int fd)
{
	for (unsigned i = 0; i < l->nfds; i++)
		if (l->fds[i].fd == fd)
			return &l->fds[i];
	return NULL;
}

static int find_queue(const struct updk_loop *l, int (*poll)(void *), const void *arg)
{
	for (unsigned i = 0; i < l->nq; i++)
		if (l->qs[i].q.poll == poll && l->qs[i].q.arg == arg)
			return (int)i;
	return -1;
}

int updk_loop_add(struct updk_loop *l, const struct updk_loop_queue *q)
{
	struct loop_fd *f;

	if (!l || !q || q->fd < 0 || !q->poll || !q->arm) {
		log_err("updk_loop_add: a queue needs an fd, a poll and an arm function (a queue "
			"without an interrupt cannot sleep: poll it yourself)");
		return -EINVAL;
	}
	if (find_queue(l, q->poll, q->arg) >= 0)
		return -EEXIST;
	if (l->nq == MAX_QUEUES) {
		log_err("updk_loop_add: the loop holds %d queues already", MAX_QUEUES);
		return -ENOSPC;
	}
	f = find_fd(l, q->fd);
	if (f) {
		f->refs++;
	} else {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)q->fd };

		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, q->fd, &ev)) {
			int err = -errno;

			log_err("updk_loop_add: fd %d cannot be waited on: %s", q->fd,
				strerror(-err));
			return err;
		}
		l->fds[l->nfds++] = (struct loop_fd){ .fd = q->fd, .refs = 1 };
	}
	l->qs[l->nq++] = (struct loop_queue){ .q = *q };
	return 0;
}

int updk_loop_remove(struct updk_loop *l, int (*poll)(void *arg), void *arg)
{
	int i = l ? find_queue(l, poll, arg) : -1;
	struct loop_fd *f;

	if (i < 0)
		return -ENOENT;
	f = find_fd(l, l->qs[i].q.fd);
	if (f && --f->refs == 0) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, f->fd, NULL);
		*f = l->fds[--l->nfds];
	}
	l->qs[i] = l->qs[--l->nq];
	return 0;
}

static void disarm_all(struct updk_loop *l)
{
	for (unsigned i = 0; i < l->nq; i++) {
		if (!l->qs[i].armed)
			continue;
		l->qs[i].armed = false;
		if (l->qs[i].q.disarm)
			l->qs[i].q.disarm(l->qs[i].q.arg);
	}
}

/* Consume every fd's count: the first queue's ack on it, or a read of the eventfd. */
static int ack_all(struct updk_loop *l)
{
	for (unsigned f = 0; f < l->nfds; f++) {
		for (unsigned i = 0; i < l->nq; i++) {
			const struct updk_loop_queue *q = &l->qs[i].q;
			uint64_t v;

			if (q->fd != l->fds[f].fd)
				continue;
			if (q->ack) {
				int r = q->ack(q->arg);

				if (r < 0)
					return r;
			} else if (read(q->fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
				return -errno;
			}
			break;
		}
	}
	return 0;
}

/* Arm every queue: 0 when all are armed and empty, > 0 when one has work, or -errno. */
static int arm_all(struct updk_loop *l)
{
	int r = ack_all(l);

	if (r < 0)
		return r;
	for (unsigned i = 0; i < l->nq; i++) {
		r = l->qs[i].q.arm(l->qs[i].q.arg);
		if (r < 0)
			return r;
		l->qs[i].armed = true;
		if (r > 0)
			return r;
	}
	return 0;
}

/* How long the sleep may last: -1 for no limit, 0 when a deadline has passed already. */
static int64_t sleep_ns(const struct updk_loop *l, uint64_t now)
{
	int64_t ns = l->max_sleep_ms == UPDK_LOOP_SLEEP_FOREVER ?
			     -1 :
			     (int64_t)l->max_sleep_ms * 1000000;

	if (l->wake_at) {
		int64_t left = l->wake_at > now ? (int64_t)updk_tsc_to_ns(l->wake_at - now) : 0;

		if (ns < 0 || left < ns)
			ns = left;
	}
	return ns;
}

static int wait_events(struct updk_loop *l, struct epoll_event *ev, int max, int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
	int n;

	n = epoll_pwait2(l->epfd, ev, max, ns < 0 ? NULL : &ts, NULL);
	if (n < 0 && errno == ENOSYS) /* kernels before 5.11: millisecond timeouts */
		n = epoll_wait(l->epfd, ev, max, ns < 0 ? -1 : (int)((ns + 999999) / 1000000));
	return n;
}

/* Arm every queue and sleep until an interrupt, the deadline or a wake-up. */
static int sleep_once(struct updk_loop *l, uint64_t now)
{
	struct epoll_event ev[16];
	int64_t ns = sleep_ns(l, now);
	bool woken = false, irq = false;
	uint64_t t0;
	int n, r;

	if (!ns) {
		l->wake_at = 0; /* the deadline is here: poll instead */
		return 0;
	}
	r = arm_all(l);
	if (r) {
		disarm_all(l);
		if (r > 0)
			l->st.arm_found_work++;
		return r < 0 ? r : 0;
	}
	t0 = updk_tsc();
	l->st.sleeps++;
	/* Asleep, the thread holds no translation: lib/mem's grace periods need not wait. */
	updk_mem_thread_offline();
	n = wait_events(l, ev, 16, ns);
	updk_mem_thread_online();
	if (n < 0 && errno != EINTR) {
		r = -errno;
		log_err("updk_loop: epoll wait: %s", strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 == WAKE_TAG) {
			uint64_t v;

			woken = true;
			if (read(l->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				r = -errno;
		} else {
			irq = true;
		}
	}
	l->st.sleep_ns += updk_tsc_to_ns(updk_tsc() - t0);
	if (irq)
		l->st.wakeups++;
	else if (woken || n < 0) /* EINTR: a signal, as a wake-up */
		l->st.stops++;
	else
		l->st.timeouts++;
	disarm_all(l);
	l->wake_at = 0;
	l->after_wake = true;
	l->idle_since = updk_tsc();
	return r;
}

int updk_loop_run_once(struct updk_loop *l)
{
	uint64_t now;
	int work = 0;

	for (unsigned i = 0; i < l->nq; i++) {
		int r = l->qs[i].q.poll(l->qs[i].q.arg);

		if (r < 0)
			return r;
		work += r;
	}
	l->st.passes++;
	now = updk_tsc();
	if (work) {
		l->st.busy_passes++;
		l->idle_since = now;
		l->after_wake = false;
		return work;
	}
	if (l->after_wake) {
		l->st.idle_wakeups++;
		l->after_wake = false;
	}
	if (__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE) || now - l->idle_since < l->idle_ticks)
		return 0;
	return sleep_once(l, now);
}

int updk_loop_run(struct updk_loop *l)
{
	int r = 0;

	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		r = updk_loop_run_once(l);
		if (r < 0)
			break;
	}
	__atomic_store_n(&l->stop, false, __ATOMIC_RELEASE);
	return r < 0 ? r : 0;
}

void updk_loop_wake(struct updk_loop *l)
{
	uint64_t one = 1;

	/* EAGAIN only when the count is near 2^64: readable then anyway. */
	if (write(l->wakefd, &one, sizeof(one)) < 0)
		return;
}

void updk_loop_stop(struct updk_loop *l)
{
	__atomic_store_n(&l->stop, true, __ATOMIC_RELEASE);
	updk_loop_wake(l);
}

void updk_loop_wake_at(struct updk_loop *l, uint64_t tsc)
{
	if (!l->wake_at || tsc < l->wake_at)
		l->wake_at = tsc ? tsc : 1;
}

void updk_loop_stats(const struct updk_loop *l, struct updk_loop_stats *st)
{
	*st = l->st;
}
