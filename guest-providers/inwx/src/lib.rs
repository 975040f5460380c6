//! An acmebox DNS-01 provider for INWX's name servers, through the DomRobot JSON-RPC API with
//! the account's username and password, and its TOTP secret when the account has two-factor
//! authentication.
//!
//! Every call is one API session: `account.login` (INWX answers with a `domrobot` session
//! cookie, sent back on every later request), `account.unlock` with a TOTP code when the
//! account asks for one, the work, and `account.logout` at the end, also when the work failed.
//! INWX keeps every TXT value as a record of its own with an id, so no call rewrites the values
//! of others:
//!
//! * `present`: `nameserver.info` with the domain, the record's name and type `TXT`; when the
//!   value is not there, `nameserver.createRecord`.
//! * `cleanup`: the same lookup, then `nameserver.deleteRecord` for each record holding the
//!   value. Nothing found, or a record already gone, is success.
//!
//! The domain is the zone the host passes, else the closest parent of the record's name for
//! which `nameserver.info` does not answer 2303 (object does not exist).

mod totp;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// The live DomRobot JSON-RPC endpoint, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://api.domrobot.com/jsonrpc/";

/// The OT&E (test) endpoint, used with `sandbox = "true"`.
const SANDBOX_API_URL: &str = "https://api.ote.domrobot.com/jsonrpc/";

/// The smallest TTL INWX accepts.
const MIN_TTL: u32 = 300;

/// The longest wait for the next TOTP step after INWX refused a code: it takes each code once,
/// so a second login within the same 30 s needs the next one. Kept well under the host's
/// per-call deadline.
const MAX_TOTP_WAIT: Duration = Duration::from_secs(12);

/// DomRobot result codes (EPP's, RFC 5730 §3): the ones this provider acts on.
mod code {
    /// Command completed successfully.
    pub const OK: u32 = 1000;
    /// Command completed successfully; ending session.
    pub const OK_ENDING_SESSION: u32 = 1500;
    /// Authentication error.
    pub const AUTHENTICATION_ERROR: u32 = 2200;
    /// Authorization error.
    pub const AUTHORIZATION_ERROR: u32 = 2201;
    /// Invalid authorization information.
    pub const INVALID_AUTHORIZATION: u32 = 2202;
    /// Object exists.
    pub const OBJECT_EXISTS: u32 = 2302;
    /// Object does not exist.
    pub const OBJECT_DOES_NOT_EXIST: u32 = 2303;
    /// Authentication error; server closing connection.
    pub const AUTHENTICATION_ERROR_CLOSING: u32 = 2501;
    /// Session limit exceeded; server closing connection.
    pub const SESSION_LIMIT_EXCEEDED: u32 = 2502;
}

struct Inwx;

impl Provider for Inwx {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "username",
                    "the INWX account's username (lego: INWX_USERNAME)",
                )
                .secret(),
                ConfigKey::required(
                    "password",
                    "the INWX account's password (lego: INWX_PASSWORD)",
                )
                .secret(),
                ConfigKey::optional(
                    "shared_secret",
                    "for an account with two-factor authentication: the base32 secret of the \
                     authenticator QR code, from which the TOTP codes are computed \
                     (lego: INWX_SHARED_SECRET)",
                )
                .secret(),
                ConfigKey::optional(
                    "sandbox",
                    "\"true\" to use INWX's OT&E test system, https://api.ote.domrobot.com \
                     (lego: INWX_SANDBOX)",
                ),
                ConfigKey::optional(
                    "api_url",
                    "the JSON-RPC endpoint (default https://api.domrobot.com/jsonrpc/); set, it \
                     wins over `sandbox`",
                ),
            ],
            hosts: http::origin(&api_url()).into_iter().collect(),
            propagation_timeout_secs: 360,
            polling_interval_secs: 5,
            ..ProviderInfo::new(
                "inwx",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the INWX DomRobot JSON-RPC API",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        Api::from_config()?.with_session(|session| {
            let (domain, found) = session.domain_for(&record)?;
            if found.iter().any(|r| holds(r, &record, &domain)) {
                log::info!("TXT value already present at {}", record.fqdn);
                return Ok(());
            }
            let params = json!({
                "domain": domain,
                "type": "TXT",
                "name": dns::bare(&record.fqdn),
                "content": record.value,
                "ttl": record.ttl.max(MIN_TTL),
            });
            let reply = session.call("nameserver.createRecord", params)?;
            if reply.code == code::OBJECT_EXISTS {
                log::info!("TXT value already present at {}", record.fqdn);
                return Ok(());
            }
            reply.into_result("nameserver.createRecord")?;
            log::info!("added a TXT value at {} in domain {domain}", record.fqdn);
            Ok(())
        })
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        Api::from_config()?.with_session(|session| {
            let (domain, found) = session.domain_for(&record)?;
            let mine: Vec<&NsRecord> = found
                .iter()
                .filter(|r| holds(r, &record, &domain))
                .collect();
            if mine.is_empty() {
                log::info!("TXT value already absent at {}", record.fqdn);
            }
            for r in mine {
                let reply = session.call("nameserver.deleteRecord", json!({ "id": r.id }))?;
                if reply.code == code::OBJECT_DOES_NOT_EXIST {
                    log::info!("TXT record {} was already gone", r.id);
                    continue;
                }
                reply.into_result("nameserver.deleteRecord")?;
                log::info!("removed TXT record {} at {}", r.id, record.fqdn);
            }
            Ok(())
        })
    }
}

