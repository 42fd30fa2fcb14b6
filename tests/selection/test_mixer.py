import joblib
import numpy as np
import pytest
from sklearn.decomposition import PCA

from skhsi.anomaly import DeepSVDD
from skhsi.pipeline import make_pipeline
from skhsi.preprocessing import ZScoreNormalizerGlobal
from skhsi.nn import as_tensor
from skhsi.selection import LearnableChannelMixer

_FAST = dict(max_epochs=2, batch_size=64, device="cpu", random_state=0)


@pytest.fixture
def data():
    return np.random.default_rng(0).normal(size=(12, 10, 8))


def test_cube_and_batch_normalised_per_image(data):
    mixer = LearnableChannelMixer(3, reduction_scheme=[8, 5, 3], **_FAST).fit(data)
    out = mixer.transform(data)
    assert out.shape == (12, 10, 3)
    flat = out.reshape(-1, 3)
    np.testing.assert_allclose(flat.min(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(flat.max(axis=0), 1.0, atol=1e-6)
    batch = np.stack([data, 3.0 * data[::-1]])
    out_batch = mixer.transform(batch)
    assert out_batch.shape == (2, 12, 10, 3)
    for i in range(2):
        np.testing.assert_allclose(out_batch[i], mixer.transform(batch[i]), atol=1e-6)
    # a pixel table is one image
    np.testing.assert_allclose(mixer.transform(data.reshape(-1, 8)), flat, atol=1e-6)


def test_module_matches_transform(data):
    pixels = data.reshape(-1, 8).astype(np.float32)
    mixer = LearnableChannelMixer(3, reduction_scheme=[8, 4, 3], **_FAST).fit(pixels)
    module = mixer._as_module().eval()
    np.testing.assert_allclose(module(as_tensor(pixels)).detach().numpy(),
                               mixer.transform(pixels), atol=1e-5)


def test_pca_init_is_the_projection(data):
    pixels = data.reshape(-1, 8)
    mixer = LearnableChannelMixer(3, init_method="pca", normalize_output=False,
                                  max_epochs=0, random_state=0).fit(pixels)
    expected = PCA(3).fit_transform(pixels)
    np.testing.assert_allclose(np.abs(mixer.transform(pixels)), np.abs(expected), atol=1e-4)


@pytest.mark.parametrize("supervised", [False, True])
def test_phase2_alone_lowers_its_loss(data, supervised):
    y = (data[..., 0] > 0).astype(int) if supervised else None
    mixer = LearnableChannelMixer(3, max_epochs=15, lr=1e-2, batch_size=32, device="cpu",
                                  random_state=0).fit(data, y)
    losses = [row["train_loss"] for row in mixer.history_]
    assert mixer.objective_ == ("classification" if supervised else "reconstruction")
    assert losses[-1] < losses[0]


def test_bad_input(data):
    with pytest.raises(ValueError, match="band count"):
        LearnableChannelMixer(reduction_scheme=[5, 3], **_FAST).fit(data)
    mixer = LearnableChannelMixer(**_FAST).fit(data)
    with pytest.raises(ValueError, match="8 features"):
        mixer.transform(data[..., :5])
    with pytest.raises(ValueError, match="leading shape"):
        LearnableChannelMixer(**_FAST).fit(data, np.zeros((12, 9), dtype=int))


def test_feature_names_and_round_trip(data, tmp_path):
    mixer = LearnableChannelMixer(2, **_FAST).fit(data)
    assert list(mixer.get_feature_names_out()) == ["learnablechannelmixer0",
                                                   "learnablechannelmixer1"]
    joblib.dump(mixer, tmp_path / "mixer.joblib")
    loaded = joblib.load(tmp_path / "mixer.joblib")
    np.testing.assert_array_equal(loaded.transform(data), mixer.transform(data))


def test_same_random_state_same_output(data):
    a = LearnableChannelMixer(**_FAST).fit_transform(data)
    b = LearnableChannelMixer(**_FAST).fit_transform(data)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("trainable", [True, False])
def test_end_to_end_with_deep_svdd(trainable):
    rng = np.random.default_rng(1)
    cube = rng.normal(size=(16, 16, 20))
    cube[4, 4] += 5.0
    svdd = dict(max_epochs=3, n_rff=64, hidden=16, rep_dim=4, batch_size=64, device="cpu",
                random_state=0)
    pipe = make_pipeline(ZScoreNormalizerGlobal(),
                         LearnableChannelMixer(10, trainable=trainable, random_state=0),
                         DeepSVDD(**svdd))
    pipe.fit(cube)
    scores = pipe.anomaly_score(cube)
    assert scores.shape == (16, 16) and np.all(np.isfinite(scores))
    z = pipe[0].transform(cube)
    if trainable:  # initialised in phase 1, then trained through the chain
        initial = LearnableChannelMixer(10, trainable=True, random_state=0)
        initial._fit_phase1(z)
        assert not np.allclose(pipe[1].weights_[0], initial.weights_[0])
    else:  # fitted alone, then kept
        alone = LearnableChannelMixer(10, random_state=0).fit(z)
        np.testing.assert_allclose(pipe[1].weights_[0], alone.weights_[0])
