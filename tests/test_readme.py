"""The README is executable and checked documentation: its python blocks run, and the numbers it quotes from
committed result files are the numbers in those files."""
import re
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TEXT = README.read_text()
FLAT = " ".join(TEXT.split())  # line breaks do not matter to the quoted numbers


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
    assert blocks, "the README should contain at least one python example"
    for code in blocks:
        exec(compile(code, str(README), "exec"), {})


def test_readme_prints_what_its_comments_say(capsys):
    """A ``# prints: ...`` comment shows exactly the line the print above it writes."""
    blocks = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
    promised = [line.split("# prints:", 1)[1].split("(")[0].strip() for code in blocks for line in code.splitlines()
                if line.strip().startswith("# prints:")]
    assert promised
    for code in blocks:
        exec(compile(code, str(README), "exec"), {})
    printed = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert printed[-len(promised):] == promised


@pytest.mark.parametrize("phrase", ["this session", "earlier session", "this round", "issue #", "issues #",
                                    "The issue's", "the seeds'", "of the seeds", "seed pairs", "session that wrote",
                                    "need a session", "needs a session"])
def test_no_internal_jargon(phrase):
    """Words only the project's authors understand (a tracker that is not in the repository, work sessions; "the
    seeds" for the lecture notes, easily read as random seeds)."""
    assert phrase.lower() not in TEXT.lower()


def _final(path: str) -> pd.DataFrame:
    df = pd.read_csv(ROOT / path)
    return df[df.step == df.step.max()].pivot_table(index="seed", columns="metric", values="value")


def test_image_gan_numbers_are_the_committed_ones():
    m = _final("results/image_gan_mnist5k_dcgan_ns_quick/metrics.csv").loc[0]
    assert (f"FID {m.fid:.0f} and KID {m.kid:.0f}" in FLAT and f"precision {m.precision:.2f}, recall {m.recall:.2f}, "
            f"density {m.density:.2f}, coverage {m.coverage:.2f}" in FLAT)
    c = pd.read_csv(ROOT / "results/image_gan_mnist5k_dcgan_ns_cpu/metrics.csv")
    c = c[(c.loss == "ns") & (c.metric == "fid")]
    c = c[c.step == c.groupby("seed").step.transform("max")].set_index("seed").sort_index().rename(columns={"value": "fid"})
    fids = " / ".join(f"{v:.1f}" for v in c.fid)  # each seed at its last evaluation (seeds stop at their plateau)
    assert f"FID {fids} (mean {c.fid.mean():.1f})" in FLAT


def test_mode_coverage_numbers_and_names_are_the_committed_ones():
    s = pd.read_csv(ROOT / "results/mode_coverage_quick/summary.csv").set_index(["loss", "beta2"])
    for name in ("ns", "minimax", "alpha_d_alpha_g:alpha_d=0.3,alpha_g=1", "alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2"):
        a, b = s.loc[(name, 0.99), "modes_mean"], s.loc[(name, 0.999), "modes_mean"]
        assert re.search(rf"`{re.escape(name)}`( \(saturating\))? {a:.2f} vs {b:.2f}", FLAT), name
    fail = s.loc["ns", "failure_rate"]
    assert f"failures (0/8) `ns` {100 * fail.loc[0.99]:.0f}% vs {100 * fail.loc[0.999]:.0f}%" in FLAT


def test_every_loss_variant_name_is_the_studies_one():
    from studies.toy_losses import NAMED_VARIANTS

    for name in NAMED_VARIANTS:
        assert f"`{name}`" in TEXT, name
    for old in ("`saturating`", "`a0.3-1`", "`a0.5-1.2`", "`a1-1`", "--loss-param "):
        assert old not in TEXT


def test_toy_speed_tables_are_the_committed_file():
    stored = (ROOT / "benchmarks/results/toy_speed_cpu.md").read_text().splitlines()
    section = TEXT.split("## Seed-parallel toy training speed", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) == 6 and all(row in stored for row in rows)


def test_quick_study_timings_are_the_committed_report():
    stored = (ROOT / "benchmarks/results/quick_studies_cpu.md").read_text()
    rows = {line.split("|")[1].strip(): line.split("|")[4].strip() for line in stored.splitlines()
            if line.startswith("| mode_coverage") or line.startswith("| loss_comparison")}
    assert set(rows) == {"mode_coverage", "loss_comparison"}
    for study, ratio in rows.items():
        assert f"{study} {ratio}" in FLAT  # the wall-time ratio, median (min–max)


def _run(study: str) -> dict:
    import json

    return json.loads((ROOT / f"results/{study}/run.json").read_text())


