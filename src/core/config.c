/* config.c -- table-driven configuration: parse, validate, print (see config.h).
 *
 * The table lb_cfg_vars[] is generated from src/core/cfg/ (one .def per module).  Parsing one
 * value (set_value) is the single place where text becomes a typed field, so
 * defaults, .env lines and environment variables are checked by the same
 * code and produce the same messages.
 */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"

extern char **environ;

const lb_cfg_var lb_cfg_vars[LB_CFGV__COUNT] = {
#define LB_CFG(name, type, field, def, lo, hi, flags, allowed, help) \
  {#name, LB_CT_##type, offsetof(lb_config, field), def, lo, hi, flags, allowed, help, LB_CFG_SECTION},
#include "core/cfg/all.def"
#undef LB_CFG
};

/* ==== Reports ==== */

static void add_msg(char (*arr)[256], int *n, const char *fmt, va_list ap) {
  if (*n >= LB_CFG_MSG_MAX) return;
  vsnprintf(arr[*n], 256, fmt, ap);
  (*n)++;
}

void lb_cfg_error(lb_cfg_report *rep, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add_msg(rep->errors, &rep->n_errors, fmt, ap);
  va_end(ap);
}

void lb_cfg_warn(lb_cfg_report *rep, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add_msg(rep->warnings, &rep->n_warnings, fmt, ap);
  va_end(ap);
}

/* ==== Masking ==== */

void lb_mask_secret(const char *s, char *out, size_t n) {
  size_t len = s ? strlen(s) : 0;
  if (len == 0) snprintf(out, n, "%s", "");
  else if (len < 12) snprintf(out, n, "****");
  else snprintf(out, n, "****%s", s + len - 4);
}

/* Finds the password span of scheme://user:pass@host...; returns false if none. */
static bool url_password_span(const char *url, size_t *start, size_t *len) {
  const char *p = strstr(url, "://");
  if (!p) return false;
  p += 3;
  const char *end = p + strcspn(p, "/?#");
  const char *at = NULL;
  for (const char *q = p; q < end; q++)
    if (*q == '@') at = q;
  if (!at) return false;
  const char *colon = memchr(p, ':', (size_t)(at - p));
  if (!colon) return false;
  *start = (size_t)(colon + 1 - url);
  *len = (size_t)(at - colon - 1);
  return true;
}

void lb_mask_url(const char *url, char *out, size_t n) {
  size_t st, len;
  if (!url_password_span(url, &st, &len) || len == 0) {
    snprintf(out, n, "%s", url);
    return;
  }
  snprintf(out, n, "%.*s****%s", (int)st, url, url + st + len);
}

/* ==== Values ==== */

static void *field_ptr(lb_config *c, const lb_cfg_var *v) { return (char *)c + v->offset; }
static const void *field_cptr(const lb_config *c, const lb_cfg_var *v) {
  return (const char *)c + v->offset;
}

static void fmt_num(double x, char *buf, size_t n) { snprintf(buf, n, "%.15g", x); }

int lb_config_describe_range(const lb_cfg_var *v, char *buf, size_t n) {
  char lo[32], hi[32];
  fmt_num(v->min, lo, sizeof lo);
  fmt_num(v->max, hi, sizeof hi);
  const char *ge = (v->flags & LB_CF_MIN_EXCL) ? ">" : ">=";
  const char *le = (v->flags & LB_CF_MAX_EXCL) ? "<" : "<=";
  bool open_top = v->max >= 1e9;
  switch (v->type) {
  case LB_CT_BOOL:
    return snprintf(buf, n, "true/false (also 1/0, yes/no, on/off)");
  case LB_CT_INT:
    if (v->flags & LB_CF_NOLIMIT) return snprintf(buf, n, "integer");
    if (open_top) return snprintf(buf, n, "integer %s %s", ge, lo);
    return snprintf(buf, n, "integer %s..%s", lo, hi);
  case LB_CT_NUM:
  case LB_CT_DEC:
    if (v->flags & LB_CF_NOLIMIT) return snprintf(buf, n, "number");
    if (open_top) return snprintf(buf, n, "%s %s", ge, lo);
    if ((v->flags & (LB_CF_MIN_EXCL | LB_CF_MAX_EXCL)) == 0)
      return snprintf(buf, n, "%s..%s", lo, hi);
    return snprintf(buf, n, "%s %s, %s %s", ge, lo, le, hi);
  case LB_CT_ENUM: {
    int k = snprintf(buf, n, "one of ");
    const char *a = v->allowed;
    while (*a && (size_t)k < n) {
      size_t w = strcspn(a, "|");
      k += snprintf(buf + k, n - (size_t)k, "%.*s%s", (int)w, a, a[w] ? ", " : "");
      a += w + (a[w] ? 1 : 0);
    }
    return k;
  }
  case LB_CT_STR:
  default:
    return snprintf(buf, n, "%s", v->allowed[0] ? v->allowed : "text");
  }
}

static bool in_range(const lb_cfg_var *v, double x) {
  if (v->flags & LB_CF_NOLIMIT) return true;
  if ((v->flags & LB_CF_MIN_EXCL) ? !(x > v->min) : !(x >= v->min)) return false;
  if ((v->flags & LB_CF_MAX_EXCL) ? !(x < v->max) : !(x <= v->max)) return false;
  return true;
}

static bool parse_bool(const char *s, bool *out) {
  static const char *const yes[] = {"true", "1", "yes", "on"};
  static const char *const no[] = {"false", "0", "no", "off"};
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0) return (*out = true), true;
    if (strcasecmp(s, no[i]) == 0) return (*out = false), true;
  }
  return false;
}

