/* test_brackets.c -- the shipped bracket tables are Binance's, and a table the
 * exchange reports replaces them in the risk rules. */
#include <jansson.h>

#include "fixtures.h"

static lb_dec jdec(json_t *o, const char *key) {
  lb_dec d = 0;
  json_t *v = json_object_get(o, key);
  if (!json_is_number(v) || lb_dec_from_double(json_number_value(v), &d) != LB_OK)
    lbt_fail(__FILE__, __LINE__, "bracket field %s", key);
  return d;
}

/* Reads one symbol's brackets from a GET /fapi/v1/leverageBracket answer. */
static bool load_table(json_t *root, const char *symbol, lb_bracket_table *t) {
  size_t i, j;
  json_t *s, *b;
  memset(t, 0, sizeof *t);
  json_array_foreach(root, i, s) {
    if (strcmp(json_string_value(json_object_get(s, "symbol")), symbol) != 0) continue;
    snprintf(t->symbol, sizeof t->symbol, "%s", symbol);
    json_array_foreach(json_object_get(s, "brackets"), j, b) {
      if (t->n >= LB_BRACKETS_MAX) return false;
      lb_bracket *x = &t->tier[t->n++];
      x->bracket = (int)json_integer_value(json_object_get(b, "bracket"));
      x->max_leverage = (int)json_integer_value(json_object_get(b, "initialLeverage"));
      x->notional_floor = jdec(b, "notionalFloor");
      x->notional_cap = jdec(b, "notionalCap");
      x->mmr = jdec(b, "maintMarginRatio");
      x->cum = jdec(b, "cum");
    }
    return t->n > 0;
  }
  return false;
}

static json_t *recorded(void) {
  json_error_t err;
  json_t *root = json_load_file(lbt_source_path("data/brackets/binance_usdm_leverageBracket.json"),
                                0, &err);
  if (!root) lbt_fail(__FILE__, __LINE__, "%s", err.text);
  return root;
}

TEST(brackets_shipped_tables_equal_binance_recorded_answer) {
  json_t *root = recorded();
  REQUIRE(root != NULL);
  const char *syms[] = {"BTCUSDT", "ETHUSDT"};
  for (int k = 0; k < 2; k++) {
    lb_bracket_table want, got;
    REQUIRE(load_table(root, syms[k], &want));
    if (k == 0) lb_brackets_binance_btcusdt(&got);
    else lb_brackets_binance_ethusdt(&got);
    REQUIRE_EQ(got.n, want.n);
    for (int i = 0; i < got.n; i++) {
      const lb_bracket *a = &got.tier[i], *b = &want.tier[i];
      if (a->bracket != b->bracket || a->max_leverage != b->max_leverage ||
          a->notional_floor != b->notional_floor || a->notional_cap != b->notional_cap ||
          a->mmr != b->mmr || a->cum != b->cum)
        lbt_fail(__FILE__, __LINE__, "%s bracket %d differs from the recorded answer", syms[k],
                 i + 1);
    }
  }
  json_decref(root);
}

TEST(brackets_reported_by_the_exchange_replace_the_defaults) {
  /* XRPUSDT's reported table: first tier 75x, 0.5 %.  A 20000 USDT notional
   * lands in tier 3 (20000..160000: 40x, 1 %, cum 85). */
  json_t *root = recorded();
  REQUIRE(root != NULL);
  lb_bracket_table t;
  REQUIRE(load_table(root, "XRPUSDT", &t));
  json_decref(root);
  lb_errbuf eb;
  REQUIRE_OK(lb_brackets_validate(&t, &eb));
  const lb_bracket *b = NULL;
  lb_dec lp;
  /* 40000 XRP at 0.5, 10x: (20000 - 2000 - 85) / (40000 x 0.99) = 0.45239898... */
  REQUIRE_OK(risk_liquidation_price_for(LB_ACTION_LONG, D("40000"), D("0.5"), D("2000"), &t, &b,
                                        &lp));
  CHECK_EQ(b->bracket, 3);
  CHECK_EQ(lp, D("0.45239899"));
  /* a plan with it uses its tier and its leverage ceiling */
  risk_params p;
  seed_aggressive(&p);
  p.stop_mode = RISK_STOP_FIXED;
  p.max_leverage = 10;
  p.lev.trending_strong = 10;
  p.min_stop = 0.02;
  p.max_stop = 0.03;
  lb_symbol_rules r;
  lb_rules_generic(&r, "XRPUSDT");
  r.tick_size = D("0.0001");
  r.step_size = r.market_step_size = D("0.1");
  lb_decision d = dec(LB_ACTION_LONG, 0.9, 10, 0.02, 0.04, LB_REGIME_TRENDING);
  risk_market m = mkt("0.5");
  risk_plan pl;
  REQUIRE_EQ(risk_plan_entry(D("100000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  /* the stop 0.49 fills at 0.4899 (2 bps, down to the tick): budget 10000 /
   * (0.0101 + 0.00025 + 0.00024495) per XRP = 943845.8 XRP, 471922.9 USDT:
   * tier 4 (160000..800000), 25x allowed, 2 % MMR */
  CHECK_EQ(pl.qty, D("943845.8"));
  CHECK_EQ(pl.bracket, 4);
  CHECK_EQ(pl.mmr, D("0.02"));
  CHECK_EQ(pl.leverage, 10);
}
