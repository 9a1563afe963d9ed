"""Fits on memory-mapped arrays: read in batches and subsamples, never whole, and bit for bit
the fit of the same array in memory."""

import numpy as np
import pytest
import torch
from conftest import tiny
from sklearn.datasets import make_blobs

from ganclust import ClusterGAN
from ganclust.preprocess import Preprocessor
from ganclust.pseudo_labels import MAX_MANIFOLD_SAMPLES
from ganclust.rows import Rows, blocks, digest, is_memory_mapped


def mapped(tmp_path, X, name="X.npy"):
    np.save(tmp_path / name, X)
    return np.load(tmp_path / name, mmap_mode="r")


@pytest.fixture
def digit_images():
    from sklearn.datasets import load_digits

    return (load_digits().images[:300] * 16).clip(0, 255).astype(np.uint8)


def test_memory_mapped_arrays_and_their_views_are_recognised(tmp_path):
    M = mapped(tmp_path, np.zeros((4, 3), np.float32))
    assert is_memory_mapped(M) and is_memory_mapped(np.asarray(M)) and is_memory_mapped(M[1:])
    assert not is_memory_mapped(np.zeros((4, 3))) and not is_memory_mapped([[1.0]])


def test_rows_read_what_the_whole_tensor_holds(tmp_path, digit_images):
    pre = Preprocessor.fit(digit_images, "uint8")
    whole = pre.to_tensor(digit_images)
    rows = Rows(mapped(tmp_path, digit_images), pre)
    index = torch.tensor([7, 3, 3, 250, 0])
    assert torch.equal(rows[index], whole[index]) and torch.equal(rows[5:9], whole[5:9])
    assert rows.shape == whole.shape and len(rows) == len(whole) and rows.dim() == 4
    assert torch.equal(torch.cat(list(rows.split(64))), whole)
    layout = rows.contiguous(memory_format=torch.channels_last)[index]
    assert layout.is_contiguous(memory_format=torch.channels_last)
    assert digest(rows) == digest(whole)
    part = rows.subset(np.array([250, 3, 9]))
    assert len(part) == 3 and torch.equal(part[torch.tensor([2, 0])], whole[[9, 250]])
    assert torch.equal(part[1:], whole[[3, 9]])
    assert torch.equal(torch.cat([b[0 : len(b)] for b in blocks(rows, 64)]), whole)
    assert [len(b) for b in blocks(rows, 128)] == [128, 128, 44]


@pytest.mark.parametrize("kind", ["vectors", "images"])
def test_a_memory_mapped_fit_is_the_in_memory_fit(kind, tmp_path, digit_images):
    if kind == "vectors":
        X = make_blobs(200, n_features=6, centers=3, random_state=0)[0].astype(np.float32)
    else:
        X = digit_images
    M = mapped(tmp_path, X)
    settings = tiny(options={"refine": 1})
    in_memory = ClusterGAN(3, **settings).fit(X)
    on_disk = ClusterGAN(3, **settings).fit(M)
    assert np.array_equal(in_memory.labels_, on_disk.labels_)
    assert np.array_equal(in_memory.predict_proba(X), on_disk.predict_proba(M))
    assert np.array_equal(in_memory.transform(X), on_disk.transform(M))
    assert np.array_equal(on_disk.predict(M), on_disk.predict(X))


@pytest.mark.slow
def test_no_step_of_a_fit_reads_the_whole_memory_mapped_set(tmp_path, monkeypatch):
    n = MAX_MANIFOLD_SAMPLES + 1000
    X = make_blobs(n, n_features=4, centers=3, random_state=0)[0].astype(np.float32)
    M = mapped(tmp_path, X)
    read = []
    to_tensor = Preprocessor.to_tensor

    def counting(self, rows):
        read.append(len(rows))
        return to_tensor(self, rows)

    monkeypatch.setattr(Preprocessor, "to_tensor", counting)
    settings = tiny(batch_size=512, max_epochs=1, options={"init": "kmeans", "refine": 0})
    model = ClusterGAN(3, **settings).fit(M)
    assert len(model.labels_) == n and read
    # the largest read is the manifold's subsample; the training reads batches
    assert max(read) == MAX_MANIFOLD_SAMPLES < n
    assert read.count(512) >= n // 512


def test_a_refinement_round_reads_a_bounded_subsample(tmp_path, monkeypatch):
    from ganclust import _fit, rows

    X = make_blobs(240, n_features=6, centers=3, random_state=0)[0].astype(np.float32)
    monkeypatch.setattr(rows, "REFINE_SAMPLES", 150)
    rounds = []
    round_pseudo = _fit._round_pseudo

    def recording(*args, **kwargs):
        pseudo, votes = round_pseudo(*args, **kwargs)
        rounds.append((pseudo, votes))
        return pseudo, votes

    monkeypatch.setattr(_fit, "_round_pseudo", recording)
    settings = tiny(options={"refine": 1, "init": "kmeans"})
    on_disk = ClusterGAN(3, **settings).fit(mapped(tmp_path, X))
    pseudo, votes = rounds[1]  # the refinement round's
    read = ~torch.isnan(votes[:, 0])
    assert int(read.sum()) == 150 and bool((pseudo[~read] == -1).all())
    assert np.isfinite(on_disk.cluster_quality_).all()
    in_memory = ClusterGAN(3, **settings).fit(X)
    assert np.array_equal(in_memory.labels_, on_disk.labels_)


