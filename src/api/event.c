/*
 * The event ring (see event.h). A fixed array of slots indexed by (id - 1) % capacity under
 * one mutex: posting is O(1) and never waits for readers, because readers copy what they
 * need while holding the lock and do all their encoding afterwards on their own copies.
 * The event the ring overwrites is freed, and the listener run, after the lock is released,
 * so a listener may call back into the ring (event_ring_since, event_ring_current_id)
 * without deadlocking and a slow listener never stalls other posters' critical sections.
 */
#include "event.h"

#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct event_ring {
    pthread_mutex_t lock;
    xmlrpc_value **slots; /* slot (id - 1) % capacity holds event id, or NULL */
    size_t capacity;
    uint64_t last_id; /* newest id handed out; 0 before the first post */
    void (*listener)(void *opaque);
    void *listener_opaque;
};

event_ring *event_ring_new(size_t capacity)
{
    event_ring *r = xcalloc(1, sizeof(*r));
    /* A ring that keeps nothing would answer every poll with EVENTS_LOST. */
    r->capacity = capacity ? capacity : EVENT_RING_DEFAULT;
    r->slots = xcalloc(r->capacity, sizeof(*r->slots));
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

void event_ring_free(event_ring *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->capacity; i++)
        xmlrpc_value_free(r->slots[i]);
    free(r->slots);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

uint64_t event_ring_post(event_ring *r, xmlrpc_value *ev)
{
    if (!ev || ev->type != XMLRPC_STRUCT) {
        /* A caller bug; losing the event beats crashing the daemon or sending clients
         * something that is not a struct. */
        log_error("event_ring_post: event is not a struct; dropped");
        xmlrpc_value_free(ev);
        return 0;
    }
    struct timespec ts;
    pthread_mutex_lock(&r->lock);
    uint64_t id = ++r->last_id;
    /* Stamped under the lock so that times never go backwards as ids go forwards. */
    clock_gettime(CLOCK_REALTIME, &ts);
    xmlrpc_struct_set(ev, "id", xmlrpc_i8((int64_t)id));
    xmlrpc_struct_set(ev, "time", xmlrpc_double((double)ts.tv_sec + (double)ts.tv_nsec / 1e9));
    size_t slot = (size_t)((id - 1) % r->capacity);
    xmlrpc_value *old = r->slots[slot];
    r->slots[slot] = ev;
    void (*fn)(void *) = r->listener;
    void *opaque = r->listener_opaque;
    pthread_mutex_unlock(&r->lock);

    xmlrpc_value_free(old);
    if (fn)
        fn(opaque);
    return id;
}

xmlrpc_value *event_ring_since(event_ring *r, uint64_t since, size_t max)
{
    pthread_mutex_lock(&r->lock);
    uint64_t last = r->last_id;
    if (since > last) {
        pthread_mutex_unlock(&r->lock);
        xend_error_report(XEND_ERR_INVALID_ARG, "event id %llu is ahead of the newest event (%llu)",
                          (unsigned long long)since, (unsigned long long)last);
        return NULL;
    }
    uint64_t oldest = last > r->capacity ? last - r->capacity + 1 : 1;
    /* since + 1 is the first event the client has not seen; if it was overwritten the
     * client cannot know what happened in between and must resynchronise. */
    if (since + 1 < oldest) {
        pthread_mutex_unlock(&r->lock);
        xend_error_report(XEND_ERR_EVENTS_LOST,
                          "events %llu to %llu were lost (the oldest kept is %llu); call "
                          "event.current_id and domain.list to resynchronise",
                          (unsigned long long)(since + 1), (unsigned long long)(oldest - 1),
                          (unsigned long long)oldest);
        return NULL;
    }
    xmlrpc_value *out = xmlrpc_array();
    uint64_t end = last - since > max ? since + max : last;
    /* Copies, made under the lock: once it is released a poster may free the slot, and the
     * caller encodes at leisure without holding anyone up. */
    for (uint64_t id = since + 1; id <= end; id++)
        xmlrpc_array_append(out, xmlrpc_value_copy(r->slots[(size_t)((id - 1) % r->capacity)]));
    pthread_mutex_unlock(&r->lock);
    return out;
}

uint64_t event_ring_current_id(event_ring *r)
{
    pthread_mutex_lock(&r->lock);
    uint64_t id = r->last_id;
    pthread_mutex_unlock(&r->lock);
    return id;
}

void event_ring_set_listener(event_ring *r, void (*fn)(void *opaque), void *opaque)
{
    pthread_mutex_lock(&r->lock);
    r->listener = fn;
    r->listener_opaque = opaque;
    pthread_mutex_unlock(&r->lock);
}