acmebox_provider::export!(Inwx);

/// The endpoint: `api_url`, else the OT&E one with `sandbox`, else the live one.
fn api_url() -> String {
    if let Some(url) = config::get("api_url").filter(|u| !u.trim().is_empty()) {
        return url.trim().to_owned();
    }
    let sandbox = config::get("sandbox")
        .is_some_and(|s| matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"));
    if sandbox {
        SANDBOX_API_URL
    } else {
        DEFAULT_API_URL
    }
    .to_owned()
}

/// A record as `nameserver.info` lists it.
#[derive(Debug, Deserialize)]
struct NsRecord {
    id: Value,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    content: String,
}

#[derive(Debug, Default, Deserialize)]
struct NsInfo {
    #[serde(default)]
    record: Vec<NsRecord>,
}

/// Whether `r` is a TXT record at `record.fqdn` holding `record.value`. INWX names records in
/// full; a name relative to `domain` is accepted too.
fn holds(r: &NsRecord, record: &TxtRecord, domain: &str) -> bool {
    let relative = dns::relative_name(&record.fqdn, domain).unwrap_or_default();
    let same_name = dns::same_name(&r.name, &record.fqdn)
        || r.name.eq_ignore_ascii_case(&relative)
        || (relative.is_empty() && r.name == "@");
    r.kind.eq_ignore_ascii_case("TXT") && same_name && dns::unquote_txt(&r.content) == record.value
}

/// A DomRobot answer: `{"code", "msg", "reason", "resData"}`.
#[derive(Debug, Deserialize)]
struct Reply {
    code: u32,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default, rename = "resData")]
    res_data: Value,
    /// The HTTP status the answer came with (not part of the body).
    #[serde(skip)]
    http_status: u16,
    /// The `domrobot` session cookie the answer set, if any.
    #[serde(skip)]
    cookie: Option<String>,
}

impl Reply {
    /// `resData` of a successful answer, else the error the code means.
    fn into_result(self, method: &str) -> Result<Value, ProviderError> {
        if self.code == code::OK || self.code == code::OK_ENDING_SESSION {
            return Ok(self.res_data);
        }
        Err(error_for(
            method,
            self.code,
            &self.msg,
            self.reason.as_deref(),
            self.http_status,
        ))
    }
}

/// What a refusal of `method` with `code` means.
fn error_for(
    method: &str,
    code: u32,
    msg: &str,
    reason: Option<&str>,
    http_status: u16,
) -> ProviderError {
    let detail = match reason {
        Some(reason) if !reason.trim().is_empty() => format!("{code} {msg}: {reason}"),
        _ => format!("{code} {msg}"),
    };
    match code {
        code::AUTHENTICATION_ERROR
        | code::AUTHORIZATION_ERROR
        | code::INVALID_AUTHORIZATION
        | code::AUTHENTICATION_ERROR_CLOSING => ProviderError::Unauthorized(format!(
            "INWX refused {method} ({detail}); check username and password, and that the \
             account may manage the domain's name server records"
        )),
        code::SESSION_LIMIT_EXCEEDED => ProviderError::RateLimited(None),
        _ => ProviderError::api(http_status, format!("INWX refused {method} ({detail})")),
    }
}

/// The API as configured.
struct Api {
    url: String,
    username: String,
    password: String,
    /// The decoded TOTP secret, when the operator set one.
    totp_key: Option<Vec<u8>>,
}