def test_exact_dynamics_and_estimator_numbers_are_the_committed_ones():
    """The Dirac-GAN, disjoint-supports and estimators sections quote their committed summaries and run times."""
    d = _run("dirac_gan")["extra"]["summary"]
    assert f"Jacobians agree to {d['jacobian_max_abs_diff']:.1e} over all 200" in FLAT
    rho = max(d["sim_gd_rho_max_abs_diff"], d["alt_gd_rho_max_abs_diff"])
    geo = max(d["sim_gd_geo_max_abs_diff"], d["alt_gd_geo_max_abs_diff"])
    assert f"eigenvalue moduli to {rho:.1e} (spectral radius" in FLAT and f"|det T|^{{1/2}}: {geo:.1e}" in FLAT
    s = _run("disjoint_supports")["extra"]["summary"]
    g = s["gradients"]
    assert f"(mean |∂L_G/∂θ| {g['minimax/sigma=0']['mean_abs_grad']:.2g}," in FLAT
    assert f"(mean {g['minimax/sigma=0.3']['mean_abs_grad']:.2f}, RMS error {g['minimax/sigma=0.3']['rms_error']:.2g})" in FLAT
    assert f"(RMS error {g['wgan-gp/sigma=0']['rms_error']:.2g};" in FLAT
    assert f"K = {g['wgan/sigma=0']['clip_scale_K']:.1e}".replace("e-04", "e-4") in FLAT
    e = _run("estimators")["extra"]["summary"]["median_relative_rmse"]
    assert (f"vanilla {e['vanilla/64']:.2g} for JSD, f-GAN JS {e['fgan_js/64']:.2g}, TV {e['fgan_tv/64']:.2g}, "
            f"H² {e['fgan_squared_hellinger/64']:.2g}, α = 2 {e['alpha2/64']:.2g})") in FLAT
    assert f"W1 estimator ({e['w1_ot/-1']:.2g}), sliced W1 {e['sliced_w1/-1']:.2g}" in FLAT
    assert f"{e['wgan_clip/64']:.2f}; GP {e['wgan_gp/64']:.2f}," in FLAT
    for study in ("dirac_gan", "disjoint_supports", "estimators"):
        meta = _run(study)
        assert f"`python -m studies.{study}`" in TEXT and meta["git_dirty"] is False
        assert meta["runs"]["computed_in_this_invocation"] == meta["runs"]["requested"]  # a full run, not a redraw
        section = FLAT.split(f"`python -m studies.{study}` (results in", 1)[1].split("## ", 1)[0]
        assert f"It took {meta['wall_time_s']:.0f} s of wall time" in section, study


@pytest.mark.parametrize("out", ["mode_coverage_cpu", "mode_coverage_cpu_constant_lr"])
def test_mode_coverage_cpu_answer_is_the_committed_summary(out):
    s = pd.read_csv(ROOT / "results" / out / "summary.csv")
    names = {"ns": "`ns`", "minimax": "`minimax`", "alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2": "(α_D, α_G) = (0.5, 1.2)"}
    pct = lambda r, m: f"{100 * r[f'{m}_rate']:.0f}% [{100 * r[f'{m}_ci_low']:.0f}, {100 * r[f'{m}_ci_high']:.0f}]"
    for r in s.to_dict("records"):
        row = (f"| {names[r['loss']]} | {r['beta2']:g} | {pct(r, 'success')} | {pct(r, 'failure')} | "
               f"{r['modes_mean']:.2f} [{r['modes_ci_low']:.2f}, {r['modes_ci_high']:.2f}] | "
               f"{100 * r['stable_fraction']:.0f}% |")
        assert row in TEXT, row


VEEGAN_METHODS = {"gan": "GAN", "unrolled": "unrolled GAN (5 steps)", "wgan-gp": "WGAN-GP"}


def test_veegan_rows_are_the_committed_table():
    t = pd.read_csv(ROOT / "results/veegan_table/table.csv")
    assert len(t) >= 4  # GAN and unrolled GAN on both problems at least
    for r in t.to_dict("records"):
        assert (f"| {r['problem']} | {VEEGAN_METHODS[r['method']]} | {r['seeds']} | {r['modes_mean']:.2f} ± "
                f"{r['modes_se']:.2f} | {r['published_modes']:g} | {r['hq_pct_mean']:.1f} ± {r['hq_pct_se']:.1f} |"
                ) in TEXT, r


def test_stacked_mnist_comparison_is_the_committed_one():
    out = ROOT / "results/image_gan_stacked_mnist_dcgan_ns_vs_alpha_d_alpha_g_alpha_d=0.5_alpha_g=1.2_cpu-stacked"
    rows = [line.split("|")[1:-1] for line in (out / "comparison.md").read_text().splitlines()
            if line.startswith("| modes") or line.startswith("| kl") or line.startswith("|  |")]
    assert len(rows) == 4
    for cells in rows:
        assert cells[3].strip() in FLAT, cells  # mean ± sd of each loss and metric
    for cells in rows[::2]:
        welch, mann_whitney = cells[5].strip(), cells[6].strip()
        assert f"Welch p {welch}" in FLAT or f", {welch} for KL" in FLAT, cells
        assert f"Mann–Whitney p {mann_whitney}" in FLAT, cells
