/*
 * Unit tests of the event ring (api/event.h): ids from 1, the id and time members stamped
 * on each event, event_ring_since's slices and limits, copies that callers may change
 * freely, wraparound of a small ring, EVENTS_LOST exactly when an unseen event was
 * overwritten, INVALID_ARG for an id from the future, the listener (called after each post
 * and outside the lock: it calls back into the ring, which would deadlock otherwise), and
 * 4 threads posting 10,000 events each while a reader polls: every id from 1 to 40,000
 * handed out exactly once, each thread's ids increasing, every slice consecutive.
 */
#include "check.h"

#include "api/event.h"
#include "util/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADS 4
#define PER_THREAD 10000

static xmlrpc_value *make_event(const char *type, int n)
{
    xmlrpc_value *ev = xmlrpc_struct();
    xmlrpc_struct_set(ev, "class", xmlrpc_string("domain"));
    xmlrpc_struct_set(ev, "type", xmlrpc_string(type));
    xmlrpc_struct_set(ev, "n", xmlrpc_int(n));
    return ev;
}

static int64_t member_int(const xmlrpc_value *ev, const char *name)
{
    const xmlrpc_value *v = ev ? xmlrpc_struct_get(ev, name) : NULL;
    if (!v || (v->type != XMLRPC_INT && v->type != XMLRPC_I8))
        return -1;
    return v->u.i;
}

/* The "id" of item i of an array of events, or -1. */
static int64_t id_at(const xmlrpc_value *arr, size_t i)
{
    if (!arr || i >= xmlrpc_array_size(arr))
        return -1;
    return member_int(xmlrpc_array_get(arr, i), "id");
}

static void test_basics(void)
{
    event_ring *r = event_ring_new(4);
    CHECK_INTEQ(event_ring_current_id(r), 0);

    xmlrpc_value *a = event_ring_since(r, 0, 10);
    CHECK(a && a->type == XMLRPC_ARRAY);
    CHECK_INTEQ(xmlrpc_array_size(a), 0);
    xmlrpc_value_free(a);

    xend_error_reset();
    CHECK(event_ring_since(r, 1, 10) == NULL);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_INVALID_ARG);
    CHECK_CONTAINS(xend_error_last()->message, "1");

    time_t before = time(NULL);
    CHECK_INTEQ(event_ring_post(r, make_event("lifecycle", 100)), 1);
    CHECK_INTEQ(event_ring_current_id(r), 1);
    a = event_ring_since(r, 0, 10);
    CHECK_INTEQ(xmlrpc_array_size(a), 1);
    const xmlrpc_value *ev = xmlrpc_array_get(a, 0);
    const xmlrpc_value *id = ev ? xmlrpc_struct_get(ev, "id") : NULL;
    CHECK(id && id->type == XMLRPC_I8 && id->u.i == 1);
    const xmlrpc_value *t = ev ? xmlrpc_struct_get(ev, "time") : NULL;
    CHECK(t && t->type == XMLRPC_DOUBLE);
    CHECK(t && t->u.d >= (double)before - 1 && t->u.d <= (double)time(NULL) + 1);
    CHECK_INTEQ(member_int(ev, "n"), 100);
    CHECK_STREQ(xmlrpc_struct_get(ev, "type")->u.s.ptr, "lifecycle");

    /* The result is a copy: changing it does not change what the next caller gets. */
    xmlrpc_struct_set(xmlrpc_array_get(a, 0), "n", xmlrpc_int(-5));
    xmlrpc_value_free(a);
    a = event_ring_since(r, 0, 10);
    CHECK_INTEQ(member_int(xmlrpc_array_get(a, 0), "n"), 100);
    xmlrpc_value_free(a);

    /* Caught up: empty. Ahead: INVALID_ARG. */
    a = event_ring_since(r, 1, 10);
    CHECK_INTEQ(xmlrpc_array_size(a), 0);
    xmlrpc_value_free(a);
    xend_error_reset();
    CHECK(event_ring_since(r, 2, 10) == NULL);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_INVALID_ARG);
    CHECK(event_ring_since(r, UINT64_MAX, 10) == NULL);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_INVALID_ARG);

    /* Not a struct: dropped, no id used. */
    CHECK_INTEQ(event_ring_post(r, xmlrpc_int(3)), 0);
    CHECK_INTEQ(event_ring_post(r, NULL), 0);
    CHECK_INTEQ(event_ring_current_id(r), 1);

    /* max bounds the slice; slices continue where the caller says. */
    for (int i = 2; i <= 4; i++)
        CHECK_INTEQ(event_ring_post(r, make_event("device", i * 100)), i);
    a = event_ring_since(r, 0, 2);
    CHECK_INTEQ(xmlrpc_array_size(a), 2);
    CHECK_INTEQ(id_at(a, 0), 1);
    CHECK_INTEQ(id_at(a, 1), 2);
    xmlrpc_value_free(a);
    a = event_ring_since(r, 2, 100);
    CHECK_INTEQ(xmlrpc_array_size(a), 2);
    CHECK_INTEQ(id_at(a, 0), 3);
    CHECK_INTEQ(id_at(a, 1), 4);
    CHECK_INTEQ(member_int(xmlrpc_array_get(a, 1), "n"), 400);
    xmlrpc_value_free(a);
    a = event_ring_since(r, 0, 0);
    CHECK(a && xmlrpc_array_size(a) == 0);
    xmlrpc_value_free(a);

    /* Wraparound: event 5 overwrites event 1. A client at 0 missed event 1: lost. A client
     * at 1 has seen everything that was overwritten: it gets 2..5. */
    CHECK_INTEQ(event_ring_post(r, make_event("job", 500)), 5);
    xend_error_reset();
    CHECK(event_ring_since(r, 0, 10) == NULL);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_EVENTS_LOST);
    CHECK_CONTAINS(xend_error_last()->message, "lost");
    a = event_ring_since(r, 1, 10);
    CHECK_INTEQ(xmlrpc_array_size(a), 4);
    for (size_t i = 0; i < 4; i++) {
        CHECK_INTEQ(id_at(a, i), 2 + (int64_t)i);
        CHECK_INTEQ(member_int(xmlrpc_array_get(a, i), "n"), (2 + (int64_t)i) * 100);
    }
    xmlrpc_value_free(a);

    /* Many laps later only the last 4 are kept. */
    for (int i = 6; i <= 23; i++)
        CHECK_INTEQ(event_ring_post(r, make_event("job", i * 100)), i);
    xend_error_reset();
    CHECK(event_ring_since(r, 18, 10) == NULL);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_EVENTS_LOST);
    a = event_ring_since(r, 19, 10);
    CHECK_INTEQ(xmlrpc_array_size(a), 4);
    CHECK_INTEQ(id_at(a, 0), 20);
    CHECK_INTEQ(id_at(a, 3), 23);
    CHECK_INTEQ(member_int(xmlrpc_array_get(a, 3), "n"), 2300);
    xmlrpc_value_free(a);
    a = event_ring_since(r, 22, 10);
    CHECK_INTEQ(xmlrpc_array_size(a), 1);
    CHECK_INTEQ(id_at(a, 0), 23);
    xmlrpc_value_free(a);
    event_ring_free(r);
    event_ring_free(NULL);
}

