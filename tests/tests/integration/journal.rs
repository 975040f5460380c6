//! The journal of presented records through the real binary and PowerDNS: records presented
//! by a process that has ended are cleaned up exactly once even by two `cleanup --stale` at the
//! same time, and an unreadable entry is reported and kept aside.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use acmebox_tests::cli::acmebox_bin;
use acmebox_tests::guests::guest_target_dir;
use acmebox_tests::pdns::{self, txt_values_in};
use acmebox_tests::servers::servers;
use acmebox_tests::support::unique;

/// An acmebox config with the PowerDNS provider as `pdns` and its state directory in `dir`.
fn write_config(dir: &Path) -> PathBuf {
    pdns::write_cli_config(dir, "state_dir = \"state\"\n", &pdns::origin(), "")
}

fn journal_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("state").join("journal"))
        .map(|files| {
            files
                .filter_map(Result::ok)
                .map(|f| f.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn stale_cleanup(config: &Path) -> std::process::Child {
    Command::new(acmebox_bin())
        .args(["cleanup", "--stale", "--config"])
        .arg(config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting acmebox cleanup --stale")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `acmebox present` run by a shell belongs to that shell: while it runs the records stay; once
/// it has ended, two `cleanup --stale` at once remove each record exactly once.
#[test]
fn records_of_an_ended_process_are_cleaned_up_once_by_concurrent_cleanups() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = write_config(dir.path());
    let names: Vec<String> = (0..4).map(|_| unique("journal-stale")).collect();
    let key_authorization =
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
    // One shell presents all four and ends: it owned them.
    let script: String = names
        .iter()
        .map(|name| {
            format!(
                "{bin:?} present --config {config:?} --provider pdns --resolver {resolver} \
                 {name} {key_authorization} >/dev/null || exit 1\n",
                bin = acmebox_bin(),
                resolver = servers().pdns_dns,
            )
        })
        .collect();
    let out = Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("running sh");
    assert!(out.status.success(), "{}", stderr(&out));
    let record = |name: &str| format!("_acme-challenge.{name}.");
    for name in &names {
        assert_eq!(
            txt_values_in("example.test.", &record(name))
                .expect("PowerDNS")
                .len(),
            1
        );
    }
    assert_eq!(journal_files(dir.path()).len(), 4);

    let (first, second) = (stale_cleanup(&config), stale_cleanup(&config));
    let outs = [
        first.wait_with_output().expect("cleanup ran"),
        second.wait_with_output().expect("cleanup ran"),
    ];
    let mut cleaned = 0;
    for out in &outs {
        let text = stderr(out);
        assert!(out.status.success(), "{text}");
        assert!(!text.contains("could not clean up"), "{text}");
        cleaned += text.matches("cleaned up stale record").count();
        assert!(text.contains("which no longer runs"), "{text}");
    }
    assert_eq!(
        cleaned,
        4,
        "each record once: {:?}",
        outs.map(|o| stderr(&o))
    );
    for name in &names {
        let left = txt_values_in("example.test.", &record(name)).expect("PowerDNS");
        assert!(left.is_empty(), "{name}: {left:?}");
    }
    assert_eq!(journal_files(dir.path()), Vec::<String>::new());
}

#[test]
fn an_unreadable_entry_is_reported_and_kept_aside() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = write_config(dir.path());
    let journal = dir.path().join("state").join("journal");
    std::fs::create_dir_all(&journal).expect("a journal directory");
    std::fs::write(journal.join("0123abcd.json"), b"{\"format\": 1, \"conf").expect("writable");
    let out = stale_cleanup(&config)
        .wait_with_output()
        .expect("cleanup ran");
    let text = stderr(&out);
    assert!(!out.status.success(), "{text}");
    let aside = journal.join("0123abcd.json.corrupt");
    assert!(
        text.contains(&format!(
            "acmebox: journal entry {} is unreadable (EOF while parsing",
            aside.display()
        )),
        "{text}"
    );
    assert!(text.contains("kept aside for you to look at"), "{text}");
    assert!(
        text.contains(
            "0 stale record(s) cleaned up, 0 failed, 1 unreadable journal entry kept aside"
        ),
        "{text}"
    );
    assert_eq!(journal_files(dir.path()), ["0123abcd.json.corrupt"]);
}

/// A `sequential` provider through lego's exec hook: while one value is live (its owner, the
/// process that ran the hook, still runs), presenting another is refused, saying which and what
/// to do; once it is cleaned up, the next one goes through.
#[test]
fn a_sequential_provider_gets_one_live_value_at_a_time_through_the_hooks() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let component = acmebox_tests::guests::fixture("fixture-good").expect("the fixture builds");
    let config = dir.path().join("acmebox.toml");
    std::fs::write(
        &config,
        format!(
            "cache_dir = {cache:?}\nstate_dir = \"state\"\n\n[providers.seq]\ncomponent = {component:?}\n\n\
             [providers.seq.config]\nendpoint = \"https://api.example.com\"\nmode = \"nohttp\"\n\
             sequential = \"true\"\ntoken = {{ env = \"ACMEBOX_TEST_TOKEN\", secret = true }}\n",
            cache = guest_target_dir().join("component-cache").display().to_string(),
            component = component.display().to_string(),
        ),
    )
    .expect("writing the config");
    let hook = |operation: &str, fqdn: &str, value: &str| {
        Command::new(acmebox_tests::cli::lego_exec_bin())
            .args([operation, fqdn, value])
            .env("ACMEBOX_CONFIG", &config)
            .env("ACMEBOX_PROVIDER", "seq")
            .env("ACMEBOX_TEST_TOKEN", "fixture-token")
            .output()
            .expect("running acmebox-lego-exec")
    };
    let (a, b) = (
        "_acme-challenge.a.example.com.",
        "_acme-challenge.b.example.com.",
    );
    let (va, vb) = (
        "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
        "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8",
    );
    let out = hook("present", a, va);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = hook("present", b, vb);
    assert!(!out.status.success(), "a second live value was presented");
    let text = stderr(&out);
    assert!(
        text.contains(&format!(
            "provider `seq` is sequential (its API takes one value at a time) and {a} still \
             holds a value presented by pid {}",
            std::process::id()
        )),
        "{text}"
    );
    assert!(text.contains("set EXEC_SEQUENCE_INTERVAL"), "{text}");
    assert_eq!(journal_files(dir.path()).len(), 1);
    // The same value again is not a second one.
    let out = hook("present", a, va);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = hook("cleanup", a, va);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = hook("present", b, vb);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = hook("cleanup", b, vb);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(journal_files(dir.path()), Vec::<String>::new());
}
