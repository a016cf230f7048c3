//! Unpadded base64url (RFC 4648 §5), the encoding of every JWS segment and JWK member.
//!
//! The decoder is strict on purpose: it rejects padding, whitespace, characters outside the
//! URL-safe alphabet, impossible lengths and non-zero trailing bits. Each byte string therefore
//! has exactly one accepted encoding, so a token cannot be altered into a second spelling that
//! still verifies.
//!
//! ```
//! use vivus_consent_core::base64url;
//!
//! let text = base64url::encode(b"\xfb\xff consent");
//! assert_eq!(text, "-_8gY29uc2VudA");
//! assert_eq!(base64url::decode(&text)?, b"\xfb\xff consent");
//! assert!(base64url::decode("-_8gY29uc2VudA==").is_err());
//! # Ok::<(), base64url::DecodeError>(())
//! ```

use thiserror::Error;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Marks bytes outside the alphabet in [`DECODE`].
const INVALID: u8 = 0xff;

/// Reverse lookup of [`ALPHABET`], built at compile time so decoding is a table read.
const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Why a string is not canonical unpadded base64url.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// A character outside `A-Z a-z 0-9 - _` (this includes `=` padding and whitespace).
    #[error("byte {byte:#04x} at offset {offset} is not unpadded base64url; use only A-Z a-z 0-9 - _ without padding")]
    InvalidByte {
        /// Offset of the byte in the input.
        offset: usize,
        /// The offending byte.
        byte: u8,
    },
    /// The length leaves a single character in the last group, which cannot encode a byte.
    #[error("a base64url string cannot be {0} characters long (one character too many or too few); send the whole value")]
    InvalidLength(usize),
    /// The last character carries bits that no byte uses, so this is not the canonical encoding.
    #[error(
        "the last base64url character has non-zero unused bits; re-encode the value canonically"
    )]
    NonCanonical,
}

/// The length of the unpadded encoding of `len` bytes.
pub const fn encoded_len(len: usize) -> usize {
    len / 3 * 4 + [0, 2, 3][len % 3]
}

/// Encodes `bytes` as unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(bytes.len()));
    encode_into(bytes, &mut out);
    out
}

/// Appends the unpadded base64url encoding of `bytes` to `out`.
pub fn encode_into(bytes: &[u8], out: &mut String) {
    out.reserve(encoded_len(bytes.len()));
    let sym = |v: u32| char::from(ALPHABET[(v & 63) as usize]);
    let mut chunks = bytes.chunks_exact(3);
    for c in &mut chunks {
        let n = u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]);
        out.extend([sym(n >> 18), sym(n >> 12), sym(n >> 6), sym(n)]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend([sym(n >> 18), sym(n >> 12)]);
        }
        [a, b] => {
            let n = u32::from(a) << 16 | u32::from(b) << 8;
            out.extend([sym(n >> 18), sym(n >> 12), sym(n >> 6)]);
        }
        _ => {}
    }
}

/// Decodes strict unpadded base64url.
///
/// # Errors
///
/// [`DecodeError`] when `text` holds a byte outside the URL-safe alphabet (padding and
/// whitespace included), has a length of 4n+1, or has non-zero unused trailing bits.
pub fn decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    decode_into(text.as_bytes(), &mut out)?;
    Ok(out)
}

/// Decodes strict unpadded base64url into a fixed-size array, for keys and signatures.
///
/// # Errors
///
/// [`DecodeError::InvalidLength`] when `text` does not encode exactly `N` bytes, otherwise as
/// [`decode`].
pub fn decode_array<const N: usize>(text: &str) -> Result<[u8; N], DecodeError> {
    if text.len() != encoded_len(N) {
        return Err(DecodeError::InvalidLength(text.len()));
    }
    let mut out = Vec::with_capacity(N);
    decode_into(text.as_bytes(), &mut out)?;
    let mut array = [0u8; N];
    array.copy_from_slice(&out);
    Ok(array)
}

