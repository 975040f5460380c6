//! cert-manager's DNS-01 webhook solver API, answered by `acmebox serve` next to the `httpreq`
//! protocol ([`HttpreqServer::with_cert_manager_group`]), so a cluster's cert-manager solves
//! DNS-01 through sandboxed providers: stateless replicas of `acmebox serve` behind a Kubernetes
//! Service, registered with the API aggregator by an `APIService` for the group.
//!
//! What cert-manager and the aggregator send and read, from cert-manager v1.21.2
//! (github.com/cert-manager/cert-manager) and Kubernetes v0.36.2 (k8s.io/kube-aggregator):
//!
//! * The call: cert-manager's webhook client (`pkg/issuer/acme/dns/webhook/webhook.go`,
//!   `Webhook.Present` / `CleanUp`) POSTs a `ChallengePayload` as JSON to
//!   `/apis/<groupName>/v1alpha1/<solverName>` (a cluster-scoped resource; `groupName` and
//!   `solverName` come from the Issuer's `webhook` solver). The payload's `request` is a
//!   `ChallengeRequest` (`pkg/acme/webhook/apis/acme/v1alpha1/types.go`): `action` is
//!   `Present` or `CleanUp`, `type` is `dns-01`, `key` the TXT value, `resolvedFQDN` the record
//!   name after CNAMEs (`_acme-challenge.example.com.`), `resolvedZone` its zone, `dnsName`
//!   the identifier, `uid` an identifier of the round trip (cert-manager's solver,
//!   `pkg/issuer/acme/dns/dns.go`, leaves it empty), and `config` the Issuer's free-form
//!   `config` (ignored here: each solver is one configured provider). The payload carries no
//!   `apiVersion` or `kind`: the client's scheme does not register the type.
//! * The answer: the client decodes the body into a `ChallengePayload` and reads `response`
//!   only: `success`, and when it is false, `status` (a `metav1.Status`) whose `message`
//!   becomes the error cert-manager reports. A non-`2xx` status fails the call with no message
//!   of the solver's, so a provider failure is a `2xx` with `success: false`, as cert-manager's
//!   own webhook server answers (`pkg/acme/webhook/registry/challengepayload`, whose `Create`
//!   the generic API server answers with `201 Created`).
//! * Discovery: the aggregator asks the service for `GET /apis` with aggregated discovery's
//!   `Accept`, and when the answer is plain JSON, falls back to `GET /apis/<group>/v1alpha1`,
//!   decoding an `APIResourceList` (`pkg/apiserver/handler_discovery.go`); its availability
//!   check wants any `2xx` from that same path within 5 seconds
//!   (`pkg/controllers/status/remote/remote_available_controller.go`). kubectl also reads
//!   `/apis/<group>`. cert-manager's webhook server (`pkg/acme/webhook/apiserver/apiserver.go`)
//!   lists each solver as a resource of version `v1alpha1`, kind `ChallengePayload`, verb
//!   `create`, not namespaced.
//!
//! So: `GET /apis`, `/apis/<group>` and `/apis/<group>/v1alpha1` answer an `APIGroupList`, an
//! `APIGroup` and an `APIResourceList` with a resource per provider, named after it, without
//! credentials (the aggregator presents a client certificate, never basic auth). `POST
//! /apis/<group>/v1alpha1/<provider>` runs the provider's `present` or `cleanup` for
//! `DnsRequest::Record { fqdn: resolvedFQDN, value: key }`, with the basic auth, metrics and
//! log line of an `httpreq` call ([`HttpreqServer::serve`]); it answers `201` with
//! `{"apiVersion", "kind": "ChallengePayload", "response": {"uid", "success", "status"}}`
//! (the request is not echoed). A body that is no `ChallengePayload`, an unknown path,
//! method or credentials are a `metav1.Status` with the HTTP status and reason Kubernetes
//! uses (`400 BadRequest`, `404 NotFound`, `405 MethodNotAllowed`, `401 Unauthorized`).

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use serde::Deserialize;

#[cfg(doc)]
use crate::httpreq::HttpreqServer;
use crate::httpreq::{
    BasicAuth, CREDENTIALS_REQUIRED, INVALID_REQUEST, LOG_TARGET, MAX_BODY_BYTES,
    ask_for_credentials, json, log_call, log_refused,
};
use crate::metrics::ServeMetrics;
use crate::{DnsRequest, HookRunner, Result, invalid};
use acmebox_sandbox::Operation;

/// The version of cert-manager's webhook API: the only one there is.
pub const VERSION: &str = "v1alpha1";

/// The kind of the resource each solver is.
pub const KIND: &str = "ChallengePayload";

