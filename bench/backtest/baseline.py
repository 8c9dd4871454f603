#!/usr/bin/env python3
"""baseline.py -- the reference baseline of bench/backtest: the same technical
strategy written the way a Python trader writes a backtest, with pandas.

Indicators are vectorised pandas on 15m/1h/4h bars resampled from 1m candles;
market structure (swings, support/resistance, divergence) is a loop over the
bars of each timeframe; the trading itself is a loop over the 1m candles:
red flags, the seven confirmations of the technical analyst, risk sizing
(risk budget, stop beyond the swing clamped to 7-8 %, take-profit at 2R,
fees, minimum profit, R:R and liquidation checks), stop-first fills on each
candle's high/low, gaps filled at the open, slippage, taker fees, funding
every 8 h, an ATR trailing stop after 1R, and a consecutive-loss pause.

It follows the rules of src/strategy/strategy.h and src/risk/risk.h with the
default configuration; it is not bit-identical to levbot (pandas seeds its
EMAs from the first value, TA-Lib from an SMA, and so on): its purpose is the
throughput of the same amount of work in the usual Python stack.  Prints the
candles, the seconds and candles per second (bench/README.md).

  /usr/bin/python3 bench/backtest/baseline.py FILE.csv... [--passes N]
"""
import math
import sys
import time

import numpy as np
import pandas as pd

CAPITAL = 100.0
MAX_LEV = 3
MIN_STOP, MAX_STOP = 0.07, 0.08
RISK = 0.10
TAKER = 0.0005
SLIP = 0.0002
FUNDING = 0.0001
MIN_PROFIT = 3.0
MIN_RR = 1.5
TP_RR = 2.0
LIQ_BUFFER = 0.02
MMR = 0.004
SWING_BUF = 0.003
TRAIL_R, TRAIL_ATR = 1.0, 2.0
MAX_LOSSES, COOLDOWN = 3, 240 * 60_000
MIN_CONF = 0.80
STEP, TICK = 0.001, 0.1


def load(path):
    with open(path) as f:
        first = f.readline()
    if first.startswith("timestamp"):  # ts text, o, h, l, c, v
        df = pd.read_csv(path)
        df.index = pd.to_datetime(df["timestamp"], utc=True)
    else:  # Binance kline CSV, no header
        df = pd.read_csv(path, header=None, usecols=range(6),
                         names=["ts", "open", "high", "low", "close", "volume"])
        df.index = pd.to_datetime(df["ts"], unit="ms", utc=True)
    return df[["open", "high", "low", "close", "volume"]].astype(float)


def wilder(s, n):
    return s.ewm(alpha=1.0 / n, adjust=False).mean()