/* Parses text into the field; on a bad value adds one error naming the
 * variable, the value (masked if secret) and the allowed range. */
static lb_err set_value(lb_config *c, const lb_cfg_var *v, const char *text, const char *origin,
                        lb_cfg_report *rep) {
  char shown[96], range[160];
  if (v->flags & LB_CF_SECRET) lb_mask_secret(text, shown, sizeof shown);
  else snprintf(shown, sizeof shown, "%.80s%s", text, strlen(text) > 80 ? "..." : "");
  lb_config_describe_range(v, range, sizeof range);
  const char *why = NULL;
  void *f = field_ptr(c, v);

  if (v->type != LB_CT_STR && text[0] == '\0') {
    why = "is empty";
  } else {
    switch (v->type) {
    case LB_CT_BOOL:
      if (!parse_bool(text, (bool *)f)) why = "is not a boolean";
      break;
    case LB_CT_INT: {
      char *end;
      errno = 0;
      long x = strtol(text, &end, 10);
      if (errno || *end || end == text || isspace((unsigned char)text[0])) why = "is not an integer";
      else if (!in_range(v, (double)x)) why = "is out of range";
      else *(long *)f = x;
      break;
    }
    case LB_CT_NUM: {
      char *end;
      errno = 0;
      double x = strtod(text, &end);
      if (errno || *end || end == text || !isfinite(x) || isspace((unsigned char)text[0]))
        why = "is not a number";
      else if (!in_range(v, x)) why = "is out of range";
      else *(double *)f = x;
      break;
    }
    case LB_CT_DEC: {
      lb_dec d;
      if (lb_dec_parse(text, &d) != LB_OK) why = "is not a decimal number";
      else if (!in_range(v, lb_dec_to_double(d))) why = "is out of range";
      else *(lb_dec *)f = d;
      break;
    }
    case LB_CT_ENUM: {
      const char *a = v->allowed;
      bool ok = false;
      size_t tl = strlen(text);
      while (*a) {
        size_t w = strcspn(a, "|");
        if (w == tl && strncasecmp(a, text, w) == 0) {
          snprintf((char *)f, LB_CFG_STR_MAX, "%.*s", (int)w, a);
          ok = true;
          break;
        }
        a += w + (a[w] ? 1 : 0);
      }
      if (!ok) why = "is not an allowed value";
      break;
    }
    case LB_CT_STR:
    default:
      if (strlen(text) >= LB_CFG_STR_MAX) why = "is too long";
      else snprintf((char *)f, LB_CFG_STR_MAX, "%s", text);
      break;
    }
  }
  if (why) {
    lb_cfg_error(rep, "%s=%s %s (allowed: %s)%s%s", v->name, shown, why, range,
                 origin ? " " : "", origin ? origin : "");
    return LB_ECONFIG;
  }
  return LB_OK;
}

const lb_cfg_var *lb_config_find(const char *name) {
  for (int i = 0; i < LB_CFGV__COUNT; i++)
    if (strcmp(lb_cfg_vars[i].name, name) == 0) return &lb_cfg_vars[i];
  return NULL;
}

void lb_config_defaults(lb_config *c) {
  lb_cfg_report rep = {0};
  memset(c, 0, sizeof *c);
  for (int i = 0; i < LB_CFGV__COUNT; i++) set_value(c, &lb_cfg_vars[i], lb_cfg_vars[i].def, NULL, &rep);
  /* A default that does not validate is a programming error caught by the
   * test suite (test "config_defaults_are_valid"). */
}

lb_err lb_config_set(lb_config *c, const char *name, const char *value, lb_cfg_report *rep) {
  const lb_cfg_var *v = lb_config_find(name);
  if (!v) {
    lb_cfg_error(rep, "%s is not a levbot variable", name);
    return LB_ECONFIG;
  }
  lb_err rc = set_value(c, v, value, NULL, rep);
  if (rc == LB_OK) c->source[v - lb_cfg_vars] = LB_CFG_SRC_SET;
  return rc;
}

