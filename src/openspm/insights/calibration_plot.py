"""The reliability diagram of a hold-out evaluation as a standalone SVG document.

Input: an `Evaluation` (win_probability.evaluate). Output: SVG text, 840 × 520 px: predicted P(win) on x, the
observed win rate on y, both 0..1; the diagonal is perfect calibration; one line per predictor (the calibrated
model, the uncalibrated regression, the stage rates, the CRM's probability) through its bins' (mean predicted,
observed) points, each point's area growing with the rows in its bin; the metrics under the title.
"""

from __future__ import annotations

from html import escape

from openspm.insights.win_probability import Evaluation

WIDTH, HEIGHT = 840, 520
LEFT, TOP, SIZE = 70, 70, 380  # the square plot area
COLORS = {"model": "#2f5bd3", "uncalibrated": "#9fb4ea", "stage": "#1e8a4c", "crm": "#c0392b"}
LABELS = {
    "model": "model (calibrated)",
    "uncalibrated": "model (uncalibrated)",
    "stage": "stage history",
    "crm": "CRM probability",
    "base rate": "base rate",
}


def _x(p: float) -> float:
    return LEFT + p * SIZE


def _y(p: float) -> float:
    return TOP + SIZE - p * SIZE


def reliability_svg(evaluation: Evaluation) -> str:
    """The diagram as an SVG document (UTF-8 text, no external references)."""
    e = evaluation
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
        f'<text x="{LEFT}" y="24" font-size="16" font-weight="bold">'
        "Win probability: reliability on the hold-out</text>",
        f'<text x="{LEFT}" y="44" fill="#555">trained on {e.train_deals} deals closed before {e.cut}, tested on '
        f"{e.test_deals} closed from then on ({e.test_rows} stage rows)</text>",
    ]
    for k in range(11):  # grid and ticks
        v = k / 10
        parts.append(f'<line x1="{_x(v)}" y1="{TOP}" x2="{_x(v)}" y2="{TOP + SIZE}" stroke="#eee"/>')
        parts.append(f'<line x1="{LEFT}" y1="{_y(v)}" x2="{LEFT + SIZE}" y2="{_y(v)}" stroke="#eee"/>')
        parts.append(f'<text x="{_x(v)}" y="{TOP + SIZE + 16}" text-anchor="middle">{v:.1f}</text>')
        parts.append(f'<text x="{LEFT - 8}" y="{_y(v) + 4}" text-anchor="end">{v:.1f}</text>')
    parts += [
        f'<rect x="{LEFT}" y="{TOP}" width="{SIZE}" height="{SIZE}" fill="none" stroke="#999"/>',
        f'<line x1="{_x(0)}" y1="{_y(0)}" x2="{_x(1)}" y2="{_y(1)}" stroke="#999" stroke-dasharray="4 4"/>',
        f'<text x="{LEFT + SIZE / 2}" y="{TOP + SIZE + 36}" text-anchor="middle">predicted P(win)</text>',
        f'<text transform="translate({LEFT - 44} {TOP + SIZE / 2}) rotate(-90)" text-anchor="middle">'
        "observed win rate</text>",
    ]
    most = max((b.rows for bins in e.bins.values() for b in bins), default=1)
    for name, bins in e.bins.items():
        color = COLORS.get(name, "#555")
        points = " ".join(f"{_x(b.predicted):.1f},{_y(b.observed):.1f}" for b in bins)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        for b in bins:
            radius = 2.5 + 5.5 * (b.rows / most) ** 0.5
            parts.append(
                f'<circle cx="{_x(b.predicted):.1f}" cy="{_y(b.observed):.1f}" r="{radius:.1f}" fill="{color}">'
                f"<title>{escape(LABELS.get(name, name))}: {b.rows} rows, predicted {b.predicted:.3f}, "
                f"observed {b.observed:.3f}</title></circle>"
            )
    # legend with metrics, to the right of the plot
    x0, y0 = LEFT + SIZE + 24, TOP + 6
    parts.append(f'<text x="{x0}" y="{y0}" font-weight="bold">predictor</text>')
    parts.append(f'<text x="{x0 + 215}" y="{y0}" font-weight="bold" text-anchor="end">Brier</text>')
    parts.append(f'<text x="{x0 + 270}" y="{y0}" font-weight="bold" text-anchor="end">AUC</text>')
    for i, metric in enumerate(e.metrics):
        y = y0 + 22 * (i + 1)
        color = COLORS.get(metric.name, "#555")
        parts.append(f'<rect x="{x0}" y="{y - 9}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{x0 + 16}" y="{y}">{escape(LABELS.get(metric.name, metric.name))}</text>')
        parts.append(f'<text x="{x0 + 215}" y="{y}" text-anchor="end">{metric.brier:.4f}</text>')
        auc = f"{metric.auc:.3f}" if metric.auc is not None else "—"
        parts.append(f'<text x="{x0 + 270}" y="{y}" text-anchor="end">{auc}</text>')
    parts.append(
        f'<text x="{x0}" y="{y0 + 22 * (len(e.metrics) + 2)}" fill="#555">lower Brier is better; '
        f"base rate {e.base_rate:.3f}</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