def indicators(b):
    c, h, lo, v = b["close"], b["high"], b["low"], b["volume"]
    b["ema20"] = c.ewm(span=20, adjust=False).mean()
    b["ema50"] = c.ewm(span=50, adjust=False).mean()
    b["ema200"] = c.ewm(span=200, adjust=False).mean()
    d = c.diff()
    rs = wilder(d.clip(lower=0), 14) / wilder((-d).clip(lower=0), 14)
    b["rsi"] = 100 - 100 / (1 + rs)
    macd = c.ewm(span=12, adjust=False).mean() - c.ewm(span=26, adjust=False).mean()
    b["macd"], b["signal"] = macd, macd.ewm(span=9, adjust=False).mean()
    b["hist"] = b["macd"] - b["signal"]
    tr = pd.concat([h - lo, (h - c.shift()).abs(), (lo - c.shift()).abs()], axis=1).max(axis=1)
    b["atr"] = wilder(tr, 14)
    b["natr"] = 100 * b["atr"] / c
    up, dn = h.diff(), -lo.diff()
    pdm = up.where((up > dn) & (up > 0), 0.0)
    mdm = dn.where((dn > up) & (dn > 0), 0.0)
    b["pdi"] = 100 * wilder(pdm, 14) / b["atr"]
    b["mdi"] = 100 * wilder(mdm, 14) / b["atr"]
    dx = 100 * (b["pdi"] - b["mdi"]).abs() / (b["pdi"] + b["mdi"])
    b["adx"] = wilder(dx, 14)
    mid, sd = c.rolling(20).mean(), c.rolling(20).std(ddof=0)
    b["bbw"] = 4 * sd / mid
    b["bbw_rank"] = b["bbw"].rolling(100).apply(lambda w: (w[:-1] < w[-1]).mean(), raw=True)
    b["vol_sma"] = v.rolling(20).mean()
    b["trend"] = np.where((b["ema20"] > b["ema50"]) & (c > b["ema50"]), 1,
                          np.where((b["ema20"] < b["ema50"]) & (c < b["ema50"]), -1, 0))
    vol = (b["natr"] >= 5) | (b["bbw_rank"] >= 0.95)
    trending = (b["adx"] >= 25) & (((b["trend"] == 1) & (b["pdi"] > b["mdi"])) |
                                   ((b["trend"] == -1) & (b["mdi"] > b["pdi"])))
    b["regime"] = np.where(vol, "volatile", np.where(trending, "trending", "ranging"))
    b["ready"] = b[["ema50", "rsi", "signal", "atr", "adx", "vol_sma", "bbw"]].notna().all(axis=1)
    b.iloc[:50, b.columns.get_loc("ready")] = False
    return b


def structure(b, window=300, nb=3):
    """Swings, nearest support/resistance, mid-range test, MACD divergence: a
    loop over the bars, as such code usually is."""
    h, lo, c = b["high"].to_numpy(), b["low"].to_numpy(), b["close"].to_numpy()
    atr, hist = b["atr"].to_numpy(), b["hist"].to_numpy()
    n = len(b)
    sup, res, mid, div = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, bool), np.zeros(n, int)
    swl, swh = np.full(n, np.nan), np.full(n, np.nan)
    swings = []  # (idx, kind, price, hist)
    for i in range(n):
        j = i - nb  # a pivot is confirmed nb bars later
        if j >= nb:
            if h[j] > h[j - nb:j].max() and h[j] >= h[j + 1:i + 1].max():
                swings.append((j, 1, h[j], hist[j]))
            if lo[j] < lo[j - nb:j].min() and lo[j] <= lo[j + 1:i + 1].min():
                swings.append((j, -1, lo[j], hist[j]))
        while swings and swings[0][0] <= i - window:
            swings.pop(0)
        if not swings:
            continue
        prices = sorted(p for _, _, p, _ in swings)
        tol = 0.5 * atr[i] if not math.isnan(atr[i]) else 0.0
        levels, cur = [], [prices[0]]
        for p in prices[1:]:
            if p - cur[0] <= tol:
                cur.append(p)
            else:
                levels.append(sum(cur) / len(cur))
                cur = [p]
        levels.append(sum(cur) / len(cur))
        below = [x for x in levels if x <= c[i]]
        above = [x for x in levels if x > c[i]]
        if below:
            sup[i] = below[-1]
        if above:
            res[i] = above[0]
        if below and above and res[i] > sup[i]:
            mid[i] = abs((c[i] - sup[i]) / (res[i] - sup[i]) - 0.5) <= 1 / 6
        lows = [s for s in swings if s[1] < 0]
        highs = [s for s in swings if s[1] > 0]
        if lows:
            swl[i] = lows[-1][2]
        if highs:
            swh[i] = highs[-1][2]
        if len(lows) >= 2 and lows[-1][2] < lows[-2][2] and lows[-1][3] > lows[-2][3] and i - lows[-1][0] <= 10:
            div[i] = 1
        if len(highs) >= 2 and highs[-1][2] > highs[-2][2] and highs[-1][3] < highs[-2][3] and i - highs[-1][0] <= 10:
            div[i] = -1
    b["support"], b["resistance"], b["mid"], b["div"] = sup, res, mid, div
    b["swing_low"], b["swing_high"] = swl, swh
    return b


