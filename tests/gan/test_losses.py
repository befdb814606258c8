"""gan.losses against the closed forms of divergences.objectives, plus stability and validation.

Monte Carlo cross-check. For every registered loss, D* is the closed-form optimal discriminator
of its analytic objective; it is turned into the raw output v the torch loss takes, and
−(D loss) is estimated from N = 200k samples of P and of Q (float64, fixed torch.Generator)
and compared with ``divergences.value_function(P, Q, D*)`` within 4 standard errors (plus the
cubature's own error estimate, ~1e-12). The SE comes from the sample variances of the two terms.

Raw outputs. vanilla / α: the logit of D* (``D*.logit``: r resp. α·r, r = log p/q); LSGAN,
hinge, WGAN: the critic value D*(x) itself; f-GAN: the v with g_f(v) = T* = f'(p/q). We invert
g_f in closed form per record (``F_INVERSE``): every activation is an explicit monotone map, so
the inverse is one expression, exact to rounding and free (a numerical bisection over 400k
points per record would cost seconds). The round trip g_f(v) = T* is asserted with the loss's own
activation (−d_real), so a wrong table entry fails loudly; what the check then tests is the
loss's f*(g_f(v)) term against the analytic conjugate f*(T*).

The pair. P is the seeds' data mixture 0.5 N(2, 0.3²) + 0.5 N(5, 0.3²). Main generator
Q = 0.4 N(2.15, 0.3²) + 0.6 N(5.15, 0.3²): equal component variances make log(p/q) grow only
linearly in the tails, so p/q stays moderate on both samples and every term has finite variance
for every loss (Pearson and Neyman χ² need E_P (p/q)² = ∫p³/q² and E_P (q/p)⁴ finite); a huge ratio
would also push T* to the edge of dom f* where the v ↦ T round trip loses its digits. Q is
stochastically larger than P (no crossing of the CDFs), so the WGAN critic is one linear piece of
slope −1. The seeds' suggestion N(3.5, 1.0²) is checked too, except where it
breaks these conditions: its tails are heavier than P's, so ∫q²/p = ∞, i.e. the Neyman χ² value is
infinite and the reverse-KL real term −T* = q/p has infinite variance under P.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.special import expit

from divergences import (GaussianMixture, alpha_loss, neyman_chi2, optimal_discriminator, seed_toy,
                         value_function)
from gan.losses import LOSSES, AdversarialLoss, get_loss
from tests.gan.tiny_nets import init_

N_MC = 200_000
LOG2 = math.log(2.0)
P = seed_toy().real
Q_MIX = GaussianMixture([0.4, 0.6], [2.15, 5.15], [0.09, 0.09])
Q_WIDE = GaussianMixture.gaussian(3.5, 1.0)

# parameters for the parametrised registry entries; every other loss is built with defaults
PARAMS = {"alpha": {"alpha": 2.0}, "alpha_d_alpha_g": {"alpha_d": 0.5, "alpha_g": 1.2}, "fgan_arimoto": {"alpha": 2.0}}


def build(name: str) -> AdversarialLoss:
    return get_loss(name, **PARAMS.get(name, {}))


# ----------------------------------------------------------------------------- raw outputs from D*
def _arimoto_inverse(alpha: float):
    """v with α-reward(log σ(v)) = T: log t = α/(α−1) log1p((α−1)T/α) (α = 1: T; α = ∞: log1p(T))."""

    def inv(t: torch.Tensor) -> torch.Tensor:
        if math.isinf(alpha):
            log_s = torch.log1p(t)
        elif alpha == 1.0:
            log_s = t
        else:
            log_s = alpha / (alpha - 1.0) * torch.log1p((alpha - 1.0) / alpha * t)
        return log_s - torch.log(-torch.expm1(log_s))  # logit from log σ

    return inv


F_INVERSE = {  # g_f^{-1}(T) for every f-GAN record (g_f: FDivergence.activation)
    "kl": lambda t: t,
    "pearson": lambda t: t,
    "reverse_kl": lambda t: -torch.log(-t),                    # g = −e^{−v}
    "neyman": lambda t: -torch.log1p(-t),                      # g = 1 − e^{−v}
    "squared_hellinger": lambda t: -torch.log1p(-t),           # g = 1 − e^{−v}
    "js": lambda t: -torch.log(torch.expm1(LOG2 - 2.0 * t)),   # g = ½(log 2 − softplus(−v))
    "gan": lambda t: -torch.log(torch.expm1(-t)),              # g = −softplus(−v)
    "tv": lambda t: torch.atanh(2.0 * t),                      # g = ½ tanh v (±∞ at T* = ±½: tanh(±∞) = ±1)
}


def raw_output(loss: AdversarialLoss, D, x: torch.Tensor) -> torch.Tensor:
    """The raw discriminator output v that ``loss`` takes, for the closed-form D* at points x."""
    name = loss.analytic[0]
    xn = x.numpy()
    if name in ("vanilla", "alpha"):
        return torch.from_numpy(np.asarray(D.logit(xn), dtype=np.float64))
    t = torch.from_numpy(np.asarray(D(xn), dtype=np.float64))
    if name in ("lsgan", "hinge", "wgan"):
        return t
    inv = _arimoto_inverse(loss.params["alpha"]) if name == "arimoto" else F_INVERSE[name]
    v = inv(t)
    round_trip = -loss.d_real(v)  # = g_f(v), the loss's own activation
    # exact inverses: only rounding of the forward and inverse maps, a few ulps of T
    assert torch.all(torch.abs(round_trip - t) <= 1e-10 * (1.0 + t.abs())), f"{loss.name}: g_f(v) ≠ T*"
    return v


def sample_1d(M: GaussianMixture, n: int, gen: torch.Generator) -> torch.Tensor:
    comp = torch.multinomial(torch.tensor(M.weights), n, replacement=True, generator=gen)
    mu, sd = torch.tensor(M.means[:, 0]), torch.tensor(np.sqrt(M.covs[:, 0, 0]))
    return mu[comp] + sd[comp] * torch.randn(n, generator=gen, dtype=torch.float64)


@pytest.fixture(scope="module")
def samples():
    gen = torch.Generator().manual_seed(20240611)
    xp = sample_1d(P, N_MC, gen)
    return {"mix": (xp, sample_1d(Q_MIX, N_MC, gen)), "wide": (xp, sample_1d(Q_WIDE, N_MC, gen))}


def mc_check(name: str, Q: GaussianMixture, xp: torch.Tensor, xq: torch.Tensor) -> tuple[float, float, float, float]:
    loss = build(name)
    analytic, params = loss.analytic
    D = optimal_discriminator(P, Q, analytic, **params)
    want, quad_err = value_function(P, Q, D, analytic, error=True, **params)
    vp, vq = raw_output(loss, D, xp), raw_output(loss, D, xq)
    real_terms, fake_terms = loss.d_real(vp), loss.d_fake(vq)
    assert torch.isfinite(real_terms).all() and torch.isfinite(fake_terms).all()
    got = -float(real_terms.mean() + fake_terms.mean())  # = −d_loss(vp, vq), see test_d_loss_matches_terms_definition
    se = math.sqrt(float(real_terms.var()) / xp.numel() + float(fake_terms.var()) / xq.numel())
    return got, want, se, quad_err


@pytest.mark.parametrize("name", list(LOSSES))
def test_value_function_monte_carlo(name, samples):
    got, want, se, quad_err = mc_check(name, Q_MIX, *samples["mix"])
    assert se > 0
    # CLT: a 4σ band (the samples are fixed, so this either always or never passes); + cubature error
    assert abs(got - want) <= 4.0 * se + quad_err, f"{name}: MC {got:.6f} vs V(D*) {want:.6f}, SE {se:.2e}"


WIDE_EXCLUDED = {
    "fgan_neyman": "Neyman χ²(P‖Q) = ∫q²/p − 1 = ∞ for this pair",
    "fgan_reverse_kl": "Var_P(q/p) = ∫q²/p − 1 = ∞: the CLT band does not apply",
}


@pytest.mark.parametrize("name", [n for n in LOSSES if n not in WIDE_EXCLUDED])
def test_value_function_monte_carlo_wide_generator(name, samples):
    got, want, se, quad_err = mc_check(name, Q_WIDE, *samples["wide"])
    assert abs(got - want) <= 4.0 * se + quad_err, f"{name}: MC {got:.6f} vs V(D*) {want:.6f}, SE {se:.2e}"


def test_wide_generator_exclusions_are_justified():
    # both exclusions rest on ∫q²/p = ∞ (heavier generator tails), which the analytic layer confirms
    assert neyman_chi2(P, Q_WIDE) == math.inf
    assert math.isfinite(neyman_chi2(P, Q_MIX))


def test_wgan_critic_for_crossing_cdfs():
    D = optimal_discriminator(P, Q_WIDE, "wgan")
    assert math.isfinite(value_function(P, Q_WIDE, D, "wgan"))


def test_value_function_of_fgan_critic_emits_no_warning():
    D = optimal_discriminator(P, Q_WIDE, "squared_hellinger")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert math.isfinite(value_function(P, Q_WIDE, D, "squared_hellinger"))


# ----------------------------------------------------------------------------- α-loss: numpy vs torch
@pytest.mark.parametrize("a", [0.3, 0.999999, 1.0, 2.0, 50.0, math.inf])
def test_alpha_loss_numpy_and_torch_agree(a):
    p = expit(np.concatenate([np.linspace(-30.0, 30.0, 241), [-30.0, -20.0, 20.0, 30.0]]))
    # the exact logit of each rounded probability, so both layers see the same number
    v = torch.from_numpy(np.log(p) - np.log1p(-p))
    cases = [(build_alpha(a).d_real(v), alpha_loss(1.0, p, a)), (build_alpha(a).d_fake(v), alpha_loss(0.0, p, a)),
             (-build_alpha(a).g_fake(v), alpha_loss(0.0, p, a))]
    adag = get_loss("alpha_d_alpha_g", alpha_d=a, alpha_g=a)
    cases += [(adag.d_real(v), alpha_loss(1.0, p, a)), (adag.d_fake(v), alpha_loss(0.0, p, a)),
              (adag.g_fake(v), alpha_loss(1.0, p, a))]
    for got, want in cases:
        got = got.numpy()
        # 1e-10 relative where the loss is large (α = 0.3 at logit −30 gives ~1e30), absolute below 1
        assert np.all(np.abs(got - want) <= 1e-10 * np.maximum(1.0, np.abs(want))), np.max(np.abs(got - want))


def build_alpha(a: float) -> AdversarialLoss:
    return get_loss("alpha", alpha=a)


def test_alpha_one_is_the_log_loss():
    v = torch.linspace(-40.0, 40.0, 161, dtype=torch.float64)
    pairs = [(get_loss("alpha", alpha=1.0), get_loss("minimax")), (get_loss("alpha_d_alpha_g", alpha_d=1.0, alpha_g=1.0), get_loss("ns"))]
    for a, b in pairs:
        for term in ("d_real", "d_fake", "g_fake"):
            # α = 1 goes through expm1(x)/x at x = 0 (series branch) and logsigmoid: exact to rounding.
            # minimax / ns use F.softplus, which returns x itself for x > 20 (its threshold), an
            # absolute error up to log1p(e^{-20}) < e^{-20} ≈ 2.1e-9
            assert torch.max(torch.abs(getattr(a, term)(v) - getattr(b, term)(v))) <= math.exp(-20.0) + 1e-12


# ----------------------------------------------------------------------------- training and stability
def _training_cases():
    cases = [(n, PARAMS.get(n, {})) for n in LOSSES]
    cases += [(n, {**PARAMS.get(n, {}), "g_form": "saturating"}) for n in LOSSES if n.startswith("fgan_")]
    return cases


@pytest.mark.parametrize("name,params", _training_cases(), ids=lambda c: c if isinstance(c, str) else "-".join(map(str, c.values())) or "default")
def test_one_training_step(name, params):
    loss = get_loss(name, **params)
    gen = torch.Generator().manual_seed(7)
    D = init_(torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 1)), gen)
    G = init_(torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 2)), gen)
    opt_d, opt_g = torch.optim.Adam(D.parameters(), 1e-2), torch.optim.Adam(G.parameters(), 1e-2)
    real = torch.randn(64, 2, generator=gen) + 2.0
    z = torch.randn(64, 3, generator=gen)
    before = [p.detach().clone() for p in [*D.parameters(), *G.parameters()]]

    d_loss = loss.d_loss(D(real).squeeze(-1), D(G(z).detach()).squeeze(-1))
    opt_d.zero_grad()
    d_loss.backward()
    assert d_loss.shape == () and torch.isfinite(d_loss)
    assert all(torch.isfinite(p.grad).all() for p in D.parameters())
    opt_d.step()

    g_loss = loss.g_loss(D(G(z)).squeeze(-1))
    opt_g.zero_grad()
    g_loss.backward()
    assert g_loss.shape == () and torch.isfinite(g_loss)
    assert all(torch.isfinite(p.grad).all() for p in G.parameters())
    assert sum(float(p.grad.abs().sum()) for p in G.parameters()) > 0
    opt_g.step()

    after = [p.detach() for p in [*D.parameters(), *G.parameters()]]
    assert all(torch.isfinite(p).all() for p in after)
    n_d = len(list(D.parameters()))
    # both nets moved (not every tensor: under WGAN the critic's output bias has zero gradient)
    assert any(not torch.equal(b, a) for b, a in zip(before[:n_d], after[:n_d]))
    assert any(not torch.equal(b, a) for b, a in zip(before[n_d:], after[n_d:]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name,params", _training_cases(), ids=lambda c: c if isinstance(c, str) else "-".join(map(str, c.values())) or "default")
def test_extreme_logits_finite(name, params, dtype):
    loss = get_loss(name, **params)
    v = torch.tensor([-50.0, -30.0, -1.0, 0.0, 1.0, 30.0, 50.0], dtype=dtype, requires_grad=True)
    for term in (loss.d_real, loss.d_fake, loss.g_fake):
        out = term(v)
        (grad,) = torch.autograd.grad(out.sum(), v)
        assert torch.isfinite(out).all(), (term, out)
        assert torch.isfinite(grad).all(), (term, grad)


def test_seed_parallel_logits_give_per_seed_losses():
    gen = torch.Generator().manual_seed(3)
    real, fake = torch.randn(4, 32, generator=gen, dtype=torch.float64), torch.randn(4, 32, generator=gen, dtype=torch.float64)
    for name in LOSSES:
        loss = build(name)
        d, g = loss.d_loss(real, fake), loss.g_loss(fake)
        assert d.shape == (4,) and g.shape == (4,)
        for s in range(4):  # the same float64 terms and means, row by row: equal to rounding
            assert abs(float(d[s] - loss.d_loss(real[s], fake[s]))) <= 1e-12 * (1 + abs(float(d[s])))
            assert abs(float(g[s] - loss.g_loss(fake[s]))) <= 1e-12 * (1 + abs(float(g[s])))


# ----------------------------------------------------------------------------- validation
def test_unknown_loss_name():
    with pytest.raises(ValueError, match=r"unknown loss 'wgan_gp'.*known: minimax"):
        get_loss("wgan_gp")


@pytest.mark.parametrize("name,params,match", [
    ("alpha", {"alpha": 0}, "alpha must lie in"),
    ("alpha", {"alpha": -2.0}, "alpha must lie in"),
    ("alpha", {"alpha": float("nan")}, "alpha must lie in"),
    ("alpha_d_alpha_g", {"alpha_d": 0.0, "alpha_g": 1.0}, "alpha must lie in"),
    ("fgan_arimoto", {"alpha": 0.0}, "alpha must lie in"),
    ("lsgan", {"a": 1.0, "b": 1.0}, "distinct targets"),
    ("fgan_arimoto", {}, "bad parameters"),
    ("fgan_kl", {"g_form": "bogus"}, "g_form must be one of"),
    ("minimax", {"alpha": 2.0}, "bad parameters"),
])
def test_bad_parameters(name, params, match):
    with pytest.raises(ValueError, match=match):
        get_loss(name, **params)


def test_fgan_rejects_alpha_for_other_f():
    with pytest.raises(ValueError, match="alpha is a parameter of the 'arimoto' f-GAN only"):
        get_loss("fgan_kl", alpha=2.0)


def test_d_loss_matches_terms_definition():
    # the module table: D loss = mean d_real(real) + mean d_fake(fake), for a hand-checked case
    v_real, v_fake = torch.tensor([0.0, 2.0], dtype=torch.float64), torch.tensor([-1.0], dtype=torch.float64)
    want = 0.5 * (math.log(2.0) + math.log1p(math.exp(-2.0))) + math.log1p(math.exp(-1.0))
    # O(1) values through the same log1p/exp in both: a few ulps (2e-16 each)
    assert abs(float(get_loss("minimax").d_loss(v_real, v_fake)) - want) <= 1e-15
    assert abs(float(get_loss("ns").g_loss(v_fake)) - float(F.softplus(torch.tensor(1.0, dtype=torch.float64)))) <= 1e-15


# ----------------------------------------------------------------------------- every term against the papers' formulas
def _sigma(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def _ell(alpha: float, y: int, d: np.ndarray) -> np.ndarray:
    """α-loss ℓ_α(y, d) = α/(α−1) (1 − d_y^{(α−1)/α}), d_1 = d, d_0 = 1 − d (Sypherd et al.; plain powers)."""
    dy = d if y == 1 else 1.0 - d
    return alpha / (alpha - 1.0) * (1.0 - dy ** ((alpha - 1.0) / alpha))


# (name, params) → (d_real, d_fake, g_fake) as functions of the logit v, written from the papers, not from gan.losses
PAPER_TERMS = {
    ("wgan", ()): (lambda v: -v, lambda v: v, lambda v: -v),                          # Arjovsky et al. 2017
    ("hinge", ()): (lambda v: np.maximum(1 - v, 0), lambda v: np.maximum(1 + v, 0), lambda v: -v),  # Lim & Ye 2017
    ("lsgan", ()): (lambda v: 0.5 * (v - 1) ** 2, lambda v: 0.5 * v**2, lambda v: 0.5 * (v - 1) ** 2),  # Mao 0-1-1
    ("lsgan", (("a", -1.0), ("b", 1.0), ("c", 0.0))):
        (lambda v: 0.5 * (v - 1) ** 2, lambda v: 0.5 * (v + 1) ** 2, lambda v: 0.5 * v**2),  # Mao et al. (-1, 1, 0)
    ("alpha", (("alpha", 3.0),)):  # Kurri et al. 2021: G minimises the value function, −ℓ_α(0, D)
        (lambda v: _ell(3.0, 1, _sigma(v)), lambda v: _ell(3.0, 0, _sigma(v)), lambda v: -_ell(3.0, 0, _sigma(v))),
    ("alpha_d_alpha_g", (("alpha_d", 0.5), ("alpha_g", 1.2))):  # Welfert et al.: D with α_D, G NS with α_G
        (lambda v: _ell(0.5, 1, _sigma(v)), lambda v: _ell(0.5, 0, _sigma(v)), lambda v: _ell(1.2, 1, _sigma(v))),
    ("alpha_d_alpha_g", (("alpha_d", 3.0), ("alpha_g", 0.7))):
        (lambda v: _ell(3.0, 1, _sigma(v)), lambda v: _ell(3.0, 0, _sigma(v)), lambda v: _ell(0.7, 1, _sigma(v))),
    # Nowozin et al. 2016: T = g_f(v), D maximises E_P T − E_Q f*(T); G: −g_f(v) (alternative) or −f*(g_f(v))
    ("fgan_kl", ()): (lambda v: -v, lambda v: np.exp(v - 1), lambda v: -v),            # g = v, f* = e^{t−1}
    ("fgan_kl", (("g_form", "saturating"),)): (lambda v: -v, lambda v: np.exp(v - 1), lambda v: -np.exp(v - 1)),
    ("fgan_reverse_kl", ()): (lambda v: np.exp(-v), lambda v: v - 1, lambda v: np.exp(-v)),  # g = −e^{−v}
    ("fgan_reverse_kl", (("g_form", "saturating"),)): (lambda v: np.exp(-v), lambda v: v - 1, lambda v: 1 - v),
    ("fgan_pearson", (("g_form", "saturating"),)):
        (lambda v: -v, lambda v: 0.25 * v**2 + v, lambda v: -(0.25 * v**2 + v)),        # g = v, f* = t²/4 + t
}


@pytest.mark.parametrize("key", list(PAPER_TERMS), ids=lambda k: k[0] + "".join(f"-{n}={v}" for n, v in k[1]))
def test_every_term_matches_the_papers_formula(key):
    """d_real, d_fake and the generator term of each loss against its paper, pointwise in float64. The generator
    terms of wgan, hinge, lsgan, (α_D, α_G) and the two f-GAN forms had no test that failed when they were wrong."""
    name, params = key
    loss = get_loss(name, **dict(params))
    v = np.linspace(-6.0, 6.0, 49)
    t = torch.tensor(v, dtype=torch.float64)
    for term, want in zip((loss.d_real, loss.d_fake, loss.g_fake), PAPER_TERMS[key]):
        np.testing.assert_allclose(term(t).numpy(), want(v), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("params", [{"a": "x"}, {"a": "0"}, {"a": True}, {"b": False, "a": 0.5}, {"c": True},
                                    {"a": [0.0]}])
def test_lsgan_targets_must_be_numbers_not_bools_or_strings(params):
    """Regression: a=True was read as 1.0 (then "a = b" or a wrong target), c=True and a="0" were accepted."""
    name = next(iter(params)) if len(params) == 1 else "b"
    with pytest.raises(ValueError, match=f"LSGAN target {name} must be a real number"):
        get_loss("lsgan", **params)


def test_lsgan_targets_accept_numpy_scalars():
    assert get_loss("lsgan", a=np.float32(-1.0), b=np.int64(1), c=np.float64(0.0)).params == {"a": -1.0, "b": 1.0, "c": 0.0}


def test_fgan_g_form_unhashable_is_named():
    """Regression: g_form=["a"] gave "unhashable type: 'list'"."""
    with pytest.raises(ValueError, match=r"g_form must be one of \['alternative', 'saturating'\]; got \['a'\]"):
        get_loss("fgan_kl", g_form=["a"])


# ----------------------------------------------------------------------------- logit shapes and dtypes
# The rule (AdversarialLoss.d_loss): same number of axes, same size on every axis but the batch axis dim,
# at least one sample along dim; floating-point tensors only.
def _f(*shape: int) -> torch.Tensor:
    return torch.zeros(shape, dtype=torch.float32)


@pytest.mark.parametrize("real,fake", [
    (_f(4), _f(3, 2)),        # the case: silently broadcast to (3,)
    (_f(4, 3), _f(1, 3)),     # a seed axis of 1 broadcast against S = 4
    (_f(4, 1), _f(4)),        # an nn.Linear(h, 1) head not squeezed: the mean ran over the singleton axis
    (_f(2, 5), _f(3, 5)),     # different seed counts
])
def test_d_loss_rejects_broadcasting(real, fake):
    for name in ("ns", "wgan", "lsgan"):
        with pytest.raises(ValueError, match="same shape on every axis except the batch axis"):
            get_loss(name).d_loss(real, fake)


@pytest.mark.parametrize("real,fake,dim,want_shape", [
    (_f(5), _f(3), -1, ()),          # B real, B' fake
    (_f(4, 5), _f(4, 7), -1, (4,)),  # seed-parallel (S, B) and (S, B'): per-seed losses
    (_f(5, 4), _f(2, 4), 0, (4,)),   # batch axis first
])
def test_d_loss_allows_different_batch_sizes(real, fake, dim, want_shape):
    got = get_loss("ns").d_loss(real, fake, dim=dim)
    assert got.shape == want_shape
    # zero logits: softplus(0) twice, whatever the batch sizes; float32 log 2 to an ulp or two
    assert torch.all(torch.abs(got - 2.0 * LOG2) <= 1e-6)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool, torch.complex64])
def test_non_float_logits_raise_type_error(dtype):
    """Regression: integer logits failed inside torch ("log_sigmoid_cpu" not implemented for 'Long')."""
    v = torch.ones(3, dtype=dtype)
    loss = get_loss("ns")
    with pytest.raises(TypeError, match=f"real logits must be a floating-point tensor.*{dtype}"):
        loss.d_loss(v, torch.ones(3))
    with pytest.raises(TypeError, match=f"fake logits must be a floating-point tensor.*{dtype}"):
        loss.g_loss(v)


@pytest.mark.parametrize("value", [np.zeros(3), [0.0, 1.0], 0.5])
def test_non_tensor_logits_raise_type_error(value):
    with pytest.raises(TypeError, match="fake logits must be a floating-point torch.Tensor"):
        get_loss("hinge").g_loss(value)


@pytest.mark.parametrize("real,fake", [(_f(0), _f(3)), (_f(3), _f(0)), (_f(2, 0), _f(2, 3))])
def test_empty_batch_raises(real, fake):
    """Regression: an empty batch gave a NaN loss (the mean of nothing)."""
    with pytest.raises(ValueError, match="hold no sample along the batch axis"):
        get_loss("ns").d_loss(real, fake)


def test_empty_batch_raises_in_g_loss():
    with pytest.raises(ValueError, match="fake logits of shape \\(4, 0\\) hold no sample"):
        get_loss("ns").g_loss(_f(4, 0))


@pytest.mark.parametrize("v,dim,error,match", [
    (_f(), -1, ValueError, "have no axis dim=-1"),
    (_f(3), 1, ValueError, "have no axis dim=1"),
    (_f(3), True, TypeError, "dim must be an integer axis; got True"),
    (_f(3), 0.0, TypeError, "dim must be an integer axis"),
])
def test_bad_batch_axis(v, dim, error, match):
    with pytest.raises(error, match=match):
        get_loss("ns").g_loss(v, dim=dim)


@pytest.mark.parametrize("alpha", [True, "2"])
def test_alpha_must_be_a_number_not_bool_or_string(alpha):
    """Regression: True was taken as α = 1 and "2" as 2."""
    with pytest.raises(ValueError, match="alpha must be a real number"):
        get_loss("alpha", alpha=alpha)
