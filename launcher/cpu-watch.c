/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cpu-watch.h"
#include "fd-util.h"
#include "macros.h"
#include "parse-util.h"

/* A sandbox larger than this is counted in part (its processes limit is far below). */
#define MAX_WALK 65536

struct cpu_watch {
	struct cpu_watch_attach a;
	int timer_fd;
	struct event_source *source;
	bool exceeded;
};

/* ppid and utime + stime + cutime + cstime (clock ticks) of /proc/PID/stat. */
static int read_stat(pid_t pid, pid_t *ret_ppid, uint64_t *ret_ticks)
{
	char path[64], buf[1024];
	_cleanup_close_ int fd = -1;
	unsigned long long t[4];
	const char *p;
	ssize_t n;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = read_full(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return n < 0 ? (int)n : -ESRCH;
	buf[n] = 0;
	/* The command name may hold anything, ")" included: the fields follow the last ")". */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	/* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime ... */
	if (sscanf(p + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &ppid,
		   &t[0], &t[1], &t[2], &t[3]) != 5)
		return -EINVAL;
	*ret_ppid = ppid;
	*ret_ticks = t[0] + t[1] + t[2] + t[3];
	return 0;
}

struct walk {
	pid_t *pid, *parent;
	size_t n, cap;
};

static int push(struct walk *w, pid_t pid, pid_t parent)
{
	if (w->n >= MAX_WALK)
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		pid_t *a = reallocarray(w->pid, cap, sizeof(*a));

		if (!a)
			return -ENOMEM;
		w->pid = a;
		a = reallocarray(w->parent, cap, sizeof(*a));
		if (!a)
			return -ENOMEM;
		w->parent = a;
		w->cap = cap;
	}
	w->pid[w->n] = pid;
	w->parent[w->n] = parent;
	w->n++;
	return 0;
}

/* The children of every thread of pid (each thread has its own list). */
static int push_children(struct walk *w, pid_t pid)
{
	char path[64], buf[4096];
	DIR *d;
	struct dirent *de;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0; /* gone meanwhile */
	while (r >= 0 && (de = readdir(d))) {
		_cleanup_close_ int fd = -1;
		ssize_t n;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/children", (int)pid, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			continue;
		n = read_full(fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			continue;
		buf[n] = 0;
		for (char *p = buf, *end; *p && r >= 0; p = end) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			if (v > 0)
				r = push(w, (pid_t)v, pid);
		}
	}
	closedir(d);
	return r;
}

int cpu_tree_usec(pid_t root, uint64_t *ret)
{
	struct walk w = { 0 };
	uint64_t ticks = 0;
	long hz = sysconf(_SC_CLK_TCK);
	int r;

	r = push(&w, root, 0);
	while (r >= 0 && w.n > 0) {
		pid_t pid = w.pid[w.n - 1], parent = w.parent[w.n - 1], ppid;
		uint64_t t;

		w.n--;
		/* Read before its children; a recycled pid is someone else's: skip it. */
		if (read_stat(pid, &ppid, &t) < 0) {
			if (pid == root)
				r = -ESRCH;
			continue;
		}
		if (parent && ppid != parent)
			continue;
		ticks += t;
		r = push_children(&w, pid);
	}
	free(w.pid);
	free(w.parent);
	if (r < 0)
		return r;
	*ret = ticks * USEC_PER_SEC / (uint64_t)(hz > 0 ? hz : 100);
	return 0;
}

static int on_tick(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct cpu_watch *w = userdata;
	uint64_t expirations, used = 0;
	char limit[32], got[32], action[96];
	int r;

	if (read(w->timer_fd, &expirations, sizeof(expirations)) < 0 || w->exceeded)
		return 0;
	if (w->a.cgroup)
		r = cgroup_run_cpu_usec(w->a.cgroup, &used);
	else
		r = cpu_tree_usec(w->a.init_pid, &used);
	if (r < 0 || used < w->a.limit_usec)
		return 0;
	w->exceeded = true;
	snprintf(action, sizeof(action), "the whole sandbox used %s of CPU and was killed",
		 format_duration(got, sizeof(got), used - used % 1000));
	event_sink_limit(w->a.sink, RUN_LIMIT_CPU,
			 format_duration(limit, sizeof(limit), w->a.limit_usec), action);
	fprintf(stderr, "skillbox: cpu: the sandbox used %s of CPU, more than %s, and was killed\n",
		got, limit);
	w->a.stop(w->a.userdata);
	return 0;
}

int cpu_watch_new(const struct cpu_watch_attach *a, struct cpu_watch **ret)
{
	struct cpu_watch *w = calloc(1, sizeof(*w));
	struct itimerspec its;
	int k;

	if (!w)
		return -ENOMEM;
	w->a = *a;
	w->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (w->timer_fd < 0) {
		k = -errno;
		cpu_watch_free(w);
		return k;
	}
	its.it_value.tv_sec = (time_t)(a->interval_usec / USEC_PER_SEC);
	its.it_value.tv_nsec = (long)(a->interval_usec % USEC_PER_SEC * NSEC_PER_USEC);
	its.it_interval = its.it_value;
	if (timerfd_settime(w->timer_fd, 0, &its, NULL) < 0) {
		k = -errno;
		cpu_watch_free(w);
		return k;
	}
	k = event_add_io(a->loop, &w->source, w->timer_fd, EPOLLIN, on_tick, w);
	if (k < 0) {
		cpu_watch_free(w);
		return k;
	}
	*ret = w;
	return 0;
}

bool cpu_watch_exceeded(const struct cpu_watch *w)
{
	return w && w->exceeded;
}

struct cpu_watch *cpu_watch_free(struct cpu_watch *w)
{
	if (!w)
		return NULL;
	w->source = event_source_free(w->source);
	safe_close(w->timer_fd);
	free(w);
	return NULL;
}
