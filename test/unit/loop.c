// SPDX-License-Identifier: BSD-3-Clause
/*
 * The hybrid loop (lib/loop) with fake queues: a counter a "device" thread bumps and an eventfd
 * it writes after, the way a model posts a completion and raises its vector. The loop polls
 * while there is work, sleeps after the idle spell, wakes on an interrupt, a deadline, a
 * timeout or a stop, does not sleep when an arm finds work, and sleeps through nothing over
 * many posts at random moments.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <updk/loop.h>
#include <updk/tsc.h>

/* A queue: work is what was posted and not yet consumed. */
struct fq {
	int fd;
	uint64_t posted; /* atomic: the device thread's */
	uint64_t consumed;
	uint64_t acks, arms, disarms;
	int fail_poll, fail_arm; /* a negative errno to return, 0: none */
};

static void fq_init(struct fq *q)
{
	*q = (struct fq){ .fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
	cr_assert_geq(q->fd, 0);
}

/* The device: make work visible, then raise the interrupt (as a model does). */
static void fq_post(struct fq *q, uint64_t n)
{
	uint64_t one = 1;

	__atomic_add_fetch(&q->posted, n, __ATOMIC_RELEASE);
	cr_assert_eq(write(q->fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

static int fq_poll(void *arg)
{
	struct fq *q = arg;
	uint64_t p = __atomic_load_n(&q->posted, __ATOMIC_ACQUIRE);
	int n = (int)(p - q->consumed);

	if (q->fail_poll)
		return q->fail_poll;
	/* Published: the device thread of the last test waits for it. */
	__atomic_store_n(&q->consumed, p, __ATOMIC_RELEASE);
	return n;
}

/* Consume the fd's count (the loop does it by itself when a queue has no ack). */
static int fq_ack(void *arg)
{
	struct fq *q = arg;
	uint64_t v;

	q->acks++;
	(void)!read(q->fd, &v, sizeof(v));
	return 0;
}

/* Look after the loop consumed the fd's count: the order that loses nothing. */
static int fq_arm(void *arg)
{
	struct fq *q = arg;

	if (q->fail_arm)
		return q->fail_arm;
	q->arms++;
	return __atomic_load_n(&q->posted, __ATOMIC_ACQUIRE) != q->consumed;
}

static void fq_disarm(void *arg)
{
	((struct fq *)arg)->disarms++;
}

static struct updk_loop_queue fq_queue(struct fq *q)
{
	return (struct updk_loop_queue){ .fd = q->fd,
					 .poll = fq_poll,
					 .ack = fq_ack,
					 .arm = fq_arm,
					 .disarm = fq_disarm,
					 .arg = q };
}

static struct updk_loop *loop_new(uint32_t idle_us, uint32_t max_sleep_ms)
{
	struct updk_loop_opts o = { .opts_size = sizeof(o),
				    .idle_us = idle_us,
				    .max_sleep_ms = max_sleep_ms };
	struct updk_loop *l;

	cr_assert_eq(updk_loop_create(&o, &l), 0);
	return l;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

TestSuite(loop, .timeout = 120);

Test(loop, polls_while_busy_and_sleeps_when_idle)
{
	struct updk_loop *l = loop_new(200, 20);
	struct updk_loop_stats st;
	struct fq q;
	struct updk_loop_queue lq;

	fq_init(&q);
	lq = fq_queue(&q);
	cr_assert_eq(updk_loop_add(l, &lq), 0);
	fq_post(&q, 3);
	cr_assert_eq(updk_loop_run_once(l), 3);
	updk_loop_stats(l, &st);
	cr_assert_eq(st.sleeps, 0);
	cr_assert_eq(q.arms, 0, "busy: nothing armed");

	/* Idle: polls without sleeping for the spell, then arms and sleeps out the timeout. */
	while (st.sleeps == 0) {
		cr_assert_eq(updk_loop_run_once(l), 0);
		updk_loop_stats(l, &st);
	}
	cr_assert_gt(st.passes, 2, "polled through the idle spell first");
	cr_assert_eq(st.timeouts, 1);
	cr_assert_eq(q.arms, 1);
	cr_assert_eq(q.disarms, 1, "disarmed after the sleep");
	cr_assert_geq(st.sleep_ns, 20000000ull, "slept the 20 ms");
	updk_loop_destroy(l);
	close(q.fd);
}

/* Wait, on another thread, until @l has gone to sleep more than @after times. */
static void wait_asleep(struct updk_loop *l, uint64_t after)
{
	struct updk_loop_stats st;

	do {
		usleep(100);
		updk_loop_stats(l, &st);
	} while (st.sleeps <= after);
}

/* Posts @n to @q once @l sleeps (its sleeps count past @after): the post is the interrupt that
 * ends that sleep, however the threads are scheduled. */
struct poster {
	struct fq *q;
	struct updk_loop *l;
	uint64_t after;
	uint64_t n;
};

static void *post_when_asleep(void *arg)
{
	struct poster *p = arg;

	wait_asleep(p->l, p->after);
	fq_post(p->q, p->n);
	return NULL;
}

Test(loop, interrupt_wakes_the_sleep)
{
	struct updk_loop *l = loop_new(UPDK_LOOP_IDLE_NONE, UPDK_LOOP_SLEEP_FOREVER);
	struct updk_loop_stats st;
	struct fq q;
	struct updk_loop_queue lq;
	struct poster p;
	pthread_t t;

	fq_init(&q);
	lq = fq_queue(&q);
	cr_assert_eq(updk_loop_add(l, &lq), 0);
	p = (struct poster){ .q = &q, .l = l, .n = 5 };
	cr_assert_eq(pthread_create(&t, NULL, post_when_asleep, &p), 0);
	cr_assert_eq(updk_loop_run_once(l), 0, "nothing yet: it sleeps until the interrupt");
	updk_loop_stats(l, &st);
	cr_assert_eq(st.sleeps, 1);
	cr_assert_eq(st.wakeups, 1, "ended by the interrupt, not a timeout (there is none)");
	cr_assert_eq(updk_loop_run_once(l), 5);
	pthread_join(t, NULL);
	updk_loop_destroy(l);
	close(q.fd);
}

/* A poll that, once, posts to another queue already polled this pass, with no interrupt. */
struct sneak {
	struct fq *target;
	bool done;
};

static int sneak_poll(void *arg)
{
	struct sneak *s = arg;

	if (!s->done) {
		s->done = true;
		__atomic_add_fetch(&s->target->posted, 1, __ATOMIC_RELEASE);
	}
	return 0;
}

static int sneak_arm(void *arg)
{
	return 0;
}

Test(loop, arm_with_work_waiting_returns_at_once)
{
	struct updk_loop *l = loop_new(UPDK_LOOP_IDLE_NONE, UPDK_LOOP_SLEEP_FOREVER);
	struct updk_loop_stats st;
	struct fq b;
	struct sneak s;
	struct updk_loop_queue qb, qs;

	fq_init(&b);
	s = (struct sneak){ .target = &b };
	qb = fq_queue(&b);
	qs = (struct updk_loop_queue){
		.fd = b.fd, .poll = sneak_poll, .arm = sneak_arm, .arg = &s
	};
	cr_assert_eq(updk_loop_add(l, &qb), 0);
	cr_assert_eq(updk_loop_add(l, &qs), 0);
	/* The pass finds nothing; b's arm finds the work: no sleep (a sleep would never end). */
	cr_assert_eq(updk_loop_run_once(l), 0);
	updk_loop_stats(l, &st);
	cr_assert_eq(st.sleeps, 0);
	cr_assert_eq(st.arm_found_work, 1);
	cr_assert_eq(b.disarms, 1, "the armed queue is disarmed again");
	cr_assert_eq(updk_loop_run_once(l), 1);
	updk_loop_destroy(l);
	close(b.fd);
}

Test(loop, deadline_ends_the_sleep)
{
	struct updk_loop *l = loop_new(UPDK_LOOP_IDLE_NONE, UPDK_LOOP_SLEEP_FOREVER);
	struct updk_loop_stats st;
	struct updk_loop_queue lq;
	struct fq q;
	uint64_t due;

	fq_init(&q);
	lq = fq_queue(&q);
	cr_assert_eq(updk_loop_add(l, &lq), 0);
	due = updk_tsc_hz() / 100; /* 10 ms (and the TSC measured before reading it) */
	due += updk_tsc();
	updk_loop_wake_at(l, due + updk_tsc_hz());
	updk_loop_wake_at(l, due); /* the earlier wins */
	cr_assert_eq(updk_loop_run_once(l), 0);
	cr_assert_geq(updk_tsc(), due, "slept until the deadline");
	updk_loop_stats(l, &st);
	cr_assert_eq(st.timeouts, 1);
	/* A deadline already past: no sleep at all. */
	updk_loop_wake_at(l, 1);
	cr_assert_eq(updk_loop_run_once(l), 0);
	updk_loop_stats(l, &st);
	cr_assert_eq(st.sleeps, 1);
	updk_loop_destroy(l);
	close(q.fd);
}

static void *stop_when_asleep(void *arg)
{
	wait_asleep(arg, 0);
	updk_loop_stop(arg);
	return NULL;
}

Test(loop, stop_from_another_thread)
{
	struct updk_loop *l = loop_new(0, UPDK_LOOP_SLEEP_FOREVER);
	struct updk_loop_stats st;
	struct updk_loop_queue lq;
	struct fq q;
	pthread_t t;

	fq_init(&q);
	lq = fq_queue(&q);
	cr_assert_eq(updk_loop_add(l, &lq), 0);
	cr_assert_eq(pthread_create(&t, NULL, stop_when_asleep, l), 0);
	cr_assert_eq(updk_loop_run(l), 0);
	pthread_join(t, NULL);
	updk_loop_stats(l, &st);
	cr_assert_eq(st.stops, 1);
	cr_assert_eq(q.arms, q.disarms, "every armed queue disarmed");
	updk_loop_destroy(l);
	close(q.fd);
}

/* Two queues on one vector (INTx, or a shared MSI vector): one fd in the set, both polled. */
Test(loop, queues_sharing_an_fd)
{
	struct updk_loop *l = loop_new(UPDK_LOOP_IDLE_NONE, UPDK_LOOP_SLEEP_FOREVER);
	struct updk_loop_queue qa, qb;
	struct fq a, b;
	struct poster p;
	pthread_t t;

	fq_init(&a);
	fq_init(&b);
	close(b.fd);
	b.fd = a.fd;
	qa = fq_queue(&a);
	qb = fq_queue(&b);
	cr_assert_eq(updk_loop_add(l, &qa), 0);
	cr_assert_eq(updk_loop_add(l, &qb), 0);
	p = (struct poster){ .q = &b, .l = l, .n = 2 };
	cr_assert_eq(pthread_create(&t, NULL, post_when_asleep, &p), 0);
	cr_assert_eq(updk_loop_run_once(l), 0);
	cr_assert_eq(updk_loop_run_once(l), 2);
	pthread_join(t, NULL);
	/* Removing one keeps the fd for the other. */
	cr_assert_eq(updk_loop_remove(l, fq_poll, &a), 0);
	cr_assert_eq(updk_loop_remove(l, fq_poll, &a), -ENOENT);
	p = (struct poster){ .q = &b, .l = l, .after = 1, .n = 1 };
	cr_assert_eq(pthread_create(&t, NULL, post_when_asleep, &p), 0);
	cr_assert_eq(updk_loop_run_once(l), 0);
	cr_assert_eq(updk_loop_run_once(l), 1);
	pthread_join(t, NULL);
	updk_loop_destroy(l);
	close(a.fd);
}

/*
 * A vector shared by two queues: the device completes for the first just after the first was
 * looked at (here: from inside the second's arm). The loop consumed the shared fd once, before
 * any arm, so that interrupt keeps it readable and the sleep ends at once. (Had each arm
 * consumed the fd, the second would have swallowed it, and the sleep, with no timeout, would
 * never end.)
 */
struct late_poster {
	struct fq own; /* first: the queue's arg is &own */
	struct fq *other;
};

static int late_arm(void *arg)
{
	struct late_poster *lp = arg;

	if (!lp->own.arms++)
		fq_post(lp->other, 1);
	return __atomic_load_n(&lp->own.posted, __ATOMIC_ACQUIRE) != lp->own.consumed;
}

static int late_poll(void *arg)
{
	return fq_poll(&((struct late_poster *)arg)->own);
}

Test(loop, shared_fd_consumed_once_before_the_arms)
{
	struct updk_loop *l = loop_new(UPDK_LOOP_IDLE_NONE, UPDK_LOOP_SLEEP_FOREVER);
	struct updk_loop_stats st;
	struct updk_loop_queue qa, qb;
	struct late_poster b;
	struct fq a;

	fq_init(&a);
	b = (struct late_poster){ .other = &a };
	b.own.fd = a.fd;
	qa = fq_queue(&a);
	qb = (struct updk_loop_queue){
		.fd = a.fd, .poll = late_poll, .ack = fq_ack, .arm = late_arm, .arg = &b.own
	};
	/* a first: it is looked at first, and its ack is the one the loop calls for the fd */
	cr_assert_eq(updk_loop_add(l, &qa), 0);
	cr_assert_eq(updk_loop_add(l, &qb), 0);
	cr_assert_eq(updk_loop_run_once(l), 0);
	updk_loop_stats(l, &st);
	cr_assert_eq(a.acks + b.own.acks, 1, "one consumption for the two queues");
	cr_assert_eq(st.wakeups, 1, "woken by the interrupt posted after a's arm");
	cr_assert_eq(updk_loop_run_once(l), 1, "and a's completion is found");
	updk_loop_destroy(l);
	close(a.fd);
}

Test(loop, bad_queues_and_errors)
{
	struct updk_loop *l = loop_new(UPDK_LOOP_IDLE_NONE, 10);
	struct updk_loop_opts small = { .opts_size = 1 };
	struct updk_loop_queue lq;
	struct updk_loop *l2;
	struct fq q;

	fq_init(&q);
	lq = fq_queue(&q);
	lq.fd = -1;
	cr_assert_eq(updk_loop_add(l, &lq), -EINVAL, "no fd: it could never sleep");
	lq = fq_queue(&q);
	lq.arm = NULL;
	cr_assert_eq(updk_loop_add(l, &lq), -EINVAL);
	lq = fq_queue(&q);
	lq.fd = 1000000;
	cr_assert_eq(updk_loop_add(l, &lq), -EBADF);
	lq = fq_queue(&q);
	cr_assert_eq(updk_loop_add(l, &lq), 0);
	cr_assert_eq(updk_loop_add(l, &lq), -EEXIST);
	cr_assert_eq(updk_loop_create(&small, &l2), -EINVAL);

	q.fail_poll = -EIO;
	cr_assert_eq(updk_loop_run(l), -EIO, "a queue's error ends the run");
	q.fail_poll = 0;
	q.fail_arm = -ENODEV;
	cr_assert_eq(updk_loop_run_once(l), -ENODEV, "and an arm's");
	updk_loop_destroy(l);
	updk_loop_destroy(NULL);
	close(q.fd);
}

/*
 * No lost wake-up: a device thread posts one item at a time, each after the loop consumed the
 * last and a random pause (none a quarter of the time, up to 2 µs a quarter, up to 20 µs the
 * rest), so posts land before the poll, between the poll and the arm, inside the arm and during
 * the sleep. A sleep slept through would end only by the 10 s timeout: none may. The pause is
 * timed on the TSC, not counted in loop turns: a count of turns is shorter on a faster core
 * while the loop's system calls are not, and the loop then seldom reaches its sleep before the
 * post. 100,000 posts here (a second or two); make check-soak runs it with
 * UPDK_LOOP_POSTS=1000000.
 */
struct device {
	struct fq *q;
	uint64_t n;
	uint64_t rng;
};

static void *device_thread(void *arg)
{
	struct device *d = arg;
	uint64_t us = updk_tsc_hz() / 1000000 + 1; /* TSC ticks in a microsecond */

	for (uint64_t i = 0; i < d->n; i++) {
		uint64_t pause, t0;

		while (__atomic_load_n(&d->q->consumed, __ATOMIC_ACQUIRE) != i)
			;
		t0 = updk_tsc();
		d->rng ^= d->rng << 13;
		d->rng ^= d->rng >> 7;
		d->rng ^= d->rng << 17;
		switch (d->rng & 3) {
		case 0:
			pause = 0;
			break;
		case 1:
			pause = (d->rng >> 40) % (2 * us);
			break;
		default:
			pause = (d->rng >> 40) % (20 * us);
		}
		while (updk_tsc() - t0 < pause)
			;
		fq_post(d->q, 1);
	}
	return NULL;
}

Test(loop, no_lost_wakeup, .timeout = 600)
{
	struct updk_loop *l = loop_new(UPDK_LOOP_IDLE_NONE, 10000);
	const char *posts = getenv("UPDK_LOOP_POSTS");
	struct device d = { .n = posts ? strtoull(posts, NULL, 10) : 100000,
			    .rng = 0x9e3779b97f4a7c15ull };
	struct updk_loop_stats st;
	struct updk_loop_queue lq;
	struct fq q;
	pthread_t t;
	double t0 = now_s();

	fq_init(&q);
	d.q = &q;
	lq = fq_queue(&q);
	lq.ack = NULL; /* the loop's own read of the eventfd */
	cr_assert_eq(updk_loop_add(l, &lq), 0);
	cr_assert_eq(pthread_create(&t, NULL, device_thread, &d), 0);
	while (__atomic_load_n(&q.consumed, __ATOMIC_ACQUIRE) < d.n)
		cr_assert_geq(updk_loop_run_once(l), 0);
	pthread_join(t, NULL);
	updk_loop_stats(l, &st);
	cr_log_info("%llu posts in %.1f s: %llu arms, %llu sleeps (%llu woken by the interrupt), "
		    "%llu arms found work, %llu wake-ups found none",
		    (unsigned long long)d.n, now_s() - t0, (unsigned long long)q.arms,
		    (unsigned long long)st.sleeps, (unsigned long long)st.wakeups,
		    (unsigned long long)st.arm_found_work, (unsigned long long)st.idle_wakeups);
	cr_assert_eq(st.timeouts, 0, "a wake-up was lost: a sleep ran into its 10 s timeout");
	cr_assert_eq(q.consumed, d.n);
	cr_assert_eq(st.wakeups + st.arm_found_work + st.timeouts + st.stops, q.arms,
		     "every arm ended in a sleep or found work");
	cr_assert_gt(st.wakeups, d.n / 10, "the test did sleep: %llu times",
		     (unsigned long long)st.wakeups);
	updk_loop_destroy(l);
	close(q.fd);
}
