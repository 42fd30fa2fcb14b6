import pytest
import torch
from torch.nn import functional as F

from skhsi.nn import LOSSES, make_loss


def _batch(shape=(4, 3, 5, 5), seed=0):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=generator, requires_grad=True)
    target = torch.randint(shape[1], (shape[0],) + shape[2:], generator=generator)
    return logits, target


@pytest.mark.parametrize("shape", [(32, 4), (3, 4, 6, 5)])
def test_cross_entropy_matches_torch(shape):
    logits, target = _batch(shape)
    target.view(-1)[::3] = -100
    weight = [0.5, 2.0, 1.0, 3.0]
    for class_weight in (None, weight):
        loss = make_loss("cross-entropy", n_classes=4, class_weight=class_weight)
        reference = F.cross_entropy(logits, target, weight=None if class_weight is None
                                    else torch.tensor(weight), ignore_index=-100)
        torch.testing.assert_close(loss(logits, target), reference)


def test_focal_with_gamma_zero_is_cross_entropy_and_focuses_on_hard_samples():
    logits, target = _batch((64, 3))
    ce = make_loss("cross-entropy", n_classes=3, class_weight=[1.0, 2.0, 0.5])
    focal0 = make_loss("focal", n_classes=3, gamma=0.0, class_weight=[1.0, 2.0, 0.5])
    torch.testing.assert_close(focal0(logits, target), ce(logits, target))
    # gamma > 0: each sample's loss is its CE times (1 - p_t)^gamma.
    log_p = F.log_softmax(logits, 1).gather(1, target[:, None])[:, 0]
    expected = (-(1 - log_p.exp()) ** 2 * log_p).mean()
    torch.testing.assert_close(make_loss("focal", n_classes=3)(logits, target), expected)
    alpha = torch.tensor([0.2, 0.3, 0.5])
    expected_alpha = (-(alpha[target]) * (1 - log_p.exp()) ** 2 * log_p).mean()
    torch.testing.assert_close(
        make_loss("focal", n_classes=3, alpha=alpha.tolist())(logits, target), expected_alpha)


def test_binary_losses_match_torch_for_one_and_two_logits():
    generator = torch.Generator().manual_seed(1)
    z = torch.randn(50, generator=generator)
    target = torch.randint(2, (50,), generator=generator)
    reference = F.binary_cross_entropy_with_logits(z, target.float())
    bce = make_loss("binary-cross-entropy", n_classes=2)
    torch.testing.assert_close(bce(z[:, None], target), reference)
    two = torch.stack([torch.full_like(z, 0.7), z + 0.7], dim=1)  # difference is z
    torch.testing.assert_close(bce(two, target), reference)
    torch.testing.assert_close(make_loss("binary-cross-entropy", n_classes=1)(z[:, None], target),
                               reference)
    # A single logit of two classes is the logit of class 1 for the softmax losses too.
    torch.testing.assert_close(make_loss("cross-entropy", n_classes=2)(z[:, None], target),
                               reference)
    # Float alpha: the positive class's factor, as torchvision's sigmoid focal loss.
    p = torch.sigmoid(z)
    p_t = torch.where(target == 1, p, 1 - p)
    a_t = torch.where(target == 1, 0.25, 0.75)
    focal = (-a_t * (1 - p_t) ** 2 * p_t.log()).mean()
    torch.testing.assert_close(make_loss("focal", n_classes=2, alpha=0.25)(z[:, None], target),
                               focal)
    weighted = make_loss("binary-cross-entropy", n_classes=2, class_weight=[1.0, 3.0])
    w = torch.where(target == 1, 3.0, 1.0)
    losses = F.binary_cross_entropy_with_logits(z, target.float(), reduction="none")
    torch.testing.assert_close(weighted(z[:, None], target), (w * losses).sum() / w.sum())