/// The longest API group name: a DNS subdomain, as Kubernetes requires of a group.
const MAX_GROUP_LEN: usize = 253;

/// The API group `acmebox serve` answers cert-manager under, checked.
#[derive(Debug, Clone)]
pub struct CertManagerApi {
    group: String,
}

impl CertManagerApi {
    /// The API `group` (the Issuer's `groupName`, such as `acme.example.com`): a lowercase DNS
    /// name of at least two labels.
    pub fn new(group: &str) -> Result<Self> {
        check_group(group).map_err(|reason| {
            invalid(format!(
                "the cert-manager API group {:?} {reason}; use a lowercase DNS name you own, \
                 such as acme.example.com",
                acmebox_sandbox::bound(group, 64)
            ))
        })?;
        Ok(CertManagerApi {
            group: group.to_owned(),
        })
    }

    /// The API group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Answers a request whose path [`is_api_path`].
    pub(crate) async fn answer(
        &self,
        runners: &[HookRunner],
        auth: Option<&BasicAuth>,
        metrics: &ServeMetrics,
        request: Request<Incoming>,
    ) -> Response<Full<Bytes>> {
        let path = request.uri().path().trim_end_matches('/');
        let segments: Vec<&str> = path.split('/').skip(2).collect();
        let runner = match segments.as_slice() {
            [] | [_] | [_, _] if request.method() != Method::GET => {
                return method_not_allowed("GET");
            }
            [] => return json(StatusCode::OK, &self.group_list()),
            [group] if *group == self.group => {
                let mut document = self.api_group();
                document["kind"] = "APIGroup".into();
                document["apiVersion"] = "v1".into();
                return json(StatusCode::OK, &document);
            }
            [group, VERSION] if *group == self.group => {
                return json(StatusCode::OK, &self.resource_list(runners));
            }
            [group, VERSION, solver] if *group == self.group => {
                let Some(runner) = runners.iter().find(|r| r.provider().name() == *solver) else {
                    let served: Vec<&str> = runners.iter().map(|r| r.provider().name()).collect();
                    return status(
                        StatusCode::NOT_FOUND,
                        &format!(
                            "no solver `{}` in {}; set the Issuer's solverName to one of: {}",
                            acmebox_sandbox::bound(solver, 64),
                            self.group,
                            served.join(", ")
                        ),
                    );
                };
                runner
            }
            _ => {
                return status(
                    StatusCode::NOT_FOUND,
                    &format!(
                        "not found; this server answers cert-manager under /apis/{}/{VERSION}/",
                        self.group
                    ),
                );
            }
        };
        if request.method() != Method::POST {
            return method_not_allowed("POST");
        }
        self.call(runner, auth, metrics, request).await
    }

    /// `/apis`: the one group.
    fn group_list(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [self.api_group()],
        })
    }

    /// The group with its one version, as `/apis` lists it (`/apis/<group>` adds the kind).
    fn api_group(&self) -> serde_json::Value {
        let version = serde_json::json!({
            "groupVersion": format!("{}/{VERSION}", self.group),
            "version": VERSION,
        });
        serde_json::json!({
            "name": self.group,
            "versions": [version],
            "preferredVersion": version,
        })
    }

    /// `/apis/<group>/v1alpha1`: a solver per provider, as cert-manager's server lists them.
    fn resource_list(&self, runners: &[HookRunner]) -> serde_json::Value {
        let resources: Vec<serde_json::Value> = runners
            .iter()
            .map(|runner| {
                serde_json::json!({
                    "name": runner.provider().name(),
                    "singularName": KIND,
                    "namespaced": false,
                    "kind": KIND,
                    "verbs": ["create"],
                })
            })
            .collect();
        serde_json::json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": format!("{}/{VERSION}", self.group),
            "resources": resources,
        })
    }

    /// The answer to a call that got as far as its record: `success`, and the reason when it
    /// failed.
    fn payload(&self, uid: &str, failure: Option<String>) -> Response<Full<Bytes>> {
        let mut response = serde_json::json!({ "uid": uid, "success": failure.is_none() });
        if let Some(message) = failure {
            response["status"] = serde_json::json!({
                "metadata": {},
                "status": "Failure",
                "message": message,
            });
        }
        json(
            StatusCode::CREATED,
            &serde_json::json!({
                "apiVersion": format!("{}/{VERSION}", self.group),
                "kind": KIND,
                "response": response,
            }),
        )
    }
}

/// True for the paths of Kubernetes' API groups, which [`CertManagerApi`] answers.
pub(crate) fn is_api_path(path: &str) -> bool {
    path == "/apis" || path.starts_with("/apis/")
}