def test_the_neighbour_vote_reads_blocks_with_the_same_result(digit_images, monkeypatch):
    from ganclust import readout

    settings = tiny(options={"read_out_neighbors": 5})
    whole = ClusterGAN(3, **settings).fit(digit_images)
    monkeypatch.setattr(readout, "VOTE_BLOCK", 64)
    blocks = ClusterGAN(3, **settings).fit(digit_images)
    assert np.array_equal(whole.labels_, blocks.labels_)
    np.testing.assert_allclose(
        whole.predict_proba(digit_images), blocks.predict_proba(digit_images)
    )
    assert np.array_equal(blocks.predict(digit_images), blocks.labels_)


class SliceOnly:
    """An array held elsewhere, as h5py's or zarr's: it takes slices only, and refuses to be
    converted whole."""

    def __init__(self, array):
        self.array, self.reads = array, []
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim

    def __len__(self):
        return len(self.array)

    def __getitem__(self, key):
        if not isinstance(key, slice):
            raise TypeError(f"SliceOnly takes slices, not {type(key).__name__}")
        self.reads.append(len(self.array[key]))
        return self.array[key].copy()

    def __array__(self, *args, **kwargs):
        raise AssertionError("the array-like was read whole")


def test_array_likes_are_recognised_and_others_are_not(tmp_path):
    from scipy.sparse import csr_matrix

    from ganclust.preprocess import is_array_like
    from ganclust.rows import stays_on_disk

    assert is_array_like(SliceOnly(np.zeros((4, 3)))) and stays_on_disk(SliceOnly(np.zeros((4, 3))))
    assert stays_on_disk(mapped(tmp_path, np.zeros((4, 3), np.float32)))
    for other in (np.zeros((4, 3)), torch.zeros(4, 3), [[1.0]], csr_matrix(np.eye(3))):
        assert not is_array_like(other) and not stays_on_disk(other)
    assert not is_array_like(SliceOnly(np.zeros(4)))  # one axis: refused as before


def test_rows_of_an_array_like_read_runs_of_slices(digit_images):
    pre = Preprocessor.fit(digit_images, "uint8")
    whole = pre.to_tensor(digit_images)
    source = SliceOnly(digit_images)
    rows = Rows(source, pre)
    index = torch.tensor([7, 3, 3, 250, 8, 0])
    assert torch.equal(rows[index], whole[index]) and torch.equal(rows[5:9], whole[5:9])
    # runs 0, 3, 7-8 and 250: one slice each, the repeated 3 read once
    assert source.reads[:4] == [1, 1, 2, 1]
    assert torch.equal(rows.subset(np.array([9, 2]))[torch.tensor([1, 0])], whole[[2, 9]])


def test_an_array_like_image_fit_is_the_in_memory_fit_and_never_reads_it_whole(
    digit_images, monkeypatch
):
    from ganclust import _statistics, rows

    settings = tiny(options={"refine": 1})
    in_memory = ClusterGAN(3, **settings).fit(digit_images)
    monkeypatch.setattr(rows, "BLOCK_ROWS", 64)
    monkeypatch.setattr(_statistics, "BLOCK_VALUES", 64 * 64)
    source = SliceOnly(digit_images)
    elsewhere = ClusterGAN(3, **settings).fit(source)
    assert np.array_equal(in_memory.labels_, elsewhere.labels_)
    assert source.reads and max(source.reads) <= 64 < len(digit_images)
    assert elsewhere.n_features_in_ == 64
    assert np.array_equal(
        elsewhere.predict(SliceOnly(digit_images)), in_memory.predict(digit_images)
    )
    with pytest.raises(
        ValueError,
        match="samples of shape 6 x 6, but ClusterGAN was fitted on samples of shape 8 x 8",
    ):
        elsewhere.predict(SliceOnly(np.zeros((3, 6, 6), np.uint8)))


