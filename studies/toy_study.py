"""The part of the study skeleton that toy GAN studies share: a unit is (toy configuration, seed batch), trained as
one batched computation by :func:`toy.train.train_toy`, resuming from its checkpoint.

A toy study's config provides ``seeds`` (a count), ``first_seed``, ``seed_batch`` and ``checkpoint_every`` (epochs
between checkpoints; 0: a tenth of the epochs); its variants' configs are :class:`toy.train.ToyConfig`. A study adds
rows computed from the trained networks by overriding :meth:`ToyStudy.extra_rows` (e.g. analytic divergences of a
fitted generator), and keeps arrays (e.g. final samples) by overriding :meth:`ToyStudy.arrays`.
"""

from __future__ import annotations

from typing import Any

from studies.engine import Study
from studies.executors import UnitContext, UnitResult
from studies.store import Unit


def latest(rows: list[dict], metric: str, n: int) -> list[float]:
    """The last ``n`` values of ``metric`` in long rows (one per seed of the latest evaluation)."""
    vals: list[float] = []
    for r in reversed(rows):
        if r["metric"] == metric:
            vals.append(r["value"])
            if len(vals) == n:
                break
    return vals


class ToyStudy(Study):
    """A study whose units are (:class:`toy.train.ToyConfig`, seed batch)."""

    sort_columns = ("epoch", "metric")
    cost_unit = "seed-epoch"

    def seeds(self, cfg: Any) -> range:
        return range(cfg.first_seed, cfg.first_seed + cfg.seeds)

    def seed_batch(self, cfg: Any) -> int:
        return cfg.seed_batch

    def cost(self, unit: Unit) -> float:
        """Seed-epochs."""
        return float(len(unit.seeds) * unit.variant.config.epochs)

    def checkpoint_every(self, unit: Unit) -> int:
        """Epochs between checkpoints of a unit in progress: the variant's ``checkpoint_every`` option, 0 or absent
        meaning a tenth of its epochs."""
        return unit.variant.options.get("checkpoint_every") or max(1, unit.variant.config.epochs // 10)

    def extra_rows(self, unit: Unit, result: Any) -> list[dict]:
        """Rows ``{seed, epoch, metric, value}`` computed from a finished unit's :class:`toy.train.ToyResult`."""
        return []

    keep_samples: int = 500
    """Final samples per seed kept for the scatter figures (at most ``toy.train.N_KEPT_SAMPLES``)."""

    def arrays(self, unit: Unit, result: Any) -> dict:
        """Arrays to keep from a finished unit: each seed's final samples (``seed<k>/samples``, float32, the first
        ``keep_samples`` of the last evaluation's), drawn by ``--plot-only`` from the study's arrays file."""
        if result.samples is None:
            return {}
        return {f"seed{s}/samples": result.samples[i, :self.keep_samples].numpy() for i, s in enumerate(unit.seeds)}

    def run_unit(self, unit: Unit, ctx: UnitContext) -> UnitResult:
        from toy.train import train_toy  # torch is imported only where there is training to do

        n = len(unit.seeds)
        cfg = unit.variant.config

        def on_epoch(trainer: Any) -> None:
            last = latest(trainer.rows, "modes_captured", n)
            note = f"{unit.variant.title()} | modes {sum(last) / max(len(last), 1):.2f}/{cfg.mixture.n_components}"
            ctx.progress(float(n * trainer.epochs_done), note)

        res = train_toy(cfg, list(unit.seeds), ctx.device, checkpoint=ctx.checkpoint(),
                        checkpoint_every=self.checkpoint_every(unit), on_epoch=on_epoch)
        return UnitResult(res.rows + self.extra_rows(unit, res), self.arrays(unit, res))


def plot_sample_grid(table: Any, arrays: Any, rows: list[tuple[str, str, Any, float]], n_show: int = 3,
                     note: Any = None):
    """Final samples of the first ``n_show`` seeds of each configuration (blue) over the data's means (black x).

    ``rows``: (config key, row title, means (K, 2), axis half-width); ``note(config_key, seed)`` adds a line to a
    panel's title (e.g. the modes captured). The samples are the study's arrays ``<key>/seed<k>/samples``."""
    from studies.common import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(len(rows), n_show, figsize=(2.9 * n_show, 2.9 * len(rows)), squeeze=False)
    for i, (key, title, means, lim) in enumerate(rows):
        seeds = sorted(table[table.config_key == key].seed.unique())[:n_show]
        for j in range(n_show):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(seeds):
                ax.set_visible(False)
                continue
            x = arrays.get(f"{key}/seed{seeds[j]}/samples")
            if x is not None:
                ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.3, color="tab:blue", rasterized=True)
            ax.scatter(means[:, 0], means[:, 1], s=30, marker="x", color="k")
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            extra = f": {note(key, seeds[j])}" if note is not None else ""
            ax.set_title(f"{title}\nseed {seeds[j]}{extra}", fontsize=9)
    fig.tight_layout()
    return fig


__all__ = ["ToyStudy", "latest", "plot_sample_grid"]