/// What a `ChallengePayload` asks of a solver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeCall {
    /// The request's `uid`, echoed in the answer.
    pub uid: String,
    /// `Present` or `CleanUp`.
    pub operation: Operation,
    /// The record: `resolvedFQDN` and `key`.
    pub request: DnsRequest,
}

/// The call a `ChallengePayload` body asks for, or why it is none (for the client).
///
/// Read as Kubernetes reads it: field names exactly as cert-manager spells them, unknown
/// fields and `null` strings allowed. Refused: anything but a JSON object, no `request`, an
/// `action` other than `Present` or `CleanUp`, a `type` other than `dns-01` (an empty one is
/// taken for it), and an empty `resolvedFQDN` or `key`. Nothing is checked beyond the shape:
/// [`DnsRequest::txt_record`] checks the rest.
pub fn parse_payload(body: &[u8]) -> std::result::Result<ChallengeCall, String> {
    let payload: Payload = serde_json::from_slice(body)
        .map_err(|err| format!("the body is not a JSON ChallengePayload: {err}"))?;
    let Some(request) = payload.request else {
        return Err("the ChallengePayload has no `request`".to_owned());
    };
    let operation = match request.action.as_deref().unwrap_or_default() {
        "Present" => Operation::Present,
        "CleanUp" => Operation::Cleanup,
        other => {
            return Err(format!(
                "unknown action {:?}; cert-manager sends `Present` or `CleanUp`",
                acmebox_sandbox::bound(other, 64)
            ));
        }
    };
    let challenge_type = request.challenge_type.unwrap_or_default();
    if !(challenge_type.is_empty() || challenge_type == "dns-01") {
        return Err(format!(
            "only dns-01 challenges are solved here, not {:?}",
            acmebox_sandbox::bound(&challenge_type, 64)
        ));
    }
    let fqdn = request.resolved_fqdn.unwrap_or_default();
    if fqdn.is_empty() {
        return Err("`request.resolvedFQDN` is empty; it names the TXT record \
                    (`_acme-challenge.<domain>.` or where its CNAMEs lead)"
            .to_owned());
    }
    let value = request.key.unwrap_or_default();
    if value.is_empty() {
        return Err("`request.key` is empty; it is the TXT value".to_owned());
    }
    Ok(ChallengeCall {
        uid: request.uid.unwrap_or_default(),
        operation,
        request: DnsRequest::Record { fqdn, value },
    })
}

/// The part of a `ChallengePayload` read; `apiVersion`, `kind` and `response` are ignored.
#[derive(Deserialize)]
struct Payload {
    request: Option<ChallengeRequest>,
}

/// The part of a `ChallengeRequest` read.
#[derive(Deserialize)]
struct ChallengeRequest {
    uid: Option<String>,
    action: Option<String>,
    #[serde(rename = "type")]
    challenge_type: Option<String>,
    key: Option<String>,
    #[serde(rename = "resolvedFQDN")]
    resolved_fqdn: Option<String>,
}

