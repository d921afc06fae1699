#!/usr/bin/python3
"""Independent reference computations for the LTV model layer (model/*.c).

Uses only numpy and scipy (Debian python3-numpy, python3-scipy; run with
/usr/bin/python3). Nothing here calls or copies our C code: expectations are
obtained by numerical integration over the latent variables, the Pareto/NBD
likelihood by integrating over the death time, and fits by scipy.optimize on
the uncompressed per-customer arrays, as lifetimes does.

  /usr/bin/python3 bench/ltv/reference.py figures
      prints the figures pasted into tests/unit/test_*.c
  /usr/bin/python3 bench/ltv/reference.py bench FILE
      times BG/NBD + Gamma-Gamma MLE on FILE (written by bench_ltv --dump)
"""
import sys
import time

import numpy as np
from scipy import integrate, optimize, special

CDNOW_CSV = "../shared/data/cdnow/cdnow_customers_summary_with_transactions.csv"
BG = (0.243, 4.414, 0.793, 2.426)      # Fader, Hardie & Lee (2005), CDNOW
PN = (0.553, 10.578, 0.606, 11.669)    # same paper / Fader & Hardie note 009
GG = (6.25, 3.74, 15.44)               # Fader & Hardie (2013) note 025
MONTH_WEEKS = 30.4375 / 7.0


def load_cdnow():
    d = np.loadtxt(CDNOW_CSV, delimiter=",", skiprows=1)
    return d[:, 1], d[:, 2], d[:, 3], d[:, 4]


# ---- BG/NBD ---------------------------------------------------------------

def bg_palive(p, x, tx, T):
    r, al, a, b = p
    if x == 0:
        return 1.0
    return 1.0 / (1.0 + a / (b + x - 1) * ((al + T) / (al + tx)) ** (r + x))


def bg_expected_alive(r, al, a, b, t):
    """E over p ~ Beta(a, b), lambda ~ Gamma(r, rate al) of (1/p)(1 - e^{-lambda p t}).

    The lambda integral is closed: E e^{-lambda p t} = (al / (al + p t))^r.
    The p integral is done by QUADPACK with the algebraic weight p^(a-1)(1-p)^(b-1).
    """
    if t == 0:
        return 0.0
    f = lambda p: -np.expm1(-r * np.log1p(p * t / al)) / p if p > 0 else r * t / al
    val, err = integrate.quad(f, 0.0, 1.0, weight="alg", wvar=(a - 1.0, b - 1.0),
                              epsabs=0, epsrel=1e-13, limit=200)
    return val / special.beta(a, b)


def bg_cond_expected(p, t, x, tx, T):
    r, al, a, b = p
    return bg_palive(p, x, tx, T) * bg_expected_alive(r + x, al + T, a, b + x, t)


def bg_loglik(params, x, tx, T):
    r, al, a, b = params
    A1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(al)
    A2 = (special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b)
          - special.gammaln(a + b + x))
    A3 = -(r + x) * np.log(al + T)
    A4 = np.where(x > 0, np.log(a) - np.log(b + np.maximum(x, 1) - 1)
                  - (r + x) * np.log(al + tx), -np.inf)
    return A1 + A2 + np.logaddexp(A3, A4)


def bg_negll_grad(theta, x, tx, T):
    """Mean negative LL and its gradient in log-parameters (numpy, per customer)."""
    r, al, a, b = np.exp(theta)
    A3 = -(r + x) * np.log(al + T)
    pos = x > 0
    A4 = np.where(pos, np.log(a) - np.log(b + np.maximum(x, 1) - 1)
                  - (r + x) * np.log(al + tx), -np.inf)
    L = np.logaddexp(A3, A4)
    pi = np.exp(A4 - L)
    ll = (special.gammaln(r + x) - special.gammaln(r) + r * np.log(al)
          + special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b)
          - special.gammaln(a + b + x) + L)
    dg = special.digamma
    g_r = dg(r + x) - dg(r) + np.log(al) - (1 - pi) * np.log(al + T) - pi * np.log(al + tx)
    g_al = r / al - (r + x) * ((1 - pi) / (al + T) + pi / (al + tx))
    g_a = dg(a + b) - dg(a + b + x) + pi / a
    g_b = dg(a + b) + dg(b + x) - dg(b) - dg(a + b + x) - pi / (b + np.maximum(x, 1) - 1)
    n = len(x)
    grad = -np.array([g_r.sum() * r, g_al.sum() * al, g_a.sum() * a, g_b.sum() * b]) / n
    return -ll.sum() / n, grad


def bg_fit(x, tx, T):
    th0 = np.array([0.0, np.log(T.mean() / max(x.mean(), 1e-9)), 0.0, 0.0])
    res = optimize.minimize(bg_negll_grad, th0, args=(x, tx, T), jac=True, method="BFGS",
                            tol=1e-7)
    return np.exp(res.x), -res.fun * len(x), res


