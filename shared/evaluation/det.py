"""DET curves (false rejects against false accepts on normal-deviate axes): drawn, saved, sampled for the report.

Plotting needs the ``eval`` extra (matplotlib); without it the PNG is skipped with a note.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SPEAKER_AXES = ("false-accept rate (%)", "false-reject rate (%)")
PAD_AXES = ("APCER: attacks accepted as live (%)", "BPCER: live speech called an attack (%)")
TICKS = [0.1, 0.5, 1, 2, 5, 10, 20, 40]
WIDE_TICKS = TICKS + [60, 80, 95]  # detectors far from good (a spoof detector on unseen attacks)


def det_warp(rates_percent, top: float = 0.5) -> np.ndarray:
    """Rates in percent on the DET's normal-deviate axis (clipped to 0.05 % and ``top``)."""
    from scipy.stats import norm

    return norm.ppf(np.clip(np.asarray(rates_percent, float) / 100, 5e-4, top))


def draw_det(ax, curves: dict[str, tuple], title: str = "", axes: tuple[str, str] = SPEAKER_AXES,
             ticks: list[float] = TICKS) -> None:
    """DET curves of one or more systems (x rates, y rates) on normal-deviate axes, ticks in percent."""
    top = max(ticks) / 100
    for name, (far, frr) in curves.items():
        ax.plot(det_warp(far, top), det_warp(frr, top), label=name)
    pos = det_warp(ticks, top)
    ax.set_xticks(pos, [str(t) for t in ticks])
    ax.set_yticks(pos, [str(t) for t in ticks])
    ax.set_xlim(pos[0], pos[-1])
    ax.set_ylim(pos[0], pos[-1])
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)


def save_det(path: Path, curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str, **style) -> bool:
    """A DET plot (normal-deviate axes) of one or more systems; False when matplotlib is not installed.

    ``style``: :func:`draw_det`'s ``axes`` and ``ticks``.
    """
    try:
        import matplotlib
    except ImportError:
        return False

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    draw_det(ax, curves, title, **style)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def det_sample(far: np.ndarray, frr: np.ndarray, points: int = 300) -> dict[str, list[float]]:
    """At most ``points`` (FAR %, FRR %) pairs of a DET curve, evenly along it, ends kept (for the report)."""
    keep = np.unique(np.linspace(0, len(far) - 1, min(points, len(far))).round().astype(int))
    return {"far": [round(float(v), 4) for v in far[keep]], "frr": [round(float(v), 4) for v in frr[keep]]}
