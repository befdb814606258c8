"""The 1D toy of the lecture notes: what the optimal discriminator does to the generator's loss and its gradient.

Setting (``divergences.seed_toy()``; Sankar & Welfert, ISIT 2025 tutorial, "GAN training
instabilities: toy example"): data P_r = ½N(2, 0.3²) + ½N(5, 0.3²), and two generators,
'right' G = N(6, 0.3²) (overlapping the data mode at 5) and 'left' G = N(−0.5, 0.3²) (far from data).

For each generator, on an x grid, with r(x) = log p_r(x) − log p_g(x) (the logit of D*):

* vanilla optimal discriminator D*(x) = p_r/(p_r + p_g) = σ(r)            (``optimal_discriminator(.., 'vanilla')``)
* saturating generator loss       ℓ_sat(x) = log(1 − D*(x)) = −softplus(r)
* non-saturating generator loss   ℓ_ns(x)  = −log D*(x)     = softplus(−r)
* their x-gradients (the signal a generator sample at x receives, D held at D*):

      d/dx ℓ_sat = −D*·r'(x),      d/dx ℓ_ns = −(1 − D*)·r'(x),

  with r'(x) = s_r(x) − s_g(x) the difference of the mixtures' scores (see :func:`mixture_score`),
  cross-checked against a central finite difference of r (:func:`log_ratio_derivative_fd`).
* α-GAN optimal discriminators D*_α = p^α/(p^α + q^α) = σ(α r) for the configured α (α = inf: 1{p > q}).

Both losses are *minimised* by the generator, so gradient descent moves a sample at x by −η·dℓ/dx.
Outputs in ``results/toy_gradients/``: ``toy_gradients.csv`` (long format: generator, x, quantity,
alpha, value; alpha is NaN except for ``D_star_alpha``), ``toy_gradients_<generator>.png`` and ``run.json``.
Figures are drawn from the table only (``--plot-only`` redraws them from the saved CSV).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit

from divergences import GaussianMixture, optimal_discriminator, seed_toy
from studies.common import pyplot, savefig_atomic
from studies.engine import Study, run_study
from studies.store import Unit, Variant

DESCRIPTION = ("Lecture notes' 1D toy: D*, saturating vs non-saturating generator losses and their x-gradients, "
               "alpha-GAN D*_alpha (analytic, CPU)")
NAME = "toy_gradients"
TABLE = "toy_gradients.csv"
COLUMNS = ["generator", "x", "quantity", "alpha", "value"]
GENERATORS = ("right", "left")

# Quantities of the table (``alpha`` is NaN except for D_star_alpha).
QUANTITIES = {
    "p_real": "data density p_r(x)",
    "p_gen": "generator density p_g(x)",
    "log_ratio": "r(x) = log p_r − log p_g (logit of D*)",
    "dlog_ratio_dx": "r'(x) from mixture scores",
    "D_star": "vanilla D*(x) = p_r/(p_r + p_g)",
    "loss_saturating": "log(1 − D*(x))",
    "loss_nonsaturating": "−log D*(x)",
    "grad_saturating": "d/dx log(1 − D*(x)) = −D* r'",
    "grad_nonsaturating": "d/dx (−log D*(x)) = −(1 − D*) r'",
    "D_star_alpha": "α-GAN D*_α(x) = p_r^α/(p_r^α + p_g^α)",
}


@dataclass(frozen=True)
class ToyGradientsConfig:
    """Grid and α values of the toy-gradient study (every field is a ``--field-name`` option)."""

    x_min: float = field(default=-2.0, metadata={"help": "left end of the x grid"})
    x_max: float = field(default=9.0, metadata={"help": "right end of the x grid"})
    n_points: int = field(default=2001, metadata={"help": "number of grid points (uniform)"})
    alphas: tuple[float, ...] = field(default=(0.5, 1.0, 2.0, 5.0, math.inf),
                                      metadata={"help": "alpha values of the alpha-GAN D*_alpha ('inf' allowed)",
                                                "allow_inf": True})
    fd_step: float = field(default=1e-4, metadata={"help": "step h of the central-difference cross-check of r'(x)"})
    region_sigmas: float = field(default=2.0, metadata={"help": "summary region: generator mean ± this many std"})
    dpi: int = field(default=130, metadata={"help": "PNG resolution"})

    def __post_init__(self):
        if not (math.isfinite(self.x_min) and math.isfinite(self.x_max) and self.x_min < self.x_max):
            raise ValueError(f"need finite x_min < x_max; got x_min={self.x_min}, x_max={self.x_max}")
        if self.n_points < 3:
            raise ValueError(f"n_points must be >= 3; got {self.n_points}")
        if not self.alphas or any(not (a > 0) for a in self.alphas):
            raise ValueError(f"alphas must be non-empty and in (0, inf]; got {self.alphas}")
        if not (0 < self.fd_step < 0.1):
            raise ValueError(f"fd_step must lie in (0, 0.1); got {self.fd_step}")
        if not (self.region_sigmas > 0):
            raise ValueError(f"region_sigmas must be positive; got {self.region_sigmas}")
        if self.dpi < 20:
            raise ValueError(f"dpi must be >= 20; got {self.dpi}")


# ----------------------------------------------------------------------------- analytic pieces
def mixture_score(M: GaussianMixture, x: np.ndarray) -> np.ndarray:
    """Score d/dx log m(x) of a 1D Gaussian mixture m = Σ_k w_k N(μ_k, σ_k²), shape (n,).

    d/dx log m = (Σ_k w_k N_k(x) (μ_k − x)/σ_k²) / m(x) = Σ_k γ_k(x) (μ_k − x)/σ_k², with the
    responsibilities γ_k = softmax_k(log w_k + log N_k(x)) formed in log space (no underflow
    even where every N_k(x) is below the float range, e.g. 30σ away).
    """
    if M.dim != 1:
        raise ValueError(f"mixture_score is for 1D mixtures; got d={M.dim}")
    x = np.asarray(x, dtype=float).reshape(-1)
    logc = M.component_logpdf(x)  # (n, k)
    gamma = np.exp(logc - logc.max(axis=1, keepdims=True))
    gamma /= gamma.sum(axis=1, keepdims=True)
    mu, var = M.means[:, 0], M.covs[:, 0, 0]
    return np.sum(gamma * (mu[None, :] - x[:, None]) / var[None, :], axis=1)


def log_ratio_derivative(P: GaussianMixture, Q: GaussianMixture, x: np.ndarray) -> np.ndarray:
    """r'(x) = d/dx [log p(x) − log q(x)] = score_P(x) − score_Q(x) (exact up to rounding)."""
    return mixture_score(P, x) - mixture_score(Q, x)


