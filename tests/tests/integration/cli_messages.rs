//! What the `acmebox` command says when it refuses something: the exact message, on stderr,
//! with a failing exit status. Nothing here needs a server.

use std::path::Path;
use std::process::{Command, Output};

use acmebox_tests::cli::acmebox_bin;

const KEY_AUTHORIZATION: &str =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/// Runs `acmebox` with `args`, expects it to fail, and returns its stderr.
fn refused(args: &[&str]) -> anyhow::Result<String> {
    let out: Output = Command::new(acmebox_bin()).args(args).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    anyhow::ensure!(
        !out.status.success(),
        "acmebox {args:?} succeeded:\n{}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(stderr)
}

fn text(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

#[test]
fn tls_alpn_01_refuses_one_path_for_certificate_and_key() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let both = dir.path().join("alpn.pem");
    let spelled_otherwise = dir.path().join(".").join("alpn.pem");
    let stderr = refused(&[
        "challenge",
        "tls-alpn-01",
        "example.com",
        KEY_AUTHORIZATION,
        "--cert-out",
        text(&both),
        "--key-out",
        text(&spelled_otherwise),
    ])?;
    assert_eq!(
        stderr,
        format!(
            "acmebox: --cert-out and --key-out are the same file, {}: the certificate would \
             overwrite the key; give two different paths\n",
            both.display()
        )
    );
    assert!(!both.exists(), "nothing is written");
    // Through a symbolic link to an existing file.
    std::fs::write(&both, "old")?;
    let link = dir.path().join("link.pem");
    std::os::unix::fs::symlink(&both, &link)?;
    let stderr = refused(&[
        "challenge",
        "tls-alpn-01",
        "example.com",
        KEY_AUTHORIZATION,
        "--cert-out",
        text(&link),
        "--key-out",
        text(&both),
    ])?;
    assert!(stderr.contains("are the same file"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&both)?, "old");
    Ok(())
}

/// Runs `acmebox` with `args`, expects it to succeed, and returns its stdout and stderr.
fn accepted(args: &[&str]) -> anyhow::Result<(String, String)> {
    let out: Output = Command::new(acmebox_bin())
        .args(args)
        .env_remove("RUST_LOG")
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    anyhow::ensure!(
        out.status.success(),
        "acmebox {args:?} failed:\n{stdout}\n{stderr}"
    );
    Ok((stdout, stderr))
}

/// A config in `dir` with the fixture `good` as provider `good`, making no requests
/// (`mode = "nohttp"`), with the config values `values` (TOML lines), its journal in `dir`.
fn good_config(dir: &Path, values: &str) -> anyhow::Result<std::path::PathBuf> {
    let component = acmebox_tests::guests::fixture("good")?;
    let path = dir.join("acmebox.toml");
    std::fs::write(
        &path,
        format!(
            "cache_dir = {cache:?}\nstate_dir = {state:?}\n\n[providers.good]\n\
             component = {component:?}\n\n[providers.good.config]\nmode = \"nohttp\"\n{values}",
            cache = text(&acmebox_tests::guests::shared_cache_dir()),
            state = text(&dir.join("state")),
            component = text(&component),
        ),
    )?;
    Ok(path)
}

/// `acmebox present` of `example.com` through provider `good` of `config`.
fn present_args(config: &Path) -> Vec<&str> {
    vec![
        "present",
        "--config",
        text(config),
        "--provider",
        "good",
        "example.com",
        KEY_AUTHORIZATION,
    ]
}

#[test]
fn a_config_key_the_provider_does_not_read_is_named_with_the_nearest_one() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = good_config(
        dir.path(),
        "endpoint = \"https://api.example.com\"\ntoken = { value = \"tok-123\", secret = true }\ntokn = \"x\"\n",
    )?;
    let stderr = refused(&present_args(&config))?;
    let version = "0.1.0";
    assert_eq!(
        stderr,
        format!(
            "acmebox: {}: provider `good`: config key `tokn` (did you mean `token`?) not read by \
             fixture-good {version}: it reads `endpoint`, `token`, `mode` and `sequential`; remove \
             or rename it\n",
            config.display()
        )
    );
    assert!(
        !dir.path().join("state").join("journal").exists()
            || std::fs::read_dir(dir.path().join("state").join("journal"))?.count() == 0,
        "nothing was presented"
    );
    Ok(())
}

#[test]
fn a_missing_required_config_key_is_named_with_what_it_is_for() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = good_config(
        dir.path(),
        "token = { env = \"ACMEBOX_TEST_TOKEN\", secret = true }\n",
    )?;
    let out = Command::new(acmebox_bin())
        .args(present_args(&config))
        .env("ACMEBOX_TEST_TOKEN", "tok-123")
        .output()?;
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "acmebox: {}: provider `good`: config key `endpoint` (Base URL of the test API) \
             required by fixture-good 0.1.0 but not set; add it under [providers.good.config]\n",
            config.display()
        )
    );
    Ok(())
}