impl CertManagerApi {
    /// `POST /apis/<group>/v1alpha1/<provider>`: reads the payload, checks the credentials
    /// and runs the provider.
    async fn call(
        &self,
        runner: &HookRunner,
        auth: Option<&BasicAuth>,
        metrics: &ServeMetrics,
        request: Request<Incoming>,
    ) -> Response<Full<Bytes>> {
        let admitted = auth.is_none_or(|auth| auth.admits(&request));
        // The body is read before the credentials are judged, so that a refusal counts under its
        // operation; it is bounded, and nothing of it reaches a provider unless they pass.
        let parsed = match Limited::new(request.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
        {
            Ok(body) => parse_payload(&body.to_bytes()),
            Err(err) => Err(format!(
                "cannot read the body (at most {MAX_BODY_BYTES} bytes): {err}"
            )),
        };
        if !admitted {
            match &parsed {
                Ok(call) => log_refused(
                    metrics,
                    runner,
                    call.operation,
                    "unauthorized",
                    StatusCode::UNAUTHORIZED,
                ),
                Err(_) => log_unparsed(runner, "unauthorized", StatusCode::UNAUTHORIZED),
            }
            return ask_for_credentials(status(StatusCode::UNAUTHORIZED, CREDENTIALS_REQUIRED));
        }
        let call = match parsed {
            Ok(call) => call,
            Err(reason) => {
                log_unparsed(runner, INVALID_REQUEST, StatusCode::BAD_REQUEST);
                return status(StatusCode::BAD_REQUEST, &reason);
            }
        };
        let record = match runner.record(&call.request).await {
            Ok(record) => record,
            Err(err) => {
                log_refused(
                    metrics,
                    runner,
                    call.operation,
                    INVALID_REQUEST,
                    StatusCode::CREATED,
                );
                return self.payload(&call.uid, Some(err.to_string()));
            }
        };
        match runner.run_record(call.operation, &record).await {
            Ok(report) => {
                let response = self.payload(&call.uid, report.error().map(ToString::to_string));
                log_call(metrics, &report, &record.fqdn, response.status());
                response
            }
            Err(err) => {
                log_refused(
                    metrics,
                    runner,
                    call.operation,
                    INVALID_REQUEST,
                    StatusCode::CREATED,
                );
                self.payload(&call.uid, Some(err.to_string()))
            }
        }
    }
}

/// The line of a request refused before its operation was known (its body is no payload).
fn log_unparsed(runner: &HookRunner, outcome: &str, status: StatusCode) {
    tracing::info!(
        target: LOG_TARGET,
        provider = runner.provider().name(),
        outcome,
        status = status.as_u16(),
        "call"
    );
}

/// Checks an API group name: a lowercase DNS subdomain of at least two labels.
fn check_group(group: &str) -> std::result::Result<(), &'static str> {
    if group.is_empty() || group.len() > MAX_GROUP_LEN {
        return Err("must be 1 to 253 characters long");
    }
    if !group.contains('.') {
        return Err("must have at least two labels, like a domain name");
    }
    for label in group.split('.') {
        let bytes = label.as_bytes();
        let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
            return Err("has an empty label");
        };
        if label.len() > 63 {
            return Err("has a label longer than 63 characters");
        }
        let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
        if !bytes.iter().all(allowed) {
            return Err("may hold only lowercase letters, digits, `-` and `.`");
        }
        if *first == b'-' || *last == b'-' {
            return Err("has a label that starts or ends with `-`");
        }
    }
    Ok(())
}

/// A `metav1.Status` failure, as the Kubernetes API answers one.
fn status(code: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let reason = match code {
        StatusCode::BAD_REQUEST => "BadRequest",
        StatusCode::UNAUTHORIZED => "Unauthorized",
        StatusCode::NOT_FOUND => "NotFound",
        StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowed",
        _ => "InternalError",
    };
    json(
        code,
        &serde_json::json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code.as_u16(),
        }),
    )
}