impl Api {
    fn from_config() -> Result<Self, ProviderError> {
        let url = api_url();
        if http::origin(&url).is_none() {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `api_url` ({url}) is not an http:// or https:// URL, such as \
                 {DEFAULT_API_URL}"
            )));
        }
        let totp_key = match config::get("shared_secret").filter(|s| !s.trim().is_empty()) {
            Some(secret) => Some(totp::decode_base32(&secret).ok_or_else(|| {
                ProviderError::InvalidConfig(
                    "config key `shared_secret` is not base32 (letters A-Z and digits 2-7, \
                     as in the authenticator QR code)"
                        .into(),
                )
            })?),
            None => None,
        };
        Ok(Self {
            url,
            username: config::require("username")?.trim().to_owned(),
            password: config::require("password")?,
            totp_key,
        })
    }

    /// Logs in (and unlocks), runs `work` in the session, and logs out whatever `work`
    /// returned.
    fn with_session<T>(
        &self,
        work: impl FnOnce(&Session<'_>) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let session = self.login()?;
        let result = session.unlock_if_asked().and_then(|()| work(&session));
        session.logout();
        result
    }

    /// `account.login`: a session holding INWX's cookie.
    fn login(&self) -> Result<Session<'_>, ProviderError> {
        let params = json!({ "user": self.username, "pass": self.password, "lang": "en" });
        let reply = self.call("account.login", params, None)?;
        let cookie = reply.cookie.clone();
        let data = reply.into_result("account.login")?;
        let Some(cookie) = cookie else {
            return Err(ProviderError::Other(
                "INWX accepted the login but set no domrobot session cookie".into(),
            ));
        };
        Ok(Session {
            api: self,
            cookie,
            two_factor: asks_for_tan(&data),
        })
    }

    /// Posts `{"method", "params"}`; any DomRobot answer is `Ok`, whatever its code.
    fn call(
        &self,
        method: &str,
        params: Value,
        cookie: Option<&str>,
    ) -> Result<Reply, ProviderError> {
        let mut request =
            http::Request::post(&self.url).json(&json!({ "method": method, "params": params }));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send()?;
        if response.status == 429 {
            return Err(ProviderError::RateLimited(response.retry_after()));
        }
        let mut reply = match response.json::<Reply>() {
            Ok(reply) => reply,
            Err(_) if !response.is_success() => {
                let text: String = response.text().chars().take(300).collect();
                let status = response.status;
                return Err(ProviderError::api(
                    status,
                    format!("INWX answered {method} with HTTP {status}: {text}"),
                ));
            }
            Err(e) => return Err(e),
        };
        reply.http_status = response.status;
        reply.cookie = response
            .headers
            .iter()
            .filter(|(name, _)| name == "set-cookie")
            .find_map(|(_, value)| session_cookie(value));
        Ok(reply)
    }
}

/// A logged-in session.
struct Session<'a> {
    api: &'a Api,
    /// `domrobot=<id>`, as sent back in the `cookie` header.
    cookie: String,
    /// Whether the login answered that the account wants a TOTP code.
    two_factor: bool,
}

impl Session<'_> {
    /// Calls `method` in the session.
    fn call(&self, method: &str, params: Value) -> Result<Reply, ProviderError> {
        self.api.call(method, params, Some(&self.cookie))
    }

    /// `account.unlock` with the current TOTP code when the login asked for one. INWX takes
    /// each code once: refused, the next code is tried when its step starts soon.
    fn unlock_if_asked(&self) -> Result<(), ProviderError> {
        if !self.two_factor {
            return Ok(());
        }
        let Some(key) = &self.api.totp_key else {
            return Err(ProviderError::Unauthorized(
                "the INWX account has two-factor authentication: set `shared_secret` to the \
                 base32 secret of its authenticator QR code"
                    .into(),
            ));
        };
        let now = unix_time()?;
        let reply = self.call("account.unlock", json!({ "tan": totp::code(key, now) }))?;
        if reply.code == code::OK {
            return Ok(());
        }
        let wait = totp::STEP - now % totp::STEP;
        if Duration::from_secs(wait) <= MAX_TOTP_WAIT {
            log::info!("INWX refused the TOTP code; trying the next one in {wait} s");
            std::thread::sleep(Duration::from_secs(wait));
            let retry = self.call(
                "account.unlock",
                json!({ "tan": totp::code(key, now + wait) }),
            )?;
            if retry.code == code::OK {
                return Ok(());
            }
        }
        Err(ProviderError::Unauthorized(format!(
            "INWX refused the TOTP code ({} {}); check `shared_secret` and the clock. INWX \
             takes each code once, so two logins within 30 s fail: an API sub-account without \
             two-factor authentication avoids that",
            reply.code, reply.msg
        )))
    }

    /// The domain holding `record.fqdn` and its TXT records at that name.
    fn domain_for(&self, record: &TxtRecord) -> Result<(String, Vec<NsRecord>), ProviderError> {
        let name = dns::bare(&record.fqdn);
        dns::find_zone("INWX", record, |candidate| {
            let params = json!({ "domain": candidate, "name": name, "type": "TXT" });
            let reply = self.call("nameserver.info", params)?;
            if reply.code == code::OBJECT_DOES_NOT_EXIST {
                return Ok(None);
            }
            let data = reply.into_result("nameserver.info")?;
            let info: NsInfo = serde_json::from_value(data)?;
            Ok(Some(info.record))
        })
    }

    /// `account.logout`; a failure is only logged, the session times out anyway.
    fn logout(&self) {
        let outcome = self
            .call("account.logout", json!({}))
            .and_then(|reply| reply.into_result("account.logout"));
        if let Err(e) = outcome {
            log::warn!("INWX logout failed (the session expires by itself): {e:?}");
        }
    }
}