/* ==== .env files ==== */

static bool valid_key(const char *k, size_t n) {
  if (n == 0 || !(isalpha((unsigned char)k[0]) || k[0] == '_')) return false;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)k[i]) || k[i] == '_')) return false;
  return true;
}

/* Parses the value part of one line into out; returns false on a syntax error. */
static bool parse_env_value(const char *p, char *out, size_t n) {
  size_t k = 0;
  while (*p == ' ' || *p == '\t') p++;
  if (*p == '"' || *p == '\'') {
    char q = *p++;
    while (*p && *p != q) {
      char ch = *p++;
      if (q == '"' && ch == '\\' && *p) {
        ch = *p++;
        if (ch == 'n') ch = '\n';
        else if (ch == 't') ch = '\t';
      }
      if (k + 1 < n) out[k++] = ch;
    }
    if (*p != q) return false;
    p++;
    while (*p == ' ' || *p == '\t') p++;
    if (*p && *p != '#') return false;
  } else {
    const char *end = p;
    while (*end && !(*end == '#' && (end == p || end[-1] == ' ' || end[-1] == '\t'))) end++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
    size_t len = (size_t)(end - p);
    if (len >= n) len = n - 1;
    memcpy(out, p, len);
    k = len;
  }
  out[k] = '\0';
  return true;
}

static void load_env_file(lb_config *c, const char *path, lb_cfg_report *rep) {
  FILE *f = fopen(path, "r");
  if (!f) {
    lb_cfg_error(rep, "cannot read env file %s: %s", path, strerror(errno));
    return;
  }
  snprintf(c->env_file, sizeof c->env_file, "%s", path);
  char line[4096], value[LB_CFG_STR_MAX + 64];
  int lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    line[strcspn(line, "\r\n")] = '\0';
    char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '\0' || *p == '#') continue;
    if (strncmp(p, "export ", 7) == 0) p += 7;
    char *eq = strchr(p, '=');
    size_t klen = eq ? (size_t)(eq - p) : 0;
    while (klen > 0 && (p[klen - 1] == ' ' || p[klen - 1] == '\t')) klen--;
    if (!eq || !valid_key(p, klen)) {
      lb_cfg_error(rep, "%s line %d: expected NAME=value", path, lineno);
      continue;
    }
    char key[128];
    snprintf(key, sizeof key, "%.*s", (int)(klen < 127 ? klen : 127), p);
    if (!parse_env_value(eq + 1, value, sizeof value)) {
      lb_cfg_error(rep, "%s line %d: unterminated or malformed quoted value for %s", path, lineno,
                   key);
      continue;
    }
    const lb_cfg_var *v = lb_config_find(key);
    if (!v) {
      lb_cfg_warn(rep, "%s line %d: unknown variable %s (ignored)", path, lineno, key);
      continue;
    }
    char origin[LB_CFG_STR_MAX + 32];
    snprintf(origin, sizeof origin, "(%s line %d)", path, lineno);
    if (set_value(c, v, value, origin, rep) == LB_OK) c->source[v - lb_cfg_vars] = LB_CFG_SRC_FILE;
  }
  fclose(f);
}

static void register_secrets(const lb_config *c) {
  for (int i = 0; i < LB_CFGV__COUNT; i++) {
    const lb_cfg_var *v = &lb_cfg_vars[i];
    const char *s = field_cptr(c, v);
    if (v->flags & LB_CF_SECRET) {
      lb_log_add_secret(s);
    } else if (v->flags & LB_CF_URL) {
      size_t st, len;
      if (url_password_span(s, &st, &len) && len > 0) {
        char pw[LB_CFG_STR_MAX];
        snprintf(pw, sizeof pw, "%.*s", (int)len, s + st);
        lb_log_add_secret(pw);
      }
    }
  }
}

lb_err lb_config_load(lb_config *c, const lb_cfg_source *src, lb_cfg_report *rep) {
  lb_cfg_source dflt = {0};
  if (!src) src = &dflt;
  lb_config_defaults(c);
  int errors_before = rep->n_errors;

  const char *path = src->env_file ? src->env_file : ".env";
  FILE *probe = fopen(path, "r");
  if (probe) {
    fclose(probe);
    load_env_file(c, path, rep);
  } else if (src->env_file_explicit) {
    lb_cfg_error(rep, "env file %s does not exist or cannot be read", path);
  }

  char *const *envp = src->envp ? src->envp : environ;
  for (; envp && *envp; envp++) {
    const char *eq = strchr(*envp, '=');
    if (!eq || eq == *envp || (size_t)(eq - *envp) >= 128) continue;
    char key[128];
    snprintf(key, sizeof key, "%.*s", (int)(eq - *envp), *envp);
    const lb_cfg_var *v = lb_config_find(key);
    if (!v) continue;
    if (set_value(c, v, eq + 1, "(environment)", rep) == LB_OK)
      c->source[v - lb_cfg_vars] = LB_CFG_SRC_ENV;
  }
  register_secrets(c);
  lb_config_check(c, rep);
  return rep->n_errors > errors_before ? LB_ECONFIG : LB_OK;
}

