import numpy as np
import pytest
import torch

from skhsi.nn._autoencoder import BlindSpotAutoencoder, ConvAutoencoder, SpectralAutoencoder
from skhsi.nn._layers import (
    CBAM,
    EfficientChannelAttention,
    MaskedConv2d,
    SeededDropout,
    SqueezeExcitation,
    init_weights,
)
from skhsi.nn._patches import patch_windows
from skhsi.nn._tiles import ImageTiles, reflect_indices


def test_reflect_indices_match_numpy_reflect_padding():
    axis = np.arange(5)
    padded = np.pad(axis, 13, mode="reflect")
    assert np.array_equal(axis[reflect_indices(-13, 5 + 13, 5)], padded)
    assert np.array_equal(reflect_indices(-3, 3, 1), np.zeros(6, dtype=int))


@pytest.mark.parametrize("guard", [0, 1, 2])
def test_blind_spot_reconstruction_ignores_the_hidden_window(guard):
    net = BlindSpotAutoencoder(4, hidden=6, window=7, guard=guard).eval()
    x = torch.randn(1, 15, 15, 4)
    changed = x.clone()
    changed[0, 7 - guard:8 + guard, 7 - guard:8 + guard] += 50.0
    with torch.no_grad():
        before, after = net.objective_inputs(x)[0], net.objective_inputs(changed)[0]
    assert torch.allclose(before[0, 7, 7], after[0, 7, 7])
    assert not torch.allclose(before[0, 7, 10], after[0, 7, 10])  # the ring sees it


def test_masked_convolution_keeps_its_mask_after_initialisation():
    conv = MaskedConv2d(2, 3, window=5, guard=1)
    init_weights(conv, "he", generator=torch.Generator().manual_seed(0))
    assert torch.all(conv.weight[:, :, 1:4, 1:4] == 0)
    with pytest.raises(ValueError, match="window must be odd"):
        MaskedConv2d(2, 3, window=4)


@pytest.mark.parametrize("method, expected", [("glorot", (6 / (100 + 50)) ** 0.5 / 3 ** 0.5),
                                              ("he", (2 / (1.0001 * 100)) ** 0.5)])
def test_initialisers_give_the_expected_spread(method, expected):
    layer = torch.nn.Linear(100, 50)
    init_weights(layer, method, generator=torch.Generator().manual_seed(0))
    assert float(layer.weight.detach().std()) == pytest.approx(expected, rel=0.05)
    assert torch.all(layer.bias == 0)
    with pytest.raises(ValueError, match="init must be one of"):
        init_weights(layer, "orthogonal")


def test_seeded_dropout_is_reproducible_and_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state().clone()
    a, b = SeededDropout(0.5, seed=3).train(), SeededDropout(0.5, seed=3).train()
    x = torch.ones(1000)
    out_a, out_b = a(x), b(x)
    assert torch.equal(out_a, out_b)
    assert 400 < int((out_a == 0).sum()) < 600 and float(out_a.max()) == 2.0
    assert torch.equal(SeededDropout(0.5).eval()(x), x)
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize("block", [SqueezeExcitation, EfficientChannelAttention, CBAM])
def test_attention_with_local_pooling_is_translation_equivariant(block):
    att = block(8, pool=5).eval()
    x = torch.randn(1, 8, 20, 20)
    with torch.no_grad():
        whole = att(x)
        part = att(x[:, :, :, 4:])
    # away from the cut, the output does not depend on what lies beyond the window
    assert torch.allclose(whole[:, :, 8:12, 12:16], part[:, :, 8:12, 8:12], atol=1e-6)
    assert att(x).shape == x.shape


def test_networks_keep_shapes_and_pad_odd_sizes():
    x = torch.randn(2, 13, 11, 5)
    for net in (ConvAutoencoder(5, hidden=4, n_levels=2),
                ConvAutoencoder(5, hidden=4, n_levels=1, upsampling="transposed",
                                variational=True, score="both"),
                BlindSpotAutoencoder(5, hidden=4)):
        assert net.eval()(x).shape == (2, 13, 11)
    assert SpectralAutoencoder(5, hidden=4).eval()(x.reshape(-1, 5)).shape == (286,)


def test_image_tiles_are_reproducible_per_epoch():
    cube = np.arange(20 * 20 * 2, dtype=np.float32).reshape(20, 20, 2)
    tiles = ImageTiles([cube], tile=8, n_tiles=4, seed=1)
    first = [tiles[i][0] for i in range(4)]
    assert all(t.shape == (8, 8, 2) for t in first)
    assert all(torch.equal(a, tiles[i][0]) for i, a in enumerate(first))
    tiles.epoch = 1
    assert not all(torch.equal(a, tiles[i][0]) for i, a in enumerate(first))


def test_patch_windows_are_reflect_padded_views():
    cube = np.random.default_rng(0).random((6, 5, 3)).astype(np.float32)
    windows = patch_windows(cube, 3)
    assert windows.shape == (6, 5, 3, 3, 3)
    np.testing.assert_array_equal(windows[2, 2], cube[1:4, 1:4])
    np.testing.assert_array_equal(windows[0, 0, 0, 0], cube[1, 1])