# ---- Pareto/NBD -------------------------------------------------------------

def pn_bracket(p, x, tx, T):
    """(alive term, alive + death integral): L / A1 by quadrature over death time."""
    r, al, s, be = p
    alive = (al + T) ** (-(r + x)) * (be + T) ** (-s)
    f = lambda tau: s * (al + tau) ** (-(r + x)) * (be + tau) ** (-(s + 1))
    dead, _ = integrate.quad(f, tx, T, epsabs=0, epsrel=1e-13, limit=200)
    return alive, alive + dead


def pn_loglik_total(p, x, tx, T):
    r, al, s, be = p
    cache, total = {}, 0.0
    for xi, ti, Ti in zip(x, tx, T):
        key = (xi, ti, Ti)
        if key not in cache:
            _, br = pn_bracket(p, xi, ti, Ti)
            cache[key] = (special.gammaln(r + xi) - special.gammaln(r) + r * np.log(al)
                          + s * np.log(be) + np.log(br))
        total += cache[key]
    return total


def pn_palive(p, x, tx, T):
    alive, br = pn_bracket(p, x, tx, T)
    return alive / br


def pn_cond_expected(p, t, x, tx, T):
    """P(alive) * E over lambda ~ Gamma(r+x, al+T), mu ~ Gamma(s, be+T) of
    (lambda/mu)(1 - e^{-mu t}); the lambda mean is (r+x)/(al+T) and the mu
    expectation is integrated numerically."""
    r, al, s, be = p
    rate = be + T
    g = lambda mu: (-np.expm1(-mu * t) / mu if mu > 0 else t) * \
        np.exp(s * np.log(rate) + (s - 1) * np.log(mu) - rate * mu - special.gammaln(s))
    val, _ = integrate.quad(g, 0, np.inf, epsabs=0, epsrel=1e-12, limit=400)
    return pn_palive(p, x, tx, T) * (r + x) / (al + T) * val


# ---- Gamma-Gamma ------------------------------------------------------------

def gg_loglik(p, x, m):
    """Note 025 eq. 1b (the B2 form), a different arrangement from our eq. 1a."""
    pp, q, g = p
    u = x * m
    return (-np.log(m) - special.betaln(pp * x, q) + q * np.log(g / (g + u))
            + pp * x * np.log(u / (g + u)))


def gg_negll_grad(theta, x, m):
    pp, q, g = np.exp(theta)
    px, den = pp * x, g + x * m
    ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(g)
          + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(den))
    dg = special.digamma
    gp = x * (dg(px + q) - dg(px) + np.log(m) + np.log(x) - np.log(den))
    gq = dg(px + q) - dg(q) + np.log(g) - np.log(den)
    gg_ = q / g - (px + q) / den
    n = len(x)
    return -ll.sum() / n, -np.array([gp.sum() * pp, gq.sum() * q, gg_.sum() * g]) / n


def gg_fit(x, m):
    sel = (x > 0) & (m > 0)
    xs, ms = x[sel], m[sel]
    res = optimize.minimize(gg_negll_grad, np.array([0.0, np.log(2.0), np.log(ms.mean())]),
                            args=(xs, ms), jac=True, method="BFGS", tol=1e-7)
    return np.exp(res.x), -res.fun * len(xs), res


def gg_spend(p, x, m):
    pp, q, g = p
    return pp * (g + x * m) / (pp * x + q - 1)


def clv_bg(p, gg, x, tx, T, m, months=12, d=0.01, f=MONTH_WEEKS):
    spend = gg_spend(gg, x, m)
    tot, prev = 0.0, 0.0
    for i in range(1, months + 1):
        cur = bg_cond_expected(p, i * f, x, tx, T)
        tot += (cur - prev) / (1 + d) ** i
        prev = cur
    return spend * tot


# ---- logistic growth --------------------------------------------------------

def growth_data():
    """Same synthetic series as tests/unit/test_growth.c: K=1000, t0=30, g=0.2,
    plus a deterministic wobble 5 sin(1.7 t)."""
    t = np.arange(0.0, 61.0)
    return t, 1000.0 / (1.0 + np.exp(-0.2 * (t - 30.0))) + 5.0 * np.sin(1.7 * t)


