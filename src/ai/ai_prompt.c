/* ai_prompt.c -- the system prompt, the user message and the hashes that key the cache.
 *
 * The system prompt is the reviewed text of prompts/system-v1.txt, compiled
 * in (prompts/embed.py writes ai_prompt_v1.inc) so the binary runs from any
 * directory; AI_PROMPT_FILE may replace it.  Its SHA-256 goes with every
 * decision row and into the cache key, so a prompt edit never reuses an
 * answer given to another prompt.
 *
 * The user message has two parts: the account (capital, mark price), which
 * moves every scan, and the market (limits, funding, the snapshot at the
 * last closed candle), which is hashed.  Only the market part keys the
 * cache: the same closed candle with the same limits is the same question.
 */
#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai_int.h"

const char ai_prompt_v1_text[] =
#include "ai/ai_prompt_v1.inc"
    ;

void ai_sha256_hex(const void *data, size_t n, char out[AI_HASH_HEX]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(data, n, md, &len, EVP_sha256(), NULL)) len = 0;
  static const char hex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len && i < 32; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[2 * (len < 32 ? len : 32)] = '\0';
}

lb_err ai_prompt_load(const char *path, ai_prompt *out, lb_errbuf *eb) {
  memset(out, 0, sizeof *out);
  if (!path || !*path) {
    out->text = ai_prompt_v1_text;
    snprintf(out->version, sizeof out->version, "%s", AI_PROMPT_V1_NAME);
  } else {
    lb_buf b;
    lb_buf_init(&b);
    lb_err rc = lb_buf_read_file(&b, path, 256 * 1024, eb);
    if (rc) {
      lb_buf_free(&b);
      return rc;
    }
    if (b.len == 0 || memchr(b.data, '\0', b.len)) {
      lb_buf_free(&b);
      return lb_fail(eb, LB_EINVAL, "AI_PROMPT_FILE=%s is empty or not text", path);
    }
    out->owned = lb_buf_steal(&b);
    out->text = out->owned;
    const char *base = strrchr(path, '/');
    snprintf(out->version, sizeof out->version, "%s", base ? base + 1 : path);
  }
  ai_sha256_hex(out->text, strlen(out->text), out->hash);
  return LB_OK;
}

void ai_prompt_close(ai_prompt *p) {
  free(p->owned);
  memset(p, 0, sizeof *p);
}

lb_err ai_user_message(const ta_snapshot *snap, const strategy_context *ctx, double min_confidence,
                       lb_buf *msg, char market_hash[AI_HASH_HEX], lb_errbuf *eb) {
  char *snap_json = ta_snapshot_to_json(snap);
  json_t *lim = json_pack("{s:s, s:i, s:f, s:f, s:f, s:f}", "symbol", snap->symbol,
                          "max_leverage", ctx->max_leverage, "min_stop_loss_percent",
                          ctx->min_stop, "max_stop_loss_percent", ctx->max_stop,
                          "max_risk_per_trade", ctx->max_risk_per_trade, "min_confidence",
                          min_confidence);
  char *lim_json = lim ? json_dumps(lim, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))
                       : NULL;
  json_decref(lim);
  lb_buf market;
  lb_buf_init(&market);
  lb_err rc = LB_OK;
  if (!snap_json || !lim_json) {
    rc = lb_fail(eb, LB_ENOMEM, "cannot serialise the market snapshot");
    goto out;
  }
  char funding[96];
  if (isfinite(ctx->funding_rate))
    snprintf(funding, sizeof funding, "%.5f (%.4f%% per 8 h; positive: longs pay shorts)",
             ctx->funding_rate, ctx->funding_rate * 100.0);
  else
    snprintf(funding, sizeof funding, "unknown");
  if (lb_buf_printf(&market,
                    "Limits (fractions: 0.07 = 7%%):\n%s\n\n"
                    "Funding rate: %s\n\n"
                    "Market snapshot at the last closed candle (timeframes from the entry "
                    "timeframe up: recent candles, indicators, regime, support/resistance, "
                    "divergences; then multi-timeframe confluence):\n%s\n",
                    lim_json, funding, snap_json)) {
    rc = lb_fail(eb, LB_ENOMEM, "out of memory");
    goto out;
  }
  ai_sha256_hex(market.data, market.len, market_hash);
  char cap[LB_DEC_STRLEN], mark[LB_DEC_STRLEN];
  lb_dec_fmt(ctx->capital, cap, sizeof cap);
  lb_dec_fmt(ctx->mark_price, mark, sizeof mark);
  lb_buf_reset(msg);
  if (lb_buf_printf(msg,
                    "Analyse the %s perpetual future and answer with one JSON decision object "
                    "as specified.\n\nAccount: capital %s USDT; current mark price %s.\n\n%s",
                    snap->symbol, cap, ctx->mark_price > 0 ? mark : "unknown", market.data))
    rc = lb_fail(eb, LB_ENOMEM, "out of memory");
out:
  free(snap_json);
  free(lim_json);
  lb_buf_free(&market);
  return rc;
}
