/* config.h -- levbot's configuration: one table, every variable.
 *
 * Owns: the list of environment variables (src/core/cfg/<module>.def, one
 * file per module, each line LB_CFG(NAME, TYPE, field, "default", min, max,
 * flags, "allowed", "help")), their parsing from the environment and a .env
 * file (environment wins), validation that reports ALL errors at once, and
 * the printers that derive `levbot config`, .env.example and the README
 * table from the same table, so the four never disagree.
 *
 * Must not: interpret values beyond their declared type and range (what
 * SYMBOLS means is the engine's business); cross-variable rules live in
 * config_check.c, one function per module.
 *
 * Invariants:
 *   - lb_config_defaults() yields a configuration that validates cleanly;
 *   - a secret's value is never printed: lb_config_format() masks it as
 *     "****abcd" and every loaded secret is registered with the log
 *     redactor (see log.h).
 */
#ifndef LB_CORE_CONFIG_H
#define LB_CORE_CONFIG_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/err.h"
#include "core/money.h"

#define LB_CFG_STR_MAX 512

typedef enum {
  LB_CT_BOOL, /* bool: true/false, 1/0, yes/no, on/off */
  LB_CT_INT,  /* long, integer text only */
  LB_CT_NUM,  /* double (fractions: 0.07 = 7 %) */
  LB_CT_DEC,  /* lb_dec, exact money */
  LB_CT_STR,  /* char[LB_CFG_STR_MAX] */
  LB_CT_ENUM  /* char[LB_CFG_STR_MAX], one of the '|'-separated allowed words */
} lb_cfg_type;

enum {
  LB_CF_SECRET = 1 << 0,   /* masked everywhere, registered for log redaction */
  LB_CF_MIN_EXCL = 1 << 1, /* value must be > min (not >=) */
  LB_CF_MAX_EXCL = 1 << 2,
  LB_CF_URL = 1 << 3,      /* a URL whose password part is masked */
  LB_CF_NOLIMIT = 1 << 4   /* min/max not checked */
};

#define LB_CFG_F_BOOL(f) bool f;
#define LB_CFG_F_INT(f) long f;
#define LB_CFG_F_NUM(f) double f;
#define LB_CFG_F_DEC(f) lb_dec f;
#define LB_CFG_F_STR(f) char f[LB_CFG_STR_MAX];
#define LB_CFG_F_ENUM(f) char f[LB_CFG_STR_MAX];

/* Index of every variable: LB_CFGV_MAX_LEVERAGE, ... */
typedef enum {
#define LB_CFG(name, type, field, def, lo, hi, flags, allowed, help) LB_CFGV_##name,
#include "core/cfg/all.def"
#undef LB_CFG
  LB_CFGV__COUNT
} lb_cfg_id;

typedef enum { LB_CFG_SRC_DEFAULT = 0, LB_CFG_SRC_FILE, LB_CFG_SRC_ENV, LB_CFG_SRC_SET } lb_cfg_src;

typedef struct lb_config {
#define LB_CFG(name, type, field, def, lo, hi, flags, allowed, help) LB_CFG_F_##type(field)
#include "core/cfg/all.def"
#undef LB_CFG
  unsigned char source[LB_CFGV__COUNT]; /* lb_cfg_src of each variable */
  char env_file[LB_CFG_STR_MAX];        /* the .env file that was read, or "" */
} lb_config;

typedef struct {
  const char *name;
  lb_cfg_type type;
  size_t offset;
  const char *def;
  double min, max;
  unsigned flags;
  const char *allowed; /* ENUM words "a|b|c", or a note for STR */
  const char *help;
  const char *section; /* module that owns it: "core", "risk", ... */
} lb_cfg_var;

extern const lb_cfg_var lb_cfg_vars[LB_CFGV__COUNT];

/* ==== Loading and validation ==== */

#define LB_CFG_MSG_MAX 64
typedef struct {
  int n_errors, n_warnings;
  char errors[LB_CFG_MSG_MAX][256];
  char warnings[LB_CFG_MSG_MAX][256];
} lb_cfg_report;

void lb_cfg_error(lb_cfg_report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lb_cfg_warn(lb_cfg_report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct {
  /* .env file: NULL means "./.env if it exists"; with explicit = true a
   * missing file is an error (the user asked for it with --env-file). */
  const char *env_file;
  bool env_file_explicit;
  /* Environment as "NAME=value" strings, NULL-terminated; NULL = environ. */
  char *const *envp;
} lb_cfg_source;

/* Every variable at its default. */
void lb_config_defaults(lb_config *c);

/* Defaults, then the .env file, then the environment; then validation of
 * every value and every cross-variable rule.  All problems go to rep.
 * Returns LB_OK, or LB_ECONFIG when rep holds at least one error.  Loaded
 * secrets are registered with the log redactor. */
lb_err lb_config_load(lb_config *c, const lb_cfg_source *src, lb_cfg_report *rep);

/* Sets one variable from text with the same validation (errors to rep),
 * without the cross-variable checks (call lb_config_check for those). */
lb_err lb_config_set(lb_config *c, const char *name, const char *value, lb_cfg_report *rep);
/* Cross-variable rules of every module (config_check.c). */
void lb_config_check(const lb_config *c, lb_cfg_report *rep);

const lb_cfg_var *lb_config_find(const char *name);

/* ==== Printing ==== */

/* The value as text; secrets masked when mask is true. */
int lb_config_format(const lb_config *c, const lb_cfg_var *v, bool mask, char *buf, size_t n);
/* "****abcd": the last four characters of a secret of 12+ characters, else
 * "****"; "" stays "" (unset). */
void lb_mask_secret(const char *s, char *out, size_t n);
/* A URL with its password replaced by "****". */
void lb_mask_url(const char *url, char *out, size_t n);

/* `levbot config`: NAME=value lines with their source, secrets masked. */
void lb_config_print(FILE *f, const lb_config *c);
/* .env.example, generated. */
void lb_config_write_env_example(FILE *f);
/* The README's Markdown table, generated. */
void lb_config_write_markdown(FILE *f);
/* Text for "allowed" column: "integer 1..10", "> 0", "one of a, b". */
int lb_config_describe_range(const lb_cfg_var *v, char *buf, size_t n);

/* Comma-separated list helper: splits `list` into at most max trimmed,
 * non-empty items copied into items[i] (each of size item_size).  Returns
 * the number of items, or -1 if there are more than max. */
int lb_cfg_split_list(const char *list, char items[][64], int max);

#endif
