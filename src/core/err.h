/* err.h -- the one error enum of levbot.
 *
 * Every fallible function returns an lb_err; results travel through
 * out-pointers and detail text through a caller-owned buffer (lb_errbuf).
 * Leaf modules never log and never exit: they describe the failure in the
 * buffer and let the caller decide.
 *
 * Codes are generated from one list so the message table cannot drift.
 * New codes are added at the END of the list, never renumbered: the numbers
 * appear in logs and in the database.
 */
#ifndef LB_CORE_ERR_H
#define LB_CORE_ERR_H

#include <stddef.h>

#define LB_ERR_MAP(X)                                              \
  X(OK,          "success")                                        \
  X(NOMEM,       "out of memory")                                  \
  X(INVAL,       "invalid argument")                               \
  X(IO,          "input/output error")                             \
  X(PARSE,       "malformed input")                                \
  X(RANGE,       "value out of range")                             \
  X(NOTFOUND,    "not found")                                      \
  X(TIMEOUT,     "timed out")                                      \
  X(NET,         "network error")                                  \
  X(DB,          "database error")                                 \
  X(STATE,       "operation not allowed in this state")            \
  X(REJECTED,    "rejected")                                       \
  X(UNSUPPORTED, "not supported")                                  \
  X(BUSY,        "resource busy")                                  \
  X(OVERFLOW,    "arithmetic overflow")                            \
  X(CONFIG,      "invalid configuration")                          \
  X(AUTH,        "authentication failed")                          \
  X(EXISTS,      "already exists")                                 \
  X(CANCELED,    "canceled")

typedef enum {
#define LB_ERR_ENUM_(name, msg) LB_E##name,
  LB_ERR_MAP(LB_ERR_ENUM_)
#undef LB_ERR_ENUM_
  LB_ERR__COUNT
} lb_err;

/* LB_OK reads better than LB_EOK at call sites. */
#define LB_OK LB_EOK

/* Static text for a code; never NULL. */
const char *lb_strerror(lb_err e);
/* Symbolic name ("LB_EPARSE"); never NULL. */
const char *lb_errname(lb_err e);

/* Caller-owned buffer for detail text.  A size of 256 holds any message
 * the modules write; longer ones are truncated, never overflowed. */
#define LB_ERRBUF_SIZE 256
typedef struct {
  char msg[LB_ERRBUF_SIZE];
} lb_errbuf;

/* Writes printf-style detail into eb (if eb is not NULL) and returns e, so
 * a failure is one line:  return lb_fail(eb, LB_EPARSE, "line %d", n); */
lb_err lb_fail(lb_errbuf *eb, lb_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
