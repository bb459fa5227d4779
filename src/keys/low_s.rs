//! Low-S ECDSA signatures: of the two signatures `(r, s)` and `(r, n − s)` that verify alike,
//! the one with `s ≤ (n − 1) / 2`.
//!
//! ECDSA verification computes the point `R = s⁻¹·(z·G + r·Q)` and compares its `x` coordinate
//! with `r`; `n − s` (that is, `−s`) only negates `R`, which keeps its `x`. So `(r, n − s)`
//! verifies over a message exactly when `(r, s)` does, and every ES256/ES384 token has a *twin*
//! string with the same claims. RFC 7518 accepts both and other libraries mint high-S signatures,
//! so the verifier accepts both; [`Key::sign`](super::Key) mints low-S ones, and the
//! verified-token cache holds a token and its twin as one entry, under the low-S form.
//!
//! aws-lc neither produces low-S signatures nor offers the arithmetic, so it is here: one
//! subtraction of fixed-length big-endian numbers. The tests hold it to aws-lc: a twin computed
//! here verifies under aws-lc, and a wrong group order or subtraction would not.

use super::algorithm::Algorithm;

/// The order `n` of the P-256 group (FIPS 186-4 D.1.2.3), big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// The order `n` of the P-384 group (FIPS 186-4 D.1.2.4), big-endian.
const P384_N: [u8; 48] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
];

/// The group order of `alg`'s curve; `None` for an algorithm that is not ECDSA.
pub(super) fn order(alg: Algorithm) -> Option<&'static [u8]> {
    match alg {
        Algorithm::ES256 => Some(&P256_N),
        Algorithm::ES384 => Some(&P384_N),
        _ => None,
    }
}

/// `signature` (the fixed-length `r || s` of RFC 7518 §3.4) with `s` replaced by `n − s` when `s`
/// is high (`(n − 1) / 2 < s < n`); `None` when it is already low, or is no signature of this
/// curve at all (another length, `s = 0`, `s ≥ n`), which is then left as it is.
///
/// So exactly the two signatures `(r, s)` and `(r, n − s)` with `0 < s < n` share a low-S form,
/// and any other byte string keeps its own.
pub(super) fn low_s(signature: &[u8], n: &[u8]) -> Option<Vec<u8>> {
    if signature.len() != 2 * n.len() {
        return None;
    }
    let (r, s) = signature.split_at(n.len());
    // Equal-length big-endian byte strings compare as the numbers they are.
    if s >= n {
        return None;
    }
    let twin = minus(n, s);
    // `n` is odd, so `s` and `n − s` are never equal: the low one is the smaller.
    if s <= twin.as_slice() {
        return None;
    }
    let mut out = Vec::with_capacity(signature.len());
    out.extend_from_slice(r);
    out.extend_from_slice(&twin);
    Some(out)
}

/// `a − b` for big-endian numbers of one length, `a ≥ b`.
fn minus(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = false;
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b).rev() {
        let (d, b1) = x.overflowing_sub(y);
        let (d, b2) = d.overflowing_sub(u8::from(borrow));
        *o = d;
        borrow = b1 || b2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_s_maps_to_n_minus_s_and_everything_else_is_left_alone() {
        let n = &P256_N;
        let r = [7u8; 32];
        let sig = |s: &[u8]| [&r[..], s].concat();
        let mut one = [0u8; 32];
        one[31] = 1;
        let n_minus_one = minus(n, &one);
        // s = n − 1 (the highest) ↦ 1; s = 1 stays.
        assert_eq!(low_s(&sig(&n_minus_one), n), Some(sig(&one)));
        assert_eq!(low_s(&sig(&one), n), None);
        // (n − 1) / 2 is the highest low s; (n + 1) / 2 the lowest high one, ↦ (n − 1) / 2.
        let mut half = [0u8; 32]; // (n − 1) / 2 = n >> 1
        let mut carry = 0u8;
        for (h, &x) in half.iter_mut().zip(n) {
            *h = (x >> 1) | carry;
            carry = (x & 1) << 7;
        }
        let half_up = minus(n, &half);
        assert_eq!(low_s(&sig(&half), n), None);
        assert_eq!(low_s(&sig(&half_up), n), Some(sig(&half)));
        // Out of range or of another length: left alone.
        assert_eq!(low_s(&sig(&[0; 32]), n), None);
        assert_eq!(low_s(&sig(n), n), None);
        assert_eq!(low_s(&sig(&[0xff; 32]), n), None);
        assert_eq!(low_s(&n_minus_one, n), None);
        assert_eq!(low_s(&[sig(&n_minus_one), vec![0]].concat(), n), None);
    }

    #[test]
    fn subtraction_borrows_across_bytes() {
        assert_eq!(minus(&[1, 0, 0], &[0, 0, 1]), vec![0, 0xff, 0xff]);
        assert_eq!(minus(&[0xff, 0xff], &[0xff, 0xff]), vec![0, 0]);
        assert_eq!(minus(&[0x12, 0x34], &[0x01, 0x35]), vec![0x10, 0xff]);
    }
}
