import pytest
import torch

from skhsi.nn import flip_rotate, spectral_jitter


def _seeded(seed=0):
    return torch.Generator().manual_seed(seed)


def _dihedral(image):
    """The 8 flips/rotations of an ``(..., H, W)`` tensor."""
    turns = [torch.rot90(image, k, dims=(-2, -1)) for k in range(4)]
    return turns + [t.flip(-1) for t in turns]


def test_labels_move_with_the_image_exactly():
    n, size = 64, 5
    images = torch.randn(n, 3, size, size, generator=_seeded(1))
    labels = torch.arange(n * size * size).reshape(n, size, size)  # every pixel unique
    volumes = images[:, None] * 2.0
    out_images, out_labels, out_volumes = flip_rotate(images, labels, volumes,
                                                      generator=_seeded(0))
    assert out_images.shape == images.shape and out_labels.shape == labels.shape
    assert out_volumes.shape == volumes.shape
    seen = set()
    for i in range(n):
        # The label map moved as a permutation of the pixels, the image by the same one.
        candidates = [j for j, t in enumerate(_dihedral(labels[i]))
                      if torch.equal(t, out_labels[i])]
        assert len(candidates) == 1
        j = candidates[0]
        torch.testing.assert_close(out_images[i], _dihedral(images[i])[j])
        torch.testing.assert_close(out_volumes[i], _dihedral(volumes[i])[j])
        seen.add(j)
    assert seen == set(range(8))  # all eight transforms are drawn


def test_seeded_reproducibility_and_inputs_untouched():
    images = torch.randn(16, 2, 4, 4, generator=_seeded(3))
    copy = images.clone()
    first = flip_rotate(images, generator=_seeded(7))
    assert torch.equal(first, flip_rotate(images, generator=_seeded(7)))
    assert not torch.equal(first, flip_rotate(images, generator=_seeded(8)))
    assert torch.equal(images, copy)
    jittered = spectral_jitter(images, noise=0.1, brightness=0.2, band_dropout=0.3,
                               generator=_seeded(7))
    assert torch.equal(jittered, spectral_jitter(images, noise=0.1, brightness=0.2,
                                                 band_dropout=0.3, generator=_seeded(7)))
    assert torch.equal(images, copy)


def test_flip_only_for_rectangles_and_errors():
    tiles = torch.randn(8, 3, 4, 6, generator=_seeded(0))
    out = flip_rotate(tiles, generator=_seeded(0), rotate=False)
    assert out.shape == tiles.shape
    with pytest.raises(ValueError, match="Quarter turns need square patches; got .* 4 x 6"):
        flip_rotate(tiles)
    with pytest.raises(ValueError, match="same batch size and spatial size"):
        flip_rotate(tiles, torch.zeros(8, 4, 5, dtype=torch.long), rotate=False)
    with pytest.raises(ValueError, match=r"expects \(N, ..., H, W\) tensors"):
        flip_rotate(torch.zeros(4, 4))


def test_jitter_statistics():
    x = torch.ones(4000, 30, 2, 2)
    dropped = spectral_jitter(x, band_dropout=0.2, generator=_seeded(0))
    zero = dropped == 0
    # Whole bands of a sample are dropped, never single values.
    assert torch.equal(zero.all(dim=(2, 3)), zero.any(dim=(2, 3)))
    assert abs(float(zero.float().mean()) - 0.2) < 0.01
    bright = spectral_jitter(x, brightness=0.3, generator=_seeded(0))
    factor = bright[:, 0, 0, 0]
    assert torch.equal(bright, factor[:, None, None, None].expand_as(x))  # one factor per sample
    assert 0.7 <= float(factor.min()) < 0.72 and 1.28 < float(factor.max()) <= 1.3
    assert abs(float(factor.mean()) - 1.0) < 0.01
    assert abs(float(factor.var()) - 0.6 ** 2 / 12) < 0.002  # uniform on [0.7, 1.3]
    noisy = spectral_jitter(torch.zeros(2000, 50), noise=0.5, generator=_seeded(0))
    assert abs(float(noisy.std()) - 0.5) < 0.01 and abs(float(noisy.mean())) < 0.01
    # Bands on another axis: (N, 1, C, H, W) with channel_dim=2.
    volume = spectral_jitter(torch.ones(500, 1, 40, 2, 2), band_dropout=0.5, channel_dim=2,
                             generator=_seeded(1))
    per_band = (volume == 0).all(dim=(1, 3, 4))
    assert per_band.shape == (500, 40)
    assert abs(float(per_band.float().mean()) - 0.5) < 0.02


def test_jitter_errors():
    x = torch.ones(4, 3)
    with pytest.raises(ValueError, match=r"band_dropout must lie in \[0.0, 1.0\); got 1.0"):
        spectral_jitter(x, band_dropout=1.0)
    with pytest.raises(ValueError, match="noise must lie in"):
        spectral_jitter(x, noise=-1.0)
    with pytest.raises(ValueError, match="brightness must lie in"):
        spectral_jitter(x, brightness=1.5)
    with pytest.raises(ValueError, match="channel_dim must name a band axis"):
        spectral_jitter(x, channel_dim=0)
    with pytest.raises(TypeError, match="float tensor"):
        spectral_jitter(torch.ones(4, 3, dtype=torch.long))


@pytest.mark.gpu
def test_cuda_tensors_with_a_cpu_generator():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    images = torch.randn(8, 3, 4, 4, generator=_seeded(0))
    labels = torch.arange(8 * 16).reshape(8, 4, 4)
    on_cpu = flip_rotate(images, labels, generator=_seeded(5))
    on_gpu = flip_rotate(images.cuda(), labels.cuda(), generator=_seeded(5))
    for cpu, gpu in zip(on_cpu, on_gpu):
        assert gpu.is_cuda and torch.equal(gpu.cpu(), cpu)
    jitter = dict(noise=0.1, brightness=0.2, band_dropout=0.3)
    torch.testing.assert_close(
        spectral_jitter(images.cuda(), generator=_seeded(5), **jitter).cpu(),
        spectral_jitter(images, generator=_seeded(5), **jitter))