def test_an_array_like_vector_fit_standardises_in_blocks():
    X = (
        make_blobs(300, n_features=5, centers=3, random_state=0)[0] * 50 + 1000
    )  # far from zero mean and unit variance
    options = {"refine": 0, "feature_scaling": "per-feature"}
    model = ClusterGAN(3, **tiny(options=options)).fit(SliceOnly(X))
    np.testing.assert_allclose(model.preprocessor_.offset, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(model.preprocessor_.scale, X.std(axis=0), rtol=1e-12)
    # the default shares one scale: the root mean square of the features' spreads
    shared = ClusterGAN(3, **tiny(options={"refine": 0})).fit(SliceOnly(X))
    assert shared.preprocessor_.scaling == "shared"
    np.testing.assert_allclose(
        shared.preprocessor_.scale, np.sqrt(np.mean(X.var(axis=0))), rtol=1e-12
    )
    # the blocked statistics differ from numpy's in the last bits only: the same clusters
    for blocked, opts in ((model, options), (shared, {"refine": 0})):
        in_memory = ClusterGAN(3, **tiny(options=opts)).fit(X)
        assert np.array_equal(blocked.labels_, in_memory.labels_)
        assert np.array_equal(blocked.predict(SliceOnly(X)), blocked.predict(X))


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([[0.0, 1.0]] * 5 + [[np.nan, 0.0]]), r"X contains NaN \(in rows 0 to 5\)"),
        (np.array([[0.0, np.inf]] * 6), "X contains infinity"),
        (np.array([["a", "b"]] * 6), "X must hold numbers; its dtype is <U1"),
        (np.zeros((0, 3)), "at least one sample and one feature; its shape is 0 x 3"),
        (np.zeros((2, 3, 4, 5, 6)), "got 5 dimensions"),
    ],
)
def test_bad_array_likes_are_refused_by_name(bad, message):
    source = SliceOnly(bad)
    with pytest.raises(ValueError, match=message):
        ClusterGAN(2, **tiny()).fit(source)


def _file_pages_mib():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("RssFile:"))
    return int(line.split()[1]) / 1024


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/status"), reason="Linux only")
def test_shuffled_batches_of_a_mapped_file_leave_its_pages_unmapped(tmp_path):
    # 40 MiB of 28 x 28 uint8 rows, read once in shuffled batches of 64, as an epoch reads them;
    # through the mapping, each scattered row would map 64 KiB or more of the file around it
    X = np.random.default_rng(0).integers(0, 255, (53_500, 28, 28), dtype=np.uint8)
    np.save(tmp_path / "X.npy", X)
    M = np.load(tmp_path / "X.npy", mmap_mode="r+")  # a writable map is never let go
    pre = Preprocessor.fit(X[:10], "uint8")
    rows = Rows(M, pre)
    before, peak = _file_pages_mib(), 0.0
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    for batch in order.split(64):
        assert torch.equal(rows[batch], pre.to_tensor(X[batch.numpy()]))
        peak = max(peak, _file_pages_mib() - before)
    assert peak < 2, f"{peak:.1f} MiB of the 40 MiB file was mapped"


def test_views_and_copy_on_write_maps_are_read_through_the_mapping(tmp_path, digit_images):
    from ganclust.rows import _file_of

    pre = Preprocessor.fit(digit_images, "uint8")
    M = mapped(tmp_path, digit_images)
    assert _file_of(M)[:2] == (str(tmp_path / "X.npy"), 128) and _file_of(np.asarray(M))
    copy_on_write = np.load(tmp_path / "X.npy", mmap_mode="c")
    copy_on_write[0] = 255  # only the mapping holds this write
    for source in (M[10:], M[::2], copy_on_write):
        assert _file_of(source) is None
        index = torch.tensor([5, 0, 5, 40])
        assert torch.equal(Rows(source, pre)[index], pre.to_tensor(np.asarray(source)[index]))


def test_rows_take_negative_positions_and_refuse_those_out_of_range(tmp_path, digit_images):
    pre = Preprocessor.fit(digit_images, "uint8")
    whole = pre.to_tensor(digit_images)
    for source in (mapped(tmp_path, digit_images), SliceOnly(digit_images)):
        rows = Rows(source, pre)
        assert torch.equal(rows[torch.tensor([-1, 0, -300])], whole[[299, 0, 0]])
        for bad in ([300], [-301], [2, 5000]):
            with pytest.raises(IndexError, match="row index out of range for 300 rows"):
                rows[np.array(bad)]


@pytest.mark.parametrize("dtype", [">f4", "<f8", "u1"])
def test_file_reads_honour_the_offset_and_byte_order(tmp_path, dtype):
    from ganclust.rows import _file_of

    values = np.random.default_rng(0).normal(size=(70, 3, 5)).astype(dtype)
    path = tmp_path / "raw.bin"
    path.write_bytes(b"x" * 5001 + values.tobytes())  # an offset that is not page-aligned
    source = np.memmap(path, dtype=dtype, mode="r", offset=5001, shape=values.shape)
    assert _file_of(source)[:2] == (str(path), 5001)
    pre = Preprocessor.fit(values, "float")
    index = torch.tensor([69, 3, 4, 5, 3, 0])
    assert torch.equal(Rows(source, pre)[index], pre.to_tensor(values)[index])
    assert torch.equal(Rows(source, pre)[10:13], pre.to_tensor(values)[10:13])


def test_a_replaced_file_is_read_through_the_mapping_it_was_mapped_from(tmp_path, digit_images):
    pre = Preprocessor.fit(digit_images, "uint8")
    rows = Rows(mapped(tmp_path, digit_images), pre)
    (tmp_path / "X.npy").rename(tmp_path / "old.npy")
    np.save(tmp_path / "X.npy", np.zeros_like(digit_images))  # another file at the same path
    assert torch.equal(rows[torch.tensor([4, 1])], pre.to_tensor(digit_images[[4, 1]]))
