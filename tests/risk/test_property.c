/* test_property.c -- properties over seeded random markets.
 *
 * 1. Every accepted plan, over random (capital, price, volatility, decision,
 *    configuration, symbol filters, bracket table), satisfies every
 *    invariant of risk.h.  The invariants are recomputed here with this
 *    file's own exact integer arithmetic (and a long-double liquidation
 *    price), not with the module's helpers, and risk_plan_check must agree.
 *    Loss and profit are taken at the stop's and take-profit's expected
 *    fills: the trigger moved SLIPPAGE_BPS against the exit, on the tick.
 * 2. The trailing stop never loosens over random price paths.
 * 3. Each breaker trips exactly at its threshold and not one unit before.
 * Counts are printed so they can be reported; LEVBOT_TEST_SEED reproduces a
 * run.
 */
#include <stdint.h>

#include "fixtures.h"

typedef __int128 i128;

#define PLAN_CASES 300000
#define TRAIL_PATHS 4000
#define TRAIL_STEPS 250
#define BREAKER_CASES 25000 /* per breaker kind */

/* ==== Random numbers (splitmix64) ==== */

typedef struct {
  uint64_t s;
} rng;

static uint64_t next(rng *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double unif(rng *r) { return (double)(next(r) >> 11) / 9007199254740992.0; }
static int irange(rng *r, int lo, int hi) { return lo + (int)(next(r) % (uint64_t)(hi - lo + 1)); }
static double logu(rng *r, double lo, double hi) { return exp(log(lo) + unif(r) * (log(hi) - log(lo))); }
static bool chance(rng *r, double p) { return unif(r) < p; }

static lb_dec dec_of(double x) {
  lb_dec d = 0;
  if (lb_dec_from_double(x, &d) != LB_OK) lbt_fail(__FILE__, __LINE__, "dec_of(%g)", x);
  return d;
}
/* 10^k in 1e-8 units, k >= -8 */
static lb_dec pow10_units(int k) {
  lb_dec v = 1;
  for (int i = -8; i < k; i++) v *= 10;
  return v;
}
static i128 rate_units(double f) { return (i128)llrint(f * 1e8); }

/* The expected fill of an exit triggered at `px` (units 1e-8): slip x px
 * rounded up beyond it, then to the tick against the trader. */
static i128 exit_fill(bool is_long, i128 px, i128 slip, i128 tick) {
  i128 d = (px * slip + LB_DEC_SCALE - 1) / LB_DEC_SCALE;
  if (is_long) {
    i128 v = px - d;
    return v <= 0 ? 0 : v / tick * tick;
  }
  return (px + d + tick - 1) / tick * tick;
}

/* ==== Random worlds ==== */

typedef struct {
  risk_params p;
  lb_symbol_rules r;
  lb_bracket_table t;
  lb_decision d;
  risk_market m;
  lb_dec capital;
} world;

static void random_brackets(rng *g, lb_bracket_table *t) {
  memset(t, 0, sizeof *t);
  snprintf(t->symbol, sizeof t->symbol, "RANDOM");
  t->n = irange(g, 1, 10);
  lb_dec floor = 0, cum = 0, mmr_prev = 0;
  int lev = (int[]){20, 50, 75, 100, 125}[irange(g, 0, 4)];
  lb_dec mmr = pow10_units(-4) * irange(g, 20, 100); /* 0.2 % .. 1 % */
  for (int i = 0; i < t->n; i++) {
    lb_bracket *b = &t->tier[i];
    b->bracket = i + 1;
    b->max_leverage = lev;
    b->notional_floor = floor;
    lb_dec cap = floor + LB_DEC_INT((int64_t)logu(g, 1000, 5e6));
    b->notional_cap = i == t->n - 1 ? LB_DEC_INT(INT64_C(10000000000)) : cap;
    if (i > 0) {
      mmr += pow10_units(-4) * irange(g, 5, 300);
      if (mmr > pow10_units(-1) * 5) mmr = pow10_units(-1) * 5;
      /* cum_n = cum_(n-1) + floor_n x (mmr_n - mmr_(n-1)): exact here */
      cum += (lb_dec)((i128)floor * (mmr - mmr_prev) / LB_DEC_SCALE);
    }
    b->mmr = mmr;
    b->cum = cum;
    mmr_prev = mmr;
    floor = b->notional_cap;
    lev = lev > 1 ? lev - irange(g, 0, lev / 2) : 1;
    if (lev < 1) lev = 1;
  }
}

/* A symbol whose tick and step fit its price, like a real listing. */
static void random_rules(rng *g, double price, lb_symbol_rules *r) {
  memset(r, 0, sizeof *r);
  snprintf(r->symbol, sizeof r->symbol, "RANDOMUSDT");
  int k = (int)floor(log10(price)) - irange(g, 3, 5);
  if (k < -8) k = -8;
  r->tick_size = pow10_units(k) * (int[]){1, 1, 1, 5}[irange(g, 0, 3)];
  int s = (int)floor(log10(logu(g, 0.001, 50) / price));
  if (s < -8) s = -8;
  r->step_size = r->market_step_size = pow10_units(s);
  r->min_qty = r->market_min_qty = r->step_size * irange(g, 1, 5);
  r->max_qty = r->market_max_qty = chance(g, 0.5) ? 0 : r->step_size * (lb_dec)logu(g, 10, 1e7);
  static const int min_notionals[] = {0, 5, 20, 100};
  r->min_notional = LB_DEC_INT(min_notionals[irange(g, 0, 3)]);
  r->min_price = chance(g, 0.5) ? 0 : lb_dec_round_to(dec_of(price * 0.01), r->tick_size, LB_ROUND_CEIL);
  r->max_price = chance(g, 0.5) ? 0 : dec_of(price * 100);
}

/* The three base sets, loaded once (loading a configuration is slow next
 * to a plan). */
static const risk_params *base_params(int kind) {
  static risk_params sets[3];
  static bool loaded;
  if (!loaded) {
    seed_conservative(&sets[0]);
    seed_aggressive(&sets[1]);
    risk_params_default(&sets[2]);
    loaded = true;
  }
  return &sets[kind];
}

static void random_params(rng *g, risk_params *p) {
  int kind = irange(g, 0, 4);
  *p = *base_params(kind < 2 ? kind : 2);
  p->stop_mode = (risk_stop_mode)irange(g, 0, 2);
  p->tp_mode = chance(g, 0.7) ? RISK_TP_RR : RISK_TP_ANALYST;
  p->lev.volatile_max = irange(g, 0, 2);
  if (kind <= 1 && chance(g, 0.5)) return; /* the seed's sets as they are */
  p->max_leverage = irange(g, 1, 10);
  if (chance(g, 0.15)) { /* hand-made high-leverage tables: liquidation matters */
    p->max_leverage = irange(g, 10, 50);
    p->lev.trending_strong = irange(g, 5, 50);
    p->lev.trending = irange(g, 3, 20);
    p->lev.ranging = irange(g, 3, 20);
  }
  p->min_stop = logu(g, 0.001, 0.2);
  p->max_stop = p->min_stop + unif(g) * (0.5 - p->min_stop);
  p->atr_stop_multiple = 0.5 + 4.5 * unif(g);
  p->swing_buffer = 0.01 * unif(g);
  p->target_rr = 0.5 + 4.5 * unif(g);
  p->min_rr = 3 * unif(g);
  p->min_profit_usd = LB_DEC_INT(irange(g, 0, 5000)) / 100;
  p->max_risk_per_trade = logu(g, 0.001, 0.10);
  p->taker_fee = chance(g, 0.2) ? 0 : 0.001 * unif(g);
  p->slippage = chance(g, 0.2) ? 0 : irange(g, 1, 500) / 10000.0; /* SLIPPAGE_BPS 0..500 */
  p->liquidation_buffer = logu(g, 0.001, 0.1);
  p->min_confidence = 0.75 + 0.2 * unif(g);
}

static void random_world(rng *g, world *w) {
  memset(w, 0, sizeof *w);
  random_params(g, &w->p);
  double price;
  int sym = irange(g, 0, 2);
  if (sym == 0) {
    btc(&w->r, &w->t);
    price = logu(g, 15000, 150000);
  } else if (sym == 1) {
    eth(&w->r, &w->t);
    price = logu(g, 500, 8000);
  } else {
    price = logu(g, 0.01, 100000);
    random_rules(g, price, &w->r);
    random_brackets(g, &w->t);
  }
  if (chance(g, 0.3)) random_brackets(g, &w->t);
  if (chance(g, 0.1)) w->t.tier[0].max_leverage = irange(g, 1, 5);
  lb_dec e = dec_of(price);
  w->m.entry_price = chance(g, 0.8) ? lb_dec_round_to(e, w->r.tick_size, LB_ROUND_HALF_EVEN) : e;
  if (w->m.entry_price <= 0) w->m.entry_price = w->r.tick_size;
  w->capital = LB_DEC_INT((int64_t)(logu(g, 5, 1e6) * 100)) / 100;
  w->m.atr = chance(g, 0.2) ? NAN : price * logu(g, 0.0005, 0.1);
  w->m.swing_low = chance(g, 0.2) ? NAN : price * (1 - logu(g, 0.001, 0.3) * (chance(g, 0.1) ? -1 : 1));
  w->m.swing_high = chance(g, 0.2) ? NAN : price * (1 + logu(g, 0.001, 0.3) * (chance(g, 0.1) ? -1 : 1));
  w->m.regime = (lb_regime)irange(g, 0, 3);
  if (chance(g, 0.6)) w->m.regime = LB_REGIME_TRENDING;
  w->m.open_positions = chance(g, 0.05) ? 1 : 0;
  w->m.breaker_active = chance(g, 0.03);
  lb_action a = chance(g, 0.05) ? LB_ACTION_HOLD : chance(g, 0.5) ? LB_ACTION_LONG : LB_ACTION_SHORT;
  w->d = dec(a, 0.7 + 0.3 * unif(g), irange(g, 1, 50), logu(g, 0.001, 0.5), 0.5 * unif(g),
             (lb_regime)irange(g, 1, 3));
  if (chance(g, 0.5)) w->d.regime = LB_REGIME_TRENDING;
}

/* ==== The invariants, computed independently ==== */

static const lb_bracket *my_tier(const lb_bracket_table *t, i128 notional16) {
  for (int i = 0; i < t->n; i++)
    if (notional16 >= (i128)t->tier[i].notional_floor * LB_DEC_SCALE &&
        notional16 < (i128)t->tier[i].notional_cap * LB_DEC_SCALE)
      return &t->tier[i];
  return &t->tier[t->n - 1];
}

static int my_table_ceiling(const risk_params *p, const lb_decision *d, const risk_market *m) {
  int rank[4] = {2, 0, 1, 3}; /* unknown, trending, ranging, volatile */
  lb_regime r = rank[d->regime] >= rank[m->regime] ? d->regime : m->regime;
  int c = r == LB_REGIME_TRENDING ? (d->confidence >= p->lev.strong_confidence ? p->lev.trending_strong
                                                                               : p->lev.trending)
          : r == LB_REGIME_RANGING ? p->lev.ranging
          : r == LB_REGIME_UNKNOWN ? p->lev.unknown
                                   : p->lev.volatile_max;
  return c < p->max_leverage ? c : p->max_leverage;
}

/* Returns NULL when every invariant holds, else the name of the first that fails. */
static const char *violated(const world *w, const risk_plan *pl) {
  const risk_params *p = &w->p;
  const lb_symbol_rules *r = &w->r;
  bool L = pl->side == LB_ACTION_LONG;
  i128 S8 = LB_DEC_SCALE;
  i128 q = pl->qty, E = pl->entry, S = pl->stop, T = pl->take_profit, cap = w->capital;
  i128 f = rate_units(p->taker_fee);
  if (pl->side != w->d.action) return "side";
  if (!(L ? (S < E && T > E) : (S > E && T < E))) return "stop/take-profit side";
  /* 4, 5, 6: filters */
  lb_dec step = r->market_step_size > 0 ? r->market_step_size : r->step_size;
  lb_dec minq = r->market_min_qty > 0 ? r->market_min_qty : r->min_qty;
  lb_dec maxq = r->market_max_qty > 0 ? r->market_max_qty : r->max_qty;
  if (q <= 0 || q % step != 0 || q < minq || (maxq > 0 && q > maxq)) return "quantity filters";
  if (S % r->tick_size != 0 || T % r->tick_size != 0) return "tick";
  if ((r->min_price > 0 && (S < r->min_price || T < r->min_price)) ||
      (r->max_price > 0 && (S > r->max_price || T > r->max_price)))
    return "price filter";
  i128 notional16 = q * E;
  if (notional16 < (i128)r->min_notional * S8) return "min notional";
  /* 7: stop distance, exactly: min x E <= dist <= max x E */
  i128 dist = L ? E - S : S - E;
  if (dist * S8 < E * rate_units(p->min_stop) || dist * S8 > E * rate_units(p->max_stop))
    return "stop distance";
  /* 1: loss at the stop's expected fill, fees on both legs, exact (units 1e-24) */
  i128 sl = rate_units(p->slippage);
  i128 SF = exit_fill(L, S, sl, r->tick_size), TF = exit_fill(L, T, sl, r->tick_size);
  i128 loss24 = q * (L ? E - SF : SF - E) * S8 + q * E * f + q * SF * f;
  if (loss24 > cap * rate_units(p->max_risk_per_trade) * S8) return "loss above max risk";
  if ((i128)pl->loss_at_stop * S8 * S8 < loss24) return "loss understated";
  /* 3: leverage */
  const lb_bracket *b = my_tier(&w->t, notional16);
  if (pl->leverage < 1 || pl->leverage > my_table_ceiling(p, &w->d, &w->m) ||
      pl->leverage > b->max_leverage || pl->leverage > w->d.leverage)
    return "leverage ceiling";
  /* 9: margin honest (>= notional / leverage) and affordable with the fee */
  if ((i128)pl->margin * pl->leverage * S8 < notional16) return "margin below notional/leverage";
  if ((i128)pl->margin * S8 * S8 + q * E * f > cap * S8 * S8) return "margin above capital";
  /* 2: liquidation with the margin actually posted, in long double */
  long double lq = (long double)q / 1e8L, le = (long double)E / 1e8L;
  long double wb = (long double)pl->margin / 1e8L, mmr = (long double)b->mmr / 1e8L;
  long double cum = (long double)b->cum / 1e8L, ls = (long double)S / 1e8L;
  long double lp = L ? (lq * le - wb - cum) / (lq * (1 - mmr)) : (lq * le + wb + cum) / (lq * (1 + mmr));
  if (L && lp < 0) lp = 0;
  long double room = L ? ls - lp : lp - ls;
  if (!(room > 0) || room < le * (long double)p->liquidation_buffer - 1e-9L * le)
    return "stop not safely before liquidation";
  /* 8: profit and R:R after fees, at the take-profit's expected fill, exact */
  i128 tdist = L ? TF - E : E - TF;
  i128 prof24 = q * tdist * S8 - q * E * f - q * TF * f;
  if (prof24 < (i128)p->min_profit_usd * S8 * S8) return "profit below minimum";
  if ((i128)pl->profit_at_tp * S8 * S8 > prof24) return "profit overstated";
  if ((long double)prof24 / (long double)loss24 < (long double)p->min_rr - 1e-12L) return "R:R";
  return NULL;
}

TEST(property_every_accepted_plan_satisfies_every_invariant) {
  rng g = {lbt_seed()};
  long accepted = 0, by_reason[RISK_REFUSAL__COUNT] = {0};
  int failures = 0;
  for (long i = 0; i < PLAN_CASES && failures < 5; i++) {
    world w;
    random_world(&g, &w);
    risk_plan pl;
    risk_refusal rf = risk_plan_entry(w.capital, &w.d, &w.m, &w.r, &w.t, &w.p, &pl);
    REQUIRE((unsigned)rf < RISK_REFUSAL__COUNT);
    by_reason[rf]++;
    if (rf != RISK_OK) {
      if (strncmp(pl.message, risk_refusal_name(rf), strlen(risk_refusal_name(rf))) != 0) {
        lbt_fail(__FILE__, __LINE__, "case %ld: message \"%s\" does not start with %s", i,
                 pl.message, risk_refusal_name(rf));
        failures++;
      }
      continue;
    }
    accepted++;
    lb_errbuf eb;
    const char *bad = violated(&w, &pl);
    risk_refusal chk = risk_plan_check(&pl, w.capital, &w.d, &w.m, &w.r, &w.t, &w.p, &eb);
    if (bad || chk != RISK_OK) {
      lbt_fail(__FILE__, __LINE__, "case %ld (seed %lu): %s; check %s (%s); plan: %s", i,
               lbt_seed(), bad ? bad : "-", risk_refusal_name(chk), chk ? eb.msg : "",
               pl.message);
      failures++;
    }
  }
  printf("    property: %d random plans, %ld accepted, every invariant held on each\n",
         PLAN_CASES, accepted);
  printf("    refusals:");
  for (int k = 1; k < RISK_REFUSAL__COUNT; k++)
    if (by_reason[k]) printf(" %s=%ld", risk_refusal_name((risk_refusal)k), by_reason[k]);
  printf("\n");
  /* the generator must exercise both outcomes and the main refusals */
  CHECK(accepted > PLAN_CASES / 10);
  CHECK(by_reason[RISK_STOP_BEYOND_LIQUIDATION] > 100);
  CHECK(by_reason[RISK_BELOW_MIN_NOTIONAL] > 100);
  CHECK(by_reason[RISK_PROFIT_BELOW_MIN_PROFIT_USD] > 100);
}

/* ==== Trailing stop ==== */

TEST(property_trailing_stop_never_loosens) {
  rng g = {lbt_seed() ^ 0x7472616931ull};
  long updates = 0, moves = 0;
  int failures = 0;
  for (int path = 0; path < TRAIL_PATHS && failures < 5; path++) {
    risk_params p = *base_params(2);
    p.trail_mode = chance(&g, 0.5) ? RISK_TRAIL_ATR : RISK_TRAIL_PERCENT;
    p.trail_activation_r = logu(&g, 0.1, 3);
    p.trail_atr_multiple = logu(&g, 0.5, 5);
    p.trail_percent = logu(&g, 0.002, 0.1);
    lb_symbol_rules r;
    double price = logu(&g, 0.01, 100000);
    random_rules(&g, price, &r);
    lb_dec entry = lb_dec_round_to(dec_of(price), r.tick_size, LB_ROUND_HALF_EVEN);
    if (entry <= r.tick_size) entry = r.tick_size * 100;
    double e = lb_dec_to_double(entry);
    bool L = chance(&g, 0.5);
    lb_dec stop = lb_dec_round_to(dec_of(e * (L ? 1 - logu(&g, 0.005, 0.2) : 1 + logu(&g, 0.005, 0.2))),
                                  r.tick_size, L ? LB_ROUND_FLOOR : LB_ROUND_CEIL);
    if (L && stop <= 0) continue;
    risk_trail tr;
    lb_errbuf eb;
    if (risk_trail_init(&tr, L ? LB_ACTION_LONG : LB_ACTION_SHORT, entry, stop, &eb) != LB_OK)
      continue;
    double px = e, vol = logu(&g, 0.002, 0.03), drift = (unif(&g) - 0.45) * vol * 0.3;
    lb_dec best = entry, risk = lb_dec_abs(entry - stop);
    for (int s = 0; s < TRAIL_STEPS; s++) {
      px *= exp(drift * (L ? 1 : -1) + vol * (unif(&g) * 2 - 1));
      lb_dec pd = lb_dec_round_to(dec_of(px), r.tick_size, LB_ROUND_HALF_EVEN);
      double atr = chance(&g, 0.05) ? NAN : px * vol * logu(&g, 0.3, 3);
      lb_dec before = tr.stop;
      if (pd > 0 && (L ? pd > best : pd < best)) best = pd;
      risk_stop_intent in;
      bool moved = risk_trail_update(&tr, &p, &r, pd, atr, &in);
      updates++;
      const char *bad = NULL;
      lb_dec gained = L ? best - entry : entry - best;
      if (moved) {
        moves++;
        if (L ? !(in.to > before) : !(in.to < before)) bad = "loosened or stood still";
        else if (in.from != before || tr.stop != in.to) bad = "intent does not match state";
        else if (in.to % r.tick_size != 0) bad = "off the tick";
        else if (L ? !(in.to < pd) : !(in.to > pd)) bad = "through the price";
        else if ((long double)gained <
                 (long double)p.trail_activation_r * (long double)risk * (1 - 1e-7L) - 1)
          bad = "before activation";
      } else if (tr.stop != before) {
        bad = "stop changed without an intent";
      }
      if (bad) {
        lbt_fail(__FILE__, __LINE__, "path %d step %d: %s (stop %lld -> %lld, price %lld)", path, s,
                 bad, (long long)before, (long long)tr.stop, (long long)pd);
        failures++;
        break;
      }
    }
  }
  printf("    property: %d random price paths, %ld updates, %ld stop moves, none loosened\n",
         TRAIL_PATHS, updates, moves);
  CHECK(moves > TRAIL_PATHS);
}

/* ==== Breakers ==== */

#define T0 INT64_C(1709251200000) /* 2024-03-01T00:00:00Z */

static risk_params quiet_params(void) {
  risk_params p = *base_params(2);
  p.daily_loss_limit = 1;
  p.max_consecutive_losses = 100;
  p.max_drawdown = 0.99999999;
  p.max_failures = RISK_FAILURES_MAX;
  p.failure_window = 1;
  p.cooldown = 365 * LB_MS_DAY;
  return p;
}

static int count_kind(const risk_breaker_events *ev, risk_breaker_kind k, bool trip) {
  int n = 0;
  for (int i = 0; i < ev->n; i++) n += ev->ev[i].kind == k && ev->ev[i].trip == trip;
  return n;
}

static lb_dec random_fraction(rng *g) { return pow10_units(-4) * irange(g, 1, 9999); }

TEST(property_breakers_trip_exactly_at_their_thresholds) {
  rng g = {lbt_seed() ^ 0x62726bull};
  long cases = 0;
  int failures = 0;
  lb_errbuf eb;
  risk_breaker_events ev;
  for (int i = 0; i < BREAKER_CASES && failures < 5; i++) {
    /* daily loss: losses summing to one unit below the limit, then one unit */
    {
      risk_params p = quiet_params();
      lb_dec rate = random_fraction(&g);
      p.daily_loss_limit = lb_dec_to_double(rate);
      lb_dec equity = dec_of(logu(&g, 10, 1e6)) + irange(&g, 0, 99999999);
      i128 prod = (i128)equity * rate;
      lb_dec limit = (lb_dec)(prod / LB_DEC_SCALE + (prod % LB_DEC_SCALE != 0));
      risk_breakers b;
      risk_breakers_init(&b, equity, T0);
      lb_dec left = limit - 1;
      int k = irange(&g, 1, 4), trips = 0;
      lb_ms t = T0 + LB_MS_HOUR;
      for (int j = 0; j < k && left > 0; j++, t += 1000) {
        lb_dec part = j == k - 1 ? left : (lb_dec)(unif(&g) * (double)left);
        if (part <= 0) continue;
        left -= part;
        if (chance(&g, 0.3)) { /* a win, then a loss that takes it back */
          REQUIRE_OK(risk_breakers_on_trade(&b, &p, t, LB_DEC_INT(7), &ev, &eb));
          trips += ev.n;
          REQUIRE_OK(risk_breakers_on_trade(&b, &p, t, -LB_DEC_INT(7), &ev, &eb));
          trips += ev.n;
        }
        REQUIRE_OK(risk_breakers_on_trade(&b, &p, t, -part, &ev, &eb));
        trips += ev.n;
      }
      REQUIRE_OK(risk_breakers_on_trade(&b, &p, t, -1, &ev, &eb));
      if (trips != 0 || count_kind(&ev, RISK_BRK_DAILY_LOSS, true) != 1) {
        lbt_fail(__FILE__, __LINE__, "daily: equity %lld rate %lld limit %lld: %d early trips, "
                 "%d at the limit", (long long)equity, (long long)rate, (long long)limit, trips,
                 count_kind(&ev, RISK_BRK_DAILY_LOSS, true));
        failures++;
      }
      cases++;
    }
    /* drawdown: one unit short of the limit below the peak, then the limit */
    {
      risk_params p = quiet_params();
      lb_dec rate = random_fraction(&g);
      p.max_drawdown = lb_dec_to_double(rate);
      lb_dec peak = dec_of(logu(&g, 10, 1e6)) + irange(&g, 0, 99999999);
      i128 prod = (i128)peak * rate;
      lb_dec limit = (lb_dec)(prod / LB_DEC_SCALE + (prod % LB_DEC_SCALE != 0));
      risk_breakers b;
      risk_breakers_init(&b, peak / 2, T0);
      int early = 0;
      REQUIRE_OK(risk_breakers_on_equity(&b, &p, T0 + 1, peak, &ev, &eb));
      early += ev.n;
      REQUIRE_OK(risk_breakers_on_equity(&b, &p, T0 + 2, peak - limit + 1, &ev, &eb));
      early += ev.n;
      REQUIRE_OK(risk_breakers_on_equity(&b, &p, T0 + 3, peak - limit, &ev, &eb));
      if (early != 0 || count_kind(&ev, RISK_BRK_MAX_DRAWDOWN, true) != 1) {
        lbt_fail(__FILE__, __LINE__, "drawdown: peak %lld rate %lld limit %lld", (long long)peak,
                 (long long)rate, (long long)limit);
        failures++;
      }
      cases++;
    }
    /* consecutive losses: a model counts the run; the breaker must trip at
     * the first trade where the run reaches N, and never before */
    {
      risk_params p = quiet_params();
      p.max_consecutive_losses = irange(&g, 1, 12);
      risk_breakers b;
      risk_breakers_init(&b, LB_DEC_INT(1000000), T0);
      int run = 0, expect_at = -1, got_at = -1;
      for (int j = 0; j < 60; j++) {
        bool loss = chance(&g, 0.7);
        run = loss ? run + 1 : 0;
        if (expect_at < 0 && run == p.max_consecutive_losses) expect_at = j;
        REQUIRE_OK(risk_breakers_on_trade(&b, &p, T0 + j, loss ? -1 : 1, &ev, &eb));
        if (count_kind(&ev, RISK_BRK_CONSECUTIVE_LOSSES, true)) {
          if (got_at >= 0) got_at = -2; /* tripped twice */
          else got_at = j;
        }
      }
      if (got_at != expect_at) {
        lbt_fail(__FILE__, __LINE__, "consecutive N=%d: tripped at %d, expected %d",
                 p.max_consecutive_losses, got_at, expect_at);
        failures++;
      }
      cases++;
    }
    /* failures: N within the window, first to last inclusive */
    {
      risk_params p = quiet_params();
      p.max_failures = irange(&g, 1, 15);
      p.failure_window = (lb_ms)logu(&g, 1000, 3600000);
      risk_failure_source src = chance(&g, 0.5) ? RISK_FAIL_EXCHANGE : RISK_FAIL_AI;
      risk_breaker_kind kind = src == RISK_FAIL_EXCHANGE ? RISK_BRK_EXCHANGE_FAILURES
                                                         : RISK_BRK_AI_FAILURES;
      risk_breakers b;
      risk_breakers_init(&b, LB_DEC_INT(1000), T0);
      lb_ms times[80];
      lb_ms t = T0;
      int expect_at = -1, got_at = -1;
      double mean_gap = (double)p.failure_window / p.max_failures * logu(&g, 0.3, 3);
      for (int j = 0; j < 80; j++) {
        /* sometimes land exactly on, or one ms past, the window's edge */
        lb_ms gap = (lb_ms)(mean_gap * unif(&g) * 2);
        int n = p.max_failures;
        if (n >= 2 && j >= n - 1 && chance(&g, 0.2))
          gap = times[j - n + 1] + p.failure_window + (chance(&g, 0.5) ? 0 : 1) - t;
        if (gap < 0) gap = 0;
        t += gap;
        times[j] = t;
        if (expect_at < 0 && j >= n - 1 && times[j] - times[j - n + 1] <= p.failure_window)
          expect_at = j;
        REQUIRE_OK(risk_breakers_on_failure(&b, &p, t, src, &ev, &eb));
        if (count_kind(&ev, kind, true)) got_at = got_at >= 0 ? -2 : j;
      }
      if (got_at != expect_at) {
        lbt_fail(__FILE__, __LINE__, "failures N=%d window %lld: tripped at %d, expected %d",
                 p.max_failures, (long long)p.failure_window, got_at, expect_at);
        failures++;
      }
      cases++;
    }
  }
  printf("    property: %ld random breaker cases (%d per kind: daily loss, drawdown, "
         "consecutive losses, failures), each tripped exactly at its threshold\n",
         cases, BREAKER_CASES);
}
