/*
 * The event ring: lifecycle, device and job events in a fixed-size, sequence-numbered ring.
 * Clients long-poll event.next(since, timeout_ms) and get every event with id > since; a
 * client that fell more than the ring's capacity behind gets EVENTS_LOST and resynchronises
 * with event.current_id and a fresh domain.list.
 *
 * Each event is an XML-RPC struct: {id (i8), time (double, epoch seconds), class ("domain"),
 * type ("lifecycle" | "device" | "job" | "config"), event (e.g. "started"), detail (e.g.
 * "booted"), domain (name), uuid, domid (int, -1 if not running), plus type-specific
 * members (device, progress...)}.
 *
 * Thread-safe; posting never blocks on readers.
 */
#ifndef XEND_API_EVENT_H
#define XEND_API_EVENT_H

#include "xmlrpc/value.h"

#include <stddef.h>
#include <stdint.h>

#define EVENT_RING_DEFAULT 4096
#define EVENT_NEXT_MAX 256 /* events returned by one event.next */

typedef struct event_ring event_ring;

event_ring *event_ring_new(size_t capacity);
void event_ring_free(event_ring *r); /* accepts NULL */

/* Post an event; takes ownership of ev (a STRUCT), sets its "id" and "time" members, and
 * wakes the listener. Returns the new id (ids start at 1 and never repeat in a process). */
uint64_t event_ring_post(event_ring *r, xmlrpc_value *ev);

/* The events with id > since, at most max, as a new ARRAY (caller frees), empty if none
 * yet. NULL with EVENTS_LOST reported if events after since were already overwritten, or
 * INVALID_ARG if since is ahead of the current id. */
xmlrpc_value *event_ring_since(event_ring *r, uint64_t since, size_t max);

/* The id of the newest event (0 before any). */
uint64_t event_ring_current_id(event_ring *r);

/* Register the one function called (outside the ring's lock) after each post. Used by the
 * server to resume parked event.next requests. */
void event_ring_set_listener(event_ring *r, void (*fn)(void *opaque), void *opaque);

#endif
