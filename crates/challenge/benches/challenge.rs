//! Criterion benches of the native challenge core, the acmebox side of `bench/run.sh`.
//!
//! Each bench id matches an operation of `bench/acmeow_bench.py`, which times acmeow on the
//! same inputs, so the two can be compared one to one. Times are kept short (3 s of
//! measurement, 30 samples) so the whole run finishes in a few minutes on two cores.

use std::hint::black_box;
use std::time::Duration;

use acmebox_challenge::dns01::{Dns01Record, TxtValue};
use acmebox_challenge::handlers::{ChallengeHandler, FileHttpHandler, FileTlsAlpnHandler};
use acmebox_challenge::tls_alpn01::{self, CertificateKey, CertificateOptions, KeyType};
use acmebox_challenge::{Challenge, ChallengeType, Identifier, KeyAuthorization};
use criterion::{Criterion, criterion_group, criterion_main};

/// The same inputs as `bench/acmeow_bench.py`.
const DOMAIN: &str = "www.example.com";
const KEY_AUTHORIZATION: &str =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

fn key_authorization() -> KeyAuthorization {
    KeyAuthorization::parse(KEY_AUTHORIZATION).expect("the bench key authorization is valid")
}

fn dns01(c: &mut Criterion) {
    let ka = key_authorization();
    c.bench_function("dns01_value", |b| b.iter(|| TxtValue::new(black_box(&ka))));
    c.bench_function("dns01_record", |b| {
        b.iter(|| {
            let id = Identifier::parse(black_box(DOMAIN)).expect("valid domain");
            Dns01Record::new(&id, &ka).expect("DNS identifier")
        })
    });
}

fn key_authorization_parse(c: &mut Criterion) {
    c.bench_function("key_authorization_parse", |b| {
        b.iter(|| KeyAuthorization::parse(black_box(KEY_AUTHORIZATION)).expect("valid"))
    });
}

/// Like acmeow's `generate_tls_alpn_certificate`, each iteration ends with the certificate and
/// the key as PEM.
fn tls_alpn01_certificate(c: &mut Criterion) {
    let ka = key_authorization();
    let id = Identifier::parse(DOMAIN).expect("valid domain");
    let fresh = CertificateOptions::default();
    c.bench_function("tls_alpn01_fresh_p256", |b| {
        b.iter(|| {
            let cert = tls_alpn01::generate(&id, &ka, black_box(&fresh)).expect("generate");
            (cert.cert_pem(), cert.key_pem())
        })
    });
    let key = CertificateKey::generate(KeyType::P256).expect("P-256 key generation");
    let reused = CertificateOptions::default().with_key(key);
    c.bench_function("tls_alpn01_reused_p256", |b| {
        b.iter(|| {
            let cert = tls_alpn01::generate(&id, &ka, black_box(&reused)).expect("generate");
            (cert.cert_pem(), cert.key_pem())
        })
    });
}

/// One `setup` and one `cleanup` per iteration, into a fresh temp dir (under `TMPDIR`: its
/// file system, and whether `fsync` costs anything there, decides the figure).
fn file_deployment(c: &mut Criterion) {
    // Multi-threaded, as the acmebox CLI runs the handlers.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let id = Identifier::parse(DOMAIN).expect("valid domain");

    let webroot = tempfile::tempdir().expect("temp dir");
    let http = FileHttpHandler::new(webroot.path());
    let challenge =
        Challenge::new(ChallengeType::Http01, id.clone(), key_authorization()).expect("http-01");
    c.bench_function("http01_file_setup_cleanup", |b| {
        b.to_async(&runtime).iter(|| async {
            http.setup(&challenge).await.expect("setup");
            http.cleanup(&challenge).await.expect("cleanup");
        })
    });

    let cert_dir = tempfile::tempdir().expect("temp dir");
    let tls = FileTlsAlpnHandler::new(cert_dir.path());
    let challenge =
        Challenge::new(ChallengeType::TlsAlpn01, id, key_authorization()).expect("tls-alpn-01");
    c.bench_function("tls_alpn01_file_setup_cleanup", |b| {
        b.to_async(&runtime).iter(|| async {
            tls.setup(&challenge).await.expect("setup");
            tls.cleanup(&challenge).await.expect("cleanup");
        })
    });

    // The handlers run their blocking file work on tokio's blocking pool, once in `setup` and
    // once in `cleanup`: this is what the two hand-offs cost with no file work at all.
    c.bench_function("floor_spawn_blocking_x2", |b| {
        b.to_async(&runtime).iter(|| async {
            tokio::task::spawn_blocking(|| ()).await.expect("join");
            tokio::task::spawn_blocking(|| ()).await.expect("join");
        })
    });
}

/// What the two headline operations cannot go below: SHA-256 of the key authorization alone,
/// and a fresh P-256 key plus one signature with ring (what rcgen does for a certificate).
/// `bench/acmeow_bench.py` times the same primitives through acmeow's `cryptography`/OpenSSL.
fn floors(c: &mut Criterion) {
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};

    c.bench_function("floor_sha256", |b| {
        b.iter(|| {
            ring::digest::digest(
                &ring::digest::SHA256,
                black_box(KEY_AUTHORIZATION).as_bytes(),
            )
        })
    });
    let rng = ring::rand::SystemRandom::new();
    let tbs = [0x5a_u8; TBS_LEN];
    c.bench_function("floor_p256_keygen_sign", |b| {
        b.iter(|| {
            let alg = &ECDSA_P256_SHA256_ASN1_SIGNING;
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("keygen");
            let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).expect("parse");
            pair.sign(&rng, black_box(&tbs)).expect("sign")
        })
    });
}

/// About the size of a challenge certificate's to-be-signed part.
const TBS_LEN: usize = 300;

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = dns01, key_authorization_parse, tls_alpn01_certificate, file_deployment, floors
}
criterion_main!(benches);
