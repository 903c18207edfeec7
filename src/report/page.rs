//! What every HTML page ecmguard writes shares (the HTML report and the
//! `history --format html` page): the `<meta>` lines of the head, the base
//! stylesheet (colours for light and dark schemes, banner, cards, tables,
//! charts, badges), the number format of SVG coordinates and the round
//! tick values of a chart's axis. Each page adds only the styles of its own
//! parts.

use maud::{Markup, html};

/// The `<meta>` lines every page starts its head with.
pub(crate) fn head_meta() -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        meta name="generator" content=(format!("ecmguard {}", env!("CARGO_PKG_VERSION")));
    }
}

/// Coordinates with one decimal: enough for a screen, stable in snapshots
/// (none when whole).
pub(crate) fn num(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// Up to five round tick values from 0 to `max`: the smallest step of the
/// series 1, 2, 2.5 (from 25 on, so ticks stay whole), 5 times a power of
/// ten that needs at most four steps to reach `max`.
pub(crate) fn ticks(max: u64) -> Vec<u64> {
    let mut power: u64 = 1;
    let step = loop {
        let candidates = [
            Some(power),
            Some(power.saturating_mul(2)),
            (power >= 10).then(|| (power / 2).saturating_mul(5)),
            Some(power.saturating_mul(5)),
        ];
        if let Some(step) = candidates
            .into_iter()
            .flatten()
            .find(|step| max / step <= 4)
        {
            break step;
        }
        match power.checked_mul(10) {
            Some(next) => power = next,
            // Past u64's last power of ten one step is the whole axis.
            None => break max.max(1),
        }
    };
    (0..=max / step).map(|i| i * step).collect()
}

/// The stylesheet both pages start with.
pub(crate) const BASE_CSS: &str = r#"
:root {
  --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --panel: #f6f8fa; --line: #d1d9e0;
  --error: #cf222e; --warning: #bf8700; --info: #0969da; --pass: #1a7f37;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --panel: #151b23; --line: #3d444d;
    --error: #f85149; --warning: #d29922; --info: #4493f8; --pass: #3fb950;
  }
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 20px 32px; color: #fff; }
header.fail { background: linear-gradient(90deg, #a40e26, #cf222e); }
header.pass { background: linear-gradient(90deg, #116329, #1a7f37); }
header h1 { margin: 0; font-size: 22px; font-weight: 600; }
header .meta { margin: 4px 0 0; opacity: .9; }
main { max-width: 1240px; margin: 0 auto; padding: 16px 32px 32px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin: 8px 0 20px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card.bad { border-left: 4px solid var(--error); }
.card.good { border-left: 4px solid var(--pass); }
.card .figure { display: block; font-size: 24px; font-weight: 650; }
.card .label { color: var(--muted); font-size: 12px; }
figure { margin: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
svg.chart { width: 100%; height: auto; display: block; }
svg text { font-size: 11px; fill: var(--fg); }
svg text.axis { fill: var(--muted); font-size: 10.5px; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .axis-line { stroke: var(--muted); stroke-width: 1; }
.seg.sev-error, .swatch.sev-error { fill: var(--error); background: var(--error); }
.seg.sev-warning, .swatch.sev-warning { fill: var(--warning); background: var(--warning); }
.seg.sev-info, .swatch.sev-info { fill: var(--info); background: var(--info); }
.legend { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 8px; vertical-align: -1px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
table { width: 100%; border-collapse: collapse; margin: 6px 0 10px; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
th { background: var(--panel); font-weight: 600; font-size: 12px; color: var(--muted); }
th.n, td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.msg, td.name { white-space: pre-wrap; overflow-wrap: anywhere; }
td.id, td code, td.date { white-space: nowrap; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--panel); padding: 1px 4px; border-radius: 4px; }
.where { color: var(--muted); font-size: 12px; }
.tag { border: 1px solid var(--line); border-radius: 10px; padding: 0 6px; font-size: 11px; }
.pill, .sev, .status { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px; font-weight: 600; color: #fff; }
.pill.fail { background: var(--error); } .pill.pass { background: var(--pass); }
.sev.sev-error { background: var(--error); } .sev.sev-warning { background: var(--warning); } .sev.sev-info { background: var(--info); }
.more, .empty { color: var(--muted); font-style: italic; }
footer { max-width: 1240px; margin: 0 auto; padding: 12px 32px 32px; color: var(--muted); font-size: 12px; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_at_most_five() {
        assert_eq!(ticks(0), [0]);
        assert_eq!(ticks(1), [0, 1]);
        assert_eq!(ticks(4), [0, 1, 2, 3, 4]);
        assert_eq!(ticks(5), [0, 2, 4]);
        assert_eq!(ticks(100), [0, 25, 50, 75, 100]);
        assert_eq!(ticks(9_000), [0, 2_000, 4_000, 6_000, 8_000]);
        assert_eq!(ticks(12_000), [0, 2_500, 5_000, 7_500, 10_000]);
        assert_eq!(ticks(1_000_000), [0, 250_000, 500_000, 750_000, 1_000_000]);
        assert_eq!(ticks(u64::MAX).len(), 4);
        for max in (0..5_000).chain([123_456_789, 987_654_321_000]) {
            let ticks = ticks(max);
            assert!(ticks.len() <= 5 && ticks[0] == 0, "{max}: {ticks:?}");
            assert!(
                ticks.last().is_some_and(|&last| last <= max),
                "{max}: {ticks:?}"
            );
        }
    }

    #[test]
    fn coordinates_have_one_decimal_at_most() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(2.71), "2.7");
        assert_eq!(num(12.25), "12.3");
    }
}
