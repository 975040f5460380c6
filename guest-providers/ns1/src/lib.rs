//! An acmebox DNS-01 provider for NS1 (IBM NS1 Connect), through the NS1 API v1 with an API
//! key.
//!
//! NS1 keeps one record per name and type; a TXT record holds every TXT value at its name as
//! its answers. So each call reads the record, changes its answers, and writes it back:
//!
//! * `present`: `GET /v1/zones/<zone>/<name>/TXT`; no record: `PUT` a new one with the value as
//!   its only answer; a record without the value: `POST` it back with every answer it had plus
//!   the value.
//! * `cleanup`: the same read; the value among other answers: `POST` the record back with the
//!   others; the value as the last answer: `DELETE` the record. No record, or no such answer,
//!   is success.
//!
//! The round runs in [`retry::retrying`]: a `PUT` refused because the record appeared, or a
//! `POST` refused because it vanished, since the read (another client changed the name) and
//! any 5xx start the round again from the read. The host runs calls on one name one at a
//! time, so the provider's own calls never race; calls at different names touch different
//! records, so `sequential` stays false.
//!
//! The zone is the one the host passes, else the closest parent of the record's name for which
//! `GET /v1/zones/<name>` answers.

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log, retry,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// NS1's API base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://api.nsone.net/v1";

struct Ns1;

impl Provider for Ns1 {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "api_key",
                    "an NS1 API key allowed to view zones and manage records, sent as \
                     X-NSONE-Key (lego: NS1_API_KEY)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL, with /v1 (default https://api.nsone.net/v1; another \
                     for a private NS1 deployment)",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            propagation_timeout_secs: 60,
            polling_interval_secs: 5,
            ..ProviderInfo::new(
                "ns1",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the NS1 API v1",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        retry::retrying("NS1", || api.add_answer(&zone, &record))
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        retry::retrying("NS1", || api.remove_answer(&zone, &record))
    }
}

acmebox_provider::export!(Ns1);

/// The parts of a record the provider reads. The answers stay raw JSON, so the ones written
/// back keep every field NS1 gave them (ids, meta, regions).
#[derive(Debug, Deserialize)]
struct Ns1Record {
    #[serde(default)]
    answers: Vec<Value>,
}

/// An error body: `{"message": "record not found"}`.
#[derive(Debug, Deserialize)]
struct ApiErrorBody {
    message: String,
}

/// The API as configured.
struct Api {
    base: String,
    key: String,
}

