/* err.c -- message table for lb_err, generated from LB_ERR_MAP. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const err_msgs[] = {
#define LB_ERR_MSG_(name, msg) msg,
    LB_ERR_MAP(LB_ERR_MSG_)
#undef LB_ERR_MSG_
};

static const char *const err_names[] = {
#define LB_ERR_NAME_(name, msg) "LB_E" #name,
    LB_ERR_MAP(LB_ERR_NAME_)
#undef LB_ERR_NAME_
};

const char *lb_strerror(lb_err e) {
  if ((unsigned)e >= LB_ERR__COUNT) return "unknown error";
  return err_msgs[e];
}

const char *lb_errname(lb_err e) {
  if ((unsigned)e >= LB_ERR__COUNT) return "LB_E?";
  return err_names[e];
}

lb_err lb_fail(lb_errbuf *eb, lb_err e, const char *fmt, ...) {
  if (eb) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
    va_end(ap);
  }
  return e;
}
