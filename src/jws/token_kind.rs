//! [`TokenKind`]: what a token is for, as its `typ` header says.

use std::borrow::Cow;

/// What a token is for. Each kind has its own `typ` header, and a verifier expecting one kind
/// refuses every other, so a refresh token can never be used as an access token (RFC 8725 §3.11).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// An access token, `typ: at+jwt` (RFC 9068).
    Access,
    /// A refresh token, `typ: refresh+jwt`.
    Refresh,
    /// Any other kind, with its own `typ` (for example `"email-verify+jwt"`).
    Other(Cow<'static, str>),
}

impl TokenKind {
    /// The `typ` header value tokens of this kind carry.
    #[must_use]
    pub fn typ(&self) -> &str {
        match self {
            Self::Access => "at+jwt",
            Self::Refresh => "refresh+jwt",
            Self::Other(t) => t,
        }
    }

    /// Whether a header `typ` names this kind. Media types compare case-insensitively and may carry
    /// the `application/` prefix (RFC 7515 §4.1.9).
    #[must_use]
    pub fn matches_typ(&self, typ: &str) -> bool {
        let expected = self.typ();
        let typ = match typ.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
            _ => typ,
        };
        typ.eq_ignore_ascii_case(expected)
    }
}
