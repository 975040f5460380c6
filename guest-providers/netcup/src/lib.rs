//! An acmebox DNS-01 provider for netcup's DNS, through the CCP DNS API (JSON) with a customer
//! number, an API key and an API password.
//!
//! Every call is one API session: `login` for an `apisessionid`, the work, and `logout` at the
//! end, also when the work failed. netcup keeps every TXT value as a record of its own with an
//! id, and `updateDnsRecords` changes only the records it is given, so no call rewrites the
//! values of others:
//!
//! * `present`: `infoDnsRecords` for the zone; when the value is not at the name,
//!   `updateDnsRecords` with one new record (no id).
//! * `cleanup`: the same listing, then `updateDnsRecords` with each record holding the value,
//!   its id and `deleterecord: true`. Nothing found is success.
//!
//! The zone is the one the host passes, else the closest parent of the record's name for which
//! `infoDnsZone` answers. A session netcup reports invalid (4001) is replaced by a new login
//! once.

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// netcup's JSON endpoint, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://ccp.netcup.net/run/webservice/servers/endpoint.php?JSON";

/// The session id is missing, malformed or expired: log in again.
const SESSION_INVALID: u32 = 4001;

/// "Validation Error.": a refused login, a malformed field, or the request limit.
const VALIDATION_ERROR: u32 = 4013;

/// "Getting DNS records failed": answered for a zone that holds no records at all.
const NO_RECORDS: u32 = 5029;

/// Part of netcup's message when more than 180 requests came in one minute; a login with a
/// wrong API key gets it too.
const REQUEST_LIMIT_MESSAGE: &str = "requests per minute";

struct Netcup;

impl Provider for Netcup {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "customer_number",
                    "the netcup customer number (lego: NETCUP_CUSTOMER_NUMBER)",
                )
                .secret(),
                ConfigKey::required(
                    "api_key",
                    "an API key made in the CCP under Master Data > API (lego: NETCUP_API_KEY)",
                )
                .secret(),
                ConfigKey::required(
                    "api_password",
                    "the account's API password from the CCP (lego: NETCUP_API_PASSWORD)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the JSON endpoint (default \
                     https://ccp.netcup.net/run/webservice/servers/endpoint.php?JSON)",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            // netcup's name servers take minutes, sometimes a quarter of an hour, to serve a
            // change.
            propagation_timeout_secs: 1200,
            polling_interval_secs: 30,
            ..ProviderInfo::new(
                "netcup",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the netcup CCP DNS API",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        Api::from_config()?.with_session(|session| {
            let zone = session.zone_for(&record)?;
            if !session.records_with_value(&zone, &record)?.is_empty() {
                log::info!("TXT value already present at {}", record.fqdn);
                return Ok(());
            }
            let added = json!({
                "hostname": hostname(&record.fqdn, &zone),
                "type": "TXT",
                "destination": record.value,
                "deleterecord": false,
            });
            session.update(&zone, vec![added])?;
            log::info!("added a TXT value at {} in zone {zone}", record.fqdn);
            Ok(())
        })
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        Api::from_config()?.with_session(|session| {
            let zone = session.zone_for(&record)?;
            let mine = session.records_with_value(&zone, &record)?;
            if mine.is_empty() {
                log::info!("TXT value already absent at {}", record.fqdn);
                return Ok(());
            }
            let deleted = mine
                .iter()
                .map(|r| {
                    json!({
                        "id": r.id,
                        "hostname": r.hostname,
                        "type": r.kind,
                        "destination": r.destination,
                        "deleterecord": true,
                    })
                })
                .collect();
            let Err(error) = session.update(&zone, deleted) else {
                log::info!("removed {} TXT record(s) at {}", mine.len(), record.fqdn);
                return Ok(());
            };
            // Another call may have removed some of them first: fine if none is left.
            let refused = matches!(error, ProviderError::ApiError(_));
            if !refused || !session.records_with_value(&zone, &record)?.is_empty() {
                return Err(error);
            }
            log::info!("the TXT value at {} was removed meanwhile", record.fqdn);
            Ok(())
        })
    }
}

acmebox_provider::export!(Netcup);

/// A DNS record as `infoDnsRecords` returns it (`Dnsrecord` in netcup's reference).
#[derive(Debug, Deserialize)]
struct DnsRecord {
    #[serde(deserialize_with = "string_or_number")]
    id: String,
    hostname: String,
    #[serde(rename = "type")]
    kind: String,
    destination: String,
}

#[derive(Debug, Default, Deserialize)]
struct DnsRecordList {
    #[serde(default)]
    dnsrecords: Vec<DnsRecord>,
}

/// Every answer (`Responsemessage`): `status` is `success` or `error`; `responsedata` is the
/// action's result, an empty string on errors.
#[derive(Debug, Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    statuscode: u32,
    #[serde(default)]
    shortmessage: String,
    #[serde(default)]
    longmessage: String,
    #[serde(default)]
    responsedata: Value,
}