fn decode_into(input: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    if input.len() % 4 == 1 {
        return Err(DecodeError::InvalidLength(input.len()));
    }
    let value = |offset: usize| -> Result<u32, DecodeError> {
        let byte = input[offset];
        match DECODE[usize::from(byte)] {
            INVALID => Err(DecodeError::InvalidByte { offset, byte }),
            v => Ok(u32::from(v)),
        }
    };
    let full = input.len() / 4 * 4;
    for start in (0..full).step_by(4) {
        let n = value(start)? << 18
            | value(start + 1)? << 12
            | value(start + 2)? << 6
            | value(start + 3)?;
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    match input.len() - full {
        2 => {
            let n = value(full)? << 18 | value(full + 1)? << 12;
            if n & 0xffff != 0 {
                return Err(DecodeError::NonCanonical);
            }
            out.push((n >> 16) as u8);
        }
        3 => {
            let n = value(full)? << 18 | value(full + 1)? << 12 | value(full + 2)? << 6;
            if n & 0xff != 0 {
                return Err(DecodeError::NonCanonical);
            }
            out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8]);
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4648 §10 vectors, with the padding removed.
    const VECTORS: [(&str, &str); 7] = [
        ("", ""),
        ("f", "Zg"),
        ("fo", "Zm8"),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg"),
        ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn rfc4648_vectors_round_trip() {
        for (plain, encoded) in VECTORS {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).as_deref(), Ok(plain.as_bytes()));
        }
    }

    #[test]
    fn url_safe_alphabet_is_used() {
        assert_eq!(encode(&[0xfb, 0xef, 0xff]), "--__");
        assert_eq!(decode("--__"), Ok(vec![0xfb, 0xef, 0xff]));
        assert_eq!(
            decode("++//"),
            Err(DecodeError::InvalidByte {
                offset: 0,
                byte: b'+'
            })
        );
    }

    #[test]
    fn padding_whitespace_and_junk_are_rejected() {
        assert_eq!(
            decode("Zg=="),
            Err(DecodeError::InvalidByte {
                offset: 2,
                byte: b'='
            })
        );
        assert_eq!(decode("Zm9v\n"), Err(DecodeError::InvalidLength(5)));
        assert_eq!(decode("Zm 9v"), Err(DecodeError::InvalidLength(5)));
        assert_eq!(
            decode("Zm9 "),
            Err(DecodeError::InvalidByte {
                offset: 3,
                byte: b' '
            })
        );
        assert_eq!(
            decode("Zm9vYg.."),
            Err(DecodeError::InvalidByte {
                offset: 6,
                byte: b'.'
            })
        );
        assert!(matches!(
            decode("Zm9vé"),
            Err(DecodeError::InvalidByte { offset: 4, .. })
        ));
    }

    #[test]
    fn impossible_lengths_are_rejected() {
        assert_eq!(decode("Z"), Err(DecodeError::InvalidLength(1)));
        assert_eq!(decode("Zm9vY"), Err(DecodeError::InvalidLength(5)));
    }

    #[test]
    fn non_zero_trailing_bits_are_rejected() {
        // "Zh" and "Zm9" + another last char decode to the same bytes as "Zg"/"Zm8" if the
        // unused bits were ignored.
        assert_eq!(decode("Zh"), Err(DecodeError::NonCanonical));
        assert_eq!(decode("Zm9"), Err(DecodeError::NonCanonical));
    }

    #[test]
    fn every_length_round_trips() {
        let bytes: Vec<u8> = (0..=255).collect();
        for len in 0..bytes.len() {
            let text = encode(&bytes[..len]);
            assert_eq!(text.len(), encoded_len(len));
            assert_eq!(decode(&text).as_deref(), Ok(&bytes[..len]));
        }
    }

    #[test]
    fn fixed_size_decoding_checks_the_length() {
        assert_eq!(decode_array::<3>("Zm9v"), Ok(*b"foo"));
        assert_eq!(
            decode_array::<3>("Zm9vYg"),
            Err(DecodeError::InvalidLength(6))
        );
        assert_eq!(
            decode_array::<2>("Zm9v"),
            Err(DecodeError::InvalidLength(4))
        );
    }
}
