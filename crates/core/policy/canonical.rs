// The canonical text of a policy version, whose SHA-256 is the policy digest.
//
// This one file is compiled twice: into `build.rs`, which hashes the files under
// `policy/`, and into the crate (`policy::canonical_text`), so tests can check the
// definition itself. Keep it free of crate imports for that reason.

/// Builds the canonical text that the policy digest is computed over.
///
/// For each `(language code, markdown)` pair, in the order given (ru, then kk): the
/// code, `\n`, the text with CRLF turned into LF and the trailing whitespace of every
/// line removed, `\n`. Line breaks and blank lines are otherwise kept, so any change a
/// reader could see changes the digest, while an editor re-saving with CRLF or
/// stripping trailing spaces does not.
pub(crate) fn canonical_text(parts: &[(&str, &str)]) -> String {
    let capacity = parts
        .iter()
        .map(|(code, text)| code.len() + text.len() + 2)
        .sum();
    let mut out = String::with_capacity(capacity);
    for (code, text) in parts {
        out.push_str(code);
        out.push('\n');
        let mut lines = text.split('\n');
        if let Some(first) = lines.next() {
            out.push_str(first.trim_end());
            for line in lines {
                out.push('\n');
                // trim_end also takes the `\r` of a CRLF line ending.
                out.push_str(line.trim_end());
            }
        }
        out.push('\n');
    }
    out
}