/// Whether a login's `resData` says the account wants a TOTP code: `tfa` is `"0"` (or absent)
/// without two-factor authentication, the method's name (`GOOGLE-AUTH`) with it.
fn asks_for_tan(data: &Value) -> bool {
    match data.get("tfa") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !matches!(s.trim(), "" | "0"),
        Some(Value::Number(n)) => n.as_u64() != Some(0),
        Some(_) => true,
    }
}

/// `domrobot=<id>` from a `set-cookie` header that sets it.
fn session_cookie(set_cookie: &str) -> Option<String> {
    let pair = set_cookie.split(';').next()?.trim();
    let (name, value) = pair.split_once('=')?;
    (name.trim() == "domrobot" && !value.trim().is_empty())
        .then(|| format!("domrobot={}", value.trim()))
}

/// Seconds since the Unix epoch, from the host's wall clock.
fn unix_time() -> Result<u64, ProviderError> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| ProviderError::Other("the clock is before 1970: no TOTP code".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_read_from_set_cookie() {
        assert_eq!(
            session_cookie("domrobot=abc123; path=/; HttpOnly").as_deref(),
            Some("domrobot=abc123")
        );
        assert_eq!(session_cookie("other=1; path=/"), None);
        assert_eq!(session_cookie("domrobot=; path=/"), None);
    }

    #[test]
    fn two_factor_is_asked_unless_tfa_is_zero() {
        assert!(!asks_for_tan(&json!({"tfa": "0"})));
        assert!(!asks_for_tan(&json!({})));
        assert!(!asks_for_tan(&json!({"tfa": 0})));
        assert!(asks_for_tan(&json!({"tfa": "GOOGLE-AUTH"})));
    }

    #[test]
    fn codes_map_to_the_wit_variants() {
        assert!(matches!(
            error_for("account.login", 2200, "Authentication error", None, 200),
            ProviderError::Unauthorized(_)
        ));
        assert!(matches!(
            error_for("nameserver.info", 2502, "Session limit exceeded", None, 200),
            ProviderError::RateLimited(None)
        ));
        let ProviderError::ApiError(e) = error_for(
            "nameserver.createRecord",
            2005,
            "Parameter value syntax error",
            Some("ttl"),
            200,
        ) else {
            panic!("expected an api error");
        };
        assert_eq!(e.status, 200);
        assert!(
            e.message.contains("2005") && e.message.contains("ttl"),
            "{}",
            e.message
        );
    }

    fn txt(fqdn: &str, value: &str) -> TxtRecord {
        TxtRecord {
            domain: dns::bare(fqdn),
            fqdn: fqdn.into(),
            value: value.into(),
            ttl: 60,
            zone: None,
        }
    }

    fn ns(name: &str, kind: &str, content: &str) -> NsRecord {
        NsRecord {
            id: json!(1),
            name: name.into(),
            kind: kind.into(),
            content: content.into(),
        }
    }

    #[test]
    fn records_match_by_full_or_relative_name_type_and_value() {
        let record = txt("_acme-challenge.www.example.com.", "v");
        assert!(holds(
            &ns("_acme-challenge.www.example.com", "TXT", "v"),
            &record,
            "example.com"
        ));
        assert!(holds(
            &ns("_acme-challenge.www", "TXT", "\"v\""),
            &record,
            "example.com"
        ));
        assert!(!holds(
            &ns("_acme-challenge.www.example.com", "TXT", "w"),
            &record,
            "example.com"
        ));
        assert!(!holds(
            &ns("_acme-challenge.www.example.com", "A", "v"),
            &record,
            "example.com"
        ));
        assert!(!holds(
            &ns("www.example.com", "TXT", "v"),
            &record,
            "example.com"
        ));
    }
}