#[test]
fn a_credential_not_marked_secret_is_redacted_and_warned_about() -> anyhow::Result<()> {
    const TOKEN: &str = "plain-token-1234";
    let dir = tempfile::tempdir()?;
    let config = good_config(
        dir.path(),
        &format!("endpoint = \"https://api.example.com\"\ntoken = {TOKEN:?}\n"),
    )?;
    let (stdout, stderr) = accepted(&present_args(&config))?;
    let file = config.display();
    assert!(
        stderr.contains(&format!(
            "provider `good`: config key `token` is a credential (fixture-good marks it secret) \
             and is redacted as one; write `secret = true` for it in {file}"
        )) && stderr.contains(&format!(
            "provider `good`: the credential `token` is written in {file} itself; read it from \
             the environment"
        )),
        "{stderr}"
    );
    // The provider logs its token on every call: the host hides it.
    assert!(stdout.contains("(token [redacted])"), "{stdout}");
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "{stdout}{stderr}"
    );
    // Read from the environment and marked: no warning at all.
    let config = good_config(
        dir.path(),
        "endpoint = \"https://api.example.com\"\ntoken = { env = \"ACMEBOX_TEST_TOKEN\", secret = true }\n",
    )?;
    let out = Command::new(acmebox_bin())
        .args(present_args(&config))
        .env("ACMEBOX_TEST_TOKEN", TOKEN)
        .env_remove("RUST_LOG")
        .output()?;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("credential"), "{stderr}");
    assert!(stdout.contains("(token [redacted])"), "{stdout}");
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "{stdout}{stderr}"
    );
    Ok(())
}

#[test]
fn a_secret_of_two_characters_is_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = good_config(
        dir.path(),
        "endpoint = \"https://api.example.com\"\ntoken = { value = \"ab\", secret = true }\n",
    )?;
    let stderr = refused(&present_args(&config))?;
    assert_eq!(
        stderr,
        format!(
            "acmebox: {}: provider `good`: config key `token` is a secret of 2 character(s); \
             acmebox hides every secret from logs, errors and audit records, and one shorter \
             than 3 characters would garble them: set the full credential\n",
            config.display()
        )
    );
    Ok(())
}

#[test]
fn a_limit_of_zero_is_refused_with_the_allowed_range() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = good_config(dir.path(), "")?;
    let text = std::fs::read_to_string(&config)?.replace(
        "[providers.good]\n",
        "[providers.good]\nmax_concurrent_calls = 0\n",
    );
    std::fs::write(&config, text)?;
    let stderr = refused(&present_args(&config))?;
    assert_eq!(
        stderr,
        format!(
            "acmebox: {}: provider `good`: `max_concurrent_calls = 0` is out of range: allowed 1 \
             to 256, or leave it out for the default\n",
            config.display()
        )
    );
    Ok(())
}

#[test]
fn inspect_says_when_a_file_is_not_a_component() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cases: [(&str, &[u8], &str); 3] = [
        (
            "notes.txt",
            b"just some text\n",
            "the file is not WebAssembly (it does not start with the \\0asm magic): point \
             `component` at a provider built as a WebAssembly component (a .wasm file for \
             wasm32-wasip2)",
        ),
        (
            "module.wat",
            b"(module)\n",
            "the file is WebAssembly text, not a binary component: build it with `wasm-tools \
             parse`, or point `component` at the .wasm file",
        ),
        (
            "core.wasm",
            b"\0asm\x01\0\0\0",
            "the file is a core WebAssembly module, not a component: build the provider for \
             wasm32-wasip2 (or wrap the module with `wasm-tools component new`)",
        ),
    ];
    for (name, bytes, reason) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes)?;
        let stem = name.split('.').next().unwrap_or(name);
        let stderr = refused(&[
            "inspect",
            text(&file),
            "--cache-dir",
            text(&dir.path().join("cache")),
        ])?;
        assert_eq!(
            stderr,
            format!(
                "acmebox: provider `{stem}` could not be loaded from {}: {reason}\n",
                file.display()
            )
        );
    }
    Ok(())
}

/// An EC key in PEM, as lego and acme.sh keep account keys.
const PEM_KEY: &str = "-----BEGIN EC PRIVATE KEY-----\n\
    MHcCAQEEIJGJwR2+CSfWvBZDPpI7o7e9f3xj2/z0wmiYbg7UyP0PoAoGCCqGSM49\n\
    -----END EC PRIVATE KEY-----\n";

#[test]
fn a_pem_key_given_as_a_jwk_says_what_is_expected() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("account.key");
    std::fs::write(&file, PEM_KEY)?;
    let stderr = refused(&[
        "challenge",
        "key-authorization",
        "--jwk",
        text(&file),
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
    ])?;
    assert_eq!(
        stderr,
        format!(
            "acmebox: in {}: invalid JWK: this is PEM (EC PRIVATE KEY), not a JWK: give the \
             account's public key as a JSON Web Key (RFC 7517), such as \
             {{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"…\",\"y\":\"…\"}}\n",
            file.display()
        )
    );
    Ok(())
}

#[test]
fn a_pem_account_file_says_what_is_expected() -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("account.key");
    std::fs::write(&file, PEM_KEY)?;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
    let webroot = dir.path().join("webroot");
    std::fs::create_dir(&webroot)?;
    // The account file is read before the CA is asked anything: no server is needed.
    let stderr = refused(&[
        "issue",
        "--challenge",
        "http-01",
        "--directory",
        "https://127.0.0.1:9/dir",
        "--account",
        text(&file),
        "--webroot",
        text(&webroot),
        "--out",
        text(&dir.path().join("out")),
        "-d",
        "example.com",
    ])?;
    assert!(
        stderr.contains(&format!(
            "account file {}: it is PEM (EC PRIVATE KEY), but an acmebox account file is JSON holding the \
             CA's directory URL, the account URL and its key",
            file.display()
        )) && stderr.contains("give --account a path that does not exist yet"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&file)?,
        PEM_KEY,
        "the file is left as it was"
    );
    Ok(())
}
