/* SPDX-License-Identifier: MIT */
#pragma once

#include "trace.h"

/**
 * Fills c->fails with a failure the call cannot escape, found in the calling task's view
 * just before it runs (its errno: ENOENT, ENOTDIR, EEXIST, EROFS, EACCES, EISDIR), or
 * leaves it 0 when the call may succeed or that cannot be told; for an open, also c->exists.
 * Nothing is predicted for a path resolved by text (c->unsure). Call it from
 * trace_collect(), before the notification is answered.
 */
void trace_predict(struct trace_call *c);