def decide(v0, vs):
    """Red flags, then the technical analyst: (side, confidence, stop fraction) or None."""
    if not all(v["ready"] for v in vs):
        return None
    if v0["rsi"] > 80 or v0["rsi"] < 20 or v0["volume"] < 0.5 * v0["vol_sma"] or v0["mid"]:
        return None
    if (v0["trend"] > 0 and v0["div"] < 0) or (v0["trend"] < 0 and v0["div"] > 0):
        return None
    if v0["regime"] == "volatile":
        return None
    trends = [v["trend"] for v in vs]
    if not (all(t == 1 for t in trends) or all(t == -1 for t in trends)):
        return None
    d, top, c = trends[0], vs[-1], v0["close"]
    swing = v0["swing_low"] if d > 0 else v0["swing_high"]
    if not math.isnan(swing) and (swing < c if d > 0 else swing > c):
        stop = abs(c - swing) / c + SWING_BUF
    else:
        stop = 2 * v0["atr"] / c
    stop = min(max(stop, MIN_STOP), MAX_STOP)
    level = v0["resistance"] if d > 0 else v0["support"]
    room = abs(level - c) / c if not math.isnan(level) else math.inf
    ok = [
        top["adx"] >= 25 and ((top["pdi"] > top["mdi"]) if d > 0 else (top["mdi"] > top["pdi"])),
        v0["volume"] >= v0["vol_sma"],
        (v0["hist"] > 0 and v0["macd"] > v0["signal"]) if d > 0 else (v0["hist"] < 0 and v0["macd"] < v0["signal"]),
        50 <= v0["rsi"] <= 70 if d > 0 else 30 <= v0["rsi"] <= 50,
        room >= TP_RR * stop,
        v0["div"] == d,
        (c > v0["ema200"]) if d > 0 else (c < v0["ema200"]),
    ]
    conf = min(0.60 + 0.05 * sum(ok), 0.95)
    if v0["regime"] == "ranging" and not ok[4]:
        return None
    if v0["regime"] == "trending" and not ok[2]:
        return None
    if conf < MIN_CONF:
        return None
    lev = 5 if v0["regime"] == "trending" and conf >= 0.8 else 3
    return d, conf, stop, min(lev, MAX_LEV)


def plan(capital, d, price, stop_frac, lev):
    entry = price * (1 + SLIP * d)
    stop = round(entry * (1 - d * stop_frac) / TICK) * TICK
    tp = round(entry * (1 + d * stop_frac * TP_RR) / TICK) * TICK
    per_unit = abs(entry - stop) + TAKER * (entry + stop)
    qty = math.floor(RISK * capital / per_unit / STEP) * STEP
    qty = min(qty, math.floor(capital * lev / entry / STEP) * STEP)
    if qty <= 0 or qty * entry < 100:
        return None
    margin = qty * entry / lev
    liq = (entry * qty - d * margin) / (qty * (1 - d * MMR))
    if (d > 0 and stop - liq < LIQ_BUFFER * entry) or (d < 0 and liq - stop < LIQ_BUFFER * entry):
        return None
    profit = qty * abs(tp - entry) - TAKER * qty * (entry + tp)
    loss = qty * per_unit
    if profit < MIN_PROFIT or profit / loss < MIN_RR:
        return None
    return dict(d=d, qty=qty, stop=stop, tp=tp, entry=entry, risk=abs(entry - stop), best=entry)


