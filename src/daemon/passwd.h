/*
 * The password file of xend's TCP listener (HTTP Basic) and the `xend passwd` command that
 * manages it. One user per line, `NAME:CLASS:HASH`: NAME is [A-Za-z0-9._-]{1,64}, CLASS is
 * read, write or admin (the highest access class the user's calls get), HASH a crypt(3)
 * string ($y$ yescrypt, $6$ sha512crypt, ...) or the word `pam`: that user's password is
 * checked by PAM (pam_auth.h) instead. Lines starting with '#' and blank lines are
 * comments. The daemon loads the file at start and reloads it when it changes on disk.
 */
#ifndef XEND_DAEMON_PASSWD_H
#define XEND_DAEMON_PASSWD_H

#include "xmlrpc/dispatch.h" /* xmlrpc_access */

#include <stddef.h>

/* Bounds on what the file may hold; a file over any of them is refused as a whole. */
#define PASSWD_MAX_FILE (1024 * 1024)
#define PASSWD_MAX_LINE 4096
#define PASSWD_MAX_USERS 10000
#define PASSWD_MAX_NAME 64
/* A longer password never matches (and `xend passwd` refuses to set one): libxcrypt hashes
 * at most CRYPT_MAX_PASSPHRASE_SIZE - 1 bytes and fails on more, so this is the real bound
 * (well under the 1,024 bytes the security contract allows). */
#define PASSWD_MAX_PASSWORD 511

typedef struct passwd_store passwd_store;

/* Load path now. Returns a store the caller frees with passwd_store_free, or NULL with an
 * error reported: SYSTEM when the file cannot be opened or read (or is not a regular file);
 * CONFIG_INVALID when the file is readable or writable by "other" (mode & 0007) or writable
 * by its group (the message says to chmod 600), larger than PASSWD_MAX_FILE, or has a bad
 * line, named as "path:line: ...": a line over PASSWD_MAX_LINE bytes or with a NUL byte, a
 * line not of the form NAME:CLASS:HASH, an invalid name, an unknown class, a hash crypt(3)
 * does not support or deems legacy (DES, MD5; sha256crypt on Debian), a user listed twice, more
 * than PASSWD_MAX_USERS users. An empty file (or one of comments only) is valid: no users. */
passwd_store *passwd_store_open(const char *path);
/* Free the store and everything it holds. Accepts NULL. No check may be running. */
void passwd_store_free(passwd_store *ps);
/* How many users the table in memory has now (after the latest successful (re)load). */
size_t passwd_store_count(passwd_store *ps);
/* How many of them are `pam` users. */
size_t passwd_store_pam_count(passwd_store *ps);
/* The PAM service (NULL or "": "xend") and configuration directory (NULL or "": the
 * system's) that `pam` users are checked with; both copied. Thread-safe. */
void passwd_store_set_pam(passwd_store *ps, const char *service, const char *confdir);

/* Verify a user's password. Returns 0 and sets *access to the user's class when they match,
 * -1 when they do not or an argument is NULL (nothing reported: the caller counts failures
 * and answers 401). Thread-safe: any number of threads may check at once (each crypt uses
 * its own crypt_data; the lock is not held while hashing).
 *
 * Before checking, the file is reloaded when it changed on disk (device, inode, size, mtime
 * or ctime; looked at most once a second); a failed reload keeps the previous table and
 * logs a warning once per change of the file. An unknown user costs one crypt against a
 * dummy hash of the same method as the file's first crypt(3) user (fixed yescrypt when the
 * file has none), so timing does not tell which names exist (PAM users take PAM's time).
 * Successful checks are cached (keyed HMAC-SHA-256 of user NUL password under a random
 * per-store key; at most 256 entries; emptied whenever the file changes), so a client
 * sending Basic credentials with every request pays for one crypt only. A password longer
 * than PASSWD_MAX_PASSWORD bytes never matches; one containing NUL cannot be passed here
 * (the caller refuses such credentials). Digests are compared in constant time.
 *
 * A `pam` user's password goes to pam_auth_check (which logs why PAM refused) instead of
 * crypt, on every call: PAM results are not cached here, since PAM may change its mind
 * without the file changing. */
int passwd_store_check(passwd_store *ps, const char *user, const char *password,
                       xmlrpc_access *access);

/* For tests: how many milliseconds at least pass between two looks at the file (default
 * 1000; 0 looks at every check). */
void passwd_store_set_interval(passwd_store *ps, unsigned ms);

/* `xend passwd [--file F] [--access read|write|admin] [--delete | --pam] USER` (argv[0] is
 * "passwd"): add USER or change their password (and class: by default the user's current
 * one, "read" for a new user), or delete them. With --pam, USER's hash becomes `pam` and
 * no password is read. The default file is
 * XEND_SYSCONFDIR/xend/passwd. The password is read twice from /dev/tty without echo (both
 * must match) when stdin is a terminal, else as one line from stdin (the newline stripped);
 * empty, NUL-containing and over-long passwords are refused. It is hashed with the
 * system's default method (crypt_gensalt_ra: yescrypt). The file is rewritten atomically
 * (F.new with mode 0600, fsync, rename, fsync of the directory), every other line kept
 * byte for byte, and created when absent; concurrent runs on one directory are serialised
 * with flock on it. Returns the exit status: 0 done, 1 error, 2 usage error; an error is
 * printed once as "xend passwd: error: ..." on stderr. --help prints the usage to stdout. */
int passwd_main(int argc, char **argv);

#endif
