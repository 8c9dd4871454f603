/* ai_answer.c -- from a model's reply text to a checked decision (ai_wire.h).
 *
 * Models are told to answer with one JSON object and mostly do, but they
 * also wrap it in ```json fences, prefix it with a sentence, get cut off at
 * the token limit, or refuse.  This file finds the object without trusting
 * the text around it, and leaves every schema and range rule to
 * lb_decision_from_json, so there is one definition of a valid decision.
 * Every failure is a HOLD whose reasoning is the recorded reason.
 */
#include <jansson.h>
#include <string.h>

#include "ai/ai_wire.h"

/* Braces tried as object starts before giving up: a decision is one of the
 * first few objects of an answer, and the bound keeps the scan linear-ish
 * on hostile input (the fuzzer feeds pages of '{'). */
#define MAX_STARTS 128

/* End (index of the closing brace) of the object starting at text[i] ==
 * '{', reading JSON strings with their escapes; -1 if it never closes. */
static long object_end(const char *text, size_t n, size_t i) {
  int depth = 0;
  bool in_str = false;
  for (size_t k = i; k < n; k++) {
    char c = text[k];
    if (in_str) {
      if (c == '\\') k++;
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') in_str = true;
    else if (c == '{') depth++;
    else if (c == '}' && --depth == 0) return (long)k;
  }
  return -1;
}

/* 1: a JSON object with "action"; 0: another JSON object; -1: not JSON. */
static int candidate_kind(const char *s, size_t len) {
  json_error_t jerr;
  json_t *o = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!o) return -1;
  int kind = json_is_object(o) ? (json_object_get(o, "action") ? 1 : 0) : -1;
  json_decref(o);
  return kind;
}

lb_err ai_answer_find_json(const char *text, size_t n, size_t *off, size_t *len, lb_errbuf *eb) {
  if (!text || n == 0) return lb_fail(eb, LB_EPARSE, "empty answer");
  if (n > AI_ANSWER_MAX)
    return lb_fail(eb, LB_EPARSE, "answer of %zu bytes exceeds %d", n, AI_ANSWER_MAX);
  long first_any = -1, first_any_end = -1, found = -1, found_end = -1;
  bool unterminated = false;
  int starts = 0;
  for (size_t i = 0; i < n && starts < MAX_STARTS; i++) {
    if (text[i] != '{') continue;
    starts++;
    long end = object_end(text, n, i);
    if (end < 0) {
      unterminated = true;
      continue;
    }
    size_t clen = (size_t)end - i + 1;
    int kind = candidate_kind(text + i, clen);
    if (kind < 0) continue;
    if (kind == 1) {
      if (found < 0) {
        found = (long)i;
        found_end = end;
      } else if ((size_t)(found_end - found + 1) != clen ||
                 memcmp(text + found, text + i, clen) != 0) {
        return lb_fail(eb, LB_EPARSE, "answer holds more than one decision object");
      }
    } else if (first_any < 0) {
      first_any = (long)i;
      first_any_end = end;
    }
    i = (size_t)end; /* objects nested in this one are not candidates */
  }
  if (found < 0) {
    found = first_any;
    found_end = first_any_end;
  }
  if (found < 0) {
    if (unterminated)
      return lb_fail(eb, LB_EPARSE, "answer has an unterminated JSON object (truncated?)");
    return lb_fail(eb, LB_EPARSE, "no JSON object in the answer");
  }
  *off = (size_t)found;
  *len = (size_t)(found_end - found + 1);
  return LB_OK;
}

static lb_err reject(lb_decision *out, lb_errbuf *eb, lb_err rc) {
  lb_decision_hold(out, "rejected answer: %s", eb->msg);
  return rc;
}

lb_err ai_answer_parse(const char *text, size_t n, ai_stop stop, const char *refusal,
                       const lb_decision_limits *lim, lb_decision *out, lb_errbuf *eb) {
  lb_errbuf local;
  if (!eb) eb = &local;
  if (stop == AI_STOP_REFUSAL || (refusal && *refusal)) {
    /* text is not NUL-terminated: print at most n bytes of it. */
    if (refusal && *refusal) lb_fail(eb, LB_EREJECTED, "model refused: %.160s", refusal);
    else if (text && n) lb_fail(eb, LB_EREJECTED, "model refused: %.*s", n > 160 ? 160 : (int)n, text);
    else lb_fail(eb, LB_EREJECTED, "model refused (no text)");
    return reject(out, eb, LB_EREJECTED);
  }
  if (stop == AI_STOP_LENGTH) {
    lb_fail(eb, LB_EPARSE, "answer truncated at the token limit");
    return reject(out, eb, LB_EPARSE);
  }
  if (stop == AI_STOP_FILTER) {
    lb_fail(eb, LB_EREJECTED, "answer withheld by the provider's content filter");
    return reject(out, eb, LB_EREJECTED);
  }
  if (stop == AI_STOP_OTHER) {
    lb_fail(eb, LB_EPARSE, "answer incomplete (unexpected stop reason)");
    return reject(out, eb, LB_EPARSE);
  }
  size_t off, len;
  lb_err rc = ai_answer_find_json(text, n, &off, &len, eb);
  if (rc) return reject(out, eb, rc);
  return lb_decision_from_json(text + off, len, lim, out, eb);
}