impl Api {
    fn from_config() -> Result<Self, ProviderError> {
        let base = config::with_default("api_url", DEFAULT_API_URL)
            .trim()
            .trim_end_matches('/')
            .to_owned();
        if http::origin(&base).is_none() {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `api_url` ({base}) is not an http:// or https:// URL, such as \
                 {DEFAULT_API_URL}"
            )));
        }
        Ok(Self {
            base,
            key: config::require("api_key")?.trim().to_owned(),
        })
    }

    /// The zone holding `record.fqdn`.
    fn zone_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        let (zone, ()) = dns::find_zone("NS1", record, |candidate| {
            let url = format!(
                "{}/zones/{}?records=false",
                self.base,
                http::encode_component(candidate)
            );
            match self.send(http::Request::get(url)) {
                Ok(_) => Ok(Some(())),
                Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        Ok(zone)
    }

    fn record_url(&self, zone: &str, domain: &str) -> String {
        format!(
            "{}/zones/{}/{}/TXT",
            self.base,
            http::encode_component(zone),
            http::encode_component(domain)
        )
    }

    /// The TXT record at `domain`, `None` when there is none.
    fn read(&self, zone: &str, domain: &str) -> Result<Option<Ns1Record>, ProviderError> {
        match self.send(http::Request::get(self.record_url(zone, domain))) {
            Ok(response) => Ok(Some(response.json()?)),
            Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One round of `present`: read, add the value, write back.
    fn add_answer(&self, zone: &str, record: &TxtRecord) -> Result<(), ProviderError> {
        let domain = dns::bare(&record.fqdn);
        let url = self.record_url(zone, &domain);
        let Some(existing) = self.read(zone, &domain)? else {
            let body = json!({
                "zone": zone,
                "domain": domain,
                "type": "TXT",
                "ttl": record.ttl,
                "answers": [{ "answer": [record.value] }],
            });
            // 400 "record already exists": someone created it since the read.
            self.send(http::Request::put(url).json(&body))
                .map_err(|e| conflict_if(e, 400, "already exists"))?;
            log::info!("created the TXT record {domain} in zone {zone}");
            return Ok(());
        };
        if existing
            .answers
            .iter()
            .any(|a| answer_text(a).as_deref() == Some(record.value.as_str()))
        {
            log::info!("TXT value already present at {}", record.fqdn);
            return Ok(());
        }
        let mut answers = existing.answers;
        answers.push(json!({ "answer": [record.value] }));
        self.write_answers(zone, &domain, answers)?;
        log::info!("added a TXT value at {domain} in zone {zone}");
        Ok(())
    }

    /// One round of `cleanup`: read, drop the value, write back or delete.
    fn remove_answer(&self, zone: &str, record: &TxtRecord) -> Result<(), ProviderError> {
        let domain = dns::bare(&record.fqdn);
        let Some(existing) = self.read(zone, &domain)? else {
            log::info!("no TXT record at {}", record.fqdn);
            return Ok(());
        };
        let before = existing.answers.len();
        let rest: Vec<Value> = existing
            .answers
            .into_iter()
            .filter(|a| answer_text(a).as_deref() != Some(record.value.as_str()))
            .collect();
        if rest.len() == before {
            log::info!("TXT value already absent at {}", record.fqdn);
            return Ok(());
        }
        if !rest.is_empty() {
            self.write_answers(zone, &domain, rest)?;
            log::info!("removed a TXT value at {domain}, keeping the others");
            return Ok(());
        }
        match self.send(http::Request::delete(self.record_url(zone, &domain))) {
            Ok(_) => log::info!("deleted the TXT record {domain}: its last value was ours"),
            Err(ProviderError::ApiError(e)) if e.status == 404 => {
                log::info!("the TXT record {domain} was already gone");
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Replaces the answers of the existing record at `domain`.
    fn write_answers(
        &self,
        zone: &str,
        domain: &str,
        answers: Vec<Value>,
    ) -> Result<(), ProviderError> {
        let body = json!({ "zone": zone, "domain": domain, "type": "TXT", "answers": answers });
        // 404 "record not found": someone deleted it since the read.
        self.send(http::Request::post(self.record_url(zone, domain)).json(&body))
            .map_err(|e| conflict_if(e, 404, "not found"))?;
        Ok(())
    }

    /// Sends `request` with the key; maps NS1's errors to the WIT variants.
    fn send(&self, request: http::Request) -> Result<http::Response, ProviderError> {
        let response = request.header("x-nsone-key", &self.key).send()?;
        if response.is_success() {
            return Ok(response);
        }
        let status = response.status;
        let message = response
            .json::<ApiErrorBody>()
            .map(|e| e.message)
            .unwrap_or_else(|_| response.text().trim().chars().take(300).collect());
        Err(match status {
            401 | 403 => ProviderError::Unauthorized(format!(
                "NS1 refused the API key ({status}): {message}"
            )),
            429 => ProviderError::RateLimited(retry_after(&response)),
            _ => ProviderError::api(status, format!("NS1 answered {status}: {message}")),
        })
    }
}

/// The text of one answer of a TXT record: its strings joined (NS1 keeps TXT text unquoted;
/// quoted text is unquoted too).
fn answer_text(answer: &Value) -> Option<String> {
    let parts = answer.get("answer")?.as_array()?;
    let text: String = parts.iter().filter_map(Value::as_str).collect();
    Some(dns::unquote_txt(&text))
}

/// Turns an API error with `status` whose message contains `what` into a 409, which
/// [`retry::retrying`] answers by reading the record again.
fn conflict_if(error: ProviderError, status: u16, what: &str) -> ProviderError {
    match error {
        ProviderError::ApiError(e) if e.status == status && e.message.contains(what) => {
            ProviderError::api(409, e.message)
        }
        other => other,
    }
}

/// Seconds to wait after a 429: `Retry-After` when sent, else the time NS1's token bucket
/// takes to refill one request, `X-RateLimit-Period` over `X-RateLimit-Limit`, rounded up.
fn retry_after(response: &http::Response) -> Option<u32> {
    if let Some(seconds) = response.retry_after() {
        return Some(seconds);
    }
    let number = |name: &str| -> Option<u32> { response.header(name)?.trim().parse().ok() };
    let period = number("x-ratelimit-period")?;
    let limit = number("x-ratelimit-limit").filter(|l| *l > 0)?;
    Some(period.div_ceil(limit).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(headers: &[(&str, &str)]) -> http::Response {
        http::Response {
            status: 429,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: br#"{"message":"rate limit exceeded"}"#.to_vec(),
        }
    }

    #[test]
    fn retry_after_prefers_the_header_then_the_refill_time() {
        assert_eq!(retry_after(&response(&[("retry-after", "7")])), Some(7));
        let bucket = [("x-ratelimit-limit", "300"), ("x-ratelimit-period", "300")];
        assert_eq!(retry_after(&response(&bucket)), Some(1));
        let slow = [("x-ratelimit-limit", "10"), ("x-ratelimit-period", "75")];
        assert_eq!(retry_after(&response(&slow)), Some(8));
        let zero = [("x-ratelimit-limit", "0"), ("x-ratelimit-period", "60")];
        assert_eq!(retry_after(&response(&zero)), None);
        assert_eq!(retry_after(&response(&[])), None);
    }

    #[test]
    fn answers_are_read_as_text() {
        assert_eq!(
            answer_text(&json!({"answer": ["abc"], "id": "1"})).as_deref(),
            Some("abc")
        );
        assert_eq!(
            answer_text(&json!({"answer": ["ab", "cd"]})).as_deref(),
            Some("abcd")
        );
        assert_eq!(
            answer_text(&json!({"answer": ["\"quoted\""]})).as_deref(),
            Some("quoted")
        );
        assert_eq!(answer_text(&json!({"meta": {}})), None);
    }

    #[test]
    fn refusals_that_mean_the_record_changed_are_retried() {
        let exists = conflict_if(
            ProviderError::api(400, "NS1 answered 400: record already exists"),
            400,
            "already exists",
        );
        assert_eq!(exists.status(), Some(409));
        assert!(retry::is_retryable(&exists));
        let other = conflict_if(
            ProviderError::api(400, "NS1 answered 400: invalid ttl"),
            400,
            "already exists",
        );
        assert_eq!(other.status(), Some(400));
    }
}
