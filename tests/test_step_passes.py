"""A training step's forward passes: G once a batch, the critic once over real and fake.

The step draws ``G(z)`` once for both updates (:func:`ganclust.methods._common.generated`) and
reads the critic on the real and generated batch in one pass
(:func:`ganclust.methods._common.real_and_fake`); InfoGAN reads D's realness, cluster and
continuous outputs of a generated batch from one pass. These tests check that the passes are
as few as claimed and that the losses and gradients are those of separate passes.
"""

from __future__ import annotations

import pytest
import torch

from ganclust.latent import LatentSpec, sample_latent
from ganclust.losses import discriminator_loss
from ganclust.methods import METHODS, NetConfig, Step, Weights
from ganclust.methods._common import generated, real_and_fake

SPEC = LatentSpec(noise_dim=4, n_clusters=3, sigma=0.1)
# calls of each network in one batch's two updates (n_critic=1, consistency on): G once; the
# critic once over real and fake in D's update, once over the two augmented views where D is
# the clustering head, and once on the generated batch in G's update
CALLS = {
    "clustergan": {"G": 1, "D": 2, "E": 2},
    "infogan": {"G": 1, "D": 3},
    "catgan": {"G": 1, "D": 3},
}


def _nets(method: str, backbone: str = "conv"):
    torch.manual_seed(0)
    nets = METHODS[method].build(NetConfig(backbone, (1, 8, 8), 8, SPEC))
    return nets.train()


def _step(consistency: float = 1.0) -> Step:
    real = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(2)) * 2 - 1
    latent = sample_latent(SPEC, 6, torch.Generator().manual_seed(0))
    weights = Weights(consistency=consistency)
    return Step(real, latent, "bce", weights, torch.Generator().manual_seed(1))


def _train_step(method: str, nets, precision: str = "fp32") -> Step:
    """One batch's two updates, as the training loop makes them."""
    from ganclust._updates import only_in
    from ganclust.training import TrainConfig, _optimizers
    from ganclust.training import _step as train_step

    config = TrainConfig(
        method=METHODS[method], nets=NetConfig("conv", (1, 8, 8), 8, SPEC), weights=Weights(),
        loss="bce", n_critic=1, learning_rate=1e-3, batch_size=6, max_epochs=1, tol=None,
        n_iter_no_change=1, seed=0, device=torch.device("cpu"), precision=precision,
    )  # fmt: skip
    optimizers = _optimizers(METHODS[method], nets, config)
    return train_step(
        METHODS[method], nets, config, optimizers, only_in(*optimizers), _step().real, None,
        torch.Generator().manual_seed(1), 0,
    )  # fmt: skip


@pytest.mark.parametrize("method", sorted(CALLS))
def test_one_batch_calls_each_network_as_often_as_claimed(method):
    nets = _nets(method)
    calls = dict.fromkeys(nets, 0)
    for name, net in nets.items():
        net.register_forward_hook(lambda *_, name=name: calls.__setitem__(name, calls[name] + 1))
    step = _train_step(method, nets)
    assert calls == CALLS[method]
    assert step.fake is not None and step.fake.shape == step.real.shape


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_precision_sets_the_type_of_the_forward_passes_and_only_of_them(precision):
    nets = _nets("clustergan")
    seen = set()
    for net in nets.values():
        net.register_forward_hook(
            lambda module, args, out: seen.add(
                out[0].dtype if isinstance(out, tuple) else out.dtype
            )
        )
    before = [p.detach().clone() for p in nets.parameters()]
    _train_step("clustergan", nets, precision)
    assert seen == {torch.bfloat16 if precision == "bf16" else torch.float32}
    # the weights, their gradients and the optimisers stay fp32, and the step moved them
    assert all(p.dtype == torch.float32 for p in nets.parameters())
    assert all(p.grad is None or p.grad.dtype == torch.float32 for p in nets.parameters())
    assert any(not torch.equal(a, p) for a, p in zip(before, nets.parameters(), strict=True))


