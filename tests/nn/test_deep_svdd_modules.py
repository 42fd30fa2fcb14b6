import math

import torch

from skhsi.nn import (
    DeepSVDDCenterTracker,
    DeepSVDDProjection,
    DeepSVDDSoftBoundaryLoss,
    RandomFourierFeatures,
    make_generator,
)


def test_rff_approximates_the_rbf_kernel():
    gen = make_generator(0)
    x = torch.randn(50, 5, generator=gen)
    rff = RandomFourierFeatures(5, 8192, gamma=0.2, generator=gen)
    approx = rff(x) @ rff(x).T
    exact = torch.exp(-0.2 * torch.cdist(x, x) ** 2)
    assert (approx - exact).abs().max() < 0.08


def test_projection_is_bias_free():
    proj = DeepSVDDProjection(6, hidden=8, rep_dim=3, kernel="linear", generator=make_generator(0))
    assert all(layer.bias is None for layer in (proj.hidden, proj.output))
    assert torch.allclose(proj(torch.zeros(2, 6)), torch.zeros(2, 3))


def test_soft_boundary_loss_values():
    loss = DeepSVDDSoftBoundaryLoss(nu=0.5)
    dist = torch.tensor([0.0, 1.0, 4.0, 9.0])
    radius = torch.tensor(1.0)
    # R^2 + mean(max(0, d - R^2)) / nu = 1 + (0 + 0 + 3 + 8) / 4 / 0.5
    assert math.isclose(loss((dist, radius)).item(), 1 + 11 / 4 / 0.5)
    assert math.isclose(DeepSVDDSoftBoundaryLoss(objective="one-class")((dist, radius)).item(), 3.5)


def test_radius_gradient_balances_at_nu():
    loss = DeepSVDDSoftBoundaryLoss(nu=0.25)
    dist = torch.arange(1.0, 101.0)
    radius = torch.tensor(float(torch.quantile(dist, 0.75).sqrt()), requires_grad=True)
    loss((dist, radius)).backward()
    assert abs(radius.grad.item()) < 0.5


def test_tracker_ema_and_nudge():
    tracker = DeepSVDDCenterTracker(3, alpha=0.5, eps=0.1)
    tracker.set_center(torch.tensor([1.0, 0.01, -0.02]))
    assert torch.allclose(tracker.center, torch.tensor([1.0, 0.1, -0.1]))
    tracker.train()
    tracker(torch.full((4, 3), 3.0))
    assert torch.allclose(tracker.center, torch.tensor([2.0, 1.55, 1.45]))
    tracker.eval()
    tracker(torch.zeros(4, 3))
    assert torch.allclose(tracker.center, torch.tensor([2.0, 1.55, 1.45]))


def test_apply_module_progress_bar_only_when_asked(capsys):
    import numpy as np

    from skhsi.nn import apply_module

    module = torch.nn.Linear(3, 2)
    X = np.random.default_rng(0).random((50, 3))
    quiet = apply_module(module, X, batch_size=10)
    assert capsys.readouterr().err == ""
    loud = apply_module(module, X, batch_size=10, progress=True)
    assert "scoring" in capsys.readouterr().err
    assert np.array_equal(quiet, loud) and quiet.shape == (50, 2)
