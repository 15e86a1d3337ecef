/*
 * A QMP client (QEMU's JSON monitor protocol) over one connected stream socket: greeting and
 * capabilities negotiation, commands with ids and timeouts, asynchronous events interleaved
 * with replies, and the peer dying at any moment. One reader thread per monitor parses the
 * stream; callers block in qemu_mon_command until their reply (matched by id) arrives, the
 * timeout expires or the connection ends, so a dead QEMU never hangs a caller.
 *
 * Events are both handed to a callback (on the reader thread; it must only queue work) and
 * kept in a bounded per-monitor log with sequence numbers, so a caller can wait for the
 * event its command causes without racing it: note qemu_mon_event_seq() before sending,
 * then qemu_mon_event_wait() for an event after that sequence number.
 *
 * Every input from QEMU is bounded: a line longer than QEMU_MON_LINE_MAX, a line that is not
 * JSON, or JSON nested deeper than json-c's default depth ends the connection ("protocol
 * error"), which the eof callback reports like any other loss. Well-formed JSON that is not
 * a QMP message, and replies nobody waits for, are ignored.
 *
 * json-c's reference counts are not atomic: no json_object this module hands out is shared
 * with another thread (replies go to their one caller, qemu_mon_event_wait returns deep
 * copies), and callers must not share the objects they get here either.
 *
 * Thread safety: all functions except qemu_mon_close may be called from any thread
 * concurrently; commands are serialised on the socket. Never call qemu_mon_close from a
 * callback.
 */
#ifndef XEND_HV_QEMU_MONITOR_H
#define XEND_HV_QEMU_MONITOR_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QEMU_MON_LINE_MAX (4u << 20) /* one QMP message; query replies stay far below */
#define QEMU_MON_EVENT_LOG 128       /* events kept for qemu_mon_event_wait */

typedef struct qemu_mon qemu_mon;

/* An event, on the reader thread, after it was logged. data is the "data" member (NULL
 * when absent), borrowed for the call: to keep it, json_object_deep_copy it (a
 * json_object_get reference would be shared with the reader thread, and json-c's reference
 * counts are not atomic). Must not block or call qemu_mon_command. Not called for events
 * that arrive before qemu_mon_open returns (they are only logged). */
typedef void (*qemu_mon_event_cb)(void *opaque, const char *event, json_object *data);
/* The connection ended (EOF, reset, protocol error, qemu_mon_close not counted): called
 * once, on the reader thread, after every waiting caller was woken with an error. why is
 * a short text ("end of file", "protocol error: message longer than 4194304 bytes",
 * "Connection reset by peer"). Not called when qemu_mon_open fails. */
typedef void (*qemu_mon_eof_cb)(void *opaque, const char *why);

/* Take over fd (a connected stream socket; closed by qemu_mon_close or on failure), read
 * QEMU's greeting and negotiate capabilities within timeout_ms, then start the reader
 * thread. what names the peer in messages ("domain 'web'"). Returns the monitor, or NULL
 * with HYPERVISOR (not a QMP peer, negotiation refused) or OPERATION_TIMEOUT reported.
 * Callbacks may be NULL. */
qemu_mon *qemu_mon_open(int fd, const char *what, int timeout_ms, qemu_mon_event_cb on_event,
                        qemu_mon_eof_cb on_eof, void *opaque);
/* Stop the reader thread (no callback runs after this returns), close the socket, free.
 * Callers still blocked in qemu_mon_command get HYPERVISOR "connection closed". NULL ok. */
void qemu_mon_close(qemu_mon *mon);

/* QEMU's version from the greeting, e.g. 7, 2, 22. */
void qemu_mon_version(const qemu_mon *mon, int *major, int *minor, int *micro);
/* Whether the connection is still up. */
bool qemu_mon_alive(qemu_mon *mon);

/* Run cmd with args (a JSON object, borrowed; NULL for none) and wait at most timeout_ms
 * (a negative value counts as 0, here and in qemu_mon_event_wait) for its reply. 0 on
 * success with *ret (if ret is not NULL) a new reference to the "return" value (caller
 * json_object_put's it). -1 on failure, reported:
 *   HYPERVISOR         QEMU answered with an error: "QEMU of <what> refused '<cmd>': <desc>";
 *                      if err_class is not NULL it receives the QMP class ("GenericError",
 *                      "DeviceNotFound") (it is set to "" on success and on every other
 *                      failure)
 *   HYPERVISOR         the connection ended before the reply ("QEMU of <what> has gone
 *                      away (end of file)")
 *   OPERATION_TIMEOUT  no reply in time ("QEMU of <what> did not answer 'cmd' within N ms");
 *                      a late reply is discarded when it arrives. */
int qemu_mon_command(qemu_mon *mon, const char *cmd, json_object *args, int timeout_ms,
                     json_object **ret, char err_class[64]);
/* The same, passing fd to QEMU as SCM_RIGHTS ancillary data on the same sendmsg as the
 * command (for "getfd"). fd stays the caller's. */
int qemu_mon_command_fd(qemu_mon *mon, const char *cmd, json_object *args, int fd, int timeout_ms,
                        json_object **ret, char err_class[64]);

/* Sequence number of the newest event received so far (0 before any). */
uint64_t qemu_mon_event_seq(qemu_mon *mon);
/* Wait at most timeout_ms for an event named event (NULL: any) (and, if match is not NULL,
 * for which match(data, opaque) is true; it runs on the caller's thread, without locks, on
 * a private copy) with a sequence number > after. Events already logged count, so nothing
 * that arrived between the command and this call is missed (unless more than
 * QEMU_MON_EVENT_LOG events, or events of more than QEMU_MON_LINE_MAX bytes in all, came in
 * between). Returns the event's sequence number (> 0) with *data (if not NULL) a new object
 * (a deep copy of its data, NULL when it had none; the caller json_object_put's it), 0 on
 * timeout (nothing reported), -1 when the connection ended and no logged event matches
 * (HYPERVISOR reported). */
int64_t qemu_mon_event_wait(qemu_mon *mon, uint64_t after, const char *event,
                            bool (*match)(json_object *data, void *opaque), void *opaque,
                            int timeout_ms, json_object **data);

/* The line parser alone, for the fuzz target and unit tests: classify one QMP message.
 * Returns 0 and fills the out-parameters (borrowed from *root, which the caller puts):
 * kind 'g' greeting, 'r' reply (id, ret or err_class/err_desc), 'e' event (event, data);
 * -1 with *root NULL if the line is not a QMP message (nothing reported). A trailing "\n"
 * or "\r\n" is allowed. An error reply always has err_class set ("GenericError" if QEMU
 * gave none) and err_desc ("(no description)" if none). */
typedef struct {
    char kind;
    int64_t id;            /* replies: the id we sent (-1 if missing or not an integer) */
    json_object *ret;      /* replies: "return" */
    const char *err_class; /* replies: error.class, NULL if success */
    const char *err_desc;
    const char *event; /* events */
    json_object *data;
    int ver[3]; /* greeting: major minor micro */
} qemu_mon_msg;
int qemu_mon_parse_line(const char *line, size_t len, json_object **root, qemu_mon_msg *msg);

#endif
