/* SPDX-License-Identifier: MIT */
/*
 * The run's event loop (event-loop.h): one epoll instance, and a source per watched
 * descriptor whose address is the epoll cookie.
 *
 * Freeing a source unregisters it at once, but a source may be freed while a batch returned
 * by epoll_wait() still holds its address (a handler closing both output pipes, the network
 * layer stopping its stack). So a source freed during dispatch is only marked dead and
 * queued; dispatch skips dead sources, and the queue is emptied after the batch.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "event-loop.h"
#include "macros.h"

/* epoll_wait() batch; the loop handles a handful of descriptors. */
#define EVENT_BATCH 16

struct event_source {
	struct event_loop *loop; /* NULL once detached from a freed loop */
	int fd;
	int watched_fd; /* the descriptor registered with epoll; fd is -1 while disabled */
	uint32_t events;
	event_io_handler_t callback;
	void *userdata;
	bool dead;
	struct event_source *prev, *next; /* the loop's live sources; the dead queue (next) */
};

struct event_loop {
	int epoll_fd;
	bool exit;
	bool dispatching;
	struct event_source *sources;
	struct event_source *dead;
};

int event_loop_new(struct event_loop **ret)
{
	struct event_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epoll_fd < 0) {
		int k = -errno;

		free(l);
		return k;
	}
	*ret = l;
	return 0;
}

static void unlink_source(struct event_source *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		s->loop->sources = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

static void free_dead(struct event_loop *l)
{
	while (l->dead) {
		struct event_source *s = l->dead;

		l->dead = s->next;
		free(s);
	}
}

struct event_loop *event_loop_free(struct event_loop *l)
{
	if (!l)
		return NULL;
	free_dead(l);
	while (l->sources) {
		struct event_source *s = l->sources;

		l->sources = s->next;
		s->loop = NULL;
		s->prev = s->next = NULL;
	}
	safe_close(l->epoll_fd);
	free(l);
	return NULL;
}

int event_add_io(struct event_loop *l, struct event_source **ret, int fd, uint32_t events,
		 event_io_handler_t cb, void *userdata)
{
	struct event_source *s = calloc(1, sizeof(*s));
	struct epoll_event ev = { .events = events };

	if (!s)
		return -ENOMEM;
	*s = (struct event_source){ .loop = l,
				    .fd = fd,
				    .watched_fd = fd,
				    .events = events,
				    .callback = cb,
				    .userdata = userdata };
	ev.data.ptr = s;
	if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int k = -errno;

		free(s);
		return k;
	}
	s->next = l->sources;
	if (s->next)
		s->next->prev = s;
	l->sources = s;
	if (ret)
		*ret = s;
	return 0;
}

/* Stops watching; the source stays allocated. */
static void disable(struct event_source *s)
{
	if (s->loop && !s->dead && s->fd >= 0)
		(void)epoll_ctl(s->loop->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
	s->fd = -1;
}

int event_source_set_events(struct event_source *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	if (!s || !s->loop || s->dead)
		return -EINVAL;
	if (s->fd >= 0 && s->events == events)
		return 0;
	if (epoll_ctl(s->loop->epoll_fd, s->fd >= 0 ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->watched_fd,
		      &ev) < 0)
		return -errno;
	s->fd = s->watched_fd;
	s->events = events;
	return 0;
}

struct event_source *event_source_free(struct event_source *s)
{
	struct event_loop *l;

	if (!s)
		return NULL;
	l = s->loop;
	if (!l) {
		free(s);
		return NULL;
	}
	disable(s);
	unlink_source(s);
	s->dead = true;
	if (l->dispatching) {
		s->next = l->dead;
		l->dead = s;
	} else {
		free(s);
	}
	return NULL;
}

int event_loop_run(struct event_loop *l)
{
	while (!l->exit) {
		struct epoll_event evs[EVENT_BATCH];
		int n = epoll_wait(l->epoll_fd, evs, ELEMENTSOF(evs), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		l->dispatching = true;
		for (int i = 0; i < n; i++) {
			struct event_source *s = evs[i].data.ptr;

			if (s->dead || s->fd < 0)
				continue;
			if (s->callback(s, s->fd, evs[i].events, s->userdata) < 0 && !s->dead)
				disable(s);
		}
		l->dispatching = false;
		free_dead(l);
	}
	return 0;
}

void event_loop_exit(struct event_loop *l)
{
	l->exit = true;
}
