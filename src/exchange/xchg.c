/* xchg.c -- names and helpers shared by every exchange back end (see xchg.h). */
#include "exchange/xchg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *xchg_kind_name(xchg_kind k) {
  static const char *const names[] = {"ok", "retryable", "rejected", "fatal", "unknown"};
  return (unsigned)k < 5 ? names[k] : "unknown";
}

const char *xchg_side_name(xchg_side s) { return s == XCHG_SELL ? "SELL" : "BUY"; }

const char *xchg_type_name(xchg_type t) {
  static const char *const names[] = {"MARKET", "LIMIT", "STOP_MARKET", "TAKE_PROFIT_MARKET",
                                      "TRAILING_STOP_MARKET"};
  return (unsigned)t < 5 ? names[t] : "?";
}

const char *xchg_status_name(xchg_status s) {
  static const char *const names[] = {"NEW",      "PARTIALLY_FILLED", "FILLED",   "CANCELED",
                                      "REJECTED", "EXPIRED",          "TRIGGERED"};
  return (unsigned)s < 7 ? names[s] : "?";
}

xchg_kind xchg_fail(xchg_error *err, xchg_kind kind, int code, const char *fmt, ...) {
  if (err) {
    memset(err, 0, sizeof *err);
    err->kind = kind;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return kind;
}

bool xchg_client_id_valid(const char *id) {
  size_t n = id ? strlen(id) : 0;
  if (n == 0 || n >= XCHG_ID_MAX || n > 36) return false;
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '/' || c == '-';
    if (!ok) return false;
  }
  return true;
}
