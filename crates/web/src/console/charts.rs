//! Bar charts drawn on the server as inline SVG: readable without JavaScript, styled by classes
//! of the stylesheet only (the CSP forbids style attributes), each named for assistive
//! technologies and always followed on the page by a table holding the same figures.

use serde::Serialize;

const WIDTH: u32 = 680;
const LABEL_WIDTH: u32 = 270;
/// Room kept right of the longest bar for its value.
const VALUE_ROOM: u32 = 70;
const ROW: u32 = 30;
const BAR: u32 = 20;
const PADDING: u32 = 10;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Bar {
    pub label: String,
    pub value: i64,
    pub y: u32,
    pub text_y: u32,
    pub width: u32,
    pub value_x: u32,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct BarChart {
    pub id: &'static str,
    pub title: String,
    pub description: String,
    pub width: u32,
    pub height: u32,
    pub label_x: u32,
    pub bar_x: u32,
    pub bar_height: u32,
    pub bars: Vec<Bar>,
}

/// Horizontal bars, one per `(label, value)`, scaled to the largest value.
pub(crate) fn horizontal(
    id: &'static str,
    title: String,
    description: String,
    data: &[(String, i64)],
) -> BarChart {
    let max = data.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let area = WIDTH - LABEL_WIDTH - VALUE_ROOM;
    let bars = data
        .iter()
        .zip(0u32..)
        .map(|((label, value), i)| {
            let scaled = (*value).max(0).saturating_mul(i64::from(area)) / max;
            let width = u32::try_from(scaled).unwrap_or(area);
            let y = PADDING + i * ROW;
            Bar {
                label: label.clone(),
                value: *value,
                y,
                text_y: y + BAR - 5,
                width,
                value_x: LABEL_WIDTH + width + 6,
            }
        })
        .collect::<Vec<_>>();
    let rows = u32::try_from(bars.len()).unwrap_or(0);
    BarChart {
        id,
        title,
        description,
        width: WIDTH,
        height: 2 * PADDING + rows * ROW,
        label_x: LABEL_WIDTH - 8,
        bar_x: LABEL_WIDTH,
        bar_height: BAR,
        bars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_value() {
        let chart = horizontal(
            "c",
            "t".into(),
            "d".into(),
            &[("a".into(), 10), ("b".into(), 5), ("z".into(), 0)],
        );
        assert_eq!(chart.bars[0].width, WIDTH - LABEL_WIDTH - VALUE_ROOM);
        assert_eq!(chart.bars[1].width, chart.bars[0].width / 2);
        assert_eq!(chart.bars[2].width, 0);
        assert_eq!(chart.height, 2 * PADDING + 3 * ROW);
        let empty = horizontal("e", "t".into(), "d".into(), &[]);
        assert!(empty.bars.is_empty());
    }
}
