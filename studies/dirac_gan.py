"""Dirac-GAN: exact dynamics of every objective and regularizer, checked against the training code.

Mescheder, Geiger & Nowozin (2018), "Which training methods for GANs do actually converge?", §2-§3: data δ_0,
generator δ_θ, discriminator D_ψ(x) = ψx (a logit). For every objective (``--losses``, ``gan.losses`` names
with parameters, ``name:key=value,...``) and every regularizer (``--regularizers``: none, R1, R2, WGAN-GP, weight
clipping, instance noise, n_dis D steps per G step, consensus optimization), one unit of work computes:

* the Jacobian of the continuous vector field at the equilibrium (0, 0) and its eigenvalues in closed form
  (:class:`divergences.DiracGAN`), and the same Jacobian by autograd through the project's torch losses and
  regularizers in float64 (:class:`toy.dirac.TorchDirac`), with their largest entry-wise difference. WGAN-GP
  is not differentiable at ψ = 0 (the field jumps by 4λ across it): its row shows the one-sided Jacobian
  (closed form) against autograd at ψ = ±1e-6 and the jump v_ψ(0, 0±) both ways. Instance noise is checked with
  the two-point law ξ = ±1 (same linearisation as N(0, 1)) and, separately, with a Gaussian draw against the
  closed form at that draw's second moments;
* for simultaneous GD, alternating GD (D first, as ``toy.train``), alternating heavy-ball momentum (SGD) and
  alternating Adam (``gan.seeding.make_adam``): the closed-form spectral radius ρ and geometric modulus
  |det T|^{1/n} of the update map at (0, 0) (not for Adam: no linearisation), the same two numbers of the
  update map measured by running the project's optimiser one iteration from ±1e-6 along each axis, the local
  verdict (ρ < 1 converges, = 1 cycles, > 1 diverges) and the verdict and growth rate of a ``steps``-iteration
  run from (θ, ψ) = (1, 1) with Gaussian instance noise (:func:`toy.dirac.verdict`);
* the two GD trajectories (every iterate up to ``dense_steps``, then every ``trajectory_stride``-th, rounded to 5 significant
  digits) for the
  stream-plot figures.

``--jacobian-only-losses`` get the Jacobian and update-map rows without the runs (default: the f-GANs'
saturating generator form). Long table ``dirac_gan.csv``: objective, regularizer, method, step, metric, value
(verdicts coded as :data:`toy.dirac.VERDICTS`). Figures: ``dirac_overview.png`` (stream plots, the
``--overview-losses`` × every regularizer), ``dirac_streams_<regularizer>.png`` (every objective),
``dirac_eigenvalues.png`` (table of eigenvalues: closed form, autograd, measured), each with a caption ``.md``;
``eigenvalues.md`` (every row), ``summary.md``, ``run.json``; all drawn from the table alone (``--plot-only``).
Torch runs in one thread: the tensors are scalars, and on a loaded 2-core machine the thread pool's synchronisation
cost 0.8 ms per float64 op (2 µs in one thread; :mod:`toy.threads`); the engine's ``--jobs N`` runs units in N
processes instead. Always CPU float64 (no ``--device``): the driver itself never imports torch.

Engine (:mod:`studies.engine`): one seedless unit per (objective, regularizer), its configuration the objective,
the regularizer with its weight, the step sizes, ``steps``, ``noise_batch``, the trajectory thinning and ``seed``
(figure options are not part of it), stored in ``results/dirac_gan/runs/``: a rerun reuses every stored unit, a
new objective or regularizer computes only its own units. ``--preset quick`` (``--quick``) is a CI-sized run
(three objectives, four regularizers, 60 steps; ``results/dirac_gan_quick/``).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from divergences import DIRAC_LOSSES, DIRAC_REGULARIZERS, DiracGAN
from divergences.dirac import eig2
from studies.common import pyplot, savefig_atomic, write_atomic
from studies.engine import Study, run_study
from studies.store import Unit, Variant

DESCRIPTION = ("Dirac-GAN (Mescheder et al. 2018): closed-form Jacobians and update maps of every objective x "
               "regularizer vs autograd and the project's optimisers; stream plots (analytic + torch, CPU)")
NAME = "dirac_gan"
TABLE = "dirac_gan.csv"
COLUMNS = ["objective", "regularizer", "method", "step", "metric", "value"]
FGANS = ("kl", "reverse_kl", "pearson", "neyman", "squared_hellinger", "js", "gan", "tv")
DEFAULT_LOSSES = ("minimax", "ns", "wgan", "lsgan", "hinge", "alpha:alpha=2", "alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2",
                  *(f"fgan_{f}" for f in FGANS), "fgan_arimoto:alpha=2")
DEFAULT_JACOBIAN_ONLY = (*(f"fgan_{f}:g_form=saturating" for f in FGANS), "fgan_arimoto:alpha=2,g_form=saturating")
METHODS = {"sim_gd": ("simultaneous", "gd"), "alt_gd": ("alternating", "gd"),
           "alt_momentum": ("alternating", "momentum"), "alt_adam": ("alternating", "adam")}
"""Table name → (schedule, optimiser) of :class:`toy.dirac.TorchDirac`."""
DRAWN = ("sim_gd", "alt_gd")  # trajectories stored and drawn
VERDICT_NAMES = {0: "converges", 1: "cycles", 2: "diverges", 3: "stalls"}
GP_POINT = 1e-6  # |ψ| where WGAN-GP's one-sided Jacobian is compared with autograd
MEASURE_AMPLITUDE = 1e-6
LOCAL_TOL = 1e-12  # |ρ − 1| below which the closed-form local verdict is "cycles"


def parse_loss(spec: str) -> tuple[str, dict]:
    """``"name"`` or ``"name:key=value,key=value"`` → (``gan.losses`` name, parameters); numbers become floats.

    The spelling of :func:`gan.losses.parse_loss_spec` (the one vocabulary of every command line), checked here
    against the closed forms (:data:`divergences.DIRAC_LOSSES`, the same names) so that parsing the command line
    needs no torch."""
    name, _, rest = spec.partition(":")
    params: dict = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ValueError(f"loss {spec!r}: parameters must read key=value; got {item!r}")
        try:
            params[key] = float(value)
        except ValueError:
            params[key] = value
    if name not in DIRAC_LOSSES:
        raise ValueError(f"loss {spec!r}: unknown name {name!r}; known: {', '.join(DIRAC_LOSSES)}")
    DiracGAN(name, params)  # validates the parameters
    return name, params


def loss_label(spec: str) -> str:
    """A short readable name of a loss spec for figure titles."""
    name, params = parse_loss(spec)
    names = {"minimax": "minimax", "ns": "NS", "wgan": "WGAN", "lsgan": "LSGAN", "hinge": "hinge",
             "alpha": "α-GAN", "alpha_d_alpha_g": "(α_D, α_G)"}
    base = names.get(name, name.replace("fgan_", "f-GAN ").replace("squared_hellinger", "H²")
                     .replace("reverse_kl", "rev. KL"))
    shown = {k: v for k, v in params.items() if k != "g_form"}
    if shown:
        base += " " + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in shown.values())
    if params.get("g_form") == "saturating":
        base += " (sat.)"
    return base


@dataclass(frozen=True)
class DiracGanConfig:
    """Every field is a ``--field-name`` option."""

    losses: tuple[str, ...] = field(default=DEFAULT_LOSSES, metadata={
        "help": "objectives with runs: gan.losses names, parameters as name:key=value,key=value"})
    jacobian_only_losses: tuple[str, ...] = field(default=DEFAULT_JACOBIAN_ONLY, metadata={
        "help": "objectives with Jacobian and update-map rows only ('none' for no extra)"})
    regularizers: tuple[str, ...] = field(default=tuple(DIRAC_REGULARIZERS), metadata={
        "help": f"regularizers, of {', '.join(DIRAC_REGULARIZERS)}"})
    gamma: float = field(default=1.0, metadata={"help": "R1 and R2 weight γ (penalty γ/2 E‖∇D‖²)"})
    gp_weight: float = field(default=1.0, metadata={"help": "WGAN-GP weight λ (penalty λ E(‖∇D‖ − 1)²)"})
    clip: float = field(default=0.3, metadata={"help": "weight-clipping bound c (Mescheder et al.'s value)"})
    noise_sigma: float = field(default=1.0, metadata={"help": "instance-noise standard deviation σ"})
    n_dis: int = field(default=5, metadata={"help": "D steps per G step of the n_dis regularizer"})
    consensus: float = field(default=1.0, metadata={"help": "consensus-optimization weight γ"})
    h: float = field(default=0.2, metadata={"help": "learning rate of GD and momentum"})
    momentum: float = field(default=0.5, metadata={"help": "heavy-ball momentum β (torch.optim.SGD)"})
    adam_lr: float = field(default=0.02, metadata={"help": "Adam learning rate"})
    adam_betas: tuple[float, ...] = field(default=(0.5, 0.999), metadata={"help": "Adam (β1, β2)"})
    steps: int = field(default=500, metadata={"help": "iterations of each run from (1, 1)"})
    noise_batch: int = field(default=64, metadata={"help": "instance-noise draws per input per D step (even)"})
    seed: int = field(default=0, metadata={"help": "seed of the runs' torch.Generator (noise, GP interpolates)"})
    trajectory_stride: int = field(default=10, metadata={
        "help": "store every iterate of the GD runs up to dense_steps, then every k-th"})
    dense_steps: int = field(default=40, metadata={"help": "iterations stored in full (spirals turn fast early)"})
    overview_losses: tuple[str, ...] = field(default=("minimax", "ns", "wgan", "hinge"), metadata={
        "help": "objectives of the overview figure and the eigenvalue-table figure"})
    dpi: int = field(default=110, metadata={"help": "PNG resolution of the overview and the eigenvalue table"})
    streams_dpi: int = field(default=75, metadata={"help": "PNG resolution of the per-regularizer stream plots"})

    def __post_init__(self) -> None:
        extra = () if self.jacobian_only_losses == ("none",) else self.jacobian_only_losses
        object.__setattr__(self, "jacobian_only_losses", tuple(extra))
        if not self.losses or len(set(self.losses + extra)) != len(self.losses + extra):
            raise ValueError(f"losses must be non-empty and distinct from each other and from jacobian_only_losses; "
                             f"got {self.losses} and {extra}")
        for spec in self.losses + extra:
            parse_loss(spec)
        bad = [r for r in self.regularizers if r not in DIRAC_REGULARIZERS]
        if bad or not self.regularizers or len(set(self.regularizers)) != len(self.regularizers):
            raise ValueError(f"regularizers must be distinct names of {DIRAC_REGULARIZERS}; got {self.regularizers}")
        if not set(self.overview_losses) <= set(self.losses):
            raise ValueError(f"overview_losses must be among losses; got {self.overview_losses}")
        for name in ("gamma", "consensus", "noise_sigma"):
            if not (getattr(self, name) >= 0 and math.isfinite(getattr(self, name))):
                raise ValueError(f"{name} must be finite and >= 0; got {getattr(self, name)!r}")
        for name in ("gp_weight", "clip", "h", "adam_lr"):
            if not (getattr(self, name) > 0 and math.isfinite(getattr(self, name))):
                raise ValueError(f"{name} must be finite and > 0; got {getattr(self, name)!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1); got {self.momentum!r}")
        if len(self.adam_betas) != 2 or not all(0 <= b < 1 for b in self.adam_betas):
            raise ValueError(f"adam_betas must be two numbers in [0, 1); got {self.adam_betas!r}")
        for name, low in (("n_dis", 1), ("steps", 8), ("trajectory_stride", 1), ("dense_steps", 0), ("dpi", 20),
                          ("streams_dpi", 20), ("seed", 0)):
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be >= {low}; got {getattr(self, name)!r}")
        if self.noise_batch < 2 or self.noise_batch % 2:
            raise ValueError(f"noise_batch must be an even integer >= 2; got {self.noise_batch!r}")

    def weight(self, regularizer: str) -> float:
        """The ``weight`` of :class:`divergences.DiracGAN` for ``regularizer``."""
        return {"none": 0.0, "r1": self.gamma, "r2": self.gamma, "gp": self.gp_weight, "clip": self.clip,
                "instance_noise": self.noise_sigma, "n_dis": float(self.n_dis), "consensus": self.consensus}[regularizer]


PRESETS = {
    "quick": dict(losses=("minimax", "wgan", "alpha:alpha=2"), jacobian_only_losses=("fgan_kl:g_form=saturating",),
                  regularizers=("none", "r1", "gp", "instance_noise"), steps=60, overview_losses=("minimax", "wgan"),
                  dpi=30, streams_dpi=30),
    "paper": {},
}
"""``quick``: CI-sized (16 units of 60 steps, small figures; ``results/dirac_gan_quick/``). ``paper`` (the default):
the field defaults, every objective and regularizer (the committed ``results/dirac_gan/``)."""


# ----------------------------------------------------------------------------- units
def variants(cfg: DiracGanConfig) -> list[Variant]:
    """One seedless unit per (objective, regularizer): labels (the table's leading columns) and a picklable config."""
    out = []
    for spec, runs in [(s, True) for s in cfg.losses] + [(s, False) for s in cfg.jacobian_only_losses]:
        name, params = parse_loss(spec)
        for reg in cfg.regularizers:
            out.append(Variant({"objective": spec, "regularizer": reg},
                               {"loss": name, "params": params, "regularizer": reg, "weight": cfg.weight(reg),
                                "runs": runs, "h": cfg.h, "momentum": cfg.momentum, "adam_lr": cfg.adam_lr,
                                "adam_betas": tuple(cfg.adam_betas), "steps": cfg.steps,
                                "noise_batch": cfg.noise_batch, "stride": cfg.trajectory_stride,
                                "dense": cfg.dense_steps, "seed": cfg.seed},
                               f"{spec} / {reg}"))
    return out


def _eig_rows(add, method: str, kind: str, lam: np.ndarray) -> None:
    lam = sorted(np.asarray(lam, complex), key=lambda z: (-z.imag, -z.real))
    for i, z in enumerate(lam):
        add(method, f"eig{i}_re_{kind}", z.real)
        add(method, f"eig{i}_im_{kind}", z.imag)


def _local_verdict(rho: float) -> int:
    return 0 if rho < 1 - LOCAL_TOL else (1 if rho <= 1 + LOCAL_TOL else 2)


def unit_rows(config: dict) -> list[dict]:
    """Rows (method, step, metric, value) of one (objective, regularizer) unit (module docstring); pure. CPU float64:
    the Dirac-GAN's tensors are scalars."""
    from toy.dirac import TorchDirac, VERDICTS, verdict
    from toy.threads import one_thread

    c, seed = config, config["seed"]
    system = DiracGAN(c["loss"], c["params"], c["regularizer"], c["weight"])
    rows: list[dict] = []

    def add(method: str, metric: str, value: float, step: float = math.nan) -> None:
        rows.append({"method": method, "step": step, "metric": metric, "value": float(value)})

    with one_thread():
        exact = TorchDirac(system, noise="two_point", noise_batch=c["noise_batch"], seed=seed)
        if system.differentiable_at_equilibrium:
            J_closed, J_auto = system.jacobian(), exact.jacobian()
            diff = np.abs(J_closed - J_auto).max()
        else:  # WGAN-GP: one-sided limits (closed form) and autograd on both sides of ψ = 0
            side = system.one_sided()
            J_closed = side["jacobian"]
            J_auto = exact.jacobian(0.0, GP_POINT)
            diff = max(np.abs(system.jacobian(0.0, s) - exact.jacobian(0.0, s)).max() for s in (GP_POINT, -GP_POINT))
            for sgn, key in ((-1, "minus"), (1, "plus")):
                add("continuous", f"v_psi_{key}_closed", side[f"v_psi_{key}"])
                add("continuous", f"v_psi_{key}_autograd", float(exact.field(0.0, sgn * GP_POINT)[1].detach()))
        add("continuous", "jacobian_max_abs_diff", diff)
        if system.regularizer == "instance_noise":
            gauss = TorchDirac(system, noise="gaussian", noise_batch=c["noise_batch"], seed=seed)
            nz = gauss.draw_noise()
            moments = tuple(float((x**2).mean()) for x in nz)
            add("continuous", "jacobian_max_abs_diff_gaussian_draw",
                np.abs(system.jacobian(noise_moments=moments) - gauss.jacobian(noise=nz)).max())
        for i in range(2):
            for j in range(2):
                add("continuous", f"J{i}{j}_closed", J_closed[i, j])
                add("continuous", f"J{i}{j}_autograd", J_auto[i, j])
        _eig_rows(add, "continuous", "closed", eig2(J_closed))
        _eig_rows(add, "continuous", "autograd", eig2(J_auto))
        add("continuous", "differentiable", float(system.differentiable_at_equilibrium))

        for method, (schedule, opt) in METHODS.items():
            lr = c["adam_lr"] if opt == "adam" else c["h"]
            beta = c["momentum"] if opt == "momentum" else 0.0
            if opt != "adam":
                con = system.contraction(schedule, lr, beta)
                add(method, "rho_closed", con["spectral_radius"])
                add(method, "geo_closed", con["geometric_modulus"])
                add(method, "local_verdict", _local_verdict(con["spectral_radius"]))
                if system.differentiable_at_equilibrium:
                    M = exact.measured_update_matrix(schedule, opt, lr, beta, MEASURE_AMPLITUDE)
                    lam = eig2(M) if M.shape == (2, 2) else np.linalg.eigvals(M)
                    add(method, "rho_measured", np.max(np.abs(lam)))
                    add(method, "geo_measured", abs(np.linalg.det(M)) ** (1.0 / M.shape[0]))
            if not c["runs"]:
                continue
            runner = TorchDirac(system, noise="gaussian", noise_batch=c["noise_batch"], seed=seed)
            traj = runner.run(schedule, opt, lr, c["steps"], momentum=c["momentum"], betas=c["adam_betas"])
            word, rate = verdict(traj)
            add(method, "verdict", VERDICTS[word])
            add(method, "rate", rate)
            add(method, "final_norm", np.linalg.norm(traj[-1, :2]) if np.all(np.isfinite(traj[-1])) else math.nan)
            if method in DRAWN:
                keep = [k for k in range(len(traj)) if k <= c["dense"] or k % c["stride"] == 0]
                for k in keep:
                    if not np.all(np.isfinite(traj[k, :2])):
                        break
                    add(method, "theta", float(f"{traj[k, 0]:.5g}"), k)
                    add(method, "psi", float(f"{traj[k, 1]:.5g}"), k)
    return rows


# ----------------------------------------------------------------------------- reading the table
def _metric(df: pd.DataFrame, metric: str, method: str = "continuous") -> pd.Series:
    sel = df[(df["metric"] == metric) & (df["method"] == method)]
    return sel.set_index(["objective", "regularizer"])["value"]


def checks(df: pd.DataFrame, cfg: DiracGanConfig) -> dict:
    """The numbers the README and the tests quote: worst Jacobian and contraction differences, the four verdicts
    of Mescheder et al. on the minimax objective."""
    out = {"jacobian_max_abs_diff": float(_metric(df, "jacobian_max_abs_diff").max())}
    gauss = _metric(df, "jacobian_max_abs_diff_gaussian_draw")
    out["jacobian_max_abs_diff_gaussian_draw"] = float(gauss.max()) if len(gauss) else math.nan
    for method in ("sim_gd", "alt_gd", "alt_momentum"):
        for q in ("rho", "geo"):
            m, cl = _metric(df, f"{q}_measured", method), _metric(df, f"{q}_closed", method)
            out[f"{method}_{q}_max_abs_diff"] = float((m - cl.reindex(m.index)).abs().max())
    verdicts = {}
    for reg, method in (("none", "sim_gd"), ("none", "alt_gd"), ("instance_noise", "alt_gd"),
                        ("instance_noise", "sim_gd"), ("r1", "alt_gd"), ("r2", "alt_gd"), ("r1", "sim_gd"),
                        ("r2", "sim_gd")):
        v = _metric(df, "verdict", method)
        if ("minimax", reg) in v.index:
            verdicts[f"minimax/{reg}/{method}"] = VERDICT_NAMES[int(v[("minimax", reg)])]
    out["mescheder_verdicts"] = verdicts
    return out


def eigen_table(df: pd.DataFrame, losses: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per (objective, regularizer): eigenvalues (closed form, autograd), max |ΔJ|, ρ closed/measured and
    verdicts, as display strings."""
    def eig(kind: str) -> pd.Series:
        parts = [_metric(df, f"eig{i}_{p}_{kind}") for i in range(2) for p in ("re", "im")]
        idx = parts[0].index
        return pd.Series([_fmt_eig(*(p[k] for p in parts)) for k in idx], index=idx)

    rows = pd.DataFrame({"eig (closed)": eig("closed"), "eig (autograd)": eig("autograd"),
                         "max|ΔJ|": _metric(df, "jacobian_max_abs_diff").map(lambda v: f"{v:.0e}")})
    for method, short in (("sim_gd", "sim"), ("alt_gd", "alt")):
        rc, rm = _metric(df, "rho_closed", method), _metric(df, "rho_measured", method)
        rows[f"ρ {short} (closed)"] = rc.map(lambda v: f"{v:.6f}")
        rows[f"ρ {short} (measured)"] = rm.reindex(rows.index).map(lambda v: "—" if pd.isna(v) else f"{v:.6f}")
    for method in METHODS:
        v = _metric(df, "verdict", method)
        r = _metric(df, "rate", method)
        rows[method] = [(f"{VERDICT_NAMES[int(v[k])]} ({r[k]:.4f})" if k in v.index else "—") for k in rows.index]
    order = {k: i for i, k in enumerate(dict.fromkeys(df["objective"]))}
    regs = {k: i for i, k in enumerate(dict.fromkeys(df["regularizer"]))}
    rows = rows.reset_index()
    if losses is not None:
        rows = rows[rows["objective"].isin(losses)]
    return rows.sort_values(["objective", "regularizer"], key=lambda s: s.map(order if s.name == "objective" else regs))


def _fmt_eig(re0, im0, re1, im1) -> str:
    re0, re1 = round(re0, 4) + 0.0, round(re1, 4) + 0.0  # no "-0.0000"
    if abs(im0) < 1e-15 and abs(im1) < 1e-15:
        return f"{re0:.4f}, {re1:.4f}"
    return f"{re0:.4f} ± {abs(im0):.4f}i"


def _markdown(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- figures
REG_LABELS = {"none": "none", "r1": "R1 γ={gamma:g}", "r2": "R2 γ={gamma:g}", "gp": "WGAN-GP λ={gp_weight:g}",
              "clip": "clip c={clip:g}", "instance_noise": "inst. noise σ={noise_sigma:g}",
              "n_dis": "n_dis={n_dis}", "consensus": "consensus γ={consensus:g}"}
COLORS = {"sim_gd": "tab:red", "alt_gd": "tab:blue"}
BOX = 2.0


def _stream_panel(ax, df: pd.DataFrame, cfg: DiracGanConfig, spec: str, reg: str, title: str) -> None:
    name, params = parse_loss(spec)
    system = DiracGAN(name, params, reg, cfg.weight(reg))
    g = np.linspace(-BOX, BOX, 31)
    TH, PS = np.meshgrid(g, g)
    with np.errstate(all="ignore"):
        vt, vp = system.field(TH, PS)
    ax.streamplot(TH, PS, vt, vp, color="0.6", density=0.5, linewidth=0.6, arrowsize=0.7)
    sel = df[(df["objective"] == spec) & (df["regularizer"] == reg)]
    for method in DRAWN:
        tr = sel[sel["method"] == method].pivot_table(index="step", columns="metric", values="value")
        if {"theta", "psi"} <= set(tr.columns):
            ax.plot(tr["theta"], tr["psi"], color=COLORS[method], lw=1.1)
    v = _metric(df, "verdict", "sim_gd")
    a = _metric(df, "verdict", "alt_gd")
    key = (spec, reg)
    if key in v.index:
        ax.text(0.02, 0.02, f"sim: {VERDICT_NAMES[int(v[key])]}\nalt: {VERDICT_NAMES[int(a[key])]}",
                transform=ax.transAxes, fontsize=7, va="bottom", bbox=dict(fc="white", ec="none", alpha=0.8))
    if reg == "clip":
        for s in (-cfg.clip, cfg.clip):
            ax.axhline(s, color="k", ls="--", lw=0.8)
    if reg == "gp":
        ax.axhline(0.0, color="tab:purple", ls=":", lw=1.0)
    ax.plot([0], [0], marker="*", color="k", ms=7)
    ax.plot([1], [1], marker="o", color="k", ms=3)
    ax.set_xlim(-BOX, BOX)
    ax.set_ylim(-BOX, BOX)
    ax.set_xticks([-2, 0, 2])
    ax.set_yticks([-2, 0, 2])
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=9)


def _legend(fig) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=COLORS["sim_gd"], lw=1.5, label="simultaneous GD"),
               Line2D([], [], color=COLORS["alt_gd"], lw=1.5, label="alternating GD (D first)"),
               Line2D([], [], color="0.55", lw=1, label="closed-form field v(θ, ψ)"),
               Line2D([], [], color="k", marker="*", lw=0, label="equilibrium (0, 0)"),
               Line2D([], [], color="k", marker="o", ms=3, lw=0, label="start (1, 1)")]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=10, frameon=False, bbox_to_anchor=(0.5, -0.01))


def overview_figure(df: pd.DataFrame, cfg: DiracGanConfig):
    plt = pyplot()
    losses, regs = cfg.overview_losses, cfg.regularizers
    fig, axes = plt.subplots(len(losses), len(regs), figsize=(2.3 * len(regs), 2.4 * len(losses) + 0.6),
                             squeeze=False)
    fmt = {k: getattr(cfg, k) for k in ("gamma", "gp_weight", "clip", "noise_sigma", "n_dis", "consensus")}
    for i, spec in enumerate(losses):
        for j, reg in enumerate(regs):
            _stream_panel(axes[i, j], df, cfg, spec, reg, REG_LABELS[reg].format(**fmt) if i == 0 else "")
        axes[i, 0].set_ylabel(f"{loss_label(spec)}\nψ", fontsize=10)
    for ax in axes[-1]:
        ax.set_xlabel("θ", fontsize=9)
    fig.suptitle(f"Dirac-GAN: field and {cfg.steps} GD steps (h = {cfg.h:g}) from (1, 1)", fontsize=13)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    _legend(fig)
    return fig


def regularizer_figure(df: pd.DataFrame, cfg: DiracGanConfig, reg: str):
    plt = pyplot()
    losses = cfg.losses
    ncol = 4
    nrow = math.ceil(len(losses) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.0 * ncol, 3.0 * nrow + 0.6), squeeze=False)
    for ax, spec in zip(axes.flat, losses):
        _stream_panel(ax, df, cfg, spec, reg, loss_label(spec))
    for ax in list(axes.flat)[len(losses):]:
        ax.axis("off")
    fmt = {k: getattr(cfg, k) for k in ("gamma", "gp_weight", "clip", "noise_sigma", "n_dis", "consensus")}
    fig.suptitle(f"Dirac-GAN, regularizer: {REG_LABELS[reg].format(**fmt)} (θ horizontal, ψ vertical)", fontsize=13)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    _legend(fig)
    return fig


def eigen_figure(df: pd.DataFrame, cfg: DiracGanConfig):
    plt = pyplot()
    tab = eigen_table(df, cfg.overview_losses)
    tab = tab.assign(objective=tab["objective"].map(loss_label))
    cols = ["objective", "regularizer", "eig (closed)", "eig (autograd)", "max|ΔJ|", "ρ sim (closed)",
            "ρ sim (measured)", "ρ alt (closed)", "ρ alt (measured)", "sim_gd", "alt_gd", "alt_momentum", "alt_adam"]
    tab = tab[cols]
    fig, ax = plt.subplots(figsize=(21, 0.32 * len(tab) + 1.4))
    ax.axis("off")
    t = ax.table(cellText=tab.to_numpy(), colLabels=[c.replace("_", " ") for c in cols], loc="center",
                 cellLoc="center")
    t.auto_set_font_size(False)
    t.set_fontsize(9)
    t.scale(1.0, 1.35)
    shade = {"converges": "#d9f2d9", "diverges": "#f8d0d0", "cycles": "#fff2c2", "stalls": "#e0e0f0"}
    for (r, cidx), cell in t.get_celld().items():
        if r == 0:
            cell.set_facecolor("#e8e8e8")
            cell.set_text_props(weight="bold")
        elif cols[cidx] in METHODS:
            word = cell.get_text().get_text().split(" ")[0]
            cell.set_facecolor(shade.get(word, "white"))
    t.auto_set_column_width(list(range(len(cols))))
    ax.set_title(f"Dirac-GAN at the equilibrium: eigenvalues of J (closed form vs autograd through the training code),\n"
                 f"spectral radius ρ of the update map (h = {cfg.h:g}; closed form vs measured), verdict (growth rate "
                 f"per iteration) of {cfg.steps} iterations from (1, 1)", fontsize=13)
    return fig


CAPTIONS = {
    "dirac_overview.png": (
        "Stream plots of the closed-form vector field v(θ, ψ) = (−∂θ L_G, −∂ψ L_D) of the Dirac-GAN (data δ₀, "
        "generator δ_θ, D_ψ(x) = ψx) for {losses} (rows) and each regularizer (columns), with {steps} iterations of "
        "simultaneous (red) and alternating (blue, D step first) gradient descent, step h = {h:g}, from (1, 1), run by "
        "the project's torch losses, regularizers and optimiser (float64; instance noise drawn per step, {noise_batch} "
        "antithetic draws). Weights: R1/R2 γ = {gamma:g}, WGAN-GP λ = {gp_weight:g} (dotted line: the field is "
        "discontinuous at ψ = 0), clipping c = {clip:g} (dashed), instance noise σ = {noise_sigma:g} (D step only, "
        "as toy.train), n_dis = {n_dis} (field drawn with D's speed ×{n_dis}), consensus γ = {consensus:g}. Verdicts "
        "as toy.dirac.verdict; iterates drawn: all up to {dense}, then every {stride}-th."),
    "dirac_streams.png": (
        "As dirac_overview.png for every objective with one regularizer per figure "
        "(dirac_streams_<regularizer>.png). Same protocol."),
    "dirac_eigenvalues.png": (
        "Eigenvalues of the Jacobian of the Dirac-GAN field at (0, 0): closed form (divergences.DiracGAN) and autograd "
        "through the project's torch losses/regularizers (toy.dirac.TorchDirac, float64), their largest entry-wise "
        "difference, the spectral radius ρ of the update map of one iteration at (0, 0) for simultaneous and "
        "alternating GD (h = {h:g}; closed form vs measured by running the project's optimiser one step from ±1e-6 "
        "along each axis), and the verdict with growth rate per iteration of {steps} iterations from (1, 1) for "
        "simultaneous GD, alternating GD, alternating SGD momentum β = {momentum:g} and alternating Adam "
        "(lr {adam_lr:g}, betas {betas}). WGAN-GP rows: one-sided Jacobian (ψ → 0±; no Jacobian at ψ = 0), "
        "autograd at ψ = ±1e-6, no measured map. Full table for every objective: eigenvalues.md."),
}


def _caption(name: str, cfg: DiracGanConfig) -> str:
    fmt = {k: getattr(cfg, k) for k in ("h", "steps", "noise_batch", "gamma", "gp_weight", "clip", "noise_sigma",
                                        "n_dis", "consensus", "momentum", "adam_lr")}
    fmt.update(losses=", ".join(loss_label(s) for s in cfg.overview_losses), stride=cfg.trajectory_stride,
               dense=cfg.dense_steps,
               betas=tuple(cfg.adam_betas))
    return f"# {name}\n\n" + CAPTIONS[name].format(**fmt) + "\n"


def summary_markdown(summary: dict) -> str:
    """``summary.md`` (also printed at the end of a run) from :func:`checks`."""
    lines = ["# Dirac-GAN summary", "",
             f"* largest |J closed − J autograd| over every objective and regularizer: "
             f"{summary['jacobian_max_abs_diff']:.1e} (instance noise with a Gaussian draw, at its moments: "
             f"{summary['jacobian_max_abs_diff_gaussian_draw']:.1e})"]
    for method in ("sim_gd", "alt_gd", "alt_momentum"):
        lines.append(f"* {method}: largest |ρ measured − ρ closed| {summary[f'{method}_rho_max_abs_diff']:.1e}, "
                     f"|geometric modulus measured − closed| {summary[f'{method}_geo_max_abs_diff']:.1e}")
    lines += ["* Mescheder et al.'s cases (minimax objective, runs from (1, 1)): "
              + "; ".join(f"{k}: {v}" for k, v in summary["mescheder_verdicts"].items())]
    return "\n".join(lines) + "\n"


def figure_names(cfg: DiracGanConfig) -> list[str]:
    return ["dirac_overview.png", *(f"dirac_streams_{reg}.png" for reg in cfg.regularizers), "dirac_eigenvalues.png"]


def write_outputs(table: pd.DataFrame, cfg: DiracGanConfig, out: Path) -> dict:
    """Figures, captions, eigenvalues.md and summary.md from the long table only; returns the checks."""
    plt = pyplot()
    figures = []
    fig = overview_figure(table, cfg)
    savefig_atomic(fig, out / "dirac_overview.png", dpi=cfg.dpi)
    plt.close(fig)
    figures.append("dirac_overview.png")
    write_atomic(out / "dirac_overview.md", _caption("dirac_overview.png", cfg))
    for reg in cfg.regularizers:
        fig = regularizer_figure(table, cfg, reg)
        savefig_atomic(fig, out / f"dirac_streams_{reg}.png", dpi=cfg.streams_dpi)
        plt.close(fig)
        figures.append(f"dirac_streams_{reg}.png")
    write_atomic(out / "dirac_streams.md", _caption("dirac_streams.png", cfg))
    fig = eigen_figure(table, cfg)
    savefig_atomic(fig, out / "dirac_eigenvalues.png", dpi=cfg.dpi)
    plt.close(fig)
    figures.append("dirac_eigenvalues.png")
    write_atomic(out / "dirac_eigenvalues.md", _caption("dirac_eigenvalues.png", cfg))
    full = eigen_table(table)
    write_atomic(out / "eigenvalues.md", "# Dirac-GAN: every objective and regularizer\n\n"
                 + _caption("dirac_eigenvalues.png", cfg).split("\n", 2)[2] + "\n" + _markdown(full))
    summary = checks(table, cfg)
    write_atomic(out / "summary.md", summary_markdown(summary))
    summary["figures"] = figures
    return summary


# ----------------------------------------------------------------------------- entry point
class DiracGanStudy(Study):
    """One seedless unit per (objective, regularizer); figures and summaries from the table."""

    name = NAME
    description = DESCRIPTION
    config_cls = DiracGanConfig
    table = TABLE
    presets = PRESETS
    key_column = None
    uses_torch = False  # CPU float64 whatever the machine has; units import torch themselves

    def variants(self, cfg: DiracGanConfig) -> list[Variant]:
        return variants(cfg)

    def run_unit(self, unit: Unit, ctx) -> pd.DataFrame:
        return pd.DataFrame(unit_rows(unit.variant.config), columns=COLUMNS[2:])

    def outputs(self, table: pd.DataFrame, cfg: DiracGanConfig, out, arrays) -> dict:
        return write_outputs(table, cfg, out)

    def extra(self, cfg: DiracGanConfig, variants) -> dict:
        return {**super().extra(cfg, variants), "figures": figure_names(cfg)}

    def report(self, summary: dict, cfg: DiracGanConfig) -> str:
        return summary_markdown(summary)


STUDY = DiracGanStudy()


def main(argv: list[str] | None = None) -> int:
    return run_study("studies.dirac_gan", argv)


if __name__ == "__main__":
    sys.exit(main())