/// The API as configured.
struct Api {
    url: String,
    customer_number: String,
    api_key: String,
    api_password: String,
}

impl Api {
    fn from_config() -> Result<Self, ProviderError> {
        let url = config::with_default("api_url", DEFAULT_API_URL)
            .trim()
            .to_owned();
        if http::origin(&url).is_none() {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `api_url` ({url}) is not an http:// or https:// URL, such as \
                 {DEFAULT_API_URL}"
            )));
        }
        Ok(Self {
            url,
            customer_number: config::require("customer_number")?.trim().to_owned(),
            api_key: config::require("api_key")?.trim().to_owned(),
            api_password: config::require("api_password")?.trim().to_owned(),
        })
    }

    /// Logs in, runs `work` in the session, and logs out whatever `work` returned.
    fn with_session<T>(
        &self,
        work: impl FnOnce(&mut Session<'_>) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let mut session = Session {
            api: self,
            id: self.login()?,
        };
        let result = work(&mut session);
        session.logout();
        result
    }

    /// `login`: a new session id.
    fn login(&self) -> Result<String, ProviderError> {
        let param = json!({
            "customernumber": self.customer_number,
            "apikey": self.api_key,
            "apipassword": self.api_password,
        });
        let data = self.call("login", param)?.map_err(|r| r.error)?;
        match data.get("apisessionid").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => Ok(id.to_owned()),
            _ => Err(ProviderError::Other(
                "netcup accepted the login but sent no apisessionid".into(),
            )),
        }
    }

    /// Sends `{"action", "param"}`: `responsedata` of a `success` answer, or netcup's refusal.
    /// Transport failures, HTTP errors and unreadable answers are the outer error.
    fn call(&self, action: &str, param: Value) -> Result<Result<Value, Refusal>, ProviderError> {
        let body = json!({ "action": action, "param": param });
        let response = http::Request::post(&self.url).json(&body).send()?;
        if response.status == 429 {
            return Err(ProviderError::RateLimited(response.retry_after()));
        }
        let answer = match response.json::<Answer>() {
            Ok(answer) => answer,
            Err(_) if !response.is_success() => {
                let text: String = response.text().chars().take(300).collect();
                let status = response.status;
                return Err(ProviderError::api(
                    status,
                    format!("netcup answered {action} with HTTP {status}: {text}"),
                ));
            }
            Err(e) => return Err(e),
        };
        if answer.status.eq_ignore_ascii_case("success") {
            return Ok(Ok(answer.responsedata));
        }
        Ok(Err(Refusal {
            code: answer.statuscode,
            error: error_for(action, &answer, response.status),
        }))
    }
}

/// An `error` answer: netcup's statuscode and what it means.
#[derive(Debug)]
struct Refusal {
    code: u32,
    error: ProviderError,
}

/// A logged-in session.
struct Session<'a> {
    api: &'a Api,
    id: String,
}

impl Session<'_> {
    /// Runs `action` in the session; a session netcup calls invalid is renewed once.
    fn try_action(
        &mut self,
        action: &str,
        param: Value,
    ) -> Result<Result<Value, Refusal>, ProviderError> {
        match self
            .api
            .call(action, self.with_credentials(param.clone()))?
        {
            Err(refusal) if refusal.code == SESSION_INVALID => {
                log::warn!("netcup dropped the session during {action}; logging in again");
                self.id = self.api.login()?;
                self.api.call(action, self.with_credentials(param))
            }
            other => Ok(other),
        }
    }

    /// [`Session::try_action`] with a refusal as its error.
    fn action(&mut self, action: &str, param: Value) -> Result<Value, ProviderError> {
        self.try_action(action, param)?.map_err(|r| r.error)
    }

    /// `param` with the customer number, API key and session id added.
    fn with_credentials(&self, mut param: Value) -> Value {
        if let Some(fields) = param.as_object_mut() {
            fields.insert(
                "customernumber".into(),
                self.api.customer_number.clone().into(),
            );
            fields.insert("apikey".into(), self.api.api_key.clone().into());
            fields.insert("apisessionid".into(), self.id.clone().into());
        }
        param
    }

    /// The zone holding `record.fqdn`, found with `infoDnsZone`.
    fn zone_for(&mut self, record: &TxtRecord) -> Result<String, ProviderError> {
        let (zone, ()) = dns::find_zone("netcup", record, |candidate| {
            match self.try_action("infoDnsZone", json!({ "domainname": candidate }))? {
                Ok(_) => Ok(Some(())),
                // Unknown zones get a validation error or a 5xxx code, depending on why
                // netcup cannot find them: any refusal but a refused login or the request
                // limit means "not here".
                Err(Refusal {
                    error: ProviderError::ApiError(e),
                    ..
                }) => {
                    log::debug!("netcup has no zone {candidate}: {}", e.message);
                    Ok(None)
                }
                Err(refusal) => Err(refusal.error),
            }
        })?;
        Ok(zone)
    }

    /// The TXT records at `record.fqdn` in `zone` holding `record.value`.
    fn records_with_value(
        &mut self,
        zone: &str,
        record: &TxtRecord,
    ) -> Result<Vec<DnsRecord>, ProviderError> {
        let list = match self.try_action("infoDnsRecords", json!({ "domainname": zone }))? {
            Ok(data) => serde_json::from_value::<DnsRecordList>(data)?,
            // A zone without any record is an error, not an empty list.
            Err(refusal) if refusal.code == NO_RECORDS => DnsRecordList::default(),
            Err(refusal) => return Err(refusal.error),
        };
        let name = hostname(&record.fqdn, zone);
        Ok(list
            .dnsrecords
            .into_iter()
            .filter(|r| {
                r.kind.eq_ignore_ascii_case("TXT")
                    && r.hostname.eq_ignore_ascii_case(&name)
                    && dns::unquote_txt(&r.destination) == record.value
            })
            .collect())
    }

    /// `updateDnsRecords` with `records` (new ones without id, deletions with
    /// `deleterecord: true`); netcup leaves every record not listed alone.
    fn update(&mut self, zone: &str, records: Vec<Value>) -> Result<(), ProviderError> {
        let param = json!({
            "domainname": zone,
            "dnsrecordset": { "dnsrecords": records },
        });
        self.action("updateDnsRecords", param).map(drop)
    }

    /// `logout`; a failure is only logged, the session times out anyway.
    fn logout(&self) {
        let outcome = self.api.call("logout", self.with_credentials(json!({})));
        if let Err(e) | Ok(Err(Refusal { error: e, .. })) = outcome {
            log::warn!("netcup logout failed (the session expires by itself): {e:?}");
        }
    }
}