fn method_not_allowed(allow: &'static str) -> Response<Full<Bytes>> {
    let mut response = status(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("use {allow} on this path"),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, http::HeaderValue::from_static(allow));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::httpreq::tests::json_answer;

    /// A DNS-01 value.
    const VALUE: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

    fn api() -> CertManagerApi {
        CertManagerApi::new("acme.example.test").expect("a valid group")
    }

    #[test]
    fn payloads_cert_manager_sends_parse() {
        // As cert-manager's webhook client encodes it (Go's encoding/json of
        // v1alpha1.ChallengePayload, no apiVersion or kind, uid empty).
        let present = format!(
            r#"{{"request":{{"uid":"","action":"Present","type":"dns-01",
            "dnsName":"*.example.com","key":"{VALUE}","resourceNamespace":"cert-manager",
            "resolvedFQDN":"_acme-challenge.example.com.","resolvedZone":"example.com.",
            "allowAmbientCredentials":false,"config":{{"any":["thing"]}}}}}}"#
        );
        let call = parse_payload(present.as_bytes()).expect("cert-manager's payload parses");
        assert_eq!(
            call,
            ChallengeCall {
                uid: String::new(),
                operation: Operation::Present,
                request: DnsRequest::Record {
                    fqdn: "_acme-challenge.example.com.".to_owned(),
                    value: VALUE.to_owned(),
                },
            }
        );
        let cleanup = format!(
            r#"{{"apiVersion":"acme.example.test/v1alpha1","kind":"ChallengePayload",
            "request":{{"uid":"u-1","action":"CleanUp","key":"{VALUE}",
            "resolvedFQDN":"_acme-challenge.a.example.com.","dnsName":null}}}}"#
        );
        let call = parse_payload(cleanup.as_bytes()).expect("a cleanup parses");
        assert_eq!(
            (call.uid.as_str(), call.operation),
            ("u-1", Operation::Cleanup)
        );
    }

    #[test]
    fn malformed_payloads_are_refused_with_the_reason() {
        let request = |fields: &str| format!(r#"{{"request":{{{fields}}}}}"#);
        for (body, reason) in [
            ("".to_owned(), "not a JSON ChallengePayload"),
            ("[]".to_owned(), "not a JSON ChallengePayload"),
            ("{}".to_owned(), "no `request`"),
            (r#"{"request":null}"#.to_owned(), "no `request`"),
            (
                r#"{"request":"x"}"#.to_owned(),
                "not a JSON ChallengePayload",
            ),
            (
                request(r#""action":"present","key":"v","resolvedFQDN":"x.""#),
                "unknown action \"present\"",
            ),
            (
                request(r#""key":"v","resolvedFQDN":"x.""#),
                "unknown action \"\"",
            ),
            (
                request(r#""action":"Present","type":"http-01","key":"v","resolvedFQDN":"x.""#),
                "only dns-01",
            ),
            (
                request(r#""action":"Present","key":"v","dnsName":"example.com""#),
                "`request.resolvedFQDN` is empty",
            ),
            (
                request(r#""action":"CleanUp","key":"","resolvedFQDN":"x.""#),
                "`request.key` is empty",
            ),
            (
                request(r#""action":"Present","key":1,"resolvedFQDN":"x.""#),
                "not a JSON ChallengePayload",
            ),
        ] {
            let err = parse_payload(body.as_bytes()).expect_err(&body);
            assert!(err.contains(reason), "{body}: {err}");
        }
    }

    #[test]
    fn groups_are_dns_names() {
        for group in ["acme.example.test", "a.b", "acme-1.example.com"] {
            assert!(CertManagerApi::new(group).is_ok(), "{group}");
        }
        for group in [
            "",
            "acme",
            "Acme.example.test",
            "acme..example",
            ".acme.example",
            "acme.example.",
            "-acme.example",
            "acme_x.example",
            "acme.example/v1alpha1",
        ] {
            let err = CertManagerApi::new(group).expect_err(group).to_string();
            assert!(err.contains("cert-manager API group"), "{group}: {err}");
        }
        assert!(CertManagerApi::new(&format!("{}.test", "a".repeat(64))).is_err());
    }

    #[test]
    fn api_paths_are_matched_whole() {
        assert!(is_api_path("/apis"));
        assert!(is_api_path("/apis/acme.example.test/v1alpha1/pdns"));
        assert!(!is_api_path("/apisx/present"));
        assert!(!is_api_path("/pdns/present"));
    }

    #[test]
    fn discovery_documents_list_the_group_and_version() {
        let api = api();
        let list = api.group_list();
        assert_eq!(list["kind"], "APIGroupList");
        assert_eq!(list["apiVersion"], "v1");
        let group = &list["groups"][0];
        assert_eq!(group["name"], "acme.example.test");
        let version = serde_json::json!({
            "groupVersion": "acme.example.test/v1alpha1",
            "version": "v1alpha1",
        });
        assert_eq!(group["versions"], serde_json::json!([version.clone()]));
        assert_eq!(group["preferredVersion"], version);
        let resources = api.resource_list(&[]);
        assert_eq!(resources["kind"], "APIResourceList");
        assert_eq!(resources["groupVersion"], "acme.example.test/v1alpha1");
        assert_eq!(resources["resources"], serde_json::json!([]));
    }

    #[tokio::test]
    async fn answers_carry_the_uid_and_a_status_only_on_failure() {
        let api = api();
        let (code, ok) = json_answer(api.payload("u-7", None)).await;
        assert_eq!(code, StatusCode::CREATED);
        assert_eq!(
            ok,
            serde_json::json!({
                "apiVersion": "acme.example.test/v1alpha1",
                "kind": "ChallengePayload",
                "response": { "uid": "u-7", "success": true },
            })
        );
        let (code, failed) =
            json_answer(api.payload("", Some("provider `pdns` failed".to_owned()))).await;
        assert_eq!(code, StatusCode::CREATED);
        assert_eq!(failed["response"]["uid"], "");
        assert_eq!(failed["response"]["success"], false);
        assert_eq!(failed["response"]["status"]["status"], "Failure");
        assert_eq!(
            failed["response"]["status"]["message"],
            "provider `pdns` failed"
        );
    }

    #[tokio::test]
    async fn refusals_are_kubernetes_statuses() {
        let (code, body) = json_answer(status(StatusCode::NOT_FOUND, "no solver `x`")).await;
        assert_eq!(code, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            serde_json::json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": "no solver `x`",
                "reason": "NotFound",
                "code": 404,
            })
        );
        let response = method_not_allowed("POST");
        assert_eq!(response.headers()[header::ALLOW], "POST");
        let (code, body) = json_answer(response).await;
        assert_eq!(
            (code, body["reason"].as_str()),
            (StatusCode::METHOD_NOT_ALLOWED, Some("MethodNotAllowed"))
        );
    }
}