static void test_default_capacity(void)
{
    event_ring *r = event_ring_new(0);
    for (int i = 1; i <= EVENT_RING_DEFAULT; i++)
        event_ring_post(r, make_event("lifecycle", i));
    xmlrpc_value *a = event_ring_since(r, 0, EVENT_NEXT_MAX);
    CHECK_INTEQ(xmlrpc_array_size(a), EVENT_NEXT_MAX);
    CHECK_INTEQ(id_at(a, EVENT_NEXT_MAX - 1), EVENT_NEXT_MAX);
    xmlrpc_value_free(a);
    event_ring_post(r, make_event("lifecycle", 0));
    xend_error_reset();
    CHECK(event_ring_since(r, 0, 1) == NULL);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_EVENTS_LOST);
    event_ring_free(r);
}

struct listen_state {
    event_ring *ring;
    unsigned calls;
    uint64_t seen_id; /* what current_id said from inside the listener */
};

static void on_post(void *opaque)
{
    struct listen_state *ls = opaque;
    ls->calls++;
    /* Re-entering the ring works only if the listener runs outside its lock. */
    ls->seen_id = event_ring_current_id(ls->ring);
    xmlrpc_value *a = event_ring_since(ls->ring, ls->seen_id - 1, 1);
    xmlrpc_value_free(a);
}

static void test_listener(void)
{
    event_ring *r = event_ring_new(8);
    struct listen_state ls = {r, 0, 0};
    event_ring_set_listener(r, on_post, &ls);
    alarm(20); /* a listener called under the lock would deadlock here */
    event_ring_post(r, make_event("lifecycle", 1));
    event_ring_post(r, make_event("lifecycle", 2));
    alarm(0);
    CHECK_INTEQ(ls.calls, 2);
    CHECK_INTEQ(ls.seen_id, 2);
    /* Not called for a dropped event. */
    event_ring_post(r, xmlrpc_nil());
    CHECK_INTEQ(ls.calls, 2);
    event_ring_set_listener(r, NULL, NULL);
    event_ring_post(r, make_event("lifecycle", 3));
    CHECK_INTEQ(ls.calls, 2);
    CHECK_INTEQ(event_ring_current_id(r), 3);
    event_ring_free(r);
}