def test_dice():
    _, target = _batch((2, 3, 6, 6))
    perfect = 20.0 * F.one_hot(target, 3).permute(0, 3, 1, 2).float()
    dice = make_loss("dice", n_classes=3)
    assert float(dice(perfect, target)) < 1e-6
    assert float(dice(-perfect, target)) > 0.9
    # Against the formula on the labelled pixels only.
    logits, target = _batch((2, 3, 6, 6), seed=3)
    target[:, :2] = -1
    dice = make_loss("dice", n_classes=3, ignore_index=-1)
    keep = target >= 0
    p = F.softmax(logits, 1).permute(0, 2, 3, 1)[keep]
    y = F.one_hot(target[keep], 3).float()
    expected = (1 - (2 * (p * y).sum(0) + 1) / (p.sum(0) + y.sum(0) + 1)).mean()
    torch.testing.assert_close(dice(logits, target), expected)
    summed = make_loss("cross-entropy+dice", n_classes=3, ignore_index=-1)
    ce = F.cross_entropy(logits, target, ignore_index=-1)
    torch.testing.assert_close(summed(logits, target), ce + expected)


def test_ignored_targets_change_nothing():
    logits, target = _batch((3, 3, 4, 4))
    masked = target.clone()
    masked[:, 0] = -100
    for name in LOSSES[2:]:
        loss = make_loss(name, n_classes=3)
        changed = logits.detach().clone()
        changed[:, :, 0] = 1e3 * torch.randn_like(changed[:, :, 0])  # only ignored pixels
        torch.testing.assert_close(loss(changed, masked), loss(logits, masked), msg=name)
        assert not torch.allclose(loss(logits, target), loss(logits, masked)), name


@pytest.mark.parametrize("name", LOSSES)
def test_gradients_finite_and_all_ignored_is_zero(name):
    n_classes = 2
    logits, target = _batch((4, n_classes, 3, 3))
    loss = make_loss(name, n_classes=n_classes)
    value = loss(logits, target)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0
    logits.grad = None
    empty = loss(logits, torch.full_like(target, -100))
    empty.backward()
    assert float(empty.detach()) == 0.0
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_bad_input():
    with pytest.raises(ValueError, match=r"loss must be one of \('cross-entropy'"):
        make_loss("hinge", n_classes=2)
    with pytest.raises(ValueError, match="binary-cross-entropy is for two classes"):
        make_loss("binary-cross-entropy", n_classes=3)
    with pytest.raises(ValueError, match=r"class_weight needs one value per class \(3\); got 2"):
        make_loss("cross-entropy", n_classes=3, class_weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="with 3 classes give one value per class"):
        make_loss("focal", n_classes=3, alpha=0.25)
    with pytest.raises(ValueError, match="takes class_weight instead"):
        make_loss("dice", n_classes=3, alpha=[1, 1, 1])
    loss = make_loss("cross-entropy", n_classes=3)
    logits, target = _batch((2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"target must have shape \(2, 4, 4\).*got \(2, 4\)"):
        loss(logits, target[:, 0])
    with pytest.raises(ValueError, match="made for 3 classes.*got 4"):
        loss(torch.zeros(2, 4), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 3\).*\[3, 7\]"):
        loss(torch.zeros(3, 3), torch.tensor([0, 3, 7]))
    with pytest.raises(TypeError, match="integer class targets"):
        loss(torch.zeros(2, 3), torch.zeros(2))


def test_weights_are_buffers_and_pickle():
    import pickle

    loss = make_loss("focal+dice", n_classes=3, class_weight=[1.0, 2.0, 3.0], alpha=[1, 1, 2])
    buffers = {name for name, _ in loss.named_buffers()}
    assert buffers >= {"losses.0.class_weight", "losses.0.alpha", "losses.1.class_weight"}
    logits, target = _batch((5, 3))
    torch.testing.assert_close(pickle.loads(pickle.dumps(loss))(logits, target),
                               loss(logits, target))


@pytest.mark.gpu
def test_losses_on_cuda_match_the_cpu():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    logits, target = _batch((3, 3, 4, 4))
    target[:, 0] = -100
    for name in LOSSES[2:]:
        loss = make_loss(name, n_classes=3, class_weight=[1.0, 2.0, 0.5])
        expected = loss(logits, target)
        torch.testing.assert_close(loss.cuda()(logits.cuda(), target.cuda()).cpu(), expected)