def run(df):
    frames = {}
    for name, rule in (("15m", "15min"), ("1h", "1h"), ("4h", "4h")):
        b = df.resample(rule, label="left", closed="left").agg(
            {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}).dropna()
        frames[name] = structure(indicators(b))
    ms = df.index.asi8 // 1_000_000
    close_ms = {k: (f.index.asi8 // 1_000_000) + {"15m": 900_000, "1h": 3_600_000, "4h": 14_400_000}[k]
                for k, f in frames.items()}
    rows = {k: f.to_dict("records") for k, f in frames.items()}
    capital, pos, trades, losses, pause_until = CAPITAL, None, 0, 0, 0
    next_funding = (int(ms[0]) // 28_800_000 + 1) * 28_800_000
    for t, o, h, lo, c in zip(ms, df["open"].to_numpy(), df["high"].to_numpy(),
                              df["low"].to_numpy(), df["close"].to_numpy()):
        t = int(t)
        if pos and t >= next_funding:
            capital -= pos["d"] * pos["qty"] * o * FUNDING
        while t >= next_funding:
            next_funding += 28_800_000
        if pos:  # stop first, gaps at the open, then the take-profit
            d, exit_px = pos["d"], None
            if (d > 0 and o <= pos["stop"]) or (d < 0 and o >= pos["stop"]):
                exit_px = o
            elif (d > 0 and lo <= pos["stop"]) or (d < 0 and h >= pos["stop"]):
                exit_px = pos["stop"]
            elif (d > 0 and h >= pos["tp"]) or (d < 0 and lo <= pos["tp"]):
                exit_px = pos["tp"]
            if exit_px is not None:
                exit_px *= 1 - SLIP * d
                pnl = d * (exit_px - pos["entry"]) * pos["qty"] - TAKER * pos["qty"] * exit_px
                capital += pnl
                trades += 1
                losses = losses + 1 if pnl < 0 else 0
                if losses >= MAX_LOSSES:
                    pause_until, losses = t + COOLDOWN, 0
                pos = None
        if pos:  # trailing stop on the close, ATR of the last 15m bar
            pos["best"] = max(pos["best"], c) if pos["d"] > 0 else min(pos["best"], c)
            if abs(pos["best"] - pos["entry"]) >= TRAIL_R * pos["risk"]:
                cand = pos["best"] - pos["d"] * TRAIL_ATR * pos["atr"]
                if (pos["d"] > 0 and pos["stop"] < cand < c) or (pos["d"] < 0 and c < cand < pos["stop"]):
                    pos["stop"] = cand
        end = t + 60_000
        if end % 900_000 or pos or end < pause_until:
            continue
        vs = []
        for k in ("15m", "1h", "4h"):
            i = int(np.searchsorted(close_ms[k], end, side="right")) - 1
            if i < 0:
                break
            vs.append(rows[k][i])
        if len(vs) < 3:
            continue
        dec = decide(vs[0], vs)
        if not dec:
            continue
        p = plan(capital, dec[0], c, dec[2], dec[3])
        if p:
            capital -= TAKER * p["qty"] * p["entry"]
            p["atr"] = vs[0]["atr"]
            pos = p
    return trades, capital


def main():
    args = sys.argv[1:]
    passes = 1
    if "--passes" in args:
        k = args.index("--passes")
        passes = int(args[k + 1])
        del args[k:k + 2]
    if not args:
        print(__doc__)
        return 2
    df = pd.concat([load(a) for a in args]).sort_index()
    if passes > 1:  # the sample end to end again, timestamps shifted, as the C bench
        span = df.index[-1] - df.index[0] + (df.index[1] - df.index[0])
        df = pd.concat([df.set_axis(df.index + i * span) for i in range(passes)])
    t0 = time.perf_counter()
    trades, capital = run(df)
    secs = time.perf_counter() - t0
    print("baseline (pandas %s): %d candles of 1m" % (pd.__version__, len(df)))
    print("seconds        %.3f" % secs)
    print("candles/s      %.0f" % (len(df) / secs))
    print("trades         %d, capital %.2f" % (trades, capital))
    return 0


if __name__ == "__main__":
    sys.exit(main())
