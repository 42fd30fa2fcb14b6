import joblib
import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from skhsi.classification import UNetSegmenter
from skhsi.nn import UNet
from skhsi.nn._patch_classifier import IGNORE_INDEX
from skhsi.persistence import load_weights, save_weights
from tests.classification.test_patch import (
    check_cube_contract,
    disjoint_labels,
    load_salinas_a,
    two_class_cube,
)

FAST = dict(hidden=8, n_levels=1, tile_size=16, tiles_per_epoch=8, max_epochs=3, lr=1e-2,
            device="cpu", random_state=0)

# scikit-learn's checks feed pixel tables: as for PatchClassifier
# (tests/classification/test_patch.py, NOT_APPLICABLE), only the clone check
# runs, and check_cube_contract checks the same contract on cubes.


@parametrize_with_checks([UNetSegmenter(**FAST)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_cube_contract():
    cube, labels, _ = two_class_cube()
    check_cube_contract(UNetSegmenter(**FAST), cube, labels)


@pytest.mark.parametrize("params", [{}, {"deep_supervision": True, "n_levels": 2}])
def test_learns_a_two_class_cube_from_sparse_labels(params):
    cube, labels, classes = two_class_cube()
    seg = UNetSegmenter(**{**FAST, "max_epochs": 25, **params}).fit(cube, labels)
    assert seg.score(cube, classes) > 0.95


@pytest.mark.parametrize("params", [
    {"n_levels": 2},
    {"upsampling": "transposed", "n_levels": 3},
    {"deep_supervision": True, "n_levels": 2, "attention": "cbam"},
    {"deep_supervision": True, "n_levels": 3, "attention": "se", "upsampling": "transposed"},
    {"n_levels": 2, "attention": "eca"},
])
def test_tiled_prediction_equals_whole_image_prediction(indian_pines, params):
    crop = indian_pines.cube[:70, :61].astype(np.float64)
    labels = indian_pines.labels[:70, :61]
    seg = UNetSegmenter(**{**FAST, "hidden": 4, "max_epochs": 1, **params}).fit(crop, labels)
    whole = seg.set_params(tile_size=128).predict_proba(crop)
    for tile in (16, 40):
        tiled = seg.set_params(tile_size=tile).predict_proba(crop)
        np.testing.assert_allclose(tiled, whole, rtol=1e-5, atol=1e-6)


def test_receptive_radius_bounds_the_reach():
    """A change at one pixel moves no output further away than receptive_radius."""
    for params in ({"n_levels": 2},
                   {"n_levels": 2, "deep_supervision": True, "attention": "cbam"}):
        net = UNet(3, 2, hidden=4, **params).eval()
        with torch.no_grad():
            for layer in net.modules():  # positive weights: every path carries the change
                if isinstance(layer, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                    layer.weight.abs_()
        x = torch.zeros(1, 96, 96, 3)
        base = net(x)
        x[0, 48, 48] = 10.0
        changed = (net(x) - base).abs().amax(dim=(0, 3)) > 0
        rows, cols = np.nonzero(changed.numpy())
        reach = max(np.abs(rows - 48).max(), np.abs(cols - 48).max())
        assert 0 < reach <= net.receptive_radius


def test_deep_supervision_outputs_and_loss():
    cube, labels, _ = two_class_cube()
    seg = UNetSegmenter(**{**FAST, "n_levels": 2, "deep_supervision": True,
                           "max_epochs": 0}).fit(cube, labels)
    x = torch.as_tensor(cube[None], dtype=torch.float32)
    outputs = seg.module_.objective_inputs(x)
    assert len(outputs) == 3 and all(o.shape == (1, 2, 16, 16) for o in outputs)
    torch.testing.assert_close(seg.module_(x), outputs[-1].permute(0, 2, 3, 1))
    # before training the fusion is the mean of the side outputs
    torch.testing.assert_close(outputs[-1], (outputs[0] + outputs[1]) / 2)
    criterion = seg._make_criterion()
    target = torch.as_tensor(seg._codes([cube], labels)[0][None])
    total = criterion(outputs, target)
    torch.testing.assert_close(total, sum(criterion.loss(o, target) for o in outputs))


@pytest.mark.parametrize("loss", ["cross-entropy", "focal", "dice", "focal+dice"])
def test_unlabelled_pixels_do_not_reach_the_loss(loss):
    cube, labels, _ = two_class_cube()
    seg = UNetSegmenter(**{**FAST, "loss": loss, "max_epochs": 0}).fit(cube, labels)
    target = torch.as_tensor(seg._codes([cube], labels)[0][None])
    assert (target == IGNORE_INDEX).sum() == (labels == 0).sum()
    logits = torch.randn(1, 2, 16, 16, requires_grad=True)
    value = seg._make_criterion()(logits, target)
    value.backward()
    assert torch.all(logits.grad[:, :, torch.as_tensor(labels == 0)] == 0)
    assert torch.any(logits.grad[:, :, torch.as_tensor(labels > 0)] != 0)


def test_training_tiles_hold_labels_and_move_with_them():
    cube, labels, _ = two_class_cube(size=24)
    sparse = np.zeros_like(labels)
    sparse[3, 20], sparse[20, 2] = 2, 1
    seg = UNetSegmenter(**{**FAST, "tile_size": 8, "max_epochs": 0}).fit(cube, sparse)
    tiles, _ = seg._training_subset([cube], sparse, seed=0)
    feature = cube[..., 0] + 100.0 * (sparse > 0)
    tiles.cubes = [np.concatenate([cube, feature[..., None]], axis=-1)]
    for i in range(len(tiles)):
        tile, target = tiles[i]
        assert tile.shape == (8, 8, 6) and target.shape == (8, 8)
        assert (target != IGNORE_INDEX).any()
        # the labelled pixel's marker moved with its label
        np.testing.assert_array_equal((tile[..., -1] > 50).numpy(),
                                      (target != IGNORE_INDEX).numpy())


def test_round_trips_are_bit_exact(tmp_path):
    cube, labels, _ = two_class_cube()
    seg = UNetSegmenter(**{**FAST, "n_levels": 2, "deep_supervision": True,
                           "attention": "cbam", "upsampling": "transposed",
                           "class_weight": "balanced", "loss": "cross-entropy+dice"})
    seg.fit(cube, labels)
    joblib.dump(seg, tmp_path / "m.joblib")
    save_weights(seg, tmp_path / "m.pt")
    for loaded in (joblib.load(tmp_path / "m.joblib"), load_weights(tmp_path / "m.pt")):
        np.testing.assert_array_equal(loaded.predict_proba(cube), seg.predict_proba(cube))
        np.testing.assert_array_equal(loaded.predict(cube), seg.predict(cube))


def test_gradient_checkpointing_trains_exactly_as_without():
    cube, labels, _ = two_class_cube()
    params = {**FAST, "n_levels": 2, "dropout": 0.3, "attention": "se"}
    plain = UNetSegmenter(**params).fit(cube, labels)
    checkpointed = UNetSegmenter(**params, gradient_checkpointing=True).fit(cube, labels)
    np.testing.assert_allclose(checkpointed.predict_proba(cube), plain.predict_proba(cube),
                               rtol=1e-5, atol=1e-6)
    for a, b in zip(plain.module_.state_dict().values(),
                    checkpointed.module_.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("params", [
    {"precision": "bfloat16"},
    {"jitter_noise": 0.1, "jitter_brightness": 0.2, "jitter_band_dropout": 0.1},
    {"augment": None, "init": "glorot", "l2": 1e-4},
])
def test_options_train(params):
    cube, labels, classes = two_class_cube()
    seg = UNetSegmenter(**{**FAST, "max_epochs": 10, **params}).fit(cube, labels)
    assert np.isfinite(seg.history_[-1]["train_loss"])
    assert seg.score(cube, classes) > 0.8


def test_lists_of_cubes_and_label_maps():
    a, la, _ = two_class_cube(seed=0)
    b, lb, _ = two_class_cube(seed=1)
    seg = UNetSegmenter(**FAST).fit([a, b[:12]], [la, lb[:12]])
    maps = seg.predict([a, b[:12]])
    assert [m.shape for m in maps] == [(16, 16), (12, 16)]
    with pytest.raises(ValueError, match="leading shape of X"):
        UNetSegmenter(**FAST).fit([a, b], [la, lb[:12]])


def test_too_small_images_are_a_clear_error():
    cube = np.random.default_rng(0).normal(size=(3, 3, 4))
    labels = np.ones((3, 3), dtype=int)
    labels[0] = 2
    with pytest.raises(ValueError, match="too small for this network"):
        UNetSegmenter(**{**FAST, "n_levels": 2}).fit(cube, labels)


@pytest.mark.slow
def test_salinas_a_spatially_disjoint_floor():
    cube, gt = load_salinas_a()
    train = disjoint_labels(gt, 10, seed=0)
    seg = UNetSegmenter(random_state=0, device="cpu").fit(cube[:, :43], train[:, :43])
    right = gt.copy()
    right[:, :43] = 0
    assert seg.score(cube, right) > 0.80  # measured 0.848
