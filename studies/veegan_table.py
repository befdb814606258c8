"""The 2D ring and grid benchmark of the unrolled-GAN demo, VEEGAN (Table 1) and GDPP, reproduced on a CPU.

Setting: the TensorFlow toy code of the Unrolled-GAN authors (Metz et al. 2017, demo notebook), reused by VEEGAN
(Srivastava et al. 2017) and GDPP (Elfeki et al. 2019):

* data: the **ring**, 8 Gaussians with σ = 0.01 at angles ``numpy.linspace(0, 2π, 8)`` on the unit circle, so the
  first and last coincide: 7 distinct locations, the top one with weight 2/8 (reproduced deliberately: it is the
  authors' data); the **grid**, 25 Gaussians with σ = 0.05 at {−4, −2, 0, 2, 4}². Fresh samples every step;
* G: z ∈ R^256 ~ N(0, I) → 2 tanh hidden layers of 128 → R²; D: R² → 2 tanh hidden layers of 128 → logit;
  orthogonal initialisation with gain 1.4, zero biases; batch 512; 25,000 iterations;
* evaluation: 2,500 samples; a sample is high quality (HQ) if it lies within 3σ of its nearest mean (Euclidean); a
  mode is captured if at least one HQ sample is nearest to it (``toy.metrics`` rule ``welfert``, which is the
  authors' ``evaluate_samples``); on the ring the two "coinciding" means differ by 2.4e-16 in x (sin 2π in float64),
  so which of them is nearest to a sample at the top is decided by rounding, and both can be counted: 8 modes can be
  captured.

Methods (:data:`METHODS`):

* ``gan``: NS loss (the GDPP code's GAN: cross-entropy with label 1 for G), Adam lr_D 1e-4, lr_G 1e-3, β1 0.5,
  simultaneous updates of G and D on one batch per iteration (both train ops in one ``session.run``);
* ``unrolled``: 5 look-ahead steps of D's own Adam optimizer (from its current moments), differentiated through; G
  minimises −L_D at the look-ahead (the saturating value function of the demo, ``g_objective`` ``unrolled`` with
  ``optimizer=adam``, ``objective=value``), same rates and simultaneous updates;
* ``wgan-gp``: the GDPP paper gives no settings for its WGAN-GP row; we use those of Gulrajani et al.'s toy code
  (``gan_toy.py``): λ = 0.1, 5 critic steps per G step, Adam lr 1e-4 for both, β = (0.5, 0.9), alternating updates,
  on the networks above.

Published (ring then grid; modes / % HQ): GAN 1 / 99.3 and 3.3 / 0.5 (VEEGAN Table 1), Unrolled GAN 7.6 / 35.6
and 23.6 / 16 (VEEGAN Table 1), WGAN-GP 6.8 / 59.6 and 24.2 / 28.7 (GDPP Table 1). ``table.md`` sets our mean ±
standard error beside them.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from divergences import GaussianMixture, grid
from studies.common import pyplot, savefig_atomic, write_atomic, write_csv_atomic
from studies.engine import run_study
from studies.store import Variant
from studies.toy_study import ToyStudy, plot_sample_grid

DESCRIPTION = "The 2D ring / grid benchmark of Unrolled GAN, VEEGAN and GDPP: GAN, unrolled GAN and WGAN-GP on a CPU"
NAME = "veegan_table"
TABLE = "veegan_table.csv"

PUBLISHED = {  # (problem, method) -> (modes, % high quality, source)
    ("ring", "gan"): (1.0, 99.3, "VEEGAN Table 1"), ("grid", "gan"): (3.3, 0.5, "VEEGAN Table 1"),
    ("ring", "unrolled"): (7.6, 35.6, "VEEGAN Table 1"), ("grid", "unrolled"): (23.6, 16.0, "VEEGAN Table 1"),
    ("ring", "wgan-gp"): (6.8, 59.6, "GDPP Table 1"), ("grid", "wgan-gp"): (24.2, 28.7, "GDPP Table 1"),
}


def authors_ring() -> GaussianMixture:
    """8 equal-weight Gaussians, σ = 0.01, at angles linspace(0, 2π, 8) of the unit circle (x = sin θ, y = cos θ,
    as the authors' code): the first and last means coincide."""
    theta = np.linspace(0.0, 2.0 * np.pi, 8)
    means = np.stack([np.sin(theta), np.cos(theta)], axis=1)
    return GaussianMixture(np.full(8, 1.0 / 8), means, np.full(8, 0.01 ** 2))


PROBLEMS: dict[str, Callable[[], GaussianMixture]] = {"ring": authors_ring,
                                                      "grid": lambda: grid(5, spacing=2.0, var=0.05 ** 2)}


@dataclass(frozen=True)
class Method:
    """A method of the table: its loss, training options and ToyConfig fields, and its default seed count."""

    loss: str
    options: dict
    fields: dict
    seeds_field: str


METHODS: dict[str, Method] = {
    "gan": Method("ns", {"lr_d": 1e-4, "lr_g": 1e-3, "beta1": 0.5, "beta2": 0.999},
                  {"update": "simultaneous", "g_latents": "reuse"}, "gan_seeds"),
    "unrolled": Method("minimax", {"lr_d": 1e-4, "lr_g": 1e-3, "beta1": 0.5, "beta2": 0.999},
                       {"update": "simultaneous", "g_latents": "reuse", "g_objective": "unrolled",
                        "g_objective_params": {"steps": 5, "optimizer": "adam", "objective": "value"}},
                       "unrolled_seeds"),
    "wgan-gp": Method("wgan", {"lr_d": 1e-4, "lr_g": 1e-4, "beta1": 0.5, "beta2": 0.9, "n_dis": 5, "penalty": "gp",
                               "penalty_weight": 0.1}, {}, "wgan_gp_seeds"),
}


def _help(text: str) -> dict:
    return {"help": text}


@dataclass(frozen=True)
class VeeganTableConfig:
    """The benchmark's settings (every field a ``--field-name`` option; defaults: the authors')."""

    problems: tuple[str, ...] = field(default=tuple(PROBLEMS), metadata=_help(f"of {list(PROBLEMS)}"))
    methods: tuple[str, ...] = field(default=tuple(METHODS), metadata=_help(f"of {list(METHODS)}"))
    gan_seeds: int = field(default=10, metadata=_help("seeds of the GAN rows"))
    unrolled_seeds: int = field(default=3, metadata=_help("seeds of the unrolled-GAN rows"))
    wgan_gp_seeds: int = field(default=10, metadata=_help("seeds of the WGAN-GP rows"))
    first_seed: int = field(default=0, metadata=_help("seeds are first_seed, first_seed + 1, ..."))
    iterations: int = field(default=25_000, metadata=_help("G steps"))
    eval_every: int = field(default=2_500, metadata=_help("iterations between evaluations (a multiple divides "
                                                          "iterations)"))
    batch_size: int = field(default=512, metadata=_help("minibatch size"))
    n_eval: int = field(default=2500, metadata=_help("generated samples per evaluation"))
    seed_batch: int = field(default=10, metadata=_help("seeds trained together as one batched computation"))
    checkpoint_every: int = field(default=0, metadata=_help("evaluations between checkpoints (0: every tenth of the "
                                                            "run)"))
    dpi: int = field(default=130, metadata=_help("PNG resolution"))

    def __post_init__(self) -> None:
        for name, known in (("problems", PROBLEMS), ("methods", METHODS)):
            vals = getattr(self, name)
            if not vals or any(v not in known for v in vals) or len(set(vals)) != len(vals):
                raise ValueError(f"{name} must be distinct names of {list(known)}; got {list(vals)}")
        for name in ("gan_seeds", "unrolled_seeds", "wgan_gp_seeds", "iterations", "eval_every", "batch_size",
                     "n_eval", "seed_batch", "dpi"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if self.iterations % self.eval_every:
            raise ValueError(f"eval_every ({self.eval_every}) must divide iterations ({self.iterations})")
        if self.first_seed < 0 or self.checkpoint_every < 0:
            raise ValueError("first_seed and checkpoint_every must be non-negative")

    def variants(self) -> list[Variant]:
        """One toy configuration per (problem, method), each with its own seeds. An epoch is ``eval_every``
        iterations of fresh samples."""
        from gan.regularizers import TrainOptions
        from toy.train import ToyConfig

        out = []
        for problem in self.problems:
            P = PROBLEMS[problem]()
            for name in self.methods:
                m = METHODS[name]
                opts = TrainOptions(**m.options)
                cfg = ToyConfig(mixture=P, fresh=True, n_train=self.batch_size * self.eval_every * opts.n_dis,
                                latent_dim=256, g_width=128, g_depth=2, g_activation="tanh", d_width=128, d_depth=2,
                                d_activation="tanh", init="orthogonal", init_gain=1.4, loss=m.loss, options=opts,
                                batch_size=self.batch_size, epochs=self.iterations // self.eval_every, eval_every=1,
                                n_eval=self.n_eval, mode_rule="welfert", **m.fields)
                n = getattr(self, m.seeds_field)
                seeds = tuple(range(self.first_seed, self.first_seed + n))
                out.append(Variant({"problem": problem, "method": name}, cfg, f"{problem}, {name}", seeds=seeds,
                                   options={"checkpoint_every": self.checkpoint_every}))
        return out


# ----------------------------------------------------------------------------- summaries (from the table)
def final(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (problem, method, seed) at the last iteration, metrics as columns."""
    last = table.groupby(["problem", "method"]).epoch.transform("max")
    t = table[table.epoch == last]
    return t.pivot_table(index=["problem", "method", "seed"], columns="metric", values="value").reset_index()


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per (problem, method): seeds, mean ± standard error of modes captured and of % HQ samples, beside the
    published values, and whether they agree within two standard errors (or ±0.5 mode / ±5 % when every seed gave
    the same value)."""
    fin = final(table)
    rows = []
    for (problem, method), g in fin.groupby(["problem", "method"], sort=False):
        n = len(g)
        modes, hq = g.modes_captured, 100 * g.hq_fraction
        se = lambda v: float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        pub_m, pub_hq, src = PUBLISHED[(problem, method)]
        agree = lambda mean, s, pub, floor: abs(mean - pub) <= max(2 * (s if math.isfinite(s) else 0), floor)
        rows.append({"problem": problem, "method": method, "seeds": n, "modes_mean": float(modes.mean()),
                     "modes_se": se(modes), "hq_pct_mean": float(hq.mean()), "hq_pct_se": se(hq),
                     "published_modes": pub_m, "published_hq_pct": pub_hq, "source": src,
                     "modes_agree": agree(float(modes.mean()), se(modes), pub_m, 0.5),
                     "hq_agree": agree(float(hq.mean()), se(hq), pub_hq, 5.0),
                     "diverged": int(g.diverged.sum())})
    return pd.DataFrame(rows)


def table_markdown(summary: pd.DataFrame) -> str:
    lines = ["| problem | method | seeds | modes (ours, mean ± s.e.) | modes (published) | % HQ (ours) | % HQ (published) "
             "| agree (modes / HQ, within 2 s.e.) | source |", "|---|---|---|---|---|---|---|---|---|"]
    for r in summary.itertuples():
        yes = lambda b: "yes" if b else "no"
        lines.append(f"| {r.problem} | {r.method} | {r.seeds} | {r.modes_mean:.2f} ± {r.modes_se:.2f} | "
                     f"{r.published_modes:g} | {r.hq_pct_mean:.1f} ± {r.hq_pct_se:.1f} | {r.published_hq_pct:g} | "
                     f"{yes(r.modes_agree)} / {yes(r.hq_agree)} | {r.source} |")
    return "\n".join(lines) + "\n"


def plot_trajectories(table: pd.DataFrame, cfg: VeeganTableConfig):
    """Modes captured and % HQ against iterations: one thin line per seed, the mean bold; a row per problem."""
    plt = pyplot()
    problems = list(dict.fromkeys(table.problem))
    fig, axes = plt.subplots(len(problems), 2, figsize=(12, 4.2 * len(problems)), squeeze=False)
    colors = dict(zip(METHODS, ("tab:blue", "tab:orange", "tab:green")))
    for i, problem in enumerate(problems):
        for j, (metric, scale, label) in enumerate((("modes_captured", 1, "modes captured"),
                                                    ("hq_fraction", 100, "% high-quality samples"))):
            ax = axes[i, j]
            for method, g in table[(table.problem == problem) & (table.metric == metric)].groupby("method", sort=False):
                it = g.epoch * cfg.eval_every
                for _, s in g.assign(it=it).groupby("seed"):
                    ax.plot(s.it, scale * s.value, color=colors[method], alpha=0.25, lw=0.8)
                mean = g.assign(it=it).groupby("it").value.mean()
                ax.plot(mean.index, scale * mean.values, color=colors[method], lw=2.4, label=method)
                pub = PUBLISHED[(problem, method)][j]
                ax.axhline(pub, color=colors[method], ls=":", lw=1.2)
            ax.set_xlabel("iteration (G steps)", fontsize=12)
            ax.set_ylabel(label, fontsize=12)
            ax.set_title(f"{problem}: {label} (dotted: published)", fontsize=13)
            ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=12, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))  # the legend below the panels covers no data
    return fig


def plot_samples(arrays: dict, table: pd.DataFrame, cfg: VeeganTableConfig, n_show: int = 3):
    """Final samples of the first seeds of every (problem, method) over the data's means."""
    keys = table[["problem", "method", "config_key"]].drop_duplicates()
    rows = [(r.config_key, f"{r.problem}, {r.method}", PROBLEMS[r.problem]().means, 1.5 if r.problem == "ring" else 5.5)
            for r in keys.itertuples()]
    return plot_sample_grid(table, arrays, rows, n_show)


CAPTION = """# {name}

* `trajectories.png`: modes captured (of 8 on the ring, two of them at the same place up to rounding; of 25 on the grid) and the
  share of high-quality samples against G steps; thin lines: seeds, bold: their mean; dotted: the published value.
* `samples.png`: the final 2,500 samples of the first three seeds of each row (blue) over the data's means (black x).

Protocol: {iterations} iterations at batch {batch}, evaluated every {eval_every} iterations on {n_eval} samples from
fixed evaluation latents; HQ = within 3σ of the nearest mean (σ = 0.01 ring, 0.05 grid), a mode is captured with
at least one HQ sample nearest to it. Networks, rates and updates: see `studies/veegan_table.py` and `run.json`.
"""


class VeeganTable(ToyStudy):
    name = NAME
    description = DESCRIPTION
    config_cls = VeeganTableConfig
    table = TABLE
    presets = {
        "quick": {"gan_seeds": 2, "unrolled_seeds": 1, "wgan_gp_seeds": 2, "iterations": 200, "eval_every": 100,
                  "batch_size": 64, "n_eval": 500},
        "paper": {},
    }
    keep_samples = 2500  # every evaluation sample: the scatter shows what the metrics counted

    def variants(self, cfg: VeeganTableConfig) -> list[Variant]:
        return cfg.variants()

    def seeds(self, cfg: VeeganTableConfig) -> range:
        return range(0)  # every variant has its own seeds

    def seed_batch(self, cfg: VeeganTableConfig) -> int:
        return cfg.seed_batch

    def outputs(self, table: pd.DataFrame, cfg: VeeganTableConfig, out, arrays) -> pd.DataFrame:
        summary = summarize(table)
        write_csv_atomic(summary, out / "table.csv")
        write_atomic(out / "table.md", table_markdown(summary))
        plt = pyplot()
        for name, fig in (("trajectories.png", plot_trajectories(table, cfg)),
                          ("samples.png", plot_samples(arrays, table, cfg))):
            savefig_atomic(fig, out / name, dpi=cfg.dpi)
            plt.close(fig)
        write_atomic(out / "captions.md", CAPTION.format(name=NAME, iterations=cfg.iterations, batch=cfg.batch_size,
                                                         eval_every=cfg.eval_every, n_eval=cfg.n_eval))
        return summary

    def extra(self, cfg: VeeganTableConfig, variants) -> dict:
        return {"configurations": {v.title(): {"config_key": v.key, "seeds": list(v.seeds)} for v in variants}}

    def report(self, summary: pd.DataFrame, cfg: VeeganTableConfig) -> str:
        return table_markdown(summary)


STUDY = VeeganTable()


def main(argv: list[str] | None = None) -> int:
    return run_study("studies.veegan_table", argv)


if __name__ == "__main__":
    sys.exit(main())