def log_ratio_derivative_fd(P: GaussianMixture, Q: GaussianMixture, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central difference [r(x + h) − r(x − h)]/(2h) of the log-space log ratio r = log p − log q.

    Error: truncation h² r'''/6 plus rounding ≈ ε|r|/h. On the seed toy |r| ≤ ~500 on the default
    grid and |r'''| ≤ ~1e4 near the responsibility switch between components, so h = 1e-4 gives
    ~2e-5 (truncation) + ~1e-9 (rounding) absolute; the test allows 1e-4·(1 + |r'|).
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    r = lambda t: P.logpdf(t) - Q.logpdf(t)
    return (r(x + h) - r(x - h)) / (2.0 * h)


def generator_rows(P: GaussianMixture, G: GaussianMixture, name: str, x: np.ndarray,
                   alphas: tuple[float, ...]) -> pd.DataFrame:
    """All quantities of one generator on the grid x, as long-format rows."""
    D = optimal_discriminator(P, G, "vanilla")
    r = D.logit(x)  # log p_r − log p_g, in log space
    d_star = D(x)  # σ(r)
    one_minus_d = expit(-r)  # 1 − D*, without the cancellation of 1 − σ(r) where D* ≈ 1
    dr = log_ratio_derivative(P, G, x)
    cols = {
        "p_real": P.pdf(x),
        "p_gen": G.pdf(x),
        "log_ratio": r,
        "dlog_ratio_dx": dr,
        "D_star": d_star,
        "loss_saturating": -np.logaddexp(0.0, r),  # log(1 − σ(r)) = −softplus(r)
        "loss_nonsaturating": np.logaddexp(0.0, -r),  # −log σ(r) = softplus(−r)
        "grad_saturating": -d_star * dr,
        "grad_nonsaturating": -one_minus_d * dr,
    }
    frames = [pd.DataFrame({"generator": name, "x": x, "quantity": q, "alpha": np.nan, "value": v})
              for q, v in cols.items()]
    for a in alphas:
        Da = optimal_discriminator(P, G, "alpha", alpha=float(a))
        frames.append(pd.DataFrame({"generator": name, "x": x, "quantity": "D_star_alpha", "alpha": float(a),
                                    "value": Da(x)}))
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def generators() -> dict[str, GaussianMixture]:
    toy = seed_toy()
    return {"right": toy.gen_right, "left": toy.gen_left}


def fd_check(cfg: ToyGradientsConfig) -> dict:
    """The finite-difference cross-check of r' (max abs/rel discrepancy per generator) on the study's grid."""
    P = seed_toy().real
    x = np.linspace(cfg.x_min, cfg.x_max, cfg.n_points)
    out = {}
    for name, G in generators().items():
        exact, fd = log_ratio_derivative(P, G, x), log_ratio_derivative_fd(P, G, x, cfg.fd_step)
        out[name] = {"max_abs_diff": float(np.max(np.abs(exact - fd))),
                     "max_rel_diff": float(np.max(np.abs(exact - fd) / (1.0 + np.abs(exact))))}
    return out


# ----------------------------------------------------------------------------- summary (from the table)
def _series(df: pd.DataFrame, gen: str, quantity: str, alpha: float | None = None) -> pd.Series:
    sel = (df["generator"] == gen) & (df["quantity"] == quantity)
    if alpha is not None:
        sel &= np.isclose(df["alpha"], alpha) | (np.isinf(df["alpha"]) & math.isinf(alpha))
    s = df.loc[sel, ["x", "value"]].sort_values("x")
    return pd.Series(s["value"].to_numpy(), index=s["x"].to_numpy())


def summarize(df: pd.DataFrame, cfg: ToyGradientsConfig) -> dict:
    """Per generator and loss: dℓ/dx at the generator mean; max/min |dℓ/dx| over the generator's
    region (mean ± k·std) and max |dℓ/dx| over the data's region (each data component's mean ± k·std)
    and over the whole grid. Computed from the table only."""
    P = seed_toy().real
    data_mu, data_sd = P.means[:, 0], np.sqrt(P.covs[:, 0, 0])
    k = cfg.region_sigmas
    out = {}
    for gen, G in generators().items():
        if gen not in set(df["generator"]):
            continue
        mu, sd = float(G.means[0, 0]), float(np.sqrt(G.covs[0, 0, 0]))
        lo, hi = mu - k * sd, mu + k * sd
        rec = {"mean": mu, "std": sd, "region": [lo, hi],
               "data_region": [[float(m - k * s), float(m + k * s)] for m, s in zip(data_mu, data_sd)]}
        d_star = _series(df, gen, "D_star")
        xs = d_star.index.to_numpy()
        in_gen = (xs >= lo) & (xs <= hi)
        in_data = np.any(np.abs(xs[:, None] - data_mu[None, :]) <= k * data_sd[None, :], axis=1)
        i_mu = int(np.argmin(np.abs(xs - mu)))
        rec["D_star_at_mean"] = float(d_star.iloc[i_mu])
        rec["D_star_max_in_region"] = float(d_star.to_numpy()[in_gen].max())
        rec["D_star_min_in_data_region"] = float(d_star.to_numpy()[in_data].min())
        for loss in ("saturating", "nonsaturating"):
            g = _series(df, gen, f"grad_{loss}").to_numpy()
            ag = np.abs(g)

            def argmax_in(mask):
                i = int(np.argmax(np.where(mask, ag, -1.0)))
                return float(ag[i]), float(xs[i]), float(g[i])

            m_gen, x_gen, _ = argmax_in(in_gen)
            m_dat, x_dat, g_dat = argmax_in(in_data)
            m_all, x_all, _ = argmax_in(np.ones_like(in_gen))
            rec[loss] = {
                "grad_at_mean": float(g[i_mu]),
                "max_abs_grad_region": m_gen, "argmax_region": x_gen,
                "min_abs_grad_region": float(ag[in_gen].min()),
                "max_abs_grad_data_region": m_dat, "argmax_data_region": x_dat,
                "descent_direction_at_data_argmax": "left" if g_dat > 0 else ("right" if g_dat < 0 else "none"),
                "max_abs_grad_grid": m_all, "argmax_grid": x_all,
            }
        out[gen] = rec
    return out


def format_summary(summary: dict) -> str:
    """Human-readable table of :func:`summarize` (what ``main`` prints)."""
    any_rec = next(iter(summary.values()), None)
    k = "k" if any_rec is None else f"{(any_rec['region'][1] - any_rec['mean']) / any_rec['std']:g}"
    lines = ["Toy example: P_r = 0.5 N(2, 0.3^2) + 0.5 N(5, 0.3^2); x-gradients of the generator losses at D = D*",
             f"(G = generator mean ± {k}σ, data = each data mode ± {k}σ; descent moves a sample by −η·dℓ/dx)",
             f"{'generator':<18}{'loss':<11}{'dℓ/dx@mean':>12}{'max|dℓ/dx| G':>14}{'min|dℓ/dx| G':>14}"
             f"{'max|dℓ/dx| data':>17}{'(at x, descent)':>17}{'max|dℓ/dx| grid':>17}"]
    for gen, rec in summary.items():
        label = f"{gen} N({rec['mean']:g},{rec['std']:g}²)"
        for loss, nice in (("saturating", "log(1-D*)"), ("nonsaturating", "-log D*")):
            s = rec[loss]
            where = f"{s['argmax_data_region']:.2f}, {s['descent_direction_at_data_argmax']}"
            lines.append(f"{label:<18}{nice:<11}{s['grad_at_mean']:>12.3e}{s['max_abs_grad_region']:>14.3e}"
                         f"{s['min_abs_grad_region']:>14.3e}{s['max_abs_grad_data_region']:>17.3e}{where:>17}"
                         f"{s['max_abs_grad_grid']:>17.3e}")
            label = ""
        lines.append(f"{'':<18}D*(mean) = {rec['D_star_at_mean']:.3e}; max D* on G region = "
                     f"{rec['D_star_max_in_region']:.3e}; min D* on data region = {rec['D_star_min_in_data_region']:.3e}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- figures (from the table)
def plot_generator(df: pd.DataFrame, gen: str, cfg: ToyGradientsConfig):
    """2×2 figure for one generator: (a) densities and D*, (b) losses, (c) gradients, (d) D*_α."""
    plt = pyplot()
    G = generators()[gen]
    mu, sd = float(G.means[0, 0]), float(np.sqrt(G.covs[0, 0, 0]))
    lo, hi = mu - cfg.region_sigmas * sd, mu + cfg.region_sigmas * sd
    p_r, p_g, d_star = (_series(df, gen, q) for q in ("p_real", "p_gen", "D_star"))
    x = p_r.index.to_numpy()
    fig, axes = plt.subplots(2, 2, figsize=(13, 9), sharex=True)
    (ax_a, ax_b), (ax_c, ax_d) = axes
    c_real, c_gen, c_sat, c_ns = "tab:blue", "tab:orange", "tab:red", "tab:green"

    def shade(ax):
        ax.axvspan(lo, hi, color=c_gen, alpha=0.10, lw=0,
                   label=f"generator mean ± {cfg.region_sigmas:g}σ")
        for m in (2.0, 5.0):
            ax.axvline(m, color=c_real, lw=0.6, ls=":", alpha=0.7)

    # (a) densities and D*
    shade(ax_a)
    ax_a.fill_between(x, p_r.to_numpy(), color=c_real, alpha=0.25)
    ax_a.plot(x, p_r.to_numpy(), color=c_real, label=r"$p_r$ (data)")
    ax_a.fill_between(x, p_g.to_numpy(), color=c_gen, alpha=0.25)
    ax_a.plot(x, p_g.to_numpy(), color=c_gen, label=r"$p_g$ (generator)")
    ax_a.set_ylabel("density")
    top = 1.1 * max(p_r.max(), p_g.max())
    ax_a.set_ylim(-0.03 * top, 1.03 * top)  # zero at the same height as the D* axis' zero
    ax_a2 = ax_a.twinx()
    ax_a2.plot(x, d_star.to_numpy(), color="k", lw=1.8, label=r"$D^*=p_r/(p_r+p_g)$ (right axis)")
    ax_a2.set_ylim(-0.03, 1.03)
    ax_a2.set_ylabel(r"$D^*(x)$")
    h1, l1 = ax_a.get_legend_handles_labels()
    h2, l2 = ax_a2.get_legend_handles_labels()
    ax_a.legend(h1 + h2, l1 + l2, loc="upper right" if mu < 2.0 else "upper left",
                bbox_to_anchor=(1.0, 0.93) if mu < 2.0 else (0.0, 0.93), fontsize=8)
    ax_a.set_title("(a) densities and optimal discriminator")

    # (b) losses (symlog: they range over hundreds of nats at the grid ends)
    shade(ax_b)
    ax_b.plot(x, _series(df, gen, "loss_saturating").to_numpy(), color=c_sat,
              label=r"saturating $\log(1-D^*(x))$")
    ax_b.plot(x, _series(df, gen, "loss_nonsaturating").to_numpy(), color=c_ns,
              label=r"non-saturating $-\log D^*(x)$")
    ax_b.axhline(0.0, color="k", lw=0.5)
    ax_b.set_yscale("symlog", linthresh=1.0)
    ax_b.set_ylabel("generator loss ℓ(x) (nats, symlog)")
    ax_b.legend(loc="best", fontsize=8)
    ax_b.set_title("(b) generator losses at $D=D^*$ (both minimised by G)")

    # (c) gradients. With equal component variances r'(x) = (Σ_k γ_k μ_k − μ_g)/σ² has one sign on the
    # whole line (generator outside the data's hull), so |dℓ/dx| on a log axis loses nothing and shows
    # both the 1e-14 vanishing and the O(Δμ/σ²) large values; the sign is stated in the title. With
    # mixed signs (other settings) a symlog axis with a 1e-16 linear range is used instead.
    shade(ax_c)
    g_sat = _series(df, gen, "grad_saturating").to_numpy()
    g_ns = _series(df, gen, "grad_nonsaturating").to_numpy()
    both = np.concatenate([g_sat, g_ns])
    one_sign = bool(np.all(both >= 0) or np.all(both <= 0))
    i_mu = int(np.argmin(np.abs(x - mu)))
    for g, color, lab in ((g_sat, c_sat, r"saturating $\partial_x \log(1-D^*) = -D^*\,r'$"),
                          (g_ns, c_ns, r"non-saturating $\partial_x(-\log D^*) = -(1-D^*)\,r'$")):
        y = np.abs(g) if one_sign else g
        ax_c.plot(x, y, color=color, label=lab)
        ax_c.plot([x[i_mu]], [y[i_mu]], "o", color=color, ms=5)
        ax_c.annotate(f"{g[i_mu]:.2g}", (x[i_mu], y[i_mu]), textcoords="offset points", xytext=(6, 4),
                      color=color, fontsize=8)
    if one_sign:
        sign = 1.0 if np.all(both >= 0) else -1.0
        ax_c.set_yscale("log")
        floor = max(np.min(np.abs(both)[np.abs(both) > 0], initial=1e-300), 1e-30)
        ax_c.set_ylim(floor / 3.0, 10 ** (math.ceil(math.log10(max(np.abs(both).max(), 1.0))) + 1))
        ax_c.set_ylabel(r"$|d\ell/dx|$ (log scale)")
        direction = "left" if sign > 0 else "right"
        ax_c.set_title(f"(c) gradient w.r.t. the sample x: dℓ/dx {'>' if sign > 0 else '<'} 0 everywhere, "
                       f"so descent moves x {direction}", fontsize=11)
    else:
        ax_c.axhline(0.0, color="k", lw=0.5)
        ax_c.set_yscale("symlog", linthresh=1e-16, linscale=0.3)
        ax_c.set_ylabel("dℓ/dx (symlog, linear within ±1e-16)")
        ax_c.set_title("(c) gradient of the loss w.r.t. the sample x (descent moves x by −η·dℓ/dx)", fontsize=11)
    ax_c.set_xlabel("x")
    ax_c.legend(loc="lower right" if mu < 2.0 else "lower left", fontsize=8, title="dots: value at generator mean",
                title_fontsize=8)

    # (d) α-GAN optimal discriminators
    shade(ax_d)
    alphas = sorted(df.loc[(df["generator"] == gen) & (df["quantity"] == "D_star_alpha"), "alpha"].unique())
    cmap = plt.get_cmap("viridis")
    for i, a in enumerate(alphas):
        lab = r"$\alpha=\infty$: $1\{p_r>p_g\}$" if math.isinf(a) else rf"$\alpha={a:g}$"
        color = "k" if math.isinf(a) else cmap(0.9 * i / max(len(alphas) - 1, 1))
        ax_d.plot(x, _series(df, gen, "D_star_alpha", a).to_numpy(), color=color,
                  ls="--" if math.isinf(a) else "-", lw=1.2 if math.isinf(a) else 1.8, label=lab)
    ax_d.set_ylim(-0.03, 1.03)
    ax_d.set_ylabel(r"$D^*_\alpha(x)=p_r^\alpha/(p_r^\alpha+p_g^\alpha)$")
    ax_d.set_xlabel("x")
    ax_d.legend(loc="best", fontsize=8, title="α-GAN (α=1: vanilla)")
    ax_d.set_title(r"(d) $\alpha$-GAN optimal discriminators")

    for ax in axes.flat:
        ax.set_xlim(x[0], x[-1])
        ax.grid(alpha=0.25)
    fig.suptitle(f"Seed toy, '{gen}' generator $p_g=\\mathcal{{N}}({mu:g}, {sd:g}^2)$; "
                 r"data $p_r=\frac{1}{2}\mathcal{N}(2,0.3^2)+\frac{1}{2}\mathcal{N}(5,0.3^2)$", fontsize=13)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- entry point
class ToyGradients(Study):
    """One unit per generator: its quantities on the grid."""

    name = NAME
    description = DESCRIPTION
    config_cls = ToyGradientsConfig
    table = TABLE
    key_column = None
    uses_torch = False

    def variants(self, cfg: ToyGradientsConfig) -> list[Variant]:
        grid = {"x_min": cfg.x_min, "x_max": cfg.x_max, "n_points": cfg.n_points, "alphas": list(cfg.alphas)}
        return [Variant({}, {"generator": name, **grid}, name) for name in GENERATORS]

    def run_unit(self, unit: Unit, ctx) -> pd.DataFrame:
        c = unit.variant.config
        x = np.linspace(c["x_min"], c["x_max"], c["n_points"])
        return generator_rows(seed_toy().real, generators()[c["generator"]], c["generator"], x, tuple(c["alphas"]))

    def outputs(self, table: pd.DataFrame, cfg: ToyGradientsConfig, out, arrays) -> dict:
        plt = pyplot()
        for gen in GENERATORS:
            fig = plot_generator(table, gen, cfg)
            savefig_atomic(fig, out / f"toy_gradients_{gen}.png", dpi=cfg.dpi)
            plt.close(fig)
        return summarize(table, cfg)

    def extra(self, cfg: ToyGradientsConfig, variants) -> dict:
        gens = {gen: {"mean": float(G.means[0, 0]), "std": float(np.sqrt(G.covs[0, 0, 0]))}
                for gen, G in generators().items()}
        return {"generators": gens, "quantities": QUANTITIES, "figures": [f"toy_gradients_{g}.png" for g in GENERATORS],
                "fd_check_dlog_ratio_dx": {"step": cfg.fd_step, **fd_check(cfg)}}

    def report(self, summary: dict, cfg: ToyGradientsConfig) -> str:
        fc = fd_check(cfg)
        return (format_summary(summary) + "\nr'(x) scores vs central difference (h=%g): " % cfg.fd_step
                + ", ".join(f"{g}: max|Δ| = {v['max_abs_diff']:.2e}" for g, v in fc.items()))


STUDY = ToyGradients()


def main(argv: list[str] | None = None) -> int:
    return run_study("studies.toy_gradients", argv)


if __name__ == "__main__":
    sys.exit(main())
