//! Text → number conversions behind the mapping functions (`to_int`, `to_decimal`): hand-written
//! byte parsers, because they run once per record per column. Dates are read by
//! [`crate::record::parse_datetime`].

use std::num::ParseIntError;

/// Largest decimal exponent accepted (`1e300` becomes 301 digits; more is a mistake, not data).
const MAX_EXPONENT: i64 = 1000;

/// An integer from text: surrounding whitespace is ignored and a zero fraction (`"4.000"`, as
/// Kingdee writes quantities) is accepted; `"4.2"` is not an integer.
pub(super) fn parse_int(text: &str) -> Result<i64, ParseIntError> {
    let text = text.trim();
    let whole = match text.split_once('.') {
        Some((whole, fraction))
            if !whole.is_empty() && !fraction.is_empty() && fraction.bytes().all(|b| b == b'0') =>
        {
            whole
        }
        _ => text,
    };
    whole.parse()
}

/// A decimal number in canonical plain notation, or `None` when `text` is not one.
///
/// Accepts an optional sign, digits with an optional `.`, and an optional exponent (`1e-7`, as
/// JSON writers print small floats). The result has no exponent, no leading zeros and no `-0`.
/// With `scale`, the fraction is rounded half away from zero (like MySQL) and padded to exactly
/// `scale` digits (`"0.125"`, 4 → `"0.1250"`); without it, trailing fraction zeros are dropped.
pub(super) fn normalize_decimal(text: &str, scale: Option<usize>) -> Option<String> {
    let text = text.trim();
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], unsigned[i + 1..].parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    if exponent.abs() > MAX_EXPONENT {
        return None;
    }
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // All digits, and where the decimal point falls among them after the exponent.
    let mut all: Vec<u8> = whole.bytes().chain(fraction.bytes()).collect();
    let mut point = i64::try_from(whole.len()).ok()? + exponent;
    if point < 0 {
        let pad = usize::try_from(-point).ok()?;
        all.splice(0..0, std::iter::repeat_n(b'0', pad));
        point = 0;
    }
    let point = usize::try_from(point).ok()?;
    if point > all.len() {
        all.resize(point, b'0');
    }
    let (mut int_digits, mut frac_digits) = (all[..point].to_vec(), all[point..].to_vec());
    match scale {
        Some(scale) => {
            if frac_digits.len() > scale {
                let round_up = frac_digits[scale] >= b'5';
                frac_digits.truncate(scale);
                // A carry out of the fraction moves into the integer digits, and possibly past them.
                if round_up && carry(&mut frac_digits) && carry(&mut int_digits) {
                    int_digits.insert(0, b'1');
                }
            }
            frac_digits.resize(scale, b'0');
        }
        None => {
            while frac_digits.last() == Some(&b'0') {
                frac_digits.pop();
            }
        }
    }
    let first_nonzero = int_digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(int_digits.len());
    int_digits.drain(..first_nonzero);
    let is_zero = int_digits.is_empty() && frac_digits.iter().all(|&d| d == b'0');
    let mut out = String::with_capacity(int_digits.len() + frac_digits.len() + 3);
    if negative && !is_zero {
        out.push('-');
    }
    if int_digits.is_empty() {
        out.push('0');
    }
    out.extend(int_digits.iter().map(|&d| char::from(d)));
    if !frac_digits.is_empty() {
        out.push('.');
        out.extend(frac_digits.iter().map(|&d| char::from(d)));
    }
    Some(out)
}

/// Adds one to the last digit; returns whether a carry is left over (all digits were nines).
fn carry(digits: &mut [u8]) -> bool {
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return false;
        }
    }
    true
}
