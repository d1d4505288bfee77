//! How a generated material writes its FNumber, name, mnemonic code, specification and
//! weights: the realistic text (Chinese names, specifications with stray spaces) of the data
//! set, apart from the timeline and allocation logic of [`super::generate`].

use std::fmt::Write as _;

use super::tables::{GROUPS, Kind, ODD_NAMES, PREFIXES, SpecShape, UNIT_KG};
use crate::rng::Rng;

const SUFFIXES: &[&str] = &["（A级）", "（加厚）", "标准型", "改良型", "（通用）", "-H"];

/// `1.01.000123`: the group's code without its leading zero, then a serial per master.
pub fn number_of(out: &mut String, group: usize, index: usize) {
    let code = if group == 0 {
        "09.99"
    } else {
        GROUPS[group].number
    };
    let (top, sub) = code.split_once('.').unwrap_or((code, "00"));
    let _ = write!(
        out,
        "{}.{sub}.{:06}",
        top.trim_start_matches('0'),
        index + 1
    );
}

pub fn name_of(kind: &Kind, rng: &mut Rng) -> (String, String) {
    if rng.chance(0.005) {
        return ((*rng.pick(ODD_NAMES)).to_owned(), "QT".to_owned());
    }
    let (prefix, initials) = *rng.pick(PREFIXES);
    let mut name = format!("{prefix}{}", kind.word);
    if rng.chance(0.2) {
        name.push_str(rng.pick::<&str>(SUFFIXES));
    }
    (name, format!("{initials}{}", kind.initials))
}

pub fn spec_of(out: &mut String, shape: SpecShape, rng: &mut Rng) {
    if rng.chance(0.08) {
        return;
    }
    let start = out.len();
    let n = |rng: &mut Rng, lo: i64, hi: i64| rng.range(lo, hi);
    let _ = match shape {
        SpecShape::Metric => write!(out, "M{}*{}", n(rng, 2, 24), n(rng, 4, 120)),
        SpecShape::Washer => write!(out, "Φ{}*{}*{}", n(rng, 3, 30), n(rng, 6, 60), n(rng, 1, 5)),
        SpecShape::Bearing => write!(out, "6{:03}-2RS", n(rng, 200, 312)),
        SpecShape::Resistor => write!(out, "{}KΩ ±1% 0603", n(rng, 1, 470)),
        SpecShape::Capacitor => write!(out, "{}uF/{}V", n(rng, 1, 1000), n(rng, 6, 450)),
        SpecShape::Part => write!(out, "HF-{}", n(rng, 100, 999)),
        SpecShape::Sheet => write!(out, "{}mm*1250*2500", n(rng, 1, 20)),
        SpecShape::Wire => write!(out, "Φ{}.{}mm", n(rng, 0, 6), n(rng, 1, 9)),
        SpecShape::Profile => write!(out, "{0}*{0}*{1}", n(rng, 20, 80), n(rng, 1, 4)),
        SpecShape::Volume => write!(out, "{}L/桶", n(rng, 1, 200)),
        SpecShape::Gear => write!(out, "m{} z{}", n(rng, 1, 8), n(rng, 12, 120)),
        SpecShape::Flange => write!(out, "DN{} PN16", n(rng, 1, 30) * 10),
        SpecShape::Motor => write!(out, "{}kW 380V", n(rng, 1, 90)),
        SpecShape::Carton => write!(
            out,
            "{}*{}*{}mm",
            n(rng, 100, 800),
            n(rng, 100, 600),
            n(rng, 50, 500)
        ),
        SpecShape::Label => write!(out, "{}*{}mm", n(rng, 20, 100), n(rng, 10, 80)),
        SpecShape::Tape => write!(out, "{}mm*{}m", n(rng, 10, 60), n(rng, 10, 100)),
    };
    // A few specifications carry the stray spaces that make a trim() in the mapping matter.
    match rng.below(100) {
        0 => out.insert(start, ' '),
        1 => out.push_str("  "),
        2 => {
            if let Some(i) = out[start..].find('*') {
                out.insert_str(start + i, "  ");
            }
        }
        _ => {}
    }
}

/// Net and gross weight in kilograms with three decimals; gross is never below net.
pub fn weights_of(unit: usize, rng: &mut Rng) -> (f64, f64) {
    if rng.chance(0.03) {
        return (0.0, 0.0);
    }
    let net = if unit == UNIT_KG {
        rng.range(500, 500_000)
    } else {
        rng.range(1, 20_000)
    };
    let gross = net + rng.range(0, net / 7);
    (net as f64 / 1000.0, gross as f64 / 1000.0)
}
