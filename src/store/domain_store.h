/*
 * The domain store: persistent configuration and runtime state on disk.
 *
 *   config_dir/NAME.xml            one domain XML per persistent domain (atomic writes)
 *   config_dir/autostart/NAME.xml  marker: symlink to ../NAME.xml (as libvirt's); start
 *                                  this domain when the daemon starts
 *   save_dir/NAME.save             managed-save image (domain.suspend / resume)
 *   run_dir/NAME.status            status of a running domain: state, id, driver data and
 *                                  the live domain XML, so a restarted daemon re-attaches
 *
 * Files that cannot be read or parsed at load time are logged and renamed to
 * "FILE.corrupt-<epoch>" so the daemon still starts and nothing is lost.
 *
 * Names are checked with domain_name_check before any path is built, so a name can never
 * escape its directory. The store does no locking of its own: callers serialise writes
 * per domain (the API layer's job lock does).
 */
#ifndef XEND_STORE_DOMAIN_STORE_H
#define XEND_STORE_DOMAIN_STORE_H

#include "conf/domain_conf.h"
#include "conf/xml.h"

#include <stdbool.h>

typedef struct domain_store domain_store;

/* Create the directories if missing (mode 0700) and return a store (free with
 * domain_store_free). NULL with SYSTEM reported. */
domain_store *domain_store_open(const char *config_dir, const char *save_dir,
                                const char *run_dir);
void domain_store_free(domain_store *st);

/* Persistent configs. */
int domain_store_save_config(domain_store *st, const domain_def *def);
int domain_store_delete_config(domain_store *st, const char *name); /* also the marker */
/* Called once per loaded config; the callback takes ownership of def. Returns 0, or -1 if
 * the directory itself cannot be read. Bad files are set aside, not fatal. */
typedef void (*domain_store_config_cb)(void *opaque, domain_def *def, bool autostart);
int domain_store_load_configs(domain_store *st, domain_store_config_cb cb, void *opaque);

int domain_store_set_autostart(domain_store *st, const char *name, bool on);
bool domain_store_get_autostart(domain_store *st, const char *name);

/* Managed save: the path of NAME's image (caller frees) and whether it exists. */
char *domain_store_save_path(domain_store *st, const char *name);
bool domain_store_has_save(domain_store *st, const char *name);
int domain_store_delete_save(domain_store *st, const char *name);

/* Status files. The caller builds the <domstatus> element; the store writes it atomically.
 * load_status calls cb with each parsed root (cb takes ownership of the tree); unreadable
 * files are set aside. */
int domain_store_save_status(domain_store *st, const char *name, const xml_node *status);
/* The same from the <domstatus> element already formatted as text (len bytes). */
int domain_store_save_status_text(domain_store *st, const char *name, const char *xml,
                                  size_t len);
int domain_store_delete_status(domain_store *st, const char *name);
typedef void (*domain_store_status_cb)(void *opaque, const char *name, xml_node *status);
int domain_store_load_status(domain_store *st, domain_store_status_cb cb, void *opaque);

/* Rename every file of a domain (config, marker, save image, status). The new config is
 * written (with the new <name>) before anything else moves and the old one is removed
 * last, so a complete config is on disk at every moment; a failed step is undone.
 * NO_DOMAIN if old_name has no files, DOMAIN_EXISTS if new_name has any. 0 / -1. */
int domain_store_rename(domain_store *st, const char *old_name, const char *new_name);

const char *domain_store_run_dir(const domain_store *st);

#endif
