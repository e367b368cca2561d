"""AASIST (Jung et al., ICASSP 2022, arXiv 2110.01200): the published anti-spoofing network, written here.

Raw 16 kHz waveform in (64,600 samples, 4.04 s), two logits out (index 0 spoof, 1 bona fide).
The network, in the order the data flows:

1. **Sinc front end**: 70 fixed band-pass filters (129 taps, Hamming-windowed ideal band-pass,
   band edges equally spaced on the mel scale up to 8 kHz), not trained, so not in the weights;
   ``|x|``, 3x3 max-pooling, batch norm, SELU: a (filters x frames) "spectrogram".
2. **Encoder**: six residual blocks of 2-D convolutions, each followed by (1, 3) max-pooling in time.
   As published, a block's pre-activation (``bn1`` + SELU) is computed but the first convolution
   reads the block's input; the weights were trained that way, so it is kept.
3. **Two graphs**: the encoder output maxed over time gives one node per frequency band (spectral
   graph, with a learned position code), maxed over frequency one node per time step (temporal
   graph). Each goes through a graph attention layer and a top-k graph pooling.
4. **Heterogeneous stacking**: two branches, each two heterogeneous graph attention layers over the
   spectral and temporal nodes together with a learned master node, pooling in between; the
   branches are joined by an element-wise maximum.
5. **Read-out**: max of |nodes| and mean of nodes of each graph, and the master node, into a linear layer.

The weights' names and shapes (``../shared/models/aasist/AASIST.pth``, ``AASIST-L.pth``) pin this down;
:func:`load` reads them strictly, and ``tests/integration/test_liveness_aasist.py`` reproduces the
original implementation's scores on kit clips to 1e-3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

SAMPLE_RATE = 16_000
INPUT_SAMPLES = 64_600


@dataclass(frozen=True)
class Config:
    """The ``model_config`` of the authors' ``.conf`` files."""

    first_conv: int = 128  # sinc filter length (made odd: 129)
    filts: tuple = (70, (1, 32), (32, 32), (32, 64), (64, 64))
    gat_dims: tuple = (64, 32)
    pool_ratios: tuple = (0.5, 0.7, 0.5, 0.5)
    temperatures: tuple = (2.0, 2.0, 100.0, 100.0)
    nb_samp: int = INPUT_SAMPLES

    @classmethod
    def read(cls, path: Path) -> Config:
        conf = json.loads(Path(path).read_text())["model_config"]
        return cls(first_conv=conf["first_conv"], filts=tuple(conf["filts"]), gat_dims=tuple(conf["gat_dims"]),
                   pool_ratios=tuple(conf["pool_ratios"]), temperatures=tuple(conf["temperatures"]),
                   nb_samp=conf["nb_samp"])


def _mel(hz: np.ndarray) -> np.ndarray:
    return 2595 * np.log10(1 + hz / 700)


def _hz(mel: np.ndarray) -> np.ndarray:
    return 700 * (10 ** (mel / 2595) - 1)


