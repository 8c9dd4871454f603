/* rfc5322.c -- an independent reader of Internet messages for the email
 * tests: the checks follow RFC 5322 sections 2.1.1, 2.2, 3.3 and 3.6, not
 * the renderer's code. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "stubs.h"

static bool parse_date(const char *v) {
  /* [ day-of-week "," ] day month year hour ":" minute [ ":" second ] zone */
  static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  while (*v == ' ') v++;
  if (isalpha((unsigned char)*v)) {
    bool ok = false;
    for (int i = 0; i < 7; i++) ok |= strncmp(v, days[i], 3) == 0;
    if (!ok || v[3] != ',') return false;
    v += 4;
  }
  int day, year, hh, mm, ss = 0, used = 0;
  char mon[4], zone[8];
  if (sscanf(v, " %2d %3s %4d %2d:%2d:%2d %5s%n", &day, mon, &year, &hh, &mm, &ss, zone, &used) != 7)
    return false;
  bool m = false;
  for (int i = 0; i < 12; i++) m |= strcmp(mon, mons[i]) == 0;
  bool z = (zone[0] == '+' || zone[0] == '-') && strlen(zone) == 5 &&
           strspn(zone + 1, "0123456789") == 4;
  return m && z && day >= 1 && day <= 31 && year >= 1900 && hh < 24 && mm < 60 && ss <= 60 &&
         v[used] == '\0';
}

const char *rfc5322_check(const char *msg, char *err, size_t n) {
  int dates = 0, froms = 0;
  bool in_header = true;
  const char *p = msg;
  if (!*p) return snprintf(err, n, "empty message"), err;
  while (*p) {
    const char *eol = strstr(p, "\r\n");
    if (!eol) return snprintf(err, n, "last line has no CRLF"), err;
    size_t len = (size_t)(eol - p);
    if (memchr(p, '\n', len) || memchr(p, '\r', len))
      return snprintf(err, n, "bare CR or LF in \"%.40s\"", p), err;
    if (len > 998) return snprintf(err, n, "line longer than 998 octets"), err;
    if (in_header) {
      if (len == 0) {
        in_header = false;
      } else if (*p == ' ' || *p == '\t') {
        if (p == msg) return snprintf(err, n, "message starts with a folded line"), err;
      } else {
        const char *colon = memchr(p, ':', len);
        if (!colon || colon == p) return snprintf(err, n, "not a header field: \"%.40s\"", p), err;
        for (const char *c = p; c < colon; c++)
          if (*c < 33 || *c > 126) return snprintf(err, n, "bad field name \"%.40s\"", p), err;
        if (colon - p == 4 && strncasecmp(p, "Date", 4) == 0) dates++;
        if (colon - p == 4 && strncasecmp(p, "From", 4) == 0) froms++;
      }
      for (const char *c = p; c < eol; c++)
        if ((unsigned char)*c >= 0x80) return snprintf(err, n, "8-bit octet in a header"), err;
    }
    p = eol + 2;
  }
  if (in_header) return snprintf(err, n, "no blank line after the header"), err;
  if (dates != 1 || froms != 1)
    return snprintf(err, n, "%d Date and %d From fields (need exactly one each)", dates, froms), err;
  char d[200];
  rfc5322_header(msg, "Date", d, sizeof d);
  if (!parse_date(d)) return snprintf(err, n, "Date \"%s\" is not an RFC 5322 date-time", d), err;
  return NULL;
}

bool rfc5322_header(const char *msg, const char *name, char *out, size_t n) {
  size_t nl = strlen(name);
  out[0] = '\0';
  for (const char *p = msg; *p && !(p[0] == '\r' && p[1] == '\n');) {
    const char *eol = strstr(p, "\r\n");
    if (!eol) return false;
    if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
      size_t k = 0;
      const char *v = p + nl + 1;
      while (*v == ' ') v++;
      for (;;) {
        for (; v < eol && k + 1 < n; v++) out[k++] = *v;
        const char *next = eol + 2;
        if (*next != ' ' && *next != '\t') break;
        /* unfolding: the CRLF goes, the white space stays */
        v = next;
        eol = strstr(next, "\r\n");
        if (!eol) break;
      }
      out[k] = '\0';
      return true;
    }
    p = eol + 2;
  }
  return false;
}

const char *rfc5322_body(const char *msg) {
  const char *b = strstr(msg, "\r\n\r\n");
  return b ? b + 4 : NULL;
}

void rfc2047_decode(char *s) {
  char out[2048];
  size_t k = 0;
  const char *p = s;
  bool prev_word = false;
  while (*p && k + 1 < sizeof out) {
    if (strncmp(p, "=?UTF-8?B?", 10) == 0) {
      const char *end = strstr(p + 10, "?=");
      if (!end) break;
      unsigned char raw[512];
      int len = (int)(end - p - 10);
      int dn = EVP_DecodeBlock(raw, (const unsigned char *)p + 10, len);
      for (int i = len - 1; i >= 0 && p[10 + i] == '='; i--) dn--;
      for (int i = 0; i < dn && k + 1 < sizeof out; i++) out[k++] = (char)raw[i];
      p = end + 2;
      prev_word = true;
      continue;
    }
    /* white space between two encoded words is not shown (RFC 2047 6.2) */
    if (prev_word && *p == ' ') {
      const char *q = p + strspn(p, " ");
      if (strncmp(q, "=?UTF-8?B?", 10) == 0) {
        p = q;
        continue;
      }
    }
    prev_word = false;
    out[k++] = *p++;
  }
  out[k] = '\0';
  memcpy(s, out, k + 1);
}
