/* log.h -- levelled logging with a redaction step no secret can pass.
 *
 * Owns: the process's log sink (stderr by default), its level and format
 * (human text on a terminal, JSON lines with --log-format json), the set of
 * registered secrets, and a ring of the most recent lines (for Telegram's
 * /logs and the dashboard).
 *
 * Every line is formatted first and then redacted: each registered secret
 * (API keys, tokens, passwords: config.c registers them all at load) is
 * replaced by "****", and so are values that look like credentials on
 * the wire (signature=..., Authorization/X-MBX-APIKEY/x-api-key headers).
 * A text that ends in the first four or more characters of a secret (it was
 * cut to fit a buffer before it was redacted) has that end masked too.
 * Redaction happens before the line reaches any sink or the ring, so no
 * code path can log a secret, at any level.
 *
 * The sink is process-wide on purpose (unlike everything else, which takes
 * its context explicitly): log lines from every thread must interleave in one
 * stream, and a library call deep in a leaf should not need a logger handle.
 * Leaf modules still do not log; they return errors (see err.h).
 */
#ifndef LB_CORE_LOG_H
#define LB_CORE_LOG_H

#include <stddef.h>
#include <stdio.h>

typedef enum { LB_LOG_DEBUG = 0, LB_LOG_INFO, LB_LOG_WARN, LB_LOG_ERROR, LB_LOG_OFF } lb_log_level;
typedef enum { LB_LOG_HUMAN = 0, LB_LOG_JSON } lb_log_format;

/* out may be NULL (stderr).  Safe to call again to change settings. */
void lb_log_setup(lb_log_level level, lb_log_format format, FILE *out);
lb_log_level lb_log_get_level(void);
/* "debug" | "info" | "warn" | "error" -> level; -1 if unknown. */
int lb_log_level_parse(const char *s);

/* Registers a secret (copied).  Strings shorter than 4 characters are
 * ignored: they would mask ordinary words.  Thread-safe. */
void lb_log_add_secret(const char *secret);
void lb_log_clear_secrets(void);

void lb_log(lb_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LB_DEBUG(mod, ...) lb_log(LB_LOG_DEBUG, mod, __VA_ARGS__)
#define LB_INFO(mod, ...) lb_log(LB_LOG_INFO, mod, __VA_ARGS__)
#define LB_WARN(mod, ...) lb_log(LB_LOG_WARN, mod, __VA_ARGS__)
#define LB_ERROR(mod, ...) lb_log(LB_LOG_ERROR, mod, __VA_ARGS__)

/* Copies `in` to `out` with every registered secret and credential-looking
 * value masked; always NUL-terminates.  Returns strlen(out).  Other modules
 * use it for anything that leaves the process (HTTP bodies, stored error
 * texts, notifications). */
size_t lb_redact(const char *in, char *out, size_t n);

/* Calls fn for each of the last `n` log lines (oldest first), already
 * redacted, as they were written (without trailing newline).  fn runs under
 * the log lock: it must not log. */
#define LB_LOG_RING 256
void lb_log_recent(int n, void (*fn)(void *ctx, const char *line), void *ctx);
/* Frees the ring and the secrets (at exit, so valgrind sees no leak). */
void lb_log_shutdown(void);

#endif