def sinc_filters(count: int, length: int, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """``count`` band-pass filters of ``length`` taps (odd), band edges equally spaced in mel from 0 to Nyquist.

    The band edges come from the mel values of a 512-point FFT's bin frequencies, as published.
    """
    length += 1 - length % 2
    bins = (sample_rate // 2) * np.linspace(0, 1, 512 // 2 + 1)
    edges = _hz(np.linspace(_mel(bins).min(), _mel(bins).max(), count + 1))
    taps = np.arange(-(length - 1) / 2, (length - 1) / 2 + 1)
    window = np.hamming(length)
    bank = np.zeros((count, length), np.float32)
    for i, (low, high) in enumerate(zip(edges[:-1], edges[1:])):
        ideal = (2 * high / sample_rate) * np.sinc(2 * high * taps / sample_rate) \
            - (2 * low / sample_rate) * np.sinc(2 * low * taps / sample_rate)
        bank[i] = (window * ideal).astype(np.float32)  # float32 products, as the authors' Tensor(...) * Tensor(...)
    return torch.from_numpy(bank)


class SincFrontEnd(nn.Module):
    """Fixed sinc filter bank over the waveform (a buffer, not a parameter: the weights do not hold it)."""

    def __init__(self, count: int, length: int):
        super().__init__()
        self.register_buffer("filters", sinc_filters(count, length).unsqueeze(1), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:  # (batch, samples) -> (batch, filters, frames)
        return F.conv1d(wave.unsqueeze(1), self.filters)


class ResidualBlock(nn.Module):
    """Two (2, 3) convolutions with a residual path, then (1, 3) max-pooling in time."""

    def __init__(self, channels_in: int, channels_out: int, first: bool = False):
        super().__init__()
        self.first = first
        if not first:
            self.bn1 = nn.BatchNorm2d(channels_in)
        self.conv1 = nn.Conv2d(channels_in, channels_out, kernel_size=(2, 3), padding=(1, 1))
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, kernel_size=(2, 3), padding=(0, 1))
        self.downsample = channels_in != channels_out
        if self.downsample:
            self.conv_downsample = nn.Conv2d(channels_in, channels_out, kernel_size=(1, 3), padding=(0, 1))
        self.pool = nn.MaxPool2d((1, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.selu(self.bn2(self.conv1(x)))  # conv1 reads x, as trained (see the module docstring)
        out = self.conv2(out)
        identity = self.conv_downsample(x) if self.downsample else x
        return self.pool(out + identity)


def _pairwise(x: torch.Tensor) -> torch.Tensor:
    """(batch, nodes, dim) -> (batch, nodes, nodes, dim): the product of every pair of nodes."""
    n = x.size(1)
    expanded = x.unsqueeze(2).expand(-1, -1, n, -1)
    return expanded * expanded.transpose(1, 2)


def _node_bn(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    return bn(x.reshape(-1, x.size(-1))).view(x.size())


class GraphAttention(nn.Module):
    """Graph attention over all pairs of nodes of one graph (GAT), with a temperature on the attention."""

    def __init__(self, dim_in: int, dim_out: int, temperature: float):
        super().__init__()
        self.att_proj = nn.Linear(dim_in, dim_out)
        self.att_weight = nn.Parameter(torch.zeros(dim_out, 1))
        self.proj_with_att = nn.Linear(dim_in, dim_out)
        self.proj_without_att = nn.Linear(dim_in, dim_out)
        self.bn = nn.BatchNorm1d(dim_out)
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        att = torch.tanh(self.att_proj(_pairwise(x))) @ self.att_weight
        att = F.softmax(att / self.temperature, dim=-2).squeeze(-1)
        x = self.proj_with_att(att @ x) + self.proj_without_att(x)
        return F.selu(_node_bn(self.bn, x))


class HeteroGraphAttention(nn.Module):
    """Graph attention over two node types at once (HS-GAL), and a master node that attends to all of them."""

    def __init__(self, dim_in: int, dim_out: int, temperature: float):
        super().__init__()
        self.proj_type1 = nn.Linear(dim_in, dim_in)
        self.proj_type2 = nn.Linear(dim_in, dim_in)
        self.att_proj = nn.Linear(dim_in, dim_out)
        self.att_projM = nn.Linear(dim_in, dim_out)
        self.att_weight11 = nn.Parameter(torch.zeros(dim_out, 1))
        self.att_weight22 = nn.Parameter(torch.zeros(dim_out, 1))
        self.att_weight12 = nn.Parameter(torch.zeros(dim_out, 1))
        self.att_weightM = nn.Parameter(torch.zeros(dim_out, 1))
        self.proj_with_att = nn.Linear(dim_in, dim_out)
        self.proj_without_att = nn.Linear(dim_in, dim_out)
        self.proj_with_attM = nn.Linear(dim_in, dim_out)
        self.proj_without_attM = nn.Linear(dim_in, dim_out)
        self.bn = nn.BatchNorm1d(dim_out)
        self.temperature = temperature

    def _attention(self, x: torch.Tensor, n1: int) -> torch.Tensor:
        """Attention between every pair of nodes, with one weight vector per pair of node types."""
        pairs = torch.tanh(self.att_proj(_pairwise(x)))
        same1, same2, cross = pairs @ self.att_weight11, pairs @ self.att_weight22, pairs @ self.att_weight12
        first = torch.zeros_like(same1, dtype=torch.bool)
        first[:, :n1, :n1] = True
        second = torch.zeros_like(first)
        second[:, n1:, n1:] = True
        att = torch.where(first, same1, torch.where(second, same2, cross))
        return F.softmax(att / self.temperature, dim=-2).squeeze(-1)

    def _master(self, x: torch.Tensor, master: torch.Tensor) -> torch.Tensor:
        att = torch.tanh(self.att_projM(x * master)) @ self.att_weightM
        att = F.softmax(att / self.temperature, dim=-2).squeeze(-1)
        return self.proj_with_attM(att.unsqueeze(1) @ x) + self.proj_without_attM(master)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, master: torch.Tensor):
        n1 = x1.size(1)
        x = torch.cat([self.proj_type1(x1), self.proj_type2(x2)], dim=1)
        att = self._attention(x, n1)
        master = self._master(x, master)
        x = self.proj_with_att(att @ x) + self.proj_without_att(x)
        x = F.selu(_node_bn(self.bn, x))
        return x[:, :n1], x[:, n1:], master


class GraphPool(nn.Module):
    """Keep the top ``ratio`` of nodes by a learned sigmoid score, each scaled by its score."""

    def __init__(self, ratio: float, dim: int):
        super().__init__()
        self.ratio = ratio
        self.proj = nn.Linear(dim, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        scores = torch.sigmoid(self.proj(h))
        keep = max(int(h.size(1) * self.ratio), 1)
        _, idx = torch.topk(scores, keep, dim=1)
        return torch.gather(h * scores, 1, idx.expand(-1, -1, h.size(2)))


class AASIST(nn.Module):
    """The whole network; :meth:`forward` returns (read-out features, logits [spoof, bona fide])."""

    def __init__(self, config: Config = Config()):
        super().__init__()
        filts, dims, ratios, temps = config.filts, config.gat_dims, config.pool_ratios, config.temperatures
        self.front = SincFrontEnd(filts[0], config.first_conv)
        self.first_bn = nn.BatchNorm2d(1)
        blocks = [filts[1], filts[2], filts[3], filts[4], filts[4], filts[4]]
        self.encoder = nn.Sequential(*(nn.Sequential(ResidualBlock(a, b, first=i == 0))
                                       for i, (a, b) in enumerate(blocks)))
        spectral_nodes = self._spectral_nodes(filts[0])
        self.pos_S = nn.Parameter(torch.zeros(1, spectral_nodes, filts[-1][-1]))
        self.master1 = nn.Parameter(torch.zeros(1, 1, dims[0]))
        self.master2 = nn.Parameter(torch.zeros(1, 1, dims[0]))
        self.GAT_layer_S = GraphAttention(filts[-1][-1], dims[0], temps[0])
        self.GAT_layer_T = GraphAttention(filts[-1][-1], dims[0], temps[1])
        self.HtrgGAT_layer_ST11 = HeteroGraphAttention(dims[0], dims[1], temps[2])
        self.HtrgGAT_layer_ST12 = HeteroGraphAttention(dims[1], dims[1], temps[2])
        self.HtrgGAT_layer_ST21 = HeteroGraphAttention(dims[0], dims[1], temps[2])
        self.HtrgGAT_layer_ST22 = HeteroGraphAttention(dims[1], dims[1], temps[2])
        self.pool_S = GraphPool(ratios[0], dims[0])
        self.pool_T = GraphPool(ratios[1], dims[0])
        self.pool_hS1 = GraphPool(ratios[2], dims[1])
        self.pool_hT1 = GraphPool(ratios[2], dims[1])
        self.pool_hS2 = GraphPool(ratios[2], dims[1])
        self.pool_hT2 = GraphPool(ratios[2], dims[1])
        self.out_layer = nn.Linear(5 * dims[1], 2)

    @staticmethod
    def _spectral_nodes(filters: int) -> int:
        return filters // 3  # the 3x3 max-pooling after the front end; the encoder keeps the band count

    def _branch(self, first: nn.Module, second: nn.Module, pool_s: nn.Module, pool_t: nn.Module,
                out_t: torch.Tensor, out_s: torch.Tensor, master: torch.Tensor):
        t1, s1, m1 = first(out_t, out_s, master=master)
        s1, t1 = pool_s(s1), pool_t(t1)
        t_aug, s_aug, m_aug = second(t1, s1, master=m1)
        return t1 + t_aug, s1 + s_aug, m1 + m_aug

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.max_pool2d(torch.abs(self.front(wave)).unsqueeze(1), (3, 3))
        e = self.encoder(F.selu(self.first_bn(x)))  # (batch, channels, bands, frames)
        e_s = torch.max(torch.abs(e), dim=3).values.transpose(1, 2) + self.pos_S
        out_s = self.pool_S(self.GAT_layer_S(e_s))
        e_t = torch.max(torch.abs(e), dim=2).values.transpose(1, 2)
        out_t = self.pool_T(self.GAT_layer_T(e_t))
        t1, s1, m1 = self._branch(self.HtrgGAT_layer_ST11, self.HtrgGAT_layer_ST12, self.pool_hS1, self.pool_hT1,
                                  out_t, out_s, self.master1)
        t2, s2, m2 = self._branch(self.HtrgGAT_layer_ST21, self.HtrgGAT_layer_ST22, self.pool_hS2, self.pool_hT2,
                                  out_t, out_s, self.master2)
        out_t, out_s, master = torch.maximum(t1, t2), torch.maximum(s1, s2), torch.maximum(m1, m2)
        hidden = torch.cat([torch.max(torch.abs(out_t), dim=1).values, out_t.mean(dim=1),
                            torch.max(torch.abs(out_s), dim=1).values, out_s.mean(dim=1), master.squeeze(1)], dim=1)
        return hidden, self.out_layer(hidden)


def load(weights: Path, config: Config | Path | None = None, device: str = "cpu") -> AASIST:
    """The network with the published weights, read strictly (a missing or unexpected tensor is an error)."""
    if isinstance(config, (str, Path)):
        config = Config.read(Path(config))
    model = AASIST(config or Config())
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


def crop(samples: np.ndarray, length: int = INPUT_SAMPLES) -> np.ndarray:
    """The first ``length`` samples; a shorter clip is repeated to fill them (as the authors evaluate)."""
    samples = np.asarray(samples, np.float32)
    if len(samples) >= length:
        return samples[:length]
    return np.tile(samples, length // max(len(samples), 1) + 1)[:length]


@torch.inference_mode()
def score(model: AASIST, samples: np.ndarray) -> float:
    """Bona fide logit minus spoof logit of one 16 kHz clip (higher: more like live speech)."""
    wave = torch.from_numpy(crop(samples)).unsqueeze(0).to(next(model.parameters()).device)
    logits = model(wave)[1][0]
    return float(logits[1] - logits[0])