/* ==== Printing ==== */

int lb_config_format(const lb_config *c, const lb_cfg_var *v, bool mask, char *buf, size_t n) {
  const void *f = field_cptr(c, v);
  switch (v->type) {
  case LB_CT_BOOL:
    return snprintf(buf, n, "%s", *(const bool *)f ? "true" : "false");
  case LB_CT_INT:
    return snprintf(buf, n, "%ld", *(const long *)f);
  case LB_CT_NUM:
    return snprintf(buf, n, "%.15g", *(const double *)f);
  case LB_CT_DEC: {
    char d[LB_DEC_STRLEN];
    lb_dec_fmt_places(*(const lb_dec *)f, 2, d, sizeof d);
    /* Show more decimals only when the value has them. */
    lb_dec x = *(const lb_dec *)f;
    if (x % (LB_DEC_SCALE / 100) != 0) lb_dec_fmt(x, d, sizeof d);
    return snprintf(buf, n, "%s", d);
  }
  default:
    if (mask && (v->flags & LB_CF_SECRET)) {
      lb_mask_secret((const char *)f, buf, n);
      return (int)strlen(buf);
    }
    if (mask && (v->flags & LB_CF_URL)) {
      lb_mask_url((const char *)f, buf, n);
      return (int)strlen(buf);
    }
    return snprintf(buf, n, "%s", (const char *)f);
  }
}

void lb_config_print(FILE *f, const lb_config *c) {
  static const char *const src_names[] = {"default", "env file", "environment", "set"};
  char val[LB_CFG_STR_MAX + 16];
  if (c->env_file[0]) fprintf(f, "# env file: %s\n", c->env_file);
  for (int i = 0; i < LB_CFGV__COUNT; i++) {
    lb_config_format(c, &lb_cfg_vars[i], true, val, sizeof val);
    fprintf(f, "%s=%s  # %s\n", lb_cfg_vars[i].name, val, src_names[c->source[i] & 3]);
  }
}

void lb_config_write_env_example(FILE *f) {
  char range[160];
  const char *section = "";
  fprintf(f, "# levbot configuration (generated from src/core/cfg/*.def by\n"
             "# `levbot config --env-example`; do not edit by hand).\n"
             "# Copy to .env and adjust. Percentages are fractions: 0.07 = 7 %%.\n"
             "# The environment wins over this file.\n");
  for (int i = 0; i < LB_CFGV__COUNT; i++) {
    const lb_cfg_var *v = &lb_cfg_vars[i];
    if (strcmp(section, v->section) != 0) {
      section = v->section;
      fprintf(f, "\n# ---- %s ----\n", section);
    }
    lb_config_describe_range(v, range, sizeof range);
    fprintf(f, "# %s (allowed: %s)%s\n%s=%s\n", v->help, range,
            (v->flags & LB_CF_SECRET) ? " [secret]" : "", v->name, v->def);
  }
}

static void md_escape(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '|') fputs("\\|", f);
    else fputc(*s, f);
  }
}

void lb_config_write_markdown(FILE *f) {
  char range[160];
  fputs("| variable | default | allowed | meaning |\n|---|---|---|---|\n", f);
  for (int i = 0; i < LB_CFGV__COUNT; i++) {
    const lb_cfg_var *v = &lb_cfg_vars[i];
    lb_config_describe_range(v, range, sizeof range);
    fprintf(f, "| `%s` | ", v->name);
    if (v->def[0]) {
      fputc('`', f);
      md_escape(f, v->def);
      fputc('`', f);
    } else {
      fputs("(empty)", f);
    }
    fputs(" | ", f);
    md_escape(f, range);
    fputs(" | ", f);
    md_escape(f, v->help);
    fputs((v->flags & LB_CF_SECRET) ? " (secret)" : "", f);
    fputs(" |\n", f);
  }
}

int lb_cfg_split_list(const char *list, char items[][64], int max) {
  int n = 0;
  const char *p = list;
  while (*p) {
    size_t w = strcspn(p, ",");
    const char *s = p, *e = p + w;
    while (s < e && isspace((unsigned char)*s)) s++;
    while (e > s && isspace((unsigned char)e[-1])) e--;
    if (e > s) {
      if (n >= max) return -1;
      snprintf(items[n], 64, "%.*s", (int)(e - s), s);
      n++;
    }
    p += w + (p[w] ? 1 : 0);
  }
  return n;
}