def test_a_bf16_fit_reads_out_in_fp32_and_an_unknown_precision_is_refused():
    from sklearn.datasets import load_digits

    from ganclust import ClusterGAN
    from ganclust._settings import settings_from_json

    X = load_digits().images[:200]
    model = ClusterGAN(4, random_state=0, max_epochs=1, options={"precision": "bf16", "refine": 0})
    model.fit(X)
    assert model.settings_.precision == "bf16"
    # the model keeps fp32 weights and reads out as a fp32 fit does
    assert all(p.dtype == torch.float32 for p in model.nets_.parameters())
    assert model.transform(X).dtype == "float32" and model.predict_proba(X).dtype == "float64"
    with pytest.raises(
        ValueError, match=r"unknown options\['precision'\] 'fp16'; expected one of fp32, bf16"
    ):
        ClusterGAN(4, options={"precision": "fp16"}).fit(X)
    saved = {**model.settings_.to_json(), "precision": "fp16"}
    with pytest.raises(ValueError, match="settings.precision must be one of fp32, bf16"):
        settings_from_json(saved, "clustergan")
    old = {k: v for k, v in model.settings_.to_json().items() if k != "precision"}
    assert settings_from_json(old, "clustergan").precision == "fp32"


@pytest.mark.parametrize("backbone", ["mlp", "conv", "dcgan"])
def test_one_critic_pass_gives_the_outputs_of_two(backbone):
    shape = (64,) if backbone == "mlp" else (1, 8, 8)
    torch.manual_seed(0)
    critic = METHODS["infogan"].build(NetConfig(backbone, shape, 8, SPEC))["D"]
    # in training mode, where a layer that mixed a batch's samples would show; dcgan's dropout
    # draws its masks per call, so it is compared in eval mode
    critic.train(backbone != "dcgan")
    step = _step()
    step.real = torch.randn(5, *shape)
    fake = torch.randn(7, *shape)
    both = real_and_fake(critic, step, fake)
    # D's three outputs (realness, clusters, continuous codes) for the real, then the fake
    apart = (*critic(step.real), *critic(fake))
    assert len(both) == len(apart) == 6
    for joined, alone in zip(both, apart, strict=True):
        torch.testing.assert_close(joined, alone)


def test_the_discriminator_loss_is_that_of_separate_passes():
    nets, step = _nets("clustergan"), _step()
    loss = METHODS["clustergan"].discriminator_loss(nets, step)
    with torch.no_grad():
        fake = nets["G"](step.latent.z)
    expected = discriminator_loss("bce", nets["D"](step.real)[0], nets["D"](fake)[0])
    torch.testing.assert_close(loss, expected)


@pytest.mark.parametrize("method", sorted(CALLS))
def test_the_generators_update_reads_the_draw_of_the_discriminators(method):
    """G's gradient from the batch's cached draw equals that of a fresh forward pass."""

    def g_grads(after_d: bool):
        nets = _nets(method)
        step = _step(consistency=0.0)
        if after_d:
            METHODS[method].discriminator_loss(nets, step)
            drawn = step.fake
            assert drawn is not None and drawn.requires_grad
            assert generated(nets, step) is drawn
        METHODS[method].generator_loss(nets, step).backward()
        return [p.grad.clone() for p in nets["G"].parameters()]

    for cached, fresh in zip(g_grads(True), g_grads(False), strict=True):
        torch.testing.assert_close(cached, fresh)


def test_a_batch_without_the_generators_update_keeps_no_graph_of_g():
    nets, step = _nets("clustergan"), _step()
    step.updates_generator = False  # n_critic > 1, between two generator updates
    METHODS["clustergan"].discriminator_loss(nets, step)
    assert step.fake is not None and not step.fake.requires_grad


@pytest.mark.parametrize("method", sorted(CALLS))
def test_under_bf16_the_losses_are_computed_in_fp32(method):
    """CPU autocast leaves softmax and log in bf16: the losses cast to fp32 first, so that the
    logged values (which the stop criterion reads) are not rounded to bf16's 3 digits."""
    nets, step = _nets(method), _step()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        d_loss = METHODS[method].discriminator_loss(nets, step)
        g_loss = METHODS[method].generator_loss(nets, step)
    assert step.fake.dtype == torch.bfloat16  # the networks did run in bf16
    assert d_loss.dtype == g_loss.dtype == torch.float32
    with torch.no_grad():
        exact = METHODS[method].discriminator_loss(nets, _step())
    # the same loss in fp32, up to bf16's rounding of the networks' outputs
    torch.testing.assert_close(d_loss.detach(), exact, atol=0.05, rtol=0.05)