struct poster {
    event_ring *ring;
    int thread;
    uint64_t ids[PER_THREAD];
};

static atomic_uint listener_calls;
static atomic_int posting_done;

static void count_post(void *opaque)
{
    (void)opaque;
    atomic_fetch_add(&listener_calls, 1);
}

static void *post_thread(void *arg)
{
    struct poster *p = arg;
    for (int i = 0; i < PER_THREAD; i++)
        p->ids[i] = event_ring_post(p->ring, make_event("lifecycle", p->thread * PER_THREAD + i));
    return NULL;
}

struct reader {
    event_ring *ring;
    unsigned slices, lost, bad;
};

static void *read_thread(void *arg)
{
    struct reader *rd = arg;
    while (!atomic_load(&posting_done)) {
        uint64_t cur = event_ring_current_id(rd->ring);
        uint64_t since = cur > 100 ? cur - 100 : 0;
        xmlrpc_value *a = event_ring_since(rd->ring, since, EVENT_NEXT_MAX);
        if (!a) {
            /* Posters may lap a slow reader between the two calls; that is the one
             * legitimate failure. */
            if (xend_error_last()->code == XEND_ERR_EVENTS_LOST)
                rd->lost++;
            else
                rd->bad++;
            continue;
        }
        for (size_t i = 0; i < xmlrpc_array_size(a); i++)
            if (id_at(a, i) != (int64_t)(since + 1 + i))
                rd->bad++;
        rd->slices++;
        xmlrpc_value_free(a);
    }
    return NULL;
}

static void test_concurrent(void)
{
    event_ring *r = event_ring_new(1024);
    event_ring_set_listener(r, count_post, NULL);
    static struct poster posters[THREADS];
    struct reader rd = {r, 0, 0, 0};
    pthread_t tids[THREADS], reader;
    pthread_create(&reader, NULL, read_thread, &rd);
    for (int t = 0; t < THREADS; t++) {
        posters[t].ring = r;
        posters[t].thread = t;
        pthread_create(&tids[t], NULL, post_thread, &posters[t]);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(tids[t], NULL);
    atomic_store(&posting_done, 1);
    pthread_join(reader, NULL);

    const size_t total = (size_t)THREADS * PER_THREAD;
    unsigned char *seen = calloc(total + 1, 1);
    size_t dup = 0, out_of_range = 0, not_increasing = 0;
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < PER_THREAD; i++) {
            uint64_t id = posters[t].ids[i];
            if (id < 1 || id > total)
                out_of_range++;
            else if (seen[id]++)
                dup++;
            if (i > 0 && id <= posters[t].ids[i - 1])
                not_increasing++;
        }
    }
    size_t missing = 0;
    for (size_t id = 1; id <= total; id++)
        if (!seen[id])
            missing++;
    free(seen);
    CHECK_INTEQ(out_of_range, 0);
    CHECK_INTEQ(dup, 0);
    CHECK_INTEQ(missing, 0);
    CHECK_INTEQ(not_increasing, 0);
    CHECK_INTEQ(event_ring_current_id(r), total);
    CHECK_INTEQ(atomic_load(&listener_calls), total);
    CHECK_INTEQ(rd.bad, 0);
    printf("concurrent: reader took %u slices, %u overrun\n", rd.slices, rd.lost);

    /* The ring holds the last 1024, each with the payload its poster gave it. */
    xmlrpc_value *a = event_ring_since(r, total - 1024, EVENT_NEXT_MAX);
    CHECK_INTEQ(xmlrpc_array_size(a), EVENT_NEXT_MAX);
    size_t payload_ok = 0, time_backwards = 0;
    for (size_t i = 0; i < xmlrpc_array_size(a); i++) {
        /* Stamped under the lock: times never go backwards as ids go forwards. */
        if (i > 0 && xmlrpc_struct_get(xmlrpc_array_get(a, i), "time")->u.d <
                         xmlrpc_struct_get(xmlrpc_array_get(a, i - 1), "time")->u.d)
            time_backwards++;
        uint64_t id = (uint64_t)id_at(a, i);
        int64_t n = member_int(xmlrpc_array_get(a, i), "n");
        int thread = (int)(n / PER_THREAD);
        if (thread >= 0 && thread < THREADS && posters[thread].ids[n % PER_THREAD] == id)
            payload_ok++;
    }
    CHECK_INTEQ(payload_ok, EVENT_NEXT_MAX);
    CHECK_INTEQ(time_backwards, 0);
    xmlrpc_value_free(a);
    xend_error_reset();
    CHECK(event_ring_since(r, total - 1025, 1) == NULL);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_EVENTS_LOST);
    event_ring_free(r);
}

int main(void)
{
    test_basics();
    test_default_capacity();
    test_listener();
    test_concurrent();
    return check_summary("event");
}
