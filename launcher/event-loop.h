/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The run's event loop (launcher/event-loop.c), modelled on systemd's sd-event.
 *
 * The supervisor owns one loop for the life of the sandbox. Whatever has a descriptor to
 * watch (the sandbox's control sockets, signals, the timeout, the output pipes, the seccomp
 * listener, the network log and the user-mode stack) registers it with event_add_io() as
 * (fd, events, callback, userdata) and is called back when it is ready; freeing the source
 * unregisters it. The loop knows nothing of what its sources are, and a handler never
 * learns of the others: what it has to report goes through the run's struct event_sink
 * (event-sink.h), which it is given when it is set up.
 *
 * Sources may be freed at any time, from any callback, including sources with an event
 * pending in the batch being dispatched: those are skipped. The descriptor belongs to the
 * caller, who frees the source before closing it.
 */

#include <stdint.h>
#include <sys/epoll.h>

struct event_loop;
struct event_source;

/*
 * Called when fd is ready; revents are epoll's (EPOLLIN, EPOLLHUP, ...). Returns 0, or a
 * negative errno to have the source disabled: it stays allocated, and is no longer watched.
 */
typedef int (*event_io_handler_t)(struct event_source *s, int fd, uint32_t revents, void *userdata);

int event_loop_new(struct event_loop **ret);
/** Frees the loop; sources still registered are detached, and their owners still free them. */
struct event_loop *event_loop_free(struct event_loop *l);

/**
 * Watches fd for events (EPOLLIN, ...) and calls cb(source, fd, revents, userdata). The source
 * is returned in *ret (when not NULL) for event_source_free(); 0 or -errno.
 */
int event_add_io(struct event_loop *l, struct event_source **ret, int fd, uint32_t events,
		 event_io_handler_t cb, void *userdata);
/**
 * Changes what the source waits for (EPOLLIN, EPOLLOUT, or 0 for errors and hang-ups only); a
 * source that a handler disabled is watched again. 0 or -errno.
 */
int event_source_set_events(struct event_source *s, uint32_t events);
/** Stops watching and frees the source; takes NULL, returns NULL. */
struct event_source *event_source_free(struct event_source *s);

/**
 * Waits and dispatches until event_loop_exit() is called; the batch being dispatched then is
 * finished first. Returns 0, or -errno when waiting failed.
 */
int event_loop_run(struct event_loop *l);
/** Makes event_loop_run() return once the current batch is dispatched. */
void event_loop_exit(struct event_loop *l);