def figures():
    x, tx, T, m = load_cdnow()
    print("== BG/NBD at the published CDNOW estimates", BG)
    print("LL =", repr(float(bg_loglik(BG, x, tx, T).sum())))
    for (xi, ti, Ti) in [(2, 30.43, 38.86), (0, 0, 38.86), (7, 29.43, 38.86),
                         (50, 38.0, 38.86), (3, 1.0, 38.86)]:
        print("x=%g tx=%g T=%g  P(alive)=%r  E[Y(39)]=%r  E[Y(1000)]=%r" % (
            xi, ti, Ti, bg_palive(BG, xi, ti, Ti), bg_cond_expected(BG, 39, xi, ti, Ti),
            bg_cond_expected(BG, 1000, xi, ti, Ti)))
    for t in (1.0, 39.0, 78.0, 1000.0):
        print("E[X(%g)] = %r" % (t, bg_expected_alive(*BG, t)))
    for p in [(0.5, 10.0, 0.3, 0.5), (0.5, 10.0, 1.0, 3.0), (2.0, 3.0, 5.0, 1.5)]:
        print("params", p, "E[X(20)] =", repr(bg_expected_alive(*p, 20.0)),
              "E[Y(20)|x=4,tx=8,T=12] =", repr(bg_cond_expected(p, 20.0, 4, 8.0, 12.0)))
    t0 = time.perf_counter()
    bp, bll, _ = bg_fit(x, tx, T)
    print("scipy BFGS fit on the 2357 rows:", list(bp), "LL", bll,
          "(%.1f ms)" % (1e3 * (time.perf_counter() - t0)))

    print("== Pareto/NBD at", PN)
    print("LL (death-time quadrature) =", repr(pn_loglik_total(PN, x, tx, T)))
    for (xi, ti, Ti) in [(2, 30.43, 38.86), (0, 0, 38.86), (7, 29.43, 38.86)]:
        print("x=%g tx=%g T=%g  P(alive)=%r  E[Y(39)]=%r" % (
            xi, ti, Ti, pn_palive(PN, xi, ti, Ti), pn_cond_expected(PN, 39, xi, ti, Ti)))
    print("new customer E[X(39)] (x = t_x = T = 0) =", repr(pn_cond_expected(PN, 39, 0, 0, 0.0)))

    print("== Gamma-Gamma at", GG)
    sel = (x > 0) & (m > 0)
    print("rows", int(sel.sum()), "LL (eq. 1b) =", repr(float(gg_loglik(GG, x[sel], m[sel]).sum())),
          "sum log x =", repr(float(np.log(x[sel]).sum())))
    print("corr(x, m) over x>0 =", repr(float(np.corrcoef(x[sel], m[sel])[0, 1])))
    gp, gll, _ = gg_fit(x, m)
    print("scipy BFGS fit:", list(gp), "LL", gll)
    for (xi, mi) in [(2, 22.35), (1, 100.0), (0, 0.0), (7, 20.0)]:
        print("E[spend | x=%g, m=%g] = %r" % (xi, mi, gg_spend(GG, xi, mi)))

    print("== CLV (BG/NBD + GG published, 12 months, d=0.01, month=30.4375 d in weeks)")
    for (xi, ti, Ti, mi) in [(2, 30.43, 38.86, 22.35), (7, 29.43, 38.86, 20.0),
                             (0, 0, 38.86, 0.0)]:
        print("x=%g tx=%g T=%g m=%g  CLV=%r  CLV(lifetimes 4.345 wk)=%r" % (
            xi, ti, Ti, mi, clv_bg(BG, GG, xi, ti, Ti, mi),
            clv_bg(BG, GG, xi, ti, Ti, mi, f=4.345)))

    print("== logistic growth (scipy curve_fit)")
    t, y = growth_data()
    f = lambda tt, K, t0_, g: K / (1 + np.exp(-g * (tt - t0_)))
    popt, _ = optimize.curve_fit(f, t, y, p0=(1100, 30, 0.1), maxfev=20000)
    res = y - f(t, *popt)
    print("K, t0, g =", [repr(float(v)) for v in popt], "rmse",
          repr(float(np.sqrt((res ** 2).mean()))),
          "r2", repr(float(1 - (res ** 2).sum() / ((y - y.mean()) ** 2).sum())))


def bench(path):
    raw = np.fromfile(path, dtype="<f8")
    n = raw.size // 4
    x, tx, T, m = raw[:n], raw[n:2 * n], raw[2 * n:3 * n], raw[3 * n:4 * n]
    t0 = time.perf_counter()
    bp, bll, bres = bg_fit(x, tx, T)
    t1 = time.perf_counter()
    gp, gll, gres = gg_fit(x, m)
    t2 = time.perf_counter()
    print("scipy n=%d bgnbd_ms=%.1f gg_ms=%.1f total_ms=%.1f bg=%s ll=%.6f nit=%d ok=%s "
          "gg=%s ll=%.6f ok=%s" % (n, 1e3 * (t1 - t0), 1e3 * (t2 - t1), 1e3 * (t2 - t0),
                                   ",".join("%.6g" % v for v in bp), bll, bres.nit,
                                   bres.success, ",".join("%.6g" % v for v in gp), gll,
                                   gres.success))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "bench":
        bench(sys.argv[2])
    else:
        figures()
