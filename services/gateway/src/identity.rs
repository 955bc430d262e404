//! Who is calling, and so whose predictions a request may touch.
//!
//! - A **browser** gets an anonymous identity: a random `digits_visitor`
//!   cookie (HttpOnly, SameSite=Strict), set by the gateway on the first
//!   response that finds none.
//! - An **API client** may send `authorization: Bearer TOKEN` instead: a
//!   secret of its own choosing (16-256 visible characters), or one of the
//!   developers' keys in `DIGITS_API_KEYS`, which carries a name and a rate.
//! - The **operators** send `DIGITS_ADMIN_TOKEN`, which sees everyone's data.
//!
//! A prediction's owner is stored as an opaque string: a SHA-256 prefix of
//! the cookie or token (never the secret itself), or `key:NAME`. Secrets are
//! compared through their digests with a constant-time equality.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{ApiKey, Config};

/// The cookie that names a browser.
pub const VISITOR_COOKIE: &str = "digits_visitor";
/// A visitor cookie lives a year; every visit renews nothing, so a browser
/// that clears its cookies simply starts a new, empty history.
const COOKIE_MAX_AGE_S: u64 = 365 * 86_400;

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A browser, by its cookie.
    Visitor {
        /// The stored owner.
        owner: String,
    },
    /// An API client, by its self-chosen token.
    Token {
        /// The stored owner.
        owner: String,
    },
    /// A developer, by one of the configured keys.
    ApiKey {
        /// The key's name.
        name: String,
    },
    /// The operators.
    Admin,
    /// A gRPC caller that sent no key.
    Anonymous,
}

impl Caller {
    /// The owner stored with this caller's predictions; empty for nobody.
    pub fn owner(&self) -> String {
        match self {
            Self::Visitor { owner } | Self::Token { owner } => owner.clone(),
            Self::ApiKey { name } => format!("key:{name}"),
            Self::Admin => "admin".into(),
            Self::Anonymous => String::new(),
        }
    }

    /// Whose predictions this caller may read and label: its own, or
    /// everyone's (`None`) for the operators.
    pub fn scope(&self) -> Option<String> {
        (*self != Self::Admin).then(|| self.owner())
    }

    /// The API key's name, for the logs.
    pub fn key_name(&self) -> Option<&str> {
        match self {
            Self::ApiKey { name } => Some(name),
            _ => None,
        }
    }
}

/// A bearer token that is neither a known key nor a usable token of one's own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the bearer token is not a known API key, and not 16-256 visible characters")]
pub struct BadToken;

/// The known secrets, as digests.
#[derive(Clone)]
pub struct Credentials {
    admin: Option<[u8; 32]>,
    metrics: Option<[u8; 32]>,
    keys: Vec<(String, [u8; 32])>,
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// `prefix:` and the first 16 bytes of the secret's digest, in hex.
fn opaque(prefix: &str, secret: &str) -> String {
    let digest = digest(secret);
    use std::fmt::Write;
    let mut owner = String::with_capacity(prefix.len() + 33);
    owner.push_str(prefix);
    owner.push(':');
    for byte in &digest[..16] {
        let _ = write!(owner, "{byte:02x}");
    }
    owner
}

impl Credentials {
    /// The admin token and API keys of `config`.
    pub fn new(config: &Config) -> Self {
        Self {
            admin: config.admin_token.as_ref().map(|t| digest(&t.0)),
            metrics: config.metrics_token.as_ref().map(|t| digest(&t.0)),
            keys: config.api_keys.iter().map(|ApiKey { name, key, .. }| (name.clone(), digest(key))).collect(),
        }
    }

    /// Whether the admin views are on.
    pub fn admin_configured(&self) -> bool {
        self.admin.is_some()
    }

    /// Whether `/metrics` is for this request: with `DIGITS_METRICS_TOKEN`
    /// set, for that bearer token only; without it, for clients on loopback
    /// or a private network (`client` as the trusted proxies tell it).
    pub fn metrics_allowed(&self, token: Option<&str>, client: std::net::IpAddr) -> bool {
        match (self.metrics, token) {
            (Some(wanted), Some(token)) => bool::from(wanted.ct_eq(&digest(token))),
            (Some(_), None) => false,
            (None, _) => private(client),
        }
    }

