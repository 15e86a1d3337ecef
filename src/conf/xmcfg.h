/*
 * Xen xm domain configuration files (xmdomain.cfg(5)): Python-syntax assignments read as
 * data, never executed. Accepted: `NAME = value` where value is a string ('..', "..",
 * triple-quoted, adjacent literals concatenated), an integer, a float, True/False/None, or
 * a list/tuple of those; '#' comments; continuation lines inside brackets and after '\'.
 * Anything else (calls, arithmetic, imports, conditionals) is refused with CONFIG_INVALID
 * naming the line.
 */
#ifndef XEND_CONF_XMCFG_H
#define XEND_CONF_XMCFG_H

#include "conf/domain_conf.h"
#include "util/buf.h"
#include "xmlrpc/value.h"

#include <stddef.h>

#define XMCFG_MAX_TEXT (1u << 20)

/* The variables of a config file as a STRUCT (name -> STRING / INT / DOUBLE / BOOL / NIL /
 * ARRAY), in file order, later assignments replacing earlier ones; then each "VAR=VAL"
 * of overrides (n of them) replaces or adds a variable (VAL is an int when it is all
 * digits, else a string). what names the file in messages. Caller frees. NULL with
 * CONFIG_INVALID reported. */
xmlrpc_value *xmcfg_parse_vars(const char *text, size_t len, const char *what,
                               const char *const *overrides, size_t n);

/* Variables -> def. Understood: name (default: basename of what without extension),
 * uuid, memory (MiB), maxmem, vcpus, vcpu_avail, cpus, kernel, ramdisk, ip, root ("root="
 * prepended to the cmdline), extra, builder ('linux' (the default) -> os type linux,
 * 'hvm' -> hvm), on_poweroff, on_reboot, on_crash (xm's default: restart),
 * disk=['phy:DEV,VDEV,MODE', 'file:/p,xvda1,w', 'tap:aio:/p,xvdb,r'],
 * vif=['mac=..,bridge=..,model=..,type=..', ''], acpi, apic, pae, boot ('c','d','n'),
 * serial (a string or a list). None means the default. Unknown variables, and vif options
 * xend does not use, go into w as warnings. The meaning is domain_sxp_parse's: the
 * variables become the (vm ...) sxp xm sent to Xend. Returns a validated def or NULL with
 * CONFIG_INVALID (INVALID_NAME for a bad name) reported naming the file and variable. */
domain_def *xmcfg_to_def(const xmlrpc_value *vars, const char *what, domain_warnings *w);

/* Convenience: parse text + overrides straight to a def. */
domain_def *xmcfg_parse(const char *text, size_t len, const char *what,
                        const char *const *overrides, size_t n, domain_warnings *w);

/* def -> xm config text (one assignment a line, lists on one line); appended to out.
 * xmcfg_parse of the output gives back an equal def. */
void xmcfg_format(const domain_def *def, xbuf *out);

/* Internal to xmcfg.c and xmcfg_def.c: move *b forward and *e back over spaces and tabs. */
void xmcfg_trim(const char **b, const char **e);

#endif