/// The hostname netcup uses for `fqdn` in `zone`: relative, `@` for the apex.
fn hostname(fqdn: &str, zone: &str) -> String {
    match dns::relative_name(fqdn, zone) {
        Some(name) if !name.is_empty() => name,
        _ => "@".to_owned(),
    }
}

/// What an `error` answer to `action` means. netcup answers errors with HTTP 200, so the
/// statuscode and messages tell them apart.
fn error_for(action: &str, answer: &Answer, http_status: u16) -> ProviderError {
    let detail = format!(
        "({} {}) {}",
        answer.statuscode,
        answer.shortmessage.trim(),
        answer.longmessage.trim()
    );
    if action == "login" && answer.statuscode == VALIDATION_ERROR {
        return ProviderError::Unauthorized(format!(
            "netcup refused the login {detail}; check customer_number, api_key and \
             api_password (netcup answers a wrong API key with its request-limit message too)"
        ));
    }
    if answer.longmessage.contains(REQUEST_LIMIT_MESSAGE) {
        return ProviderError::RateLimited(None);
    }
    ProviderError::api(http_status, format!("netcup refused {action} {detail}"))
}

/// Record ids come as strings; accept numbers too.
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: u32, short: &str, long: &str) -> Answer {
        Answer {
            status: "error".into(),
            statuscode: code,
            shortmessage: short.into(),
            longmessage: long.into(),
            responsedata: Value::String(String::new()),
        }
    }

    #[test]
    fn hostnames_are_relative_with_at_for_the_apex() {
        assert_eq!(
            hostname("_acme-challenge.www.example.com.", "example.com"),
            "_acme-challenge.www"
        );
        assert_eq!(hostname("example.com.", "example.com"), "@");
    }

    #[test]
    fn a_refused_login_is_unauthorized_even_with_the_limit_message() {
        let limit = "More than 180 requests per minute. Please wait and retry later.";
        let refused = answer(VALIDATION_ERROR, "Validation Error.", limit);
        assert!(matches!(
            error_for("login", &refused, 200),
            ProviderError::Unauthorized(_)
        ));
        assert!(matches!(
            error_for("infoDnsRecords", &refused, 200),
            ProviderError::RateLimited(None)
        ));
    }

    #[test]
    fn other_errors_are_api_errors_with_netcups_messages() {
        let expired = answer(
            SESSION_INVALID,
            "Api session id in invalid format",
            "The session id is not in a valid format.",
        );
        let ProviderError::ApiError(e) = error_for("infoDnsRecords", &expired, 200) else {
            panic!("expected an api error");
        };
        assert_eq!(e.status, 200);
        assert!(e.message.contains("4001") && e.message.contains("not in a valid format"));
    }

    #[test]
    fn records_parse_with_string_or_number_ids() {
        let list: DnsRecordList = serde_json::from_value(json!({"dnsrecords": [
            {"id": "7", "hostname": "@", "type": "TXT", "priority": "0",
             "destination": "v", "deleterecord": false, "state": "yes"},
            {"id": 8, "hostname": "www", "type": "A", "destination": "192.0.2.1"},
        ]}))
        .unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = list.dnsrecords.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["7", "8"]);
    }
}
