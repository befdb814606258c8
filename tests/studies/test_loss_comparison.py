"""studies.loss_comparison: presets, the factorial design and the random search (reproducible, inside its space, the
re-run of the chosen setting on unseen seeds), bootstrap ties, the runaway flag, 1D exact metrics, figures and
--plot-only."""

from __future__ import annotations

import dataclasses
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from studies import engine
from studies import loss_comparison as lc
from studies import loss_comparison_figures as figs
from studies import toy_problems
from studies.store import config_key
from tests.helpers import assert_jobs_match_serial

TINY = ["--seeds", "2", "--epochs", "1", "--n-train", "640", "--losses", "ns", "wgan-gp", "lsgan", "--regularizers",
        "none", "sn", "gp", "--lrs", "1e-3", "--adam-betas", "0.5/0.999", "--n-dis", "1", "--width", "16", "--depth",
        "2", "--n-eval", "500", "--n-fit", "500", "--dpi", "40", "--no-progress"]
SEARCH = ["--protocol", "search", "--problems", "ring", "toy1d", "--losses", "ns", "wgan-gp", "--search-samples", "3",
          "--seeds", "2", "--epochs", "2", "--eval-every", "1", "--n-train", "640", "--width", "16", "--depth", "2",
          "--n-eval", "500", "--n-fit", "500", "--adam-betas", "0.5/0.999", "0.0/0.9", "--dpi", "40", "--no-progress"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("loss_comparison")
    assert lc.main(TINY + ["--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def search_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("loss_comparison_search")
    assert lc.main(SEARCH + ["--out", str(out)]) == 0
    return out


# ----------------------------------------------------------------------------- presets
def test_cpu_preset_resolves_and_explicit_options_override_it(capsys):
    inv = engine.parse(lc.STUDY, ["--preset", "cpu"])
    cfg = inv.config
    assert inv.preset == "cpu" and str(inv.out).endswith("loss_comparison_cpu")
    assert cfg.protocol == "search" and cfg.losses == lc.CPU_LOSSES and cfg.problems == ("ring", "grid", "toy1d")
    assert cfg.search_samples >= 16 and cfg.seeds >= 10  # the brief's minimum sizes
    assert (cfg.epochs, cfg.n_train, cfg.width, cfg.depth) == (8, 10_240, 64, 2)
    over = engine.parse(lc.STUDY, ["--preset", "cpu", "--search-samples", "20", "--seeds", "12", "--losses", "ns"])
    assert (over.config.search_samples, over.config.seeds, over.config.losses) == (20, 12, ("ns",))
    assert over.config.epochs == 8  # the rest still from the preset
    quick = engine.parse(lc.STUDY, ["--quick"]).config
    assert quick.protocol == "factorial" and quick.epochs == 4 and quick.seeds == 3
    paper = engine.parse(lc.STUDY, []).config
    assert paper == lc.LossComparisonConfig() and paper.protocol == "factorial"
    with pytest.raises(SystemExit):
        lc.main(["--help"])
    text = capsys.readouterr().out
    assert "cpu: protocol=search" in text and "explicit options override" in text


def test_bad_options(capsys):
    for argv, msg in ((["--adam-betas", "0.5"], "b1/b2"), (["--losses", "nope"], "nope"),
                      (["--protocol", "search", "--epochs", "4", "--eval-every", "4"], "eval_every must be less"),
                      (["--lr-range", "1e-2", "1e-4"], "lr_range"), (["--runaway-factor", "0"], "runaway_factor"),
                      (["--search-samples", "0"], "search_samples")):
        with pytest.raises(SystemExit):
            lc.main(argv + ["--no-progress"])
        assert msg in capsys.readouterr().err, argv


# ----------------------------------------------------------------------------- the factorial design
def test_factorial_has_only_meaningful_regularizers():
    cfg = engine.parse(lc.STUDY, TINY).config
    cells = {(v.labels["loss"], v.labels["reg"]) for v in cfg.variants()}
    # wgan-gp already has its gradient penalty: no second one; sn and none apply to all three
    assert cells == {("ns", "none"), ("ns", "sn"), ("ns", "gp"), ("wgan-gp", "none"), ("wgan-gp", "sn"),
                     ("lsgan", "none"), ("lsgan", "sn"), ("lsgan", "gp")}
    assert {v.labels["stage"] for v in cfg.variants()} == {"factorial"}
    assert not lc.regularizer_applies("wgan-clip", "sn") and not lc.regularizer_applies("dragan", "gp")
    assert lc.regularizer_applies("wgan", "sn") and lc.regularizer_applies("wgan", "gp")  # the bare objective
    c = {v.labels["loss"]: v.config for v in cfg.variants() if v.labels["reg"] == "none"}
    assert c["wgan-gp"].options.penalty == "gp" and c["wgan-gp"].loss == "wgan"
    full = lc.LossComparisonConfig()
    assert {v.labels["problem"] for v in full.variants()} == {"ring", "grid", "toy1d"}
    wgan = [v.config for v in full.variants() if v.labels["loss"] == "wgan-clip"]
    assert wgan and all(c.options.clip == 0.01 and not c.options.spectral_norm for c in wgan)


def test_outputs_schema_and_captions(run):
    t = pd.read_csv(run / lc.TABLE)
    assert list(t.columns) == ["problem", "loss", "stage", "reg", "lr", "beta1", "beta2", "n_dis", "config_key",
                               "seed", "epoch", "metric", "value"]
    assert t.config_key.nunique() == 8 * 3
    assert not t.duplicated(["config_key", "seed", "epoch", "metric"]).any()
    assert t[t.metric == "hq_fraction"].value.between(0, 1).all()
    pngs = sorted(p.stem for p in run.glob("*.png"))
    assert pngs == sorted(["scores", "traces", "toy1d_exact", "toy1d_discriminators", "heatmap_ring", "heatmap_grid",
                           "heatmap_toy1d", "samples_ring", "samples_grid", "samples_toy1d"])
    for stem in pngs:  # a caption beside every figure, with the protocol
        text = (run / f"{stem}.md").read_text()
        assert text.startswith("# ") and "Protocol" in text and "3σ" in text, stem
    md = (run / "ranking.md").read_text()
    assert "## 5×5 mixture of Gaussians" in md and "### grid" not in md and "grid mean" not in md


def test_ranking_matches_an_independent_recomputation(run):
    t = pd.read_csv(run / lc.TABLE)
    rank = pd.read_csv(run / "ranking.csv")
    n_modes = {"ring": 8, "grid": 25, "toy1d": 2}
    last = t[(t.epoch == 1) & (t.metric == "modes_captured")].copy()
    last["frac"] = last.value / last.problem.map(n_modes)
    for (problem, loss), g in last.groupby(["problem", "loss"]):
        best = g.groupby("config_key").frac.mean().max()
        row = rank[(rank.problem == problem) & (rank.loss == loss)].iloc[0]
        assert abs(row.score - best) <= 1e-12  # the factorial ranks the best setting's mean on its own seeds
    for problem, g in rank.groupby("problem"):
        assert (np.diff(g.rank_group) >= 0).all() and g.rank_group.iloc[0] == 1


def test_one_dimensional_analytic_metrics(run):
    t = pd.read_csv(run / lc.TABLE)
    fit = t[(t.problem == "toy1d") & t.metric.str.endswith("_fit")]
    jsd = fit[fit.metric == "jsd_fit"].value
    assert len(jsd) == 8 * 2 and ((jsd >= 0) & (jsd <= math.log(2) + 1e-9)).all()
    assert (fit[fit.metric == "w1_fit"].value >= 0).all()
    dstar = fit[fit.metric == "d_star_l2_fit"]
    assert dstar[dstar.loss == "wgan-gp"].value.isna().all()  # a critic: no probed pointwise D*
    assert dstar[dstar.loss.isin(["ns", "lsgan"])].value.between(0, 2).all()
    assert t[(t.problem != "toy1d") & t.metric.str.endswith("_fit")].empty
    arrays = np.load(run / "loss_comparison_arrays.npz")
    key = t[(t.problem == "toy1d") & (t.loss == "ns")].config_key.iloc[0]
    assert arrays[f"{key}/x_grid"].shape == (toy_problems.N_GRID,) and arrays[f"{key}/seed0/d_logits"].shape == (toy_problems.N_GRID,)
    q = arrays[f"{key}/seed0/q_fit"]  # weights, means, variances of the fit
    assert q.shape == (3, 2) and abs(q[0].sum() - 1) <= 1e-12 and (q[2] > 0).all()
    # the ranking and its markdown show the exact scores, not only the CSV
    rank = pd.read_csv(run / "ranking.csv")
    assert rank[rank.problem == "toy1d"].jsd_fit.notna().all()
    assert "JSD(P, Q̂)" in (run / "ranking.md").read_text()


def test_parallel_jobs_write_the_serial_table(tmp_path):
    # the unit's extras (W1 rows, 1D analytic metrics, checkpoints written by run_unit) must reach the workers
    argv = TINY[:TINY.index("--losses")] + ["--losses", "ns", "lsgan", "--regularizers", "none", "--problems", "toy1d",
                                           *TINY[TINY.index("--lrs"):]]
    assert_jobs_match_serial(lc.main, argv, lc.TABLE, tmp_path)


# ----------------------------------------------------------------------------- the random search
def test_search_is_reproducible_and_stays_in_its_space():
    cfg = engine.parse(lc.STUDY, ["--preset", "cpu"]).config
    for problem in cfg.problems:
        for loss in cfg.losses:
            drawn = cfg.search_settings(problem, loss)
            assert drawn == cfg.search_settings(problem, loss) and len(drawn) == cfg.search_samples
            space = cfg.search_space(loss)
            for s in drawn:
                assert cfg.lr_range[0] * (1 - 5e-3) <= s.lr <= cfg.lr_range[1] * (1 + 5e-3)  # 3 digits of rounding
                assert [s.beta1, s.beta2] in space["adam_betas"] and s.n_dis in space["n_dis"]
                assert s.reg in space["regularizers"] and lc.regularizer_applies(loss, s.reg)
    # another search seed draws other settings; a loss's draws do not depend on the other losses
    other = dataclasses.replace(cfg, search_seed=1)
    assert other.search_settings("ring", "ns") != cfg.search_settings("ring", "ns")
    alone = dataclasses.replace(cfg, losses=("ns",))
    assert alone.search_settings("ring", "ns") == cfg.search_settings("ring", "ns")
    # WGAN-GP's authors' settings are in its space (Gulrajani et al. 2017: n_dis 5, β (0, 0.9) or (0.5, 0.9), λ 10)
    space = cfg.search_space("wgan-gp")
    assert 5 in space["n_dis"] and [0.0, 0.9] in space["adam_betas"] and [0.5, 0.9] in space["adam_betas"]
    assert space["regularizers"] == ["none", "sn"]  # no second gradient penalty
    wgan = [v for v in cfg.variants() if v.labels["loss"] == "wgan-gp"]
    assert all(v.config.options.penalty == "gp" and v.config.options.penalty_weight == 10.0 for v in wgan)
    # ... and every problem's 16 draws try n_dis 5 with one of the authors' betas
    for problem in cfg.problems:
        assert any(s.n_dis == 5 and (s.beta1, s.beta2) in ((0.0, 0.9), (0.5, 0.9))
                   for s in cfg.search_settings(problem, "wgan-gp")), problem


def test_learning_rates_are_log_uniform():
    # 4000 draws: log10(lr) ~ U(-4, -2): mean -3 with standard error (2/√12)/√4000 = 0.0091; allow 4 se
    cfg = dataclasses.replace(engine.parse(lc.STUDY, ["--preset", "cpu"]).config, search_samples=4000)
    logs = np.log10([s.lr for s in cfg.search_settings("ring", "ns")])
    assert abs(logs.mean() - (-3.0)) <= 4 * 0.0091
    assert abs((logs < -3.5).mean() - 0.25) <= 4 * math.sqrt(0.25 * 0.75 / 4000)


def test_search_then_rerun_of_the_chosen_setting_on_unseen_seeds(search_run):
    cfg = engine.parse(lc.STUDY, SEARCH).config
    t = pd.read_csv(search_run / lc.TABLE)
    search, rerun = t[t.stage == "search"], t[t.stage == "rerun"]
    assert set(search.seed) == {0, 1, 2} and set(rerun.seed) == {3, 4}  # disjoint: the selection never saw 3, 4
    assert search.groupby("config_key").seed.nunique().eq(1).all()  # one seed per search sample
    fin = lc.final_table(t, cfg.runaway_factor)
    searched = {v.key: v for v in cfg.variants()}
    for (problem, loss), g in fin[fin.stage == "search"].groupby(["problem", "loss"]):
        # the choice recomputed by hand: best score, then high-quality share
        best = g.sort_values(["modes_fraction", "hq_fraction"], ascending=False, kind="stable").iloc[0]
        r = fin[(fin.stage == "rerun") & (fin.problem == problem) & (fin.loss == loss)]
        assert len(r) == 2 and r.config_key.nunique() == 1
        assert r.iloc[0][lc.SETTING_COLUMNS].tolist() == best[lc.SETTING_COLUMNS].tolist()
        assert set(g.config_key) <= set(searched)
    # the re-run's configuration is the search run's, evaluated more often, and nothing else
    for v in cfg.rerun_variants(t):
        chosen = next(s for s in searched.values() if s.labels["problem"] == v.labels["problem"]
                      and s.labels["loss"] == v.labels["loss"]
                      and all(s.labels[c] == v.labels[c] for c in lc.SETTING_COLUMNS))
        assert config_key(dataclasses.replace(chosen.config, eval_every=cfg.eval_every)) == v.key != chosen.key
        assert chosen.config.eval_every == cfg.epochs and v.seeds == (3, 4)
    rank = pd.read_csv(search_run / "ranking.csv")
    assert set(rank.seed_list) == {"3 4"}  # only the re-runs are ranked


def test_rerun_trains_exactly_like_the_search_run():
    # evaluating more often changes nothing in training: the networks after training are equal to the bit
    import torch

    from toy.train import train_toy

    cfg = lc.LossComparisonConfig(protocol="search", problems=("ring",), losses=("ns",), epochs=2, eval_every=1,
                                  n_train=640, width=16, depth=2, n_eval=200)
    for reg in ("sn", "gp"):
        search_cfg = cfg.toy_config("ring", "ns", lc.Setting(reg, 2e-3, 0.5, 0.9, 1), cfg.epochs)
        a = train_toy(search_cfg, [5])
        b = train_toy(dataclasses.replace(search_cfg, eval_every=1), [5])
        for x, y in zip([*a.G.state_dict().values(), *a.D.state_dict().values()],
                        [*b.G.state_dict().values(), *b.D.state_dict().values()]):
            assert torch.equal(x, y), reg


def test_search_figures_and_plot_only_redraws_the_scatter_from_the_arrays(search_run, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(search_run, out, ignore=shutil.ignore_patterns("runs"))
    for stem in ("scores", "search", "samples_ring", "samples_toy1d", "traces", "toy1d_exact",
                 "toy1d_discriminators"):
        assert (out / f"{stem}.md").exists(), stem
    before = (out / "samples_ring.png").read_bytes()
    for p in list(out.glob("*.png")) + list(out.glob("*.md")):
        p.unlink()
    assert lc.main(SEARCH + ["--out", str(out), "--plot-only"]) == 0
    assert (out / "samples_ring.png").read_bytes() == before  # the same picture, from the saved arrays alone
    assert (out / "samples_ring.md").exists() and (out / "toy1d_discriminators.png").exists()
    # the scatter draws exactly the saved samples of the ranked seeds
    cfg = engine.parse(lc.STUDY, SEARCH).config
    t = pd.read_csv(out / lc.TABLE)
    arrays = dict(np.load(out / "loss_comparison_arrays.npz"))
    fin = lc.final_table(t, cfg.runaway_factor)
    rank = lc.ranking(fin)
    fig = figs.plot_samples(lc.ranked_runs(fin), rank, arrays, "ring")
    r = rank[rank.problem == "ring"].iloc[0]
    want = arrays[f"{r.config_key}/seed3/samples"]
    got = fig.axes[0].collections[0].get_offsets()
    assert np.array_equal(np.asarray(got, dtype=np.float32), want)
    assert not any(k.startswith(tuple(t[t.stage == "search"].config_key)) for k in arrays)  # search runs keep none


# ----------------------------------------------------------------------------- ranking with ties
def _long(rows: list[tuple]) -> pd.DataFrame:
    """A hand-made long table: (problem, loss, stage, config_key, seed, epoch, metric, value) rows, setting columns
    filled in."""
    df = pd.DataFrame(rows, columns=["problem", "loss", "stage", "config_key", "seed", "epoch", "metric", "value"])
    for c, v in (("reg", "none"), ("lr", 1e-3), ("beta1", 0.5), ("beta2", 0.999), ("n_dis", 1)):
        df[c] = v
    return df


def _run_rows(problem, loss, key, seed, modes, epochs=4, iterations=400.0, w1=(), nan_at=math.nan, stage="rerun"):
    rows = [(problem, loss, stage, key, seed, epochs, m, v) for m, v in
            (("modes_captured", modes), ("hq_fraction", 0.5), ("mode_reverse_kl", 0.1), ("iterations", iterations),
             ("nan_iteration", nan_at), ("diverged", 0.0))]
    rows += [(problem, loss, stage, key, seed, e + 1, "w1_data", v) for e, v in enumerate(w1)]
    return rows


def test_overlapping_intervals_are_reported_as_ties():
    # ring (8 modes), 10 seeds each: A and B overlap (B's mean below A's but inside its spread); C far below
    modes = {"ns": [8, 8, 7, 8, 6, 8, 8, 7, 8, 8], "lsgan": [7, 8, 6, 8, 7, 7, 8, 6, 7, 8],
             "minimax": [1, 0, 2, 1, 0, 1, 1, 0, 2, 1]}
    rows = [r for loss, m in modes.items() for s, v in enumerate(m) for r in _run_rows("ring", loss, loss, s, v)]
    rank = lc.ranking(lc.final_table(_long(rows), 10.0))
    groups = dict(zip(rank.loss, rank.rank_group))
    assert groups == {"ns": 1, "lsgan": 1, "minimax": 2}
    assert list(rank.loss) == ["ns", "lsgan", "minimax"]
    a = rank.set_index("loss")
    assert a.loc["lsgan", "score_ci_high"] >= a.loc["ns", "score_ci_low"]  # the tie is an overlap
    assert a.loc["minimax", "score_ci_high"] < a.loc["lsgan", "score_ci_low"]
    assert abs(a.loc["ns", "score"] - np.mean(modes["ns"]) / 8) <= 1e-12
    md = lc.ranking_markdown(rank, lc.LossComparisonConfig(protocol="search", epochs=4, eval_every=1))
    assert "Tied (overlapping intervals): {NS-GAN, LSGAN}" in md


def test_tie_groups_follow_chains_of_overlaps():
    # [0.75, 0.9] meets [0.6, 0.8] meets [0.5, 0.7]: one group although the first and last do not meet
    lo, hi = np.array([0.75, 0.6, 0.5, 0.1, 0.0]), np.array([0.9, 0.8, 0.7, 0.2, 0.05])
    assert lc.tie_groups(lo, hi).tolist() == [1, 1, 1, 2, 3]
    assert lc.tie_groups(np.array([0.2, 0.2]), np.array([0.2, 0.2])).tolist() == [1, 1]  # equal points tie
    assert lc.tie_groups(np.array([0.9, math.nan, 0.0]), np.array([1.0, math.nan, 0.1])).tolist() == [1, 1, 1]


# ----------------------------------------------------------------------------- runaway generators
def test_runaway_generators_are_flagged_at_the_first_evaluation_past_the_bound():
    bound = 10.0 * toy_problems.data_radius(lc.PROBLEMS["ring"].make())  # 10 × √(1 + 2e-4)
    assert abs(toy_problems.data_radius(lc.PROBLEMS["ring"].make()) - math.sqrt(1 + 2e-4)) <= 1e-12
    rows = (_run_rows("ring", "ns", "k", 0, 8, w1=[0.5, 0.3, 0.2, 0.1])  # converges: not flagged
            + _run_rows("ring", "ns", "k", 1, 0, w1=[2.0, 0.9 * bound, 1.5 * bound, 30 * bound])  # runs away at 3
            + _run_rows("ring", "ns", "k", 2, 0, w1=[2.0, math.nan, math.nan, math.nan], nan_at=130.0)  # a NaN
            + _run_rows("ring", "ns", "k", 3, 0, w1=[2 * bound, 3 * bound, 0.1, 0.1], nan_at=350.0))  # both
    fin = lc.final_table(_long(rows), 10.0).set_index("seed")
    # 400 G steps in 4 epochs: the evaluation after epoch e has done 100 e
    assert math.isnan(fin.loc[0, "diverged_at"])
    assert fin.loc[1, "runaway_iteration"] == 300.0 and fin.loc[1, "diverged_at"] == 300.0
    assert math.isnan(fin.loc[2, "runaway_iteration"]) and fin.loc[2, "diverged_at"] == 130.0
    assert fin.loc[3, "runaway_iteration"] == 100.0 and fin.loc[3, "diverged_at"] == 100.0
    rank = lc.ranking(lc.final_table(_long(rows), 10.0))
    assert rank.diverged.iloc[0] == 3 and rank.first_diverged_at.iloc[0] == 100.0
    assert "3/4 (100)" in lc.ranking_markdown(rank, lc.LossComparisonConfig())


def test_w1_probe_measures_a_generator_that_ran_away():
    # a hand-made 'generator' that shifts fixed latents far off: W1 to the data ≈ the shift; the empirical W1 of a
    # translated copy is exactly the translation's length (the identity coupling attains the bound |mean shift|)
    import torch

    P = lc.PROBLEMS["ring"].make()
    probe = lc.W1Probe(P)
    x = probe.data
    assert abs(lc.empirical_w1(x + np.array([3.0, 4.0]), x) - 5.0) <= 1e-9
    shift = torch.tensor([60.0, 80.0], dtype=torch.float64)
    G = lambda z: torch.as_tensor(x, dtype=torch.float64).expand(z.shape[0], -1, -1) + shift
    rows = probe.rows(G, torch.zeros(2, lc.N_W1, 2), [7, 8], epoch=3)
    assert [(r["seed"], r["epoch"], r["metric"]) for r in rows] == [(7, 3, "w1_data"), (8, 3, "w1_data")]
    assert all(abs(r["value"] - 100.0) <= 1e-9 for r in rows)
    assert all(r["value"] > 10 * toy_problems.data_radius(P) for r in rows)
    nan = probe.rows(lambda z: torch.full((1, lc.N_W1, 2), math.nan), torch.zeros(1, lc.N_W1, 2), [0], 1)
    assert math.isnan(nan[0]["value"])  # a NaN generator is the trainer's divergence, not a runaway


def test_w1_rows_reach_the_table_at_every_evaluation(search_run):
    t = pd.read_csv(search_run / lc.TABLE)
    w = t[t.metric == "w1_data"]
    # search runs are evaluated at the end only; re-runs after every epoch (eval_every 1 of 2)
    assert set(w[w.stage == "search"].epoch) == {2} and set(w[w.stage == "rerun"].epoch) == {1, 2}
    assert (w.value > 0).all() and w.groupby(["config_key", "seed", "epoch"]).size().eq(1).all()


# ----------------------------------------------------------------------------- the committed cpu run
def test_readme_states_the_committed_cpu_ranking():
    """The README's ranking of ``--preset cpu`` is the committed ``results/loss_comparison_cpu`` (numbers, ties and
    wall time), and that run used the cpu preset."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = root / "results" / "loss_comparison_cpu"
    text = " ".join((root / "README.md").read_text().split())
    meta = json.loads((out / "run.json").read_text())
    assert meta["preset"] == "cpu" and meta["config"]["protocol"] == "search"
    assert f"It took {meta['wall_time_s']:,.0f} s" in text
    rank = pd.read_csv(out / "ranking.csv")
    for r in rank.itertuples():
        if r.problem == "toy1d" and r.rank_group == 1:
            assert f"{r.score:.2f} [{r.score_ci_low:.2f}, {r.score_ci_high:.2f}]" in text
            assert f"{r.jsd_fit:.3f} [{r.jsd_fit_ci_low:.3f}, {r.jsd_fit_ci_high:.3f}]" in text, r.loss
        else:
            assert f"{r.score:.2f} [{r.score_ci_low:.2f}, {r.score_ci_high:.2f}]" in text, (r.problem, r.loss)
    for problem, g in rank.groupby("problem"):  # the README's braces are the rank groups
        assert g.rank_group.tolist() == [1, 1, 1, 2], problem


def test_a_resumed_unit_writes_the_rows_of_an_uninterrupted_one(tmp_path):
    # run_unit writes the checkpoints itself, after the W1 rows: a unit stopped after epoch 2 and resumed from its
    # checkpoint returns the same rows (W1 at every evaluation included) and arrays as one never stopped
    import torch

    from studies.executors import UnitContext
    from studies.store import Unit

    cfg = lc.LossComparisonConfig(problems=("ring",), losses=("ns",), regularizers=("none",), lrs=(1e-3,),
                                  adam_betas=("0.5/0.999",), n_dis=(1,), seeds=2, epochs=4, eval_every=1, n_train=640,
                                  width=16, depth=2, n_eval=300, n_fit=300)
    unit = Unit(cfg.variants()[0], (0, 1))  # checkpoints every epoch (a tenth of 4, at least 1)

    class Stop(Exception):
        pass

    def ctx(path, stop_after_epoch=None):
        def progress(done, note):
            if stop_after_epoch is not None and done >= 2 * stop_after_epoch:
                raise Stop
        return UnitContext(torch.device("cpu"), path, {"config_key": unit.key, "seeds": [0, 1]}, progress)

    full = lc.STUDY.run_unit(unit, ctx(tmp_path / "a.pt"))
    with pytest.raises(Stop):
        lc.STUDY.run_unit(unit, ctx(tmp_path / "b.pt", stop_after_epoch=2))
    assert (tmp_path / "b.pt").exists()
    resumed = lc.STUDY.run_unit(unit, ctx(tmp_path / "b.pt"))
    order = lambda rows: pd.DataFrame(rows).sort_values(["seed", "epoch", "metric"]).reset_index(drop=True)
    a, b = order(full.rows), order(resumed.rows)
    assert set(a[a.metric == "w1_data"].epoch) == {1, 2, 3, 4}
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert full.arrays.keys() == resumed.arrays.keys()
    assert all(np.array_equal(full.arrays[k], resumed.arrays[k]) for k in full.arrays)