    /// The caller a bearer token names.
    ///
    /// # Errors
    /// [`BadToken`] when `allow_own` is false and the token is no key, or it
    /// is not a usable token.
    pub fn bearer(&self, token: &str, allow_own: bool) -> Result<Caller, BadToken> {
        let presented = digest(token);
        if self.admin.is_some_and(|admin| bool::from(admin.ct_eq(&presented))) {
            return Ok(Caller::Admin);
        }
        // Every key is compared, so the time taken says nothing about which matched.
        let mut found = None;
        for (name, key) in &self.keys {
            if bool::from(key.ct_eq(&presented)) {
                found = Some(name);
            }
        }
        if let Some(name) = found {
            return Ok(Caller::ApiKey { name: name.clone() });
        }
        let usable = (16..=256).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic());
        if allow_own && usable { Ok(Caller::Token { owner: opaque("t", token) }) } else { Err(BadToken) }
    }
}

/// Whether `ip` is loopback or on a private network (RFC 1918, unique
/// local, link local): where Prometheus scrapes from inside a deployment.
fn private(ip: std::net::IpAddr) -> bool {
    match ip.to_canonical() {
        std::net::IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        std::net::IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local(),
    }
}

/// The token of an `authorization: Bearer ...` header value.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The visitor whose cookie is in these `Cookie` header values.
pub fn visitor_from_cookies<'a>(cookies: impl Iterator<Item = &'a str>) -> Option<Caller> {
    cookies
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == VISITOR_COOKIE && valid_cookie(value))
        .map(|(_, value)| Caller::Visitor { owner: opaque("v", value) })
}

fn valid_cookie(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A new visitor: its cookie value and identity.
pub fn new_visitor() -> (String, Caller) {
    let value = uuid::Uuid::new_v4().simple().to_string();
    let caller = Caller::Visitor { owner: opaque("v", &value) };
    (value, caller)
}

/// The `Set-Cookie` value for a new visitor; `secure` when the page was
/// served over HTTPS (behind the proxy), so the cookie never travels in clear.
pub fn set_cookie(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{VISITOR_COOKIE}={value}; Path=/; Max-Age={COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Strict{secure}")
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::config::Secret;

    fn credentials() -> Credentials {
        let config = Config {
            admin_token: Some(Secret("admin-token-0123456789".into())),
            api_keys: vec![ApiKey {
                name: "alice".into(),
                key: "alice-key-0123456789".into(),
                per_second: NonZeroU32::MIN,
            }],
            ..Config::default()
        };
        Credentials::new(&config)
    }

    #[test]
    fn tokens_name_the_admin_a_key_or_an_own_identity() {
        let c = credentials();
        assert_eq!(c.bearer("admin-token-0123456789", true), Ok(Caller::Admin));
        assert_eq!(c.bearer("alice-key-0123456789", false), Ok(Caller::ApiKey { name: "alice".into() }));
        let own = c.bearer("my-own-secret-token-42", true).expect("usable");
        assert_eq!(own, c.bearer("my-own-secret-token-42", true).expect("same"));
        assert!(own.owner().starts_with("t:") && !own.owner().contains("secret"), "{own:?}");
        assert_eq!(c.bearer("my-own-secret-token-42", false), Err(BadToken), "gRPC takes known keys only");
        assert_eq!(c.bearer("short", true), Err(BadToken));
        assert_eq!(c.bearer("has a space in it ......", true), Err(BadToken));
    }

    #[test]
    fn a_visitor_is_known_by_a_well_formed_cookie_only() {
        let (value, caller) = new_visitor();
        let header = format!("theme=dark; {VISITOR_COOKIE}={value}");
        assert_eq!(visitor_from_cookies([header.as_str()].into_iter()), Some(caller.clone()));
        assert_eq!(visitor_from_cookies(["digits_visitor=../../etc"].into_iter()), None);
        assert_eq!(caller.scope(), Some(caller.owner()));
        assert_eq!(Caller::Admin.scope(), None);
        let cookie = set_cookie(&value, true);
        for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(cookie.contains(part), "{cookie}");
        }
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
    }
}
