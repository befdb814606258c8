"""Arimoto divergence D_{f_α}(P_r || P_g) of the 1D toy pairs as a function of α, with its limits.

D_{f_α} (Kurri, Sypherd & Sankar 2021; Österreicher & Vajda 2003) is the f-divergence the α-GAN
value function reduces to at the optimal discriminator D*_α = p^α/(p^α + q^α) (see
``divergences.arimoto_f``). Limits (the package's conventions: P data, Q generator, nats):

* α → 1:   D_{f_1} = 2·JSD(P, Q)                      (``divergences.jsd``, JSD ≤ log 2)
* α = 1/2: D_{f_1/2} = H²(P, Q) = ∫(√p − √q)²          (``divergences.squared_hellinger``, ≤ 2)
* α → ∞:   D_{f_∞} = TV(P, Q) = ½∫|p − q|              (``divergences.total_variation``, ≤ 1)

and for every pair D_{f_α} ≤ f_α(0) = α/(α−1)(2 − 2^{1/α}) (equality iff the supports are disjoint),
drawn as the 'disjoint_supports' curve. D_{f_α} is *not* monotone in α in general: for Q → P,
D_{f_α} ≈ ½ f_α''(1) χ²(P||Q) with f_α''(1) = α·2^{1/α−2}, which is smallest at α = ln 2; for the
two (well separated) toy pairs the sweep happens to decrease over the whole grid.

Pairs (the 1D toy of the ISIT 2025 tutorial's lecture notes this project was made from):
P_r = ½N(2, 0.3²) + ½N(5, 0.3²) against 'right' N(6, 0.3²) and 'left' N(−0.5, 0.3²)
(``divergences.seed_toy()``). α grid: ``n_alpha`` log-spaced points in [alpha_min, alpha_max] plus
α = 1/2 and α = 1 exactly, plus α = inf.

Outputs in ``results/alpha_sweep/``: ``alpha_sweep.csv`` (long: pair, quantity, alpha, value,
abs_error), ``alpha_sweep.png``, ``run.json``.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

import divergences
from divergences import GaussianMixture, arimoto_f, seed_toy
from studies.common import pyplot, savefig_atomic
from studies.engine import Study, run_study
from studies.store import Unit, Variant

DESCRIPTION = "Arimoto divergence D_{f_alpha} vs alpha for the 1D toy pairs, with its 2JSD / Hellinger^2 / TV limits"
NAME = "alpha_sweep"
TABLE = "alpha_sweep.csv"
COLUMNS = ["pair", "quantity", "alpha", "value", "abs_error"]
PAIRS = ("right", "left")
BOUND_PAIR = "disjoint_supports"
LIMITS = {  # quantity -> (alpha at which D_{f_alpha} equals it, label)
    "2jsd": (1.0, "2·JSD (α→1)"),
    "squared_hellinger": (0.5, "H² (α=1/2)"),
    "tv": (math.inf, "TV (α→∞)"),
}


@dataclass(frozen=True)
class AlphaSweepConfig:
    """α grid of the sweep (every field is a ``--field-name`` option)."""

    alpha_min: float = field(default=0.1, metadata={"help": "smallest alpha of the log grid"})
    alpha_max: float = field(default=100.0, metadata={"help": "largest alpha of the log grid"})
    n_alpha: int = field(default=60, metadata={"help": "log-spaced grid points (1/2 and 1 are added exactly)"})
    dpi: int = field(default=130, metadata={"help": "PNG resolution"})

    def __post_init__(self):
        if not (0 < self.alpha_min < self.alpha_max < math.inf):
            raise ValueError(f"need 0 < alpha_min < alpha_max < inf; got {self.alpha_min}, {self.alpha_max}")
        if self.n_alpha < 2:
            raise ValueError(f"n_alpha must be >= 2; got {self.n_alpha}")
        if self.dpi < 20:
            raise ValueError(f"dpi must be >= 20; got {self.dpi}")

    def alphas(self) -> np.ndarray:
        """Sorted finite grid: log-spaced points plus 1/2 and 1 where they lie inside [alpha_min, alpha_max]."""
        grid = np.logspace(math.log10(self.alpha_min), math.log10(self.alpha_max), self.n_alpha)
        extra = [a for a in (0.5, 1.0) if self.alpha_min <= a <= self.alpha_max]
        return np.unique(np.concatenate([grid, extra]))


def pairs() -> dict[str, tuple[GaussianMixture, GaussianMixture]]:
    toy = seed_toy()
    return {"right": (toy.real, toy.gen_right), "left": (toy.real, toy.gen_left)}


def arimoto_values(alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """D_{f_α}(P_r || P_g) and its error estimate for the pairs of ``PAIRS``, in one batched library call."""
    ps = pairs()
    real = ps[PAIRS[0]][0]
    vals, errs = divergences.arimoto(real, [ps[name][1] for name in PAIRS], alpha, error=True)
    return np.asarray(vals, dtype=float), np.asarray(errs, dtype=float)


def disjoint_bound(alpha: float) -> float:
    """sup over pairs of D_{f_α} = f_α(0) = α/(α−1)(2 − 2^{1/α}) (2 log 2 at α = 1, 1 at α = ∞)."""
    return float(arimoto_f(alpha).f(np.array([0.0]))[0])


def alpha_rows(alpha: float) -> list[tuple]:
    """One sweep point: D_{f_α} of both pairs (batched) and the disjoint-support bound at α."""
    vals, errs = arimoto_values(alpha)
    rows = [(name, "arimoto", alpha, float(v), float(e)) for name, v, e in zip(PAIRS, vals, errs)]
    return rows + [(BOUND_PAIR, "arimoto", alpha, disjoint_bound(alpha), 0.0)]


def limit_rows() -> list[tuple]:
    """The limits 2·JSD, H² and TV of both pairs (at α = 1, 1/2, ∞)."""
    rows = []
    for name, (P, G) in pairs().items():
        for q, fn, scale in (("2jsd", divergences.jsd, 2.0), ("squared_hellinger", divergences.squared_hellinger, 1.0),
                             ("tv", divergences.total_variation, 1.0)):
            v, e = fn(P, G, error=True)
            rows.append((name, q, LIMITS[q][0], scale * v, scale * e))
    return rows


# ----------------------------------------------------------------------------- checks (from the table)
def _value(df: pd.DataFrame, pair: str, quantity: str, alpha: float) -> float:
    sel = (df["pair"] == pair) & (df["quantity"] == quantity)
    sel &= np.isinf(df["alpha"]) if math.isinf(alpha) else np.isclose(df["alpha"], alpha, rtol=0, atol=1e-15)
    vals = df.loc[sel, "value"].to_numpy()
    if vals.size != 1:
        raise KeyError(f"expected one row for ({pair}, {quantity}, alpha={alpha}); found {vals.size}")
    return float(vals[0])


def sweep(df: pd.DataFrame, pair: str) -> pd.Series:
    """D_{f_α} over the finite α grid of one pair, indexed by α (sorted)."""
    s = df[(df["pair"] == pair) & (df["quantity"] == "arimoto") & np.isfinite(df["alpha"])].sort_values("alpha")
    return pd.Series(s["value"].to_numpy(), index=s["alpha"].to_numpy())


def limit_checks(df: pd.DataFrame) -> dict:
    """|D_{f_α} − limit| at α = 1, 1/2, ∞, the approach at the grid ends / neighbours of 1, monotonicity."""
    out = {}
    for pair in PAIRS:
        s = sweep(df, pair)
        alphas = s.index.to_numpy()
        rec = {}
        for q, (a, _) in LIMITS.items():
            lim = _value(df, pair, q, a)
            rec[q] = {"limit": lim, "arimoto": _value(df, pair, "arimoto", a),
                      "abs_diff": abs(_value(df, pair, "arimoto", a) - lim)}
        i1 = int(np.flatnonzero(alphas == 1.0)[0])
        near = [alphas[j] for j in (i1 - 1, i1 + 1) if 0 <= j < alphas.size]
        rec["2jsd"]["neighbours"] = {f"{a:.6g}": abs(float(s.loc[a]) - rec["2jsd"]["limit"]) for a in near}
        rec["tv"]["at_alpha_max"] = {"alpha": float(alphas[-1]),
                                     "abs_diff": abs(float(s.iloc[-1]) - rec["tv"]["limit"])}
        diffs = np.diff(s.to_numpy())
        rec["monotone_decreasing_on_grid"] = bool(np.all(diffs < 0))
        rec["max_increase"] = float(diffs.max())
        rec["below_disjoint_bound"] = bool(np.all(s.to_numpy() <= sweep(df, BOUND_PAIR).reindex(s.index).to_numpy()
                                                  * (1 + 1e-12)))
        out[pair] = rec
    return out


def format_checks(checks: dict) -> str:
    lines = ["Arimoto divergence D_{f_alpha}(P_r || P_g), seed toy pairs: limit checks"]
    for pair, rec in checks.items():
        j, h, t = rec["2jsd"], rec["squared_hellinger"], rec["tv"]
        lines += [
            f"[{pair}]",
            f"  |D(α=1)   − 2·JSD| = {j['abs_diff']:.2e}   (2·JSD = {j['limit']:.12f}, D = {j['arimoto']:.12f})",
            "  neighbours of α=1:  " + ", ".join(f"|D(α={a}) − 2·JSD| = {d:.2e}" for a, d in j["neighbours"].items()),
            f"  |D(α=1/2) − H²|    = {h['abs_diff']:.2e}   (H² = {h['limit']:.12f})",
            f"  |D(α=∞)   − TV|    = {t['abs_diff']:.2e}   (TV = {t['limit']:.12f}); "
            f"|D(α={t['at_alpha_max']['alpha']:g}) − TV| = {t['at_alpha_max']['abs_diff']:.2e}",
            f"  decreasing in α on the grid: {rec['monotone_decreasing_on_grid']} (max step increase "
            f"{rec['max_increase']:.2e}); below the disjoint-support bound f_α(0): {rec['below_disjoint_bound']}",
        ]
    lines.append("  (theory: not monotone in general; for Q → P, D_{f_α} ≈ α·2^{1/α−3}·χ², smallest at α = ln 2)")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- figure (from the table)
def plot(df: pd.DataFrame, cfg: AlphaSweepConfig):
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    bound = sweep(df, BOUND_PAIR)
    a_inf = bound.index.max() * 2.5  # where α = ∞ is drawn (an extra tick labelled ∞)
    colors = {"2jsd": "tab:green", "squared_hellinger": "tab:purple", "tv": "tab:red"}
    gens = {"right": "N(6, 0.3²)", "left": "N(−0.5, 0.3²)"}
    for ax, pair in zip(axes[:2], PAIRS):
        s = sweep(df, pair)
        ax.plot(bound.index, bound.to_numpy(), color="0.6", ls=":", lw=1.5,
                label=r"disjoint supports: $f_\alpha(0)=\frac{\alpha}{\alpha-1}(2-2^{1/\alpha})$")
        ax.plot(s.index, s.to_numpy(), color="k", lw=2, marker=".", ms=4, label=r"$D_{f_\alpha}(P_r\|P_g)$")
        for q, (a, lab) in LIMITS.items():
            lim = _value(df, pair, q, a)
            ax.axhline(lim, color=colors[q], ls="--", lw=1, label=f"{lab} = {lim:.4f}")
            xa = a_inf if math.isinf(a) else a
            ax.plot([xa], [_value(df, pair, "arimoto", a)], "o", ms=8, mfc="none", mew=2, color=colors[q])
        ax.plot([a_inf], [_value(df, pair, "arimoto", math.inf)], "o", ms=3, color="k")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = [0.1, 0.5, 1, 10, 100]
        ax.set_xticks([t for t in ticks if bound.index.min() <= t <= bound.index.max()] + [a_inf])
        ax.set_xticklabels([f"{t:g}" for t in ticks if bound.index.min() <= t <= bound.index.max()] + ["∞"])
        ax.set_xlabel("α (log scale; circles: D at α = 1/2, 1, ∞)")
        ax.set_ylabel(r"$D_{f_\alpha}$ (nats, log scale)")
        ax.set_title(f"'{pair}' pair: $P_g$ = {gens[pair]}")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="upper right")
        # inset: the limits region on a linear scale (the log axis compresses 0.9..2 into a sliver)
        ins = ax.inset_axes([0.30, 0.30, 0.66, 0.36])
        lims = {q: _value(df, pair, q, a) for q, (a, _) in LIMITS.items()}
        sel = s.index >= 0.35
        ins.plot(s.index[sel], s.to_numpy()[sel], color="k", lw=1.8, marker=".", ms=3)
        for q, (a, _) in LIMITS.items():
            ins.axhline(lims[q], color=colors[q], ls="--", lw=1)
            ins.plot([a_inf if math.isinf(a) else a], [_value(df, pair, "arimoto", a)], "o", ms=7, mfc="none",
                     mew=1.8, color=colors[q])
        ins.set_xscale("log")
        ins.set_xticks([0.5, 1, 10, 100, a_inf])
        ins.set_xticklabels(["0.5", "1", "10", "100", "∞"], fontsize=7)
        ins.tick_params(axis="y", labelsize=7)
        lo, hi = min(lims.values()), max(lims.values())
        ins.set_ylim(lo - 0.08 * (hi - lo), hi + 0.12 * (hi - lo))
        ins.set_title("zoom (linear y)", fontsize=8)
        ins.grid(alpha=0.3, which="both")
    ax = axes[2]
    styles = {"right": "-", "left": "--"}
    for pair in PAIRS:
        s = sweep(df, pair)
        a = s.index.to_numpy()
        for q, color in (("tv", colors["tv"]), ("2jsd", colors["2jsd"])):
            d = np.abs(s.to_numpy() - _value(df, pair, q, LIMITS[q][0]))
            d = np.where(d > 0, d, np.nan)  # exact zeros cannot be drawn on a log axis
            ax.plot(a, d, color=color, ls=styles[pair], label=f"{pair}: |D − {LIMITS[q][1].split(' ')[0]}|")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("α (log scale)")
    ax.set_ylabel("distance to the limit (nats)")
    ax.set_title("approach to the limits (α→1: 2·JSD, α→∞: TV)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.suptitle(r"Arimoto divergence $D_{f_\alpha}(P_r\|P_g)$ vs $\alpha$, seed toy "
                 r"$P_r=\frac{1}{2}\mathcal{N}(2,0.3^2)+\frac{1}{2}\mathcal{N}(5,0.3^2)$", fontsize=13)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- entry point
class AlphaSweep(Study):
    """One unit per α of the grid (and α = ∞), one for the limits."""

    name = NAME
    description = DESCRIPTION
    config_cls = AlphaSweepConfig
    table = TABLE
    key_column = None
    uses_torch = False

    def variants(self, cfg: AlphaSweepConfig) -> list[Variant]:
        points = [Variant({}, {"alpha": float(a)}, f"alpha={a:g}") for a in [*cfg.alphas(), math.inf]]
        return points + [Variant({}, {"limits": list(LIMITS)}, "limits")]

    def run_unit(self, unit: Unit, ctx) -> pd.DataFrame:
        c = unit.variant.config
        rows = alpha_rows(c["alpha"]) if "alpha" in c else limit_rows()
        return pd.DataFrame(rows, columns=COLUMNS)

    def outputs(self, table: pd.DataFrame, cfg: AlphaSweepConfig, out, arrays) -> dict:
        plt = pyplot()
        fig = plot(table, cfg)
        savefig_atomic(fig, out / "alpha_sweep.png", dpi=cfg.dpi)
        plt.close(fig)
        return limit_checks(table)

    def extra(self, cfg: AlphaSweepConfig, variants) -> dict:
        return {"figures": ["alpha_sweep.png"]}

    def report(self, checks: dict, cfg: AlphaSweepConfig) -> str:
        return format_checks(checks)


STUDY = AlphaSweep()


def main(argv: list[str] | None = None) -> int:
    return run_study("studies.alpha_sweep", argv)


if __name__ == "__main__":
    sys.exit(main())
