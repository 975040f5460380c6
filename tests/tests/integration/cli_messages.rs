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
